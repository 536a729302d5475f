"""Adding a state variable with one equation to the core model touches three places.

In a copy of the package: the field in ``sim/core/fields.py``, a phase (placed in the session) in
``sim/core/equations.py``, its parameter in ``sim/core/params.py``. Nothing else is edited, and the
new
state is in the record, the agents, both output tables and the generated drivers, on the batch
path (whole courses and session by session) and the Mesa model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EDITS = {
    "sim/core/fields.py": (
        '    _unit("sensitivity", "interpersonal sensitivity (eased by repairs)"),\n',
        '    _unit("sensitivity", "interpersonal sensitivity (eased by repairs)"),\n'
        '    Field("hope", "f8", "state", "hope", 0.0, 1.0, panel=True, '
        'initial=0.2, summary="hope_final"),\n',
    ),
    "sim/core/params.py": (
        "    # --- step 12: instruments",
        '    Param("hope_rate", 0.3, 0.0, 1.0, "per session", "pace of hope", '
        '_ASSUMED, "mechanism"),\n    # --- step 12: instruments',
    ),
    "sim/core/equations.py": (
        "SESSION = (\n",
        '@phase(writes=("hope",))\n'
        "def hope_follows(hope, alliance, hope_rate):\n"
        '    """Hope follows the alliance."""\n'
        "    return hope + hope_rate * (alliance - hope)\n\n\n"
        "SESSION = (\n",
    ),
}
SESSION_ENTRY = ("    alliance_growth,\n", "    alliance_growth,\n    hope_follows,\n")

CHECK = textwrap.dedent("""
    import numpy as np
    import pandas as pd
    from sim.core.batch import simulate
    from sim.model import AllianceModel
    clinic = {"n_clinicians": 3, "patients_per_clinician": 5}
    courses = simulate(clinic, seed=1).dyads
    panel = simulate(clinic, seed=1, record_sessions=True)
    pd.testing.assert_frame_equal(courses, panel.dyads)
    first = panel.sessions[panel.sessions["session"] == 1]
    np.testing.assert_allclose(first["hope"], 0.2 + 0.3 * (first["alliance"] - 0.2))
    model = AllianceModel(rng=1, **clinic)
    model.step()
    assert 0.2 < model.patients[0].hope < 1.0
    print("hope_final" in courses, round(float(courses["hope_final"].mean()), 3))
""")


@pytest.mark.slow
def test_a_new_state_variable_touches_the_registry_one_phase_and_the_parameters(tmp_path):
    copy = tmp_path / "project"
    for package in ("sim", "agents", "experiments"):
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name, (old, new) in EDITS.items():
        path = copy / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, old)
        if name == "sim/core/equations.py":
            text = text.replace(*SESSION_ENTRY)
        path.write_text(text.replace(old, new), encoding="utf-8")
    changed = sorted(
        str(p.relative_to(copy))
        for p in copy.rglob("*.py")
        if p.read_bytes() != (ROOT / p.relative_to(copy)).read_bytes()
    )
    assert changed == sorted(EDITS)
    env = {**os.environ, "PYTHONPATH": str(copy), "ALLIANCE_CACHE_DIR": str(tmp_path / "drivers")}
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("True")
