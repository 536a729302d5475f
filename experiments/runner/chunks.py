"""One chunk of a sweep, as a worker runs it: simulate, write the part files, return a receipt.

Kept apart from :mod:`experiments.runner.sweep` so that a pool worker imports only what a chunk
needs
(the model, pandas, the store), not the driver's designs (SciPy's and SALib's samplers) or its
progress bar: a worker starts in about half the time.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.runner.io import file_digest, write_parquet
from experiments.runner.store import Store, now, versions
from sim.core.batch import KEY_COLUMNS, simulate
from sim.core.composition import compose


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
    extensions: tuple[str, ...] = ()
    model_fingerprint: str = ""
    points_per_chunk: int = 0


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Simulate one chunk, write its part files atomically, return its receipt."""
    started = time.perf_counter()
    n = len(task.point_ids)
    composition = compose(task.extensions)  # imports the extensions in this worker
    if task.model_fingerprint and composition.fingerprint[:16] != task.model_fingerprint:
        raise RuntimeError(
            f"this worker's model (fingerprint {composition.fingerprint[:16]}) is not the "
            f"sweep's ({task.model_fingerprint}): install the same version of the project and "
            "of the extensions on every worker"
        )
    result = simulate(
        task.params,
        seed=task.seed,
        point_ids=task.point_ids,
        reps=np.full(n, task.rep),
        rows=np.arange(n),
        record_sessions=task.record_sessions,
        tables="arrow",
        extensions=composition.extensions,
    )
    store = Store(task.root)
    dyads = with_varied(result.dyads, task.varied)
    files = {"runs": write_parquet(dyads, store.part("runs", task.chunk), statistics=KEY_COLUMNS)}
    if task.record_sessions and result.sessions is not None:
        files["sessions"] = write_parquet(
            result.sessions,
            store.part("sessions", task.chunk),
            statistics=(*KEY_COLUMNS, "session"),
        )
    return {
        "chunk": task.chunk,
        "status": "ok",
        "rows": dyads.num_rows,
        "dyad_sessions": result.dyad_sessions,
        "seconds": round(time.perf_counter() - started, 4),
        "finished": now(),
        "worker": os.getpid(),
        "points_per_chunk": task.points_per_chunk,
        "files": {table: file_digest(path) for table, path in files.items()},
        "model_fingerprint": composition.fingerprint[:16],
        "versions": _versions(),
    }


@functools.cache
def _versions() -> dict[str, str]:
    """Return this worker's versions of the project and the libraries that decide numbers."""
    return versions()


def with_varied(dyads: pa.Table, varied: pd.DataFrame) -> pa.Table:
    """Insert the varied parameters' values (``varied``, indexed by point id) after the keys."""
    where = varied.index.get_indexer(dyads.column("point_id").to_numpy())
    for offset, name in enumerate(varied.columns):
        values = varied[name].to_numpy()[where]
        dyads = dyads.add_column(
            len(KEY_COLUMNS) + offset, str(name), pa.array(values, from_pandas=True)
        )
    return dyads


def warm_up() -> None:
    """Prepare this process for chunks: load the kernels from Numba's cache, import pyarrow.

    A pool runs it in every worker as it starts (``initializer``), so the first chunk of each
    worker costs what the others cost. It never raises: a failure here would break the pool,
    and the first chunk reports any real problem anyway.
    """
    try:
        import pyarrow.parquet  # noqa: F401  (pandas imports it on the first write otherwise)

        tiny = {"n_clinicians": 1, "patients_per_clinician": 1, "max_sessions": 2}
        simulate(tiny, record_sessions=True)  # the session kernel and the panel
        simulate(tiny, tables="arrow")  # the course kernel and Arrow tables
    except Exception:  # never fatal here (see the docstring)
        pass


def prepare_worker() -> None:
    """Prepare a pool worker for chunks: :func:`keep_memory`, then :func:`warm_up`."""
    keep_memory()
    warm_up()


def keep_memory() -> None:
    """Make this process keep freed memory for its next chunk instead of returning it.

    glibc's allocator serves blocks above its mmap threshold (32 MB at most) from fresh mappings
    and unmaps them when they are freed, so a pool worker running chunk after chunk faults its
    largest arrays (a chunk's dyad records alone are ~70 MB) in anew every time: on the
    development machine that made a chunk's summary table 40% slower. Raising the mmap and trim
    thresholds keeps them in the heap for the next chunk; the heap's peak stays that of one
    chunk, so memory still does not grow with the sweep. Speed only, never numbers; a no-op
    where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        libc.mallopt(m_mmap_threshold, 1 << 30)
        libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    except (OSError, AttributeError):  # another C library (musl): leave it be
        pass


def _started() -> int:
    """Return this worker's process id (a no-op task that makes a pool start its workers)."""
    return os.getpid()
