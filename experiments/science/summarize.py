"""Per-point summaries of a sweep: clinic-level outcomes, then means and 95% intervals.

Each replicate of a point is one clinic; its outcomes (:mod:`experiments.science.outcomes`) are
computed from its patients, and the point's estimate is the mean over replicates with a
t-interval. Part files hold whole clinics, so the table is built one part at a time and memory
stays flat however large the sweep. A sweep that records ``["clinics"]`` has had its workers
compute the same clinic rows (:func:`experiments.science.outcomes.clinic_values`, the runner's
default clinic reducer), so its summary is read from them, with the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.runner.io import write_parquet, write_text
from experiments.runner.spec import SweepSpec
from experiments.runner.store import Store, StoreError
from experiments.science.outcomes import OUTCOMES, clinic_values

__all__ = ["OUTCOMES", "per_point", "summarize"]


def per_point(clinics: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """Return per-point means over replicates with 95% t-intervals, joined to the design."""
    rows = []
    for point_id, group in clinics.groupby("point_id", sort=True):
        row: dict[str, float] = {"point_id": point_id, "replicates": len(group)}
        for name in OUTCOMES:
            values = group[name].dropna().to_numpy()
            mean, low, high = _mean_interval(values)
            row |= {name: mean, f"{name}_low": low, f"{name}_high": high}
        rows.append(row)
    summary = pd.DataFrame(rows)
    return design.merge(summary, on="point_id", how="inner")


def _mean_interval(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if values.size < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    return mean, mean - half, mean + half


def summarize(
    root: str | Path,
    allow_incomplete: bool = False,
    report: Callable[[list[str]], None] | None = None,
) -> pd.DataFrame:
    """Summarise a sweep's results directory; write ``summary.parquet`` and ``summary.csv``.

    Parameters
    ----------
    root : str or Path
        The sweep's directory.
    allow_incomplete : bool
        Summarise the chunks that are there even if some are missing or damaged (otherwise
        refused: a summary over fewer replicates than planned looks like a complete one).
    report : callable, optional
        Given the problems when ``allow_incomplete`` lets the summary go on without them.

    Raises
    ------
    FileNotFoundError
        If the directory holds no committed results.
    StoreError
        If the directory holds no sweep, or the sweep is incomplete or damaged and
        ``allow_incomplete`` is false.
    """
    store = Store(root)
    spec = store.stored_spec()  # a directory without a sweep is refused before the chunks
    chunks, problems = store.require_complete(allow_incomplete)  # verified once, read once
    if problems and report is not None:
        report(problems)
    clinics = clinic_parts(store, chunks, spec)
    summary = per_point(clinics, pd.read_parquet(store.design_path))
    write_parquet(summary, store.root / "summary.parquet")
    write_text(summary.to_csv(index=False), store.root / "summary.csv")
    return summary


def clinic_parts(store: Store, chunks: set[str], spec: SweepSpec) -> pd.DataFrame:
    """Return one row per clinic of the committed ``chunks``: every outcome and ``patients``.

    Read from the ``clinics`` parts of a sweep that records ``["clinics"]``; computed part by
    part from the per-dyad ``runs`` parts otherwise.

    Raises
    ------
    FileNotFoundError
        If there are no chunks to read.
    StoreError
        If the clinics parts were written by a reducer other than the registry's.
    """
    manifest = store.read_manifest() or {}
    table = "clinics" if "clinics" in spec.tables else "runs"
    parts = sorted(store.part(table, c) for c in chunks)
    if not parts:
        raise FileNotFoundError(f"'{store.root}' holds no committed results to summarise")
    if table == "runs":
        return pd.concat([clinic_values(pd.read_parquet(p)) for p in parts], ignore_index=True)
    reducer = (manifest.get("clinic_reducer") or {}).get("reference", "")
    ours = f"{clinic_values.__module__}:{clinic_values.__qualname__}"
    if reducer != ours:
        raise StoreError(
            f"'{store.root}' holds clinics computed by the reducer {reducer or '(unknown)'}, "
            f"not the outcome registry's ({ours}); summarise them with your own analysis"
        )
    columns = ["point_id", "rep", *OUTCOMES, "patients"]
    return pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)
