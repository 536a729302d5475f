"""One chunk of a sweep, as a worker runs it: simulate, write the part files, return a receipt.

Kept apart from :mod:`experiments.runner` so that a pool worker imports only what a chunk needs
(the model, pandas, the store), not the driver's designs (SciPy's and SALib's samplers) or its
progress bar: a worker starts in about half the time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.store import Store, now
from sim.batch import KEY_COLUMNS, simulate
from sim.io import write_parquet


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to run one chunk (picklable, no open files)."""

    chunk: str
    root: str
    params: np.ndarray
    point_ids: np.ndarray
    rep: int
    seed: int
    varied: pd.DataFrame
    record_sessions: bool


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Simulate one chunk, write its part files atomically, return its receipt."""
    started = time.perf_counter()
    n = len(task.point_ids)
    result = simulate(task.params, seed=task.seed, point_ids=task.point_ids,
                      reps=np.full(n, task.rep), rows=np.arange(n),
                      record_sessions=task.record_sessions)
    store = Store(task.root)
    dyads = with_varied(result.dyads, task.varied)
    write_parquet(dyads, store.part("runs", task.chunk), statistics=KEY_COLUMNS)
    if task.record_sessions and result.sessions is not None:
        write_parquet(result.sessions, store.part("sessions", task.chunk),
                      statistics=(*KEY_COLUMNS, "session"))
    return {"chunk": task.chunk, "status": "ok", "rows": len(dyads),
            "dyad_sessions": result.dyad_sessions,
            "seconds": round(time.perf_counter() - started, 4), "finished": now(),
            "worker": os.getpid()}


def with_varied(dyads: pd.DataFrame, varied: pd.DataFrame) -> pd.DataFrame:
    """Insert the varied parameters' values after the key columns."""
    if varied.columns.empty:
        return dyads
    values = varied.reindex(dyads["point_id"].to_numpy())
    keys = dyads[list(KEY_COLUMNS)]
    rest = dyads.drop(columns=list(KEY_COLUMNS))
    return pd.concat([keys, values.reset_index(drop=True), rest], axis=1)


def warm_up() -> None:
    """Prepare this process for chunks: load the kernels from Numba's cache, import pyarrow.

    A pool runs it in every worker as it starts (``initializer``), so the first chunk of each
    worker costs what the others cost. It never raises: a failure here would break the pool,
    and the first chunk reports any real problem anyway.
    """
    try:
        import pyarrow.parquet  # noqa: F401  (pandas imports it on the first write otherwise)

        simulate({"n_clinicians": 1, "patients_per_clinician": 1, "max_sessions": 2},
                 record_sessions=True)
    except Exception:  # never fatal here (see the docstring)
        pass


def _started() -> int:
    """Return this worker's process id (a no-op task that makes a pool start its workers)."""
    return os.getpid()
