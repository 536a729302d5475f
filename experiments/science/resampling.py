"""Estimates with intervals from a bootstrap over patients clustered by clinician.

Patients are nested in clinicians (therapist effects), so by default a resample draws each
clinic's clinicians with replacement, within each ``point_id``/``rep`` so that the design is
kept, and takes every drawn clinician's whole caseload: the cluster bootstrap, consistent for
nested data as the number of clinicians grows (Davison & Hinkley 1997, section 3.8; Field &
Welsh 2007). ``two_stage=True`` also resamples patients within each drawn clinician. That
counts the within-clinician variance twice. In a check on synthetic clinics (dropout, 40
clinicians of 10 patients, therapist effects with ICC about .09, 600 data sets), 95% intervals
covered the truth 93% of the time by default, 98% with ``two_stage=True`` and 82% resampling
patients independently; without therapist effects, two-stage intervals covered it every time.
The default undercovers with very few clinicians (81-88% with 5), so with a single small clinic
``two_stage=True`` gives the safer, conservative interval.
``clusters=None`` resamples patients independently, ignoring therapist effects.

``scipy.stats.bootstrap`` cannot resample clusters, so resamples are drawn here as integer
weights per patient (how often each is drawn), one row per resample, and every statistic is
written as a function of those weights (weighted moments). A thousand resamples of thousands of
patients are then a few matrix products. The generator is a seeded
:class:`numpy.random.Generator`, so intervals are reproducible.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

CLINICIAN_KEYS = ("point_id", "rep", "clinician_id")
"""Columns that identify a clinician: the bootstrap's clusters."""
PATIENT_KEYS = (*CLINICIAN_KEYS, "patient_id")
"""Columns that identify a patient (one dyad)."""
STRATUM_KEYS = ("point_id", "rep")
"""Columns that identify a clinic: clinicians are resampled within each."""

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps weights of shape (resamples, patients) to values of shape (resamples, k)."""

_WEIGHT_BUDGET = 4_000_000
"""Weights held in memory at once (resamples x patients); larger jobs go in blocks."""


@dataclass(frozen=True)
class Estimate:
    """A statistic with its interval.

    Attributes
    ----------
    value : float
        Point estimate on all the data.
    low, high : float
        Bounds of the interval (95% unless asked otherwise).
    n : int
        Patients contributing (the unit the bootstrap resamples).
    method : str
        How the value and its interval were computed.
    """

    value: float
    low: float
    high: float
    n: int
    method: str

    @property
    def width(self) -> float:
        """Width of the interval."""
        return self.high - self.low

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies in the interval (bounds included)."""
        return bool(self.low <= value <= self.high)

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}] (n = {self.n})"


@dataclass(frozen=True)
class Resampling:
    """How intervals are computed.

    Attributes
    ----------
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the generator.
    clusters : tuple of str or None
        Columns naming a cluster (a clinician); None resamples patients independently.
    two_stage : bool
        Also resample patients within each drawn cluster (conservative), or keep whole
        caseloads (the default).
    confidence : float
        Coverage of the percentile interval.
    """

    n_resamples: int = 1000
    seed: int = 0
    clusters: tuple[str, ...] | None = CLINICIAN_KEYS
    two_stage: bool = False
    confidence: float = 0.95

    def describe(self, what: str) -> str:
        """Return ``what`` followed by a description of the interval."""
        if self.clusters is None:
            scheme = "patients resampled"
        elif self.two_stage:
            scheme = "clinicians, then their patients, resampled"
        else:
            scheme = "clinicians resampled with their caseloads"
        return (
            f"{what}; {self.confidence:.0%} percentile bootstrap "
            f"({self.n_resamples} resamples, {scheme})"
        )


DEFAULT = Resampling()
"""1000 resamples, seed 0, clinicians with their caseloads, 95%: every analysis's default."""


def require(table: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise ValueError naming the ``columns`` that ``table`` lacks, if any.

    Parameters
    ----------
    table : pandas.DataFrame
        Table to check.
    columns : sequence of str
        Columns an analysis needs.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks column(s) {', '.join(missing)} this analysis needs")


def complete(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Return the rows of ``table`` whose ``columns`` are all finite.

    Parameters
    ----------
    table : pandas.DataFrame
        Table to filter.
    columns : sequence of str
        Numeric columns an analysis needs.

    Returns
    -------
    pandas.DataFrame
    """
    require(table, columns)
    values = table[list(columns)].to_numpy(dtype=float)
    return table[np.isfinite(values).all(axis=1)]


def _codes(table: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Return dense group codes 0..k-1 of the rows of ``table`` by ``keys``."""
    require(table, keys)
    return table.groupby(list(keys), sort=False, observed=True).ngroup().to_numpy()


def _offsets(sizes: np.ndarray) -> np.ndarray:
    """Return 0..size-1 for each entry of ``sizes``, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def bootstrap_weights(
    table: pd.DataFrame,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    clusters: Sequence[str] | None = CLINICIAN_KEYS,
    strata: Sequence[str] | None = STRATUM_KEYS,
    two_stage: bool = False,
) -> np.ndarray:
    """Return cluster-bootstrap weights: how often each row is drawn in each resample.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per patient, with the ``clusters`` and ``strata`` columns.
    n_resamples : int
        Number of resamples (rows of the result).
    rng : numpy.random.Generator
        Source of the draws.
    clusters : sequence of str or None
        Columns naming a cluster (a clinician); None resamples rows independently.
    strata : sequence of str or None
        Columns naming a stratum (a clinic); each stratum's clusters are drawn from it alone,
        as many as it has.
    two_stage : bool
        Resample patients within each drawn cluster, or keep its whole caseload (default).

    Returns
    -------
    numpy.ndarray
        Integer-valued float weights of shape ``(n_resamples, len(table))``.
    """
    n = len(table)
    strata = tuple(strata or ())
    stratum = _codes(table, strata) if strata else np.zeros(n, dtype=np.int64)
    cluster = _codes(table, (*strata, *clusters)) if clusters else np.arange(n)
    order = np.argsort(cluster, kind="stable")
    sizes = np.bincount(cluster, minlength=1)
    starts = np.cumsum(sizes) - sizes
    cluster_stratum = stratum[order[starts]]
    counts = np.zeros(n_resamples * n, dtype=np.int64)
    for s in np.unique(cluster_stratum):
        members = np.flatnonzero(cluster_stratum == s)
        drawn = members[rng.integers(0, members.size, size=(n_resamples, members.size))].ravel()
        copies = sizes[drawn]
        which = np.repeat(drawn, copies)
        if two_stage:
            within = (rng.random(which.size) * sizes[which]).astype(np.int64)
        else:
            within = _offsets(copies)
        replicate = np.repeat(np.repeat(np.arange(n_resamples), members.size), copies)
        counts += np.bincount(
            replicate * n + order[starts[which] + within], minlength=n_resamples * n
        )
    return counts.reshape(n_resamples, n).astype(float)


def bootstrap(
    table: pd.DataFrame,
    statistic: Statistic,
    resampling: Resampling,
    *,
    strata: Sequence[str] | None = STRATUM_KEYS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return point values and percentile bounds of a weighted statistic.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per patient (the resampled unit), with the cluster and stratum columns.
    statistic : callable
        Maps weights (resamples, patients) to values (resamples, k); it must treat a weight as
        a patient's multiplicity. Non-finite resampled values are left out of the bounds.
    resampling : Resampling
        Resamples, seed, clusters, stages and coverage.
    strata : sequence of str or None
        Columns naming the strata clusters are drawn within.

    Returns
    -------
    value, low, high : numpy.ndarray
        Each of shape (k,).
    """
    if not 0.0 < resampling.confidence < 1.0:
        raise ValueError(
            f"confidence must lie strictly between 0 and 1, got {resampling.confidence}"
        )
    if resampling.n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {resampling.n_resamples}")
    if len(table) < 2:
        raise ValueError(f"the analysis needs at least 2 patients, got {len(table)}")
    value = statistic(np.ones((1, len(table))))[0]
    rng = np.random.default_rng(resampling.seed)
    block = max(1, _WEIGHT_BUDGET // len(table))
    draws = [
        statistic(
            bootstrap_weights(
                table,
                min(block, resampling.n_resamples - done),
                rng,
                clusters=resampling.clusters,
                strata=strata,
                two_stage=resampling.two_stage,
            )
        )
        for done in range(0, resampling.n_resamples, block)
    ]
    tail = (1.0 - resampling.confidence) / 2.0
    draws_all = np.concatenate(draws)
    draws_all[~np.isfinite(draws_all)] = np.nan
    with warnings.catch_warnings():
        # A statistic undefined in every resample gets NaN bounds, which is the answer.
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        low, high = np.nanquantile(draws_all, [tail, 1.0 - tail], axis=0)
    return value, low, high


def estimates(
    table: pd.DataFrame,
    statistic: Statistic,
    resampling: Resampling,
    methods: Sequence[str],
    *,
    strata: Sequence[str] | None = STRATUM_KEYS,
) -> list[Estimate]:
    """Return one :class:`Estimate` per column of ``statistic``, from one set of resamples.

    Parameters
    ----------
    table, statistic, resampling, strata
        As in :func:`bootstrap`.
    methods : sequence of str
        What each column of the statistic is (the interval's description is appended).

    Returns
    -------
    list of Estimate
    """
    value, low, high = bootstrap(table, statistic, resampling, strata=strata)
    return [
        Estimate(float(v), float(lo), float(hi), len(table), resampling.describe(m))
        for v, lo, hi, m in zip(value, low, high, methods, strict=True)
    ]


def weighted_moments(
    weights: np.ndarray, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return weighted totals, means and covariances of the columns of ``data``.

    Parameters
    ----------
    weights : numpy.ndarray
        Shape (B, n): one row of weights per resample.
    data : numpy.ndarray
        Shape (n, p).

    Returns
    -------
    total : numpy.ndarray
        Shape (B,), the sum of weights.
    mean : numpy.ndarray
        Shape (B, p).
    covariance : numpy.ndarray
        Shape (B, p, p), with the sum of weights as divisor (no degrees-of-freedom correction).
    """
    centre = data.mean(axis=0)
    data = data - centre  # covariances do not depend on it; it keeps the products small
    p = data.shape[1]
    total = weights.sum(axis=1)
    mean = weights @ data / total[:, None]
    products = (data[:, :, None] * data[:, None, :]).reshape(len(data), p * p)
    second = (weights @ products / total[:, None]).reshape(-1, p, p)
    covariance = second - mean[:, :, None] * mean[:, None, :]
    return total, mean + centre, covariance
