"""The experiment runner: a sweep cut into chunks, run through any executor, durably.

A *unit* is one clinic: (design point, replicate). A *chunk* is a block of consecutive points of
one replicate, and one batch-path call (:func:`sim.core.batch.simulate`). Chunk ids name their
replicate and first point (``r0003-p000120``), so adding replicates adds chunks and never changes
existing ones.

The driver submits chunks to a :class:`concurrent.futures.Executor` (serial, a local process pool,
or Dask's ``client.get_executor()``), a bounded number at a time so memory does not grow with the
sweep; each worker writes its chunk's part files atomically and returns a receipt; the driver
appends the receipt to the store's ledger. Resuming is planning the chunks again and skipping the
committed ones. A failing chunk is ledgered with its error and the others go on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.runner.chunks import CLINIC_REDUCER, ChunkTask, reducer_fingerprint, run_chunk
from experiments.runner.designs import build_design
from experiments.runner.progress import SweepProgress
from experiments.runner.spec import SweepSpec
from experiments.runner.store import Store, StoreError, now
from sim.core.batch import ClinicTooLarge, check_size, parameter_rows
from sim.core.composition import compose

TARGET_DYADS_PER_CHUNK = 200_000
"""Default chunk size in dyads (a few seconds of kernel time, ~60 MB of state)."""
TARGET_DYADS_PER_CHUNK_WITH_SESSIONS = 20_000
"""Default when the per-session panel is recorded (about 15 panel rows per dyad)."""


class SweepFailed(RuntimeError):
    """Raised by ``run_sweep(..., raise_on_failure=True)`` when chunks failed."""

    def __init__(self, outcome: SweepOutcome) -> None:
        self.outcome = outcome
        chunks = ", ".join(chunk for chunk, _ in outcome.failed)
        super().__init__(
            f"{len(outcome.failed)} chunks failed ({chunks}): "
            f"{outcome.failed[0][1]}; run the sweep again to retry them"
        )


@dataclass
class SweepOutcome:
    """What a sweep did.

    Attributes
    ----------
    planned, skipped, done : int
        Chunks planned, found committed already, and committed by this run.
    failed : list of tuple
        ``(chunk, error)`` of every chunk that failed in this run.
    stopped : str
        Why the run stopped before planning every chunk ("" if it did not).
    dyad_sessions : int
        Dyad-sessions simulated by this run.
    seconds : float
        Wall time of this run.
    """

    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: str = ""
    dyad_sessions: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Dyad-sessions per second of wall time."""
        return self.dyad_sessions / self.seconds if self.seconds > 0 else 0.0


class SerialExecutor(Executor):
    """Run each submitted call at once, in this process (for debugging and small sweeps)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call ``fn`` now; return a finished future holding its result or exception."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the future carries it to the driver, as a pool would
            future.set_exception(exc)
        return future


FAILURES_IN_A_ROW = 10
"""A sweep stops starting chunks after this many fail in a row (a broken worker or spec would
otherwise burn through every chunk)."""


def plan_layout(
    spec: SweepSpec,
    design: pd.DataFrame,
    chunk_size: int | None,
    rows: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the chunk layout: how many points (clinics of one replicate) a chunk holds.

    ``rows`` are the points' parameter rows (:func:`point_rows`), built here if not given.
    """
    rows = point_rows(spec, design) if rows is None else rows
    clinic = int((rows["n_clinicians"] * rows["patients_per_clinician"]).max())
    if chunk_size is None:
        target = (
            TARGET_DYADS_PER_CHUNK_WITH_SESSIONS
            if "sessions" in spec.record
            else TARGET_DYADS_PER_CHUNK
        )
        chunk_size = max(1, target // clinic)
    # The largest chunk must fit in memory: refuse the sweep now, not chunk after chunk.
    sizes = rows["n_clinicians"] * rows["patients_per_clinician"]
    largest = np.argsort(sizes)[::-1][: int(chunk_size)]
    try:
        check_size(rows, largest, "sessions" in spec.record)
    except ClinicTooLarge as exc:
        raise StoreError(
            f"a chunk of this sweep ({min(int(chunk_size), len(rows))} clinics): "
            f"{exc}; or lower --chunk-size"
        ) from None
    return {"points_per_chunk": int(chunk_size), "points": len(design)}


def point_rows(spec: SweepSpec, design: pd.DataFrame) -> np.ndarray:
    """Return one parameter row per design point: scenario, fixed values, then the point's."""
    base = parameter_rows(spec.fixed, spec.scenario, compose(spec.extensions))
    rows = np.repeat(base, len(design))
    for name in spec.varied:
        values = design[name].to_numpy(dtype=float)
        given = ~np.isnan(values)  # a list point may leave a parameter at its base value
        rows[name][given] = values[given]
    return rows


def clinic_reducer(spec: SweepSpec, reducer: str | None = None) -> dict[str, str] | None:
    """Return the clinic reducer a sweep's workers run (reference and fingerprint), or None.

    None unless the spec records ``["clinics"]``; then ``reducer`` or :data:`CLINIC_REDUCER`.

    Raises
    ------
    StoreError
        If the reducer cannot be imported.
    """
    if "clinics" not in spec.record:
        return None
    reference = reducer or CLINIC_REDUCER
    try:
        return {"reference": reference, "fingerprint": reducer_fingerprint(reference)}
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def plan_chunks(
    spec: SweepSpec,
    design: pd.DataFrame,
    layout: dict[str, Any],
    skip: set[str],
    root: Path,
    reducer: str | None = None,
    rows: np.ndarray | None = None,
) -> Iterator[ChunkTask]:
    """Yield the chunks still to run, replicate by replicate (lazily: memory stays flat).

    ``reducer`` names the clinic reducer of a ``["clinics"]`` sweep (default
    :data:`CLINIC_REDUCER`); ``rows`` are the points' parameter rows (:func:`point_rows`),
    built here if not given.
    """
    rows = point_rows(spec, design) if rows is None else rows
    size = layout["points_per_chunk"]
    names = tuple(spec.varied)
    unset = np.isnan(design[list(names)].to_numpy(dtype=float))
    unset = unset if unset.any() else None
    fingerprint = compose(spec.extensions).fingerprint[:16]  # workers check theirs against it
    clinics = clinic_reducer(spec, reducer) or {"reference": "", "fingerprint": ""}
    for rep in range(spec.replicates):
        for start in range(0, len(design), size):
            chunk = f"r{rep:04d}-p{start:06d}"
            if chunk in skip:
                continue
            stop = min(start + size, len(design))
            yield ChunkTask(
                chunk=chunk,
                root=str(root),
                params=rows[start:stop],
                point_ids=design["point_id"].to_numpy()[start:stop],
                rep=rep,
                seed=spec.seed,
                varied=names,
                unset=None if unset is None else unset[start:stop],
                record_sessions="sessions" in spec.record,
                extensions=spec.extensions,
                model_fingerprint=fingerprint,
                points_per_chunk=size,
                reducer=clinics["reference"],
                reducer_fingerprint=clinics["fingerprint"],
            )


def _check_parts(receipt: dict[str, Any], store: Store, tables: tuple[str, ...]) -> dict[str, Any]:
    """Turn an ok receipt into a failure if its part files are not where the store expects.

    A worker that wrote them elsewhere (another filesystem, another working directory) must not
    count as done.
    """
    if receipt["status"] != "ok":
        return receipt
    missing = [
        str(store.part(t, receipt["chunk"]))
        for t in tables
        if not store.part(t, receipt["chunk"]).exists()
    ]
    if not missing:
        return receipt
    return {
        **receipt,
        "status": "failed",
        "error": f"the worker reported success but {missing[0]} does not exist: workers "
        "must see --out at the same path as this process (a shared filesystem)",
    }


def count_chunks(spec: SweepSpec, layout: dict[str, Any]) -> int:
    """Return the number of chunks of the full sweep."""
    per_rep = -(-layout["points"] // layout["points_per_chunk"])
    return per_rep * spec.replicates


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    max_in_flight: int | None = None,
    progress: bool = False,
    raise_on_failure: bool = False,
    reducer: str | None = None,
) -> SweepOutcome:
    """Run (or resume) a sweep into ``out``.

    Parameters
    ----------
    spec : SweepSpec
        The validated spec.
    out : str or Path
        Results directory; created if needed, refused if it holds another spec's results.
    executor : concurrent.futures.Executor, optional
        Where chunks run; :class:`SerialExecutor` if omitted. The caller owns it.
    chunk_size : int, optional
        Points (clinics of one replicate) per chunk; default sized to ~200,000 dyads. Fixed at a
        directory's first run.
    max_in_flight : int, optional
        Chunks submitted but not finished at once (default: 2 per worker, at least 4).
    progress : bool
        Show a progress bar.
    raise_on_failure : bool
        Raise :class:`SweepFailed` at the end if any chunk failed (the others are kept), instead
        of only listing them in the outcome.
    reducer : str, optional
        Import reference (``"module:function"``) of the clinic reducer of a sweep that records
        ``["clinics"]``; default :data:`experiments.runner.chunks.CLINIC_REDUCER` (every
        registered outcome). Recorded in the manifest with its fingerprint; a directory written
        with other definitions is refused.

    Returns
    -------
    SweepOutcome

    Raises
    ------
    StoreError
        If ``out`` cannot hold this sweep.
    """
    store = Store(out)
    with store.lock():
        return _run_locked(
            spec,
            store,
            executor=executor,
            chunk_size=chunk_size,
            max_in_flight=max_in_flight,
            progress=progress,
            raise_on_failure=raise_on_failure,
            reducer=reducer,
        )


def _run_locked(
    spec: SweepSpec,
    store: Store,
    *,
    executor: Executor | None,
    chunk_size: int | None,
    max_in_flight: int | None,
    progress: bool,
    raise_on_failure: bool,
    reducer: str | None,
) -> SweepOutcome:
    """:func:`run_sweep` once the directory's lock is held."""
    clinics = clinic_reducer(spec, reducer)
    previous = store.check_compatible(spec, clinics)
    design = build_design(spec)
    rows = point_rows(spec, design)  # built once: the layout's sizes and the chunks' rows
    layout = plan_layout(spec, design, chunk_size, rows)
    if previous is not None:
        written = store.check_layout(previous, len(design))["points_per_chunk"]
        if chunk_size is not None and written != layout["points_per_chunk"]:
            raise StoreError(
                f"--out '{store.root}' was written with chunk size {written}; "
                "resume with that chunk size or omit it"
            )
    store.claim()
    manifest = store.initialise(spec, design, layout, clinics)
    layout = manifest["layout"]
    tables = spec.tables
    committed = store.committed(tables)
    outcome = SweepOutcome(planned=count_chunks(spec, layout))
    outcome.skipped = len({c for c in committed if int(c[1:5]) < spec.replicates})
    executor = executor or SerialExecutor()
    limit = max_in_flight or max(4, 2 * (getattr(executor, "_max_workers", None) or 2))
    started = time.perf_counter()
    tasks = plan_chunks(
        spec,
        design,
        layout,
        committed,
        store.root,
        clinics["reference"] if clinics else None,
        rows,
    )
    with SweepProgress(outcome.planned, outcome.skipped, enabled=progress) as bar:
        in_flight: dict[Future, ChunkTask] = {}
        failing = 0  # chunks failed in a row
        while True:
            for task in tasks if not outcome.stopped else ():
                in_flight[executor.submit(run_chunk, task)] = task
                if len(in_flight) >= limit:
                    break
            if not in_flight:
                break
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                task = in_flight.pop(future)
                receipt = _check_parts(_receipt(future, task), store, tables)
                store.append_receipt(receipt)
                if receipt["status"] == "ok":
                    outcome.done += 1
                    outcome.dyad_sessions += receipt["dyad_sessions"]
                    failing = 0
                else:
                    outcome.failed.append((task.chunk, receipt["error"]))
                    failing += 1
                    if failing >= FAILURES_IN_A_ROW and not outcome.stopped:
                        outcome.stopped = (
                            f"{failing} chunks in a row failed; no more were "
                            "started (the first error is below)"
                        )
                bar.advance(receipt.get("dyad_sessions", 0), failed=receipt["status"] != "ok")
    outcome.seconds = time.perf_counter() - started
    manifest["finished"] = now() if not outcome.failed else None
    manifest["last_run"] = {
        "chunks_done": outcome.done,
        "chunks_failed": len(outcome.failed),
        "dyad_sessions": outcome.dyad_sessions,
        "seconds": round(outcome.seconds, 3),
    }
    store.write_manifest(manifest)
    if raise_on_failure and outcome.failed:
        raise SweepFailed(outcome)
    return outcome


def _receipt(future: Future, task: ChunkTask) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as exc:  # one failed chunk must not lose the others
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return {"chunk": task.chunk, "status": "failed", "error": detail, "finished": now()}
