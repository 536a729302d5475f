"""One chunk of a sweep, as a worker runs it: simulate, write the part files, return a receipt.

A chunk writes per-dyad rows (``runs``, and ``sessions`` when the panel is recorded), or, when
the spec records ``["clinics"]``, one row per clinic (``clinics``): the worker hands its chunk's
per-dyad table, in memory, to a *clinic reducer* and writes only the reducer's rows. The reducer
is the science layer's outcome registry (:data:`CLINIC_REDUCER`), named by an import reference
("module:function") that the worker imports, as it imports extensions: the runner sits below
the science layer and never imports it.

Kept apart from :mod:`experiments.runner.sweep` so that a pool worker imports only what a chunk
needs
(the model, pandas, the store), not the driver's designs (SciPy's and SALib's samplers) or its
progress bar: a worker starts in about half the time.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.runner.io import write_part
from experiments.runner.store import Store, now, versions
from sim.core.batch import KEY_COLUMNS, simulate
from sim.core.composition import compose

CLINIC_REDUCER = "experiments.science.outcomes:clinic_values"
"""Import reference of the default clinic reducer: every registered outcome of each clinic.

A reducer takes a chunk's per-dyad table (a DataFrame with the columns of
:attr:`sim.core.batch.SimulationResult.dyads`) and returns one row per clinic, in key order,
with ``point_id``, ``rep`` and its figures. The runner names it and never imports it at module
level (the layers' contract); ``run_sweep(..., reducer=...)`` names another.
"""
CLINIC_KEYS = ("point_id", "rep")
"""The columns naming one clinic of a sweep (a design point's replicate)."""


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to run one chunk (picklable, no open files)."""

    chunk: str
    root: str
    params: np.ndarray
    point_ids: np.ndarray
    rep: int
    seed: int
    varied: tuple[str, ...]
    """Names of the parameters the design varies: their values are in ``params``."""
    unset: np.ndarray | None
    """Where a point of a list design leaves a varied parameter at its base value (points x
    ``varied``, True there; None if nowhere): its column shows NaN, not the base value."""
    record_sessions: bool
    extensions: tuple[str, ...] = ()
    model_fingerprint: str = ""
    points_per_chunk: int = 0
    reducer: str = ""
    """Import reference of the clinic reducer when the spec records ``["clinics"]`` (else "")."""
    reducer_fingerprint: str = ""


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
    reduce = None
    if task.reducer:
        reduce = load_reducer(task.reducer)
        mine = reducer_fingerprint(task.reducer)
        if task.reducer_fingerprint and mine != task.reducer_fingerprint:
            raise RuntimeError(
                f"this worker's clinic reducer {task.reducer} (fingerprint {mine}) is not the "
                f"sweep's ({task.reducer_fingerprint}): install the same version of the project "
                "on every worker"
            )
    result = simulate(
        task.params,
        seed=task.seed,
        point_ids=task.point_ids,
        reps=np.full(n, task.rep),
        rows=np.arange(n),
        record_sessions=task.record_sessions,
        tables="arrow" if reduce is None else "pandas",
        extensions=composition.extensions,
        # A reducer may declare the per-dyad columns it reads: only those are built.
        columns=getattr(reduce, "columns", None),
    )
    store = Store(task.root)
    if reduce is not None:
        table = with_varied(
            clinic_rows(result.dyads, reduce), varied_values(task), at=len(CLINIC_KEYS)
        )
        files = {
            "clinics": write_part(table, store.part("clinics", task.chunk), statistics=CLINIC_KEYS)
        }
    else:
        table = with_varied(result.dyads, varied_values(task))
        files = {"runs": write_part(table, store.part("runs", task.chunk), statistics=KEY_COLUMNS)}
    if task.record_sessions and result.sessions is not None:
        files["sessions"] = write_part(
            result.sessions,
            store.part("sessions", task.chunk),
            statistics=(*KEY_COLUMNS, "session"),
        )
    return {
        "chunk": task.chunk,
        "status": "ok",
        "rows": table.num_rows,
        "dyads": len(result.dyads),
        "dyad_sessions": result.dyad_sessions,
        "seconds": round(time.perf_counter() - started, 4),
        # Where the chunk's time went inside simulate (build, kernel, tables): overhead measured.
        "timings": {name: round(value, 4) for name, value in result.seconds.items()},
        "finished": now(),
        "worker": os.getpid(),
        "points_per_chunk": task.points_per_chunk,
        "files": files,
        "model_fingerprint": composition.fingerprint[:16],
        "versions": _versions(),
    }


@functools.cache
def _versions() -> dict[str, str]:
    """Return this worker's versions of the project and the libraries that decide numbers."""
    return versions()


def varied_values(task: ChunkTask) -> pd.DataFrame:
    """Return the varied parameters' values of the chunk's points, indexed by point id.

    They are read from the points' parameter rows, so they reach a worker once; NaN where the
    design left a parameter at its base value (``task.unset``).
    """
    frame = pd.DataFrame(
        {name: task.params[name].astype(np.float64) for name in task.varied},
        index=pd.Index(task.point_ids, name="point_id"),
    )
    return frame if task.unset is None else frame.mask(task.unset)


def with_varied(table: pa.Table, varied: pd.DataFrame, at: int = len(KEY_COLUMNS)) -> pa.Table:
    """Insert the varied parameters' values (``varied``, indexed by point id) after the keys."""
    where = varied.index.get_indexer(table.column("point_id").to_numpy())
    for offset, name in enumerate(varied.columns):
        values = varied[name].to_numpy()[where]
        table = table.add_column(at + offset, str(name), pa.array(values, from_pandas=True))
    return table


def clinic_rows(dyads: pd.DataFrame, reduce: Callable[[pd.DataFrame], pd.DataFrame]) -> pa.Table:
    """Return a chunk's clinic table: the reducer's rows, then each clinic's ``dyad_sessions``.

    ``dyads`` is in key order (as :func:`sim.core.batch.simulate` returns it), so each clinic is
    a block of consecutive rows.
    """
    clinics = reduce(dyads)
    keys = [dyads[k].to_numpy() for k in CLINIC_KEYS]
    new = np.zeros(len(dyads), dtype=bool)  # first row of a clinic
    new[:1] = True
    for values in keys:
        new[1:] |= values[1:] != values[:-1]
    starts = np.flatnonzero(new)
    for name, values in zip(CLINIC_KEYS, keys, strict=True):
        if not np.array_equal(clinics[name].to_numpy(), values[starts]):
            raise RuntimeError(
                f"the clinic reducer returned clinics other than the chunk's, or in another "
                f"order (column {name}); it must return one row per clinic, in key order"
            )
    sessions = dyads["sessions"].to_numpy(np.int64)
    dyad_sessions = np.add.reduceat(sessions, starts) if starts.size else sessions[:0]
    table = pa.Table.from_pandas(clinics, preserve_index=False)
    return table.append_column("dyad_sessions", pa.array(dyad_sessions))


def load_reducer(reference: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Import a clinic reducer by reference (``"module:function"``).

    Raises
    ------
    ValueError
        Naming the reference and what went wrong.
    """
    module_name, _, name = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name or "clinic_values")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"clinic reducer '{reference}' cannot be imported ({exc})") from None
    if not callable(function):
        raise ValueError(f"clinic reducer '{reference}' is not a function")
    return function


@functools.cache
def reducer_fingerprint(reference: str) -> str:
    """Return a hash of the clinic reducer's module source and name, shortened.

    A clinics table holds outcomes as the reducer defined them when it was written; a store
    refuses to mix in rows computed by other definitions (as the model fingerprint does for
    another model).
    """
    function = load_reducer(reference)
    module = inspect.getmodule(function)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        source = ""
    blob = f"{reference}\n{getattr(function, '__qualname__', '')}\n{source}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


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
