"""Statistics the literature computes, applied to the model's tables (patterns P1–P9).

Each analysis takes the per-dyad summary or the per-session panel of :func:`sim.batch.simulate`
(schemas in the README), computes its statistic the way the cited study does and returns an
:class:`Estimate` with a 95% interval. The within-patient lagged effects (P5, P6) live in
:mod:`experiments.lagged`.

Intervals come from a percentile bootstrap over patients, clustered by clinician: patients are
nested in clinicians (therapist effects), so each resample draws a clinic's clinicians with
replacement (within each ``point_id``/``rep``, so the design is kept) and then, for every drawn
clinician, that many of their patients with replacement (two-stage resampling, Davison & Hinkley
1997, section 3.8). The second stage adds within-clinician variance a second time, so the
intervals lean conservative; ``two_stage=False`` keeps whole caseloads instead. ``clusters=None``
resamples patients independently. ``scipy.stats.bootstrap`` cannot resample clusters, so the
resamples are drawn here as integer weights per patient (how often each patient is drawn), one
row per resample, and every statistic is written as a function of weighted moments: all
resamples are then a few matrix products, and a thousand of them on thousands of patients take a
fraction of a second. The generator is a seeded :class:`numpy.random.Generator`, so intervals are
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CLINICIAN_KEYS = ("point_id", "rep", "clinician_id")
"""Columns that identify a clinician: the bootstrap's clusters."""
PATIENT_KEYS = (*CLINICIAN_KEYS, "patient_id")
"""Columns that identify a patient (one dyad)."""
STRATUM_KEYS = ("point_id", "rep")
"""Columns that identify a clinic: clinicians are resampled within each."""

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps bootstrap weights of shape (resamples, patients) to values of shape (resamples, k)."""

_WEIGHT_BUDGET = 4_000_000
"""Bootstrap weights held in memory at once (resamples x patients); larger jobs go in blocks."""


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


# --- resampling ------------------------------------------------------------------------------


def _require(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks column(s) {', '.join(missing)} this analysis needs")


def _codes(table: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Return dense group codes 0..k-1 of the rows of ``table`` by ``keys``."""
    _require(table, keys)
    return table.groupby(list(keys), sort=False, observed=True).ngroup().to_numpy()


def _offsets(sizes: np.ndarray) -> np.ndarray:
    """Return 0..size-1 for each entry of ``sizes``, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def bootstrap_weights(table: pd.DataFrame, n_resamples: int, rng: np.random.Generator, *,
                      clusters: Sequence[str] | None = CLINICIAN_KEYS,
                      strata: Sequence[str] | None = STRATUM_KEYS,
                      two_stage: bool = True) -> np.ndarray:
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
        Columns naming a stratum (a clinic); clusters are drawn within each, as many as it has.
    two_stage : bool
        Resample patients within each drawn cluster (True), or keep its whole caseload.

    Returns
    -------
    numpy.ndarray
        Integer-valued weights of shape ``(n_resamples, len(table))``.
    """
    n = len(table)
    strata = tuple(strata or ())
    stratum = _codes(table, strata) if strata else np.zeros(n, dtype=np.int64)
    cluster = _codes(table, (*strata, *clusters)) if clusters else np.arange(n)
    order = np.argsort(cluster, kind="stable")
    sizes = np.bincount(cluster)
    starts = np.cumsum(sizes) - sizes
    cluster_stratum = stratum[order[starts]]
    counts = np.zeros(n_resamples * n, dtype=np.int64)
    for s in np.unique(cluster_stratum):
        members = np.flatnonzero(cluster_stratum == s)
        drawn = members[rng.integers(0, members.size, size=(n_resamples, members.size))]
        replicate = np.repeat(np.arange(n_resamples), members.size)
        copies = sizes[drawn.ravel()]
        which = np.repeat(drawn.ravel(), copies)
        if two_stage:
            within = (rng.random(which.size) * sizes[which]).astype(np.int64)
        else:
            within = _offsets(copies)
        rows = order[starts[which] + within]
        counts += np.bincount(np.repeat(replicate, copies) * n + rows, minlength=n_resamples * n)
    return counts.reshape(n_resamples, n).astype(float)


def _bootstrap(table: pd.DataFrame, statistic: Statistic, *, n_resamples: int, seed: int,
               clusters: Sequence[str] | None, two_stage: bool, confidence: float,
               strata: Sequence[str] | None = STRATUM_KEYS) -> tuple[np.ndarray, ...]:
    """Return point values, lower and upper percentile bounds (each of shape (k,)) and a label."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if len(table) < 2:
        raise ValueError(f"the analysis needs at least 2 patients, got {len(table)}")
    value = statistic(np.ones((1, len(table))))[0]
    rng = np.random.default_rng(seed)
    block = max(1, _WEIGHT_BUDGET // len(table))
    draws = [statistic(bootstrap_weights(table, min(block, n_resamples - done), rng,
                                         clusters=clusters, strata=strata, two_stage=two_stage))
             for done in range(0, n_resamples, block)]
    tail = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(np.concatenate(draws), [tail, 1.0 - tail], axis=0)
    return value, low, high


def _describe(what: str, n_resamples: int, clusters: Sequence[str] | None,
              two_stage: bool) -> str:
    if clusters is None:
        scheme = "patients resampled"
    elif two_stage:
        scheme = "clinicians, then their patients, resampled"
    else:
        scheme = "clinicians resampled with their caseloads"
    return f"{what}; percentile bootstrap ({n_resamples} resamples, {scheme})"


def _moments(weights: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return weighted totals (B,), means (B, p) and covariances (B, p, p) (divisor: total)."""
    centre = data.mean(axis=0)
    data = data - centre  # covariances do not depend on it; it keeps the products small
    p = data.shape[1]
    total = weights.sum(axis=1)
    mean = weights @ data / total[:, None]
    products = (data[:, :, None] * data[:, None, :]).reshape(len(data), p * p)
    second = (weights @ products / total[:, None]).reshape(-1, p, p)
    covariance = second - mean[:, :, None] * mean[:, None, :]
    return total, mean + centre, covariance


def _complete(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    _require(table, columns)
    values = table[list(columns)].to_numpy(dtype=float)
    return table[np.isfinite(values).all(axis=1)]


def _residual_r(cov: np.ndarray) -> np.ndarray:
    """Return r of variable 0 with the residual of variable 2 on variable 1, sign reversed.

    Variable 2 is a symptom score after treatment and 1 the score at intake, so the residual is
    residualised change; reversing the sign makes "more of variable 0, fewer symptoms than
    expected from intake" positive.
    """
    slope = cov[:, 2, 1] / cov[:, 1, 1]
    cov_residual = cov[:, 0, 2] - slope * cov[:, 0, 1]
    var_residual = cov[:, 2, 2] - slope * cov[:, 2, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return -cov_residual / np.sqrt(cov[:, 0, 0] * var_residual)


# --- P1, P4: correlations with residualised outcome --------------------------------------------


def _residual_outcome_r(table: pd.DataFrame, predictor: np.ndarray, pre: str, post: str,
                        what: str, n_resamples: int, seed: int,
                        clusters: Sequence[str] | None, two_stage: bool,
                        confidence: float) -> Estimate:
    data = np.column_stack([predictor, table[pre].to_numpy(float), table[post].to_numpy(float)])
    value, low, high = _bootstrap(
        table, lambda w: _residual_r(_moments(w, data)[2])[:, None], n_resamples=n_resamples,
        seed=seed, clusters=clusters, two_stage=two_stage, confidence=confidence)
    return Estimate(float(value[0]), float(low[0]), float(high[0]), len(table),
                    _describe(what, n_resamples, clusters, two_stage))


def alliance_outcome_r(dyads: pd.DataFrame, *, alliance: str = "wai_early",
                       pre: str = "symptom_score_intake", post: str = "symptom_score_post",
                       n_resamples: int = 1000, seed: int = 0,
                       clusters: Sequence[str] | None = CLINICIAN_KEYS, two_stage: bool = True,
                       confidence: float = 0.95) -> Estimate:
    """Return the alliance–outcome correlation between patients (pattern P1).

    As in the meta-analysis of Flückiger, Del Re, Wampold & Horvath (2018, *Psychotherapy*
    55(4)): Pearson r between the early alliance (the session-3 WAI-SR) and post-treatment
    symptoms residualised on intake symptoms (the residual of post regressed on intake, i.e.
    the semi-partial correlation), signed so that a better alliance with a better outcome is
    positive. Only patients with an early alliance and both scores count (those who left before
    session 3 have no early alliance). The regression is refitted in every resample.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    alliance, pre, post : str
        Columns of the early alliance and the intake and post-treatment symptom scores.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap's generator.
    clusters : sequence of str or None
        Cluster columns (clinicians); None resamples patients independently.
    two_stage : bool
        Also resample patients within each drawn clinician.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Estimate
        r with its cluster-bootstrap percentile interval.
    """
    table = _complete(dyads, (alliance, pre, post))
    return _residual_outcome_r(
        table, table[alliance].to_numpy(float), pre, post,
        f"Pearson r of {alliance} with residualised {post} (on {pre}), better = positive",
        n_resamples, seed, clusters, two_stage, confidence)


def resolution_outcome_r(dyads: pd.DataFrame, *, ruptures: str = "ruptures",
                         repaired: str = "repaired", pre: str = "symptom_score_intake",
                         post: str = "symptom_score_post", n_resamples: int = 1000,
                         seed: int = 0, clusters: Sequence[str] | None = CLINICIAN_KEYS,
                         two_stage: bool = True, confidence: float = 0.95) -> Estimate:
    """Return the rupture-resolution–outcome correlation (pattern P4).

    As in the meta-analysis of Eubanks, Muran & Safran (2018, *Psychotherapy* 55(4)): among
    patients with at least one rupture, Pearson r between the share of ruptures resolved
    (``repaired / ruptures``) and post-treatment symptoms residualised on intake (fitted in
    that subset), signed so that more resolution with a better outcome is positive.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    ruptures, repaired : str
        Columns counting ruptures and repaired ruptures.
    pre, post : str
        Columns of the intake and post-treatment symptom scores.
    n_resamples, seed, clusters, two_stage, confidence
        As in :func:`alliance_outcome_r`.

    Returns
    -------
    Estimate
        r with its cluster-bootstrap percentile interval.
    """
    table = _complete(dyads, (ruptures, repaired, pre, post))
    table = table[table[ruptures] > 0]
    resolved = table[repaired].to_numpy(float) / table[ruptures].to_numpy(float)
    return _residual_outcome_r(
        table, resolved, pre, post,
        f"Pearson r of {repaired}/{ruptures} with residualised {post} among patients with "
        "a rupture, better = positive", n_resamples, seed, clusters, two_stage, confidence)


# --- P2, P3, P9: shares ----------------------------------------------------------------------


def _ratio(table: pd.DataFrame, numerator: np.ndarray, denominator: np.ndarray, what: str,
           n_resamples: int, seed: int, clusters: Sequence[str] | None, two_stage: bool,
           confidence: float) -> Estimate:
    """Return sum(numerator) / sum(denominator) over patients, with its bootstrap interval."""
    def statistic(w: np.ndarray) -> np.ndarray:
        return ((w @ numerator) / (w @ denominator))[:, None]

    value, low, high = _bootstrap(table, statistic, n_resamples=n_resamples, seed=seed,
                                  clusters=clusters, two_stage=two_stage, confidence=confidence)
    return Estimate(float(value[0]), float(low[0]), float(high[0]), len(table),
                    _describe(what, n_resamples, clusters, two_stage))


def dropout_rate(dyads: pd.DataFrame, *, status: str = "status",
                 dropped: str = "dropped_out", interval: str = "bootstrap",
                 n_resamples: int = 1000, seed: int = 0,
                 clusters: Sequence[str] | None = CLINICIAN_KEYS, two_stage: bool = True,
                 confidence: float = 0.95) -> Estimate:
    """Return the share of patients who dropped out (pattern P2).

    As in the meta-analysis of Swift & Greenberg (2012, *JCCP* 80(4)): patients who ended
    treatment unilaterally before its planned end or recovery, over all patients whose
    treatment has ended (rows still ``active`` are left out: their ending is unknown).

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    status : str
        Column of the treatment status.
    dropped : str
        Status meaning a dropout.
    interval : {"bootstrap", "wilson"}
        Cluster bootstrap (default) or the Wilson score interval, which treats patients as
        independent and so ignores therapist effects.
    n_resamples, seed, clusters, two_stage, confidence
        As in :func:`alliance_outcome_r` (only the first two matter for ``"wilson"``... only
        ``confidence`` does).

    Returns
    -------
    Estimate
        The share with its interval.
    """
    _require(dyads, (status,))
    labels = dyads[status].astype(str)
    table = dyads[labels != "active"]
    dropouts = (labels[labels != "active"] == dropped).to_numpy(float)
    if interval == "wilson":
        if len(table) == 0:
            raise ValueError("the analysis needs at least 1 patient, got 0")
        ci = stats.binomtest(int(dropouts.sum()), len(table)).proportion_ci(
            confidence_level=confidence, method="wilson")
        return Estimate(float(dropouts.mean()), float(ci.low), float(ci.high), len(table),
                        f"share with {status} == {dropped}; Wilson score interval")
    if interval != "bootstrap":
        raise ValueError(f"interval must be 'bootstrap' or 'wilson', got {interval!r}")
    return _ratio(table, dropouts, np.ones(len(table)), f"share with {status} == {dropped}",
                  n_resamples, seed, clusters, two_stage, confidence)


def rupture_session_share(table: pd.DataFrame, *, n_resamples: int = 1000, seed: int = 0,
                          clusters: Sequence[str] | None = CLINICIAN_KEYS,
                          two_stage: bool = True, confidence: float = 0.95) -> Estimate:
    """Return the share of attended sessions with a patient-reported rupture (pattern P3).

    Patient-report studies summarised by Eubanks, Muran & Safran (2018, *Psychotherapy* 55(4))
    count the sessions in which the patient reports a rupture on a post-session questionnaire,
    over all sessions attended (a ratio of sums, so longer treatments weigh more).

    Parameters
    ----------
    table : pandas.DataFrame
        The per-session panel (column ``rupture_patient_reported``, one row per attended
        session) or the per-dyad summary (columns ``reported`` and ``sessions``).
    n_resamples, seed, clusters, two_stage, confidence
        As in :func:`alliance_outcome_r`; patients are resampled with all their sessions.

    Returns
    -------
    Estimate
        The share with its interval; ``n`` counts patients.
    """
    if "rupture_patient_reported" in table.columns:
        _require(table, PATIENT_KEYS)
        table = (table.assign(reported=table["rupture_patient_reported"].astype(float))
                 .groupby(list(PATIENT_KEYS), sort=False, observed=True)["reported"]
                 .agg(["sum", "size"]).reset_index()
                 .rename(columns={"sum": "reported", "size": "sessions"}))
    _require(table, ("reported", "sessions"))
    table = table[table["sessions"] > 0]
    return _ratio(table, table["reported"].to_numpy(float), table["sessions"].to_numpy(float),
                  "patient-reported ruptures / sessions attended", n_resamples, seed, clusters,
                  two_stage, confidence)


def adherent_share(table: pd.DataFrame, *, threshold: float = 0.8, column: str | None = None,
                   engagement: str = "engagement", n_resamples: int = 1000, seed: int = 0,
                   clusters: Sequence[str] | None = CLINICIAN_KEYS, two_stage: bool = True,
                   confidence: float = 0.95) -> Estimate:
    """Return the share of patients adherent at the end of follow-up (pattern P9).

    As in the meta-analysis of Lemstra & Alsabbagh (2014): a patient is adherent when the
    proportion of doses taken (proportion of days covered / medication possession ratio) is at
    least ``threshold``, conventionally 0.8. Engagement in the model is that proportion.

    Parameters
    ----------
    table : pandas.DataFrame
        The per-session panel (each patient's last attended session is used), or, with
        ``column``, the per-dyad summary.
    threshold : float
        Adherence threshold on the proportion of doses taken.
    column : str, optional
        Per-dyad column holding each patient's proportion at the end of follow-up.
    engagement : str
        Panel column of engagement, used without ``column``.
    n_resamples, seed, clusters, two_stage, confidence
        As in :func:`alliance_outcome_r`.

    Returns
    -------
    Estimate
        The share with its interval.
    """
    if column is None:
        _require(table, (*PATIENT_KEYS, "session", engagement))
        last = table.sort_values([*PATIENT_KEYS, "session"]).drop_duplicates(
            list(PATIENT_KEYS), keep="last")
        values, label = last[engagement], f"last attended session's {engagement}"
    else:
        _require(table, (column,))
        last, values, label = table, table[column], column
    keep = np.isfinite(values.to_numpy(float))
    last = last[keep]
    adherent = (values.to_numpy(float)[keep] >= threshold).astype(float)
    return _ratio(last, adherent, np.ones(len(last)), f"share with {label} >= {threshold:g}",
                  n_resamples, seed, clusters, two_stage, confidence)


# --- P7: pre-post effect size ----------------------------------------------------------------


def pre_post_d(dyads: pd.DataFrame, *, pre: str = "symptom_score_intake",
               post: str = "symptom_score_post", n_resamples: int = 1000, seed: int = 0,
               clusters: Sequence[str] | None = CLINICIAN_KEYS, two_stage: bool = True,
               confidence: float = 0.95) -> Estimate:
    """Return the pre-post effect size on symptoms (pattern P7).

    As in the routine-care benchmarks of Wakefield et al. (2021) and Gaskell et al. (2023):
    (mean pre − mean post) / SD(pre), over completers and dropouts together (a dropout's post
    score is the last observation carried forward), every patient with both scores.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    pre, post : str
        Columns of the intake and post-treatment symptom scores.
    n_resamples, seed, clusters, two_stage, confidence
        As in :func:`alliance_outcome_r`.

    Returns
    -------
    Estimate
        d (positive = improvement) with its interval.
    """
    table = _complete(dyads, (pre, post))
    data = table[[pre, post]].to_numpy(float)

    def statistic(w: np.ndarray) -> np.ndarray:
        total, mean, cov = _moments(w, data)
        sd_pre = np.sqrt(cov[:, 0, 0] * total / (total - 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((mean[:, 0] - mean[:, 1]) / sd_pre)[:, None]

    value, low, high = _bootstrap(table, statistic, n_resamples=n_resamples, seed=seed,
                                  clusters=clusters, two_stage=two_stage, confidence=confidence)
    return Estimate(float(value[0]), float(low[0]), float(high[0]), len(table),
                    _describe(f"(mean {pre} - mean {post}) / SD({pre})", n_resamples, clusters,
                              two_stage))
