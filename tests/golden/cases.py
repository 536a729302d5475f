"""The golden cases: runs whose tables are hashed column by column, so that a refactor that
changes any number (or drops a column) fails ``tests/test_golden.py``.

Written before "one model, written once" restructured the kernels; each case runs one path:

* ``batch``: :func:`sim.core.batch.simulate` without the panel (the course kernel),
* ``panel``: :func:`sim.core.batch.simulate` with the per-session panel (session by session),
* ``mesa``: :class:`sim.model.AllianceModel` stepped to the end, its reporters' frames and the
  per-dyad summary of its arrays.

``python tests/golden/cases.py`` rewrites ``hashes.json``: do that only when the model's numbers
are *meant* to change (a scientific change to the model), and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HASHES = Path(__file__).with_name("hashes.json")

SCENARIOS = (
    "psychotherapy",
    "copd_panic",
    "knee_pain",
    "hypertension",
    "pushing_too_hard",
    "pediatric",
    "technique_trial",
)

CLINIC = {"n_clinicians": 6, "patients_per_clinician": 12}

ROWS: list[dict[str, Any]] = [
    {},
    {"repair_skill": 0.9, "attunement": 0.9, "pressure": 0.7},
    {"repair_skill": 0.1, "attunement": 0.1, "max_sessions": 8, "min_sessions": 2},
    {"training_session": 5, "training_attunement": 0.3, "training_repair_skill": 0.4},
    {"technique_b_share": 0.5, "technique_b_advantage": 0.3, "technique_by_clinician": 1},
    {
        "alliance_state_sd": 0.2,
        "engagement_noise": 3.0,
        "life_event_rate": 0.3,
        "symptom_noise": 0.1,
        "wai_noise": 1.0,
        "symptom_score_noise": 3.0,
    },
    {
        "rupture_base": 3.0,
        "confrontation_base": 0.0,
        "withdrawal_visibility": 1.0,
        "dropout_base": -1.0,
        "early_session": 1,
        "max_sessions": 40,
    },
]
"""Parameter rows of the multi-row cases (overrides of the psychotherapy scenario)."""


def column_hashes(frame: pd.DataFrame) -> dict[str, str]:
    """Return each column's SHA-256 (dtype name and values as bytes; categoricals' codes)."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            values = np.asarray(column.cat.codes)
            kind = "category:" + ",".join(map(str, column.cat.categories))
        elif pd.api.types.is_string_dtype(column.dtype):  # text, not the objects' addresses
            values = np.frombuffer("\x00".join(map(str, column)).encode(), dtype=np.uint8)
            kind = "text"
        else:
            values = np.ascontiguousarray(column.to_numpy())
            kind = str(values.dtype)
        digest = hashlib.sha256(kind.encode())
        digest.update(values.tobytes())
        out[str(name)] = digest.hexdigest()[:20]
    out["__rows__"] = str(len(frame))
    return out


def cases() -> dict[str, Any]:
    """Return ``name -> callable`` computing ``{table name: DataFrame}`` for every case."""
    from sim.core.batch import dyad_summary, simulate
    from sim.model import AllianceModel

    def batch(scenario: str, seed: int, rows: list[dict[str, Any]] | None, panel: bool):
        def run() -> dict[str, pd.DataFrame]:
            params = [CLINIC | r for r in rows] if rows is not None else CLINIC
            reps = None
            if rows is not None:  # two replicates of every row, with point ids not 0..n-1
                n = len(rows)
                result = simulate(
                    params,
                    seed=seed,
                    scenario=scenario,
                    rows=np.repeat(np.arange(n), 2),
                    point_ids=np.repeat(np.arange(n) * 7 + 3, 2),
                    reps=np.tile([0, 5], n),
                    record_sessions=panel,
                )
            else:
                result = simulate(
                    params, seed=seed, scenario=scenario, reps=reps, record_sessions=panel
                )
            tables = {"dyads": result.dyads}
            if panel:
                tables["sessions"] = result.sessions
            return tables

        return run

    def mesa(scenario: str, seed: int):
        def run() -> dict[str, pd.DataFrame]:
            model = AllianceModel(
                rng=seed,
                scenario=scenario,
                collect_agents=True,
                n_clinicians=3,
                patients_per_clinician=8,
            )
            while model.running:
                model.step()
            agents = model.datacollector.get_agenttype_vars_dataframe(
                type(model.patients[0])
            ).reset_index()
            return {
                "model": model.datacollector.get_model_vars_dataframe().reset_index(),
                "agents": agents,
                "dyads": dyad_summary(model.clinics),
            }

        return run

    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        for seed in (0, 7):
            out[f"batch/{scenario}/{seed}"] = batch(scenario, seed, None, panel=False)
            out[f"panel/{scenario}/{seed}"] = batch(scenario, seed, None, panel=True)
        out[f"mesa/{scenario}/3"] = mesa(scenario, 3)
    for seed in (0, 12345):
        out[f"batch/rows/{seed}"] = batch("psychotherapy", seed, ROWS, panel=False)
        out[f"panel/rows/{seed}"] = batch("psychotherapy", seed, ROWS, panel=True)
    return out


def compute(name: str, run: Any) -> dict[str, dict[str, str]]:
    """Return the column hashes of every table of one case."""
    return {table: column_hashes(frame) for table, frame in run().items()}


def main() -> int:
    """Rewrite ``hashes.json`` from the current model."""
    hashes = {name: compute(name, run) for name, run in cases().items()}
    HASHES.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(hashes)} cases to {HASHES}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main())
