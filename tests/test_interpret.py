"""The plain-Python interpreter of the phases gives the compiled drivers' numbers.

This is the independent check of the code generator: the same phase functions, run one dyad at
a time through ``py_func`` with draws from NumPy's twin of the counter-based generator, against
the generated, inlined, lane-vectorised drivers.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.batch import parameter_rows
from sim.core.composition import CORE
from sim.core.fields import ACTIVE
from sim.core.interpret import advance, keyed_draw
from sim.core.kernels import run_courses
from sim.core.state import build

COMPARED = (
    "goal",
    "task",
    "bond",
    "alliance",
    "trust",
    "strain",
    "internalisation",
    "engagement",
    "symptoms",
    "sensitivity",
    "wai_total",
    "symptom_score",
    "symptom_score_post",
    "wai_early",
    "sessions",
    "status",
    "withdrawals",
    "confrontations",
    "detected",
    "repaired",
    "reported",
)


def values_of(clinics, i: int) -> dict:
    d = clinics.dyads[i]
    c = clinics.clinicians[d["clinician"]]
    p = clinics.params[d["row"]]
    values = {name: p[name].item() for name in CORE.params}
    values |= {f.name: c[f.name].item() for f in CORE.clinician_fields}
    values |= {f.name: d[f.name].item() for f in CORE.dyad_fields}
    return values


@pytest.mark.parametrize(
    ("seed", "overrides"),
    [
        (0, {}),
        (
            3,
            {
                "rupture_base": 2.0,
                "withdrawal_visibility": 1.0,
                "attunement": 0.9,
                "training_session": 4,
                "training_repair_skill": 0.3,
                "max_sessions": 12,
            },
        ),
    ],
)
def test_interpreter_matches_the_compiled_course(seed, overrides):
    rows = parameter_rows({"n_clinicians": 4, "patients_per_clinician": 10, **overrides})
    clinics = build(rows, seed)
    compiled = clinics.dyads.copy()
    run_courses(compiled, clinics.clinicians, clinics.params)
    for i in range(len(clinics.dyads)):
        values = values_of(clinics, i)
        key = int(clinics.dyads[i]["key"])
        session = 0
        while values["status"] == ACTIVE:
            session += 1
            advance(values, session, keyed_draw(key, session))
        for name in COMPARED:
            got, expected = values[name], compiled[i][name].item()
            # equal but for the last bits of the ziggurat's rare paths (NumPy's exp vs libm's)
            assert np.isclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True), (
                f"dyad {i}, {name}: interpreter {got}, compiled {expected}"
            )
