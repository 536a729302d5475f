"""Outcomes, each defined once: what it measures, who counts, how replicate clinics combine.

An outcome is computed from the per-dyad table (one row per patient; its columns are the field
registry's summary columns, :mod:`sim.core.fields`). Every outcome here is one of two kinds:

- a **ratio of sums** over the patients who count: ``sum(numerator) / sum(denominator)``. A
  share of patients has denominator 1 per patient; a mean per patient likewise; a rate per
  session has the sessions attended as denominator, so longer treatments weigh more, as the
  cited studies count;
- a **standardised change**: ``(mean pre - mean post) / SD(pre)`` over the patients who count.

The same definition gives a clinic's value (:func:`clinic_values`, what sweep summaries,
studies and the dashboard show), a pooled estimate with a cluster-bootstrap interval
(:meth:`Outcome.estimate`, what validation judges) and the figure ``alliance run`` prints.
Replicate clinics of a sweep point are combined as :attr:`Outcome.across_replicates` says
(:func:`experiments.science.summarize.per_point`).

Add an outcome with one :class:`Outcome` in :data:`REGISTRY`; summaries, ``--outcome`` options,
the manual and the tests follow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from experiments.science.resampling import (
    DEFAULT,
    Estimate,
    Resampling,
    estimates,
    require,
    weighted_moments,
)

Terms = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Per patient: numerator (or pre score), denominator (or post score), and whether they count."""

CLINIC_KEYS = ("point_id", "rep")
"""The columns naming one clinic of a sweep (a design point's replicate)."""

ACROSS_REPLICATES = "mean of the replicate clinics' values with a 95% t-interval"


@dataclass(frozen=True)
class Outcome:
    """One outcome: its definition, who counts, and how it is computed and combined.

    Attributes
    ----------
    name : str
        Column name in summaries and the value of ``--outcome`` options.
    unit : str
        What a value is measured in.
    meaning : str
        One line saying what it measures.
    who : str
        Which patients count, in words.
    source : str
        The study whose way of computing it is followed.
    columns : tuple of str
        The per-dyad columns it reads.
    terms : callable
        ``terms(dyads) -> (numerator, denominator, counts)`` as float, float, bool arrays; for a
        standardised change ``(pre, post, counts)``.
    kind : {"ratio", "standardised_change"}
        How the terms make a value (see the module docstring).
    across_replicates : str
        How replicate clinics of one sweep point combine.
    """

    name: str
    unit: str
    meaning: str
    who: str
    source: str
    columns: tuple[str, ...]
    terms: Callable[[pd.DataFrame], Terms]
    kind: Literal["ratio", "standardised_change"] = "ratio"
    across_replicates: str = ACROSS_REPLICATES

    def contributions(self, dyads: pd.DataFrame) -> Terms:
        """Return each patient's numerator and denominator (or pre and post) and who counts.

        Raises
        ------
        ValueError
            Naming the columns missing from ``dyads``.
        """
        require(dyads, self.columns)
        a, b, counts = self.terms(dyads)
        return np.asarray(a, float), np.asarray(b, float), np.asarray(counts, bool)

    def value(self, dyads: pd.DataFrame) -> float:
        """Return the outcome over all of ``dyads`` (NaN when nobody counts)."""
        a, b, counts = self.contributions(dyads)
        a, b = a[counts], b[counts]
        if self.kind == "ratio":
            total = b.sum()
            return float(a.sum() / total) if total > 0 else np.nan
        if a.size < 2:
            return np.nan
        sd = a.std(ddof=1)
        return float((a.mean() - b.mean()) / sd) if sd > 0 else np.nan

    def by_clinic(self, dyads: pd.DataFrame, keys: Sequence[str] = CLINIC_KEYS) -> pd.Series:
        """Return the outcome of each clinic (group of ``keys``), indexed by the keys."""
        blocks = _Blocks.of(dyads, keys)
        values = blocks.outcome(self, dyads)
        index = pd.MultiIndex.from_arrays(list(blocks.keys.values()), names=list(keys))
        return pd.Series(values, index=index, name=self.name)

    def estimate(self, dyads: pd.DataFrame, *, resampling: Resampling = DEFAULT) -> Estimate:
        """Return the pooled outcome with a cluster-bootstrap interval (patients by clinician).

        Raises
        ------
        ValueError
            If a needed column is missing or nobody counts.
        """
        a, b, counts = self.contributions(dyads)
        table = dyads[counts]
        a, b = a[counts], b[counts]
        if self.kind == "ratio":

            def statistic(w: np.ndarray) -> np.ndarray:
                return ((w @ a) / (w @ b))[:, None]

        else:
            data = np.column_stack([a, b])

            def statistic(w: np.ndarray) -> np.ndarray:
                total, mean, cov = weighted_moments(w, data)
                with np.errstate(invalid="ignore", divide="ignore"):
                    sd_pre = np.sqrt(cov[:, 0, 0] * total / (total - 1.0))
                    return ((mean[:, 0] - mean[:, 1]) / sd_pre)[:, None]

        return estimates(table, statistic, resampling, [f"{self.name}: {self.meaning}"])[0]


def status_is(dyads: pd.DataFrame, *names: str) -> np.ndarray:
    """Return, per patient, whether the treatment status is one of ``names``.

    Works on the status as the tables carry it (a categorical, or strings after a round trip
    through another format) without converting row by row.
    """
    status = dyads["status"]
    if isinstance(status.dtype, pd.CategoricalDtype):
        codes = status.cat.codes.to_numpy()
        found = np.zeros(len(codes), dtype=bool)
        for name in names:  # a comparison per name: several times faster than np.isin here
            if name in status.cat.categories:
                found |= codes == status.cat.categories.get_loc(name)
        return found
    return status.isin(names).to_numpy()


def _ended(dyads: pd.DataFrame) -> np.ndarray:
    return ~status_is(dyads, "active")


def _ones(dyads: pd.DataFrame) -> np.ndarray:
    return np.ones(len(dyads))


def _share_of_ended(status: str) -> Callable[[pd.DataFrame], Terms]:
    def terms(dyads: pd.DataFrame) -> Terms:
        return status_is(dyads, status).astype(float), _ones(dyads), _ended(dyads)

    return terms


def _mean_of(column: str) -> Callable[[pd.DataFrame], Terms]:
    def terms(dyads: pd.DataFrame) -> Terms:
        values = dyads[column].to_numpy(float)
        observed = ~np.isnan(values)
        return np.where(observed, values, 0.0), _ones(dyads), observed

    return terms


def _per(numerator: str, denominator: str) -> Callable[[pd.DataFrame], Terms]:
    def terms(dyads: pd.DataFrame) -> Terms:
        den = dyads[denominator].to_numpy(float)
        return dyads[numerator].to_numpy(float), den, den > 0

    return terms


def _scores(dyads: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre = dyads["symptom_score_intake"].to_numpy(float)
    post = dyads["symptom_score_post"].to_numpy(float)
    return pre, post, ~(np.isnan(pre) | np.isnan(post))


def _sessions(dyads: pd.DataFrame) -> Terms:
    return dyads["sessions"].to_numpy(float), _ones(dyads), np.ones(len(dyads), bool)


def _change(dyads: pd.DataFrame) -> Terms:
    pre, post, both = _scores(dyads)
    return np.where(both, pre - post, 0.0), _ones(dyads), both


_ENDED = "patients whose treatment has ended (still-active patients' ending is unknown)"
_SCORED = (
    "patients with an intake and a post score; a dropout's post score is the last one observed"
)
_ATTENDED = (
    "patients who attended at least one session (a ratio of sums: longer courses weigh more)"
)
_RUPTURED = "patients with at least one rupture (a ratio of sums over their ruptures)"
_SCORES = ("symptom_score_intake", "symptom_score_post")

REGISTRY: tuple[Outcome, ...] = (
    Outcome(
        "dropout_rate",
        "share of patients",
        "share of patients who dropped out",
        _ENDED,
        "Swift & Greenberg 2012: unilateral endings before the planned end or recovery",
        ("status",),
        _share_of_ended("dropped_out"),
    ),
    Outcome(
        "recovered_rate",
        "share of patients",
        "share of patients who ended on recovery",
        _ENDED,
        "the model's recovery ending (PHQ-9 below the recovery threshold)",
        ("status",),
        _share_of_ended("recovered"),
    ),
    Outcome(
        "symptom_change",
        "PHQ-9 points",
        "mean PHQ-9 change, intake minus post (positive = better)",
        _SCORED,
        "routine-care benchmarks (Wakefield et al. 2021): completers and dropouts together",
        _SCORES,
        _change,
    ),
    Outcome(
        "pre_post_d",
        "SD of intake scores",
        "pre-post Cohen's d (SD of intake)",
        _SCORED,
        "Wakefield et al. 2021; Gaskell et al. 2023: (mean pre - mean post) / SD(pre)",
        _SCORES,
        _scores,
        kind="standardised_change",
    ),
    Outcome(
        "wai_early",
        "WAI-SR total (1-5)",
        "mean WAI-SR total at session 3",
        "patients who rated the alliance at session 3",
        "Flückiger et al. 2018: the early alliance, rated by the patient",
        ("wai_early",),
        _mean_of("wai_early"),
    ),
    Outcome(
        "alliance_mean",
        "latent alliance (0-1)",
        "mean latent alliance over sessions",
        "patients with at least one session's alliance",
        "the model's latent state (no instrument)",
        ("alliance_mean",),
        _mean_of("alliance_mean"),
    ),
    Outcome(
        "ruptures_per_session",
        "ruptures per session",
        "ruptures per attended session",
        _ATTENDED,
        "Eubanks, Muran & Safran 2018: ruptures over sessions attended",
        ("ruptures", "sessions"),
        _per("ruptures", "sessions"),
    ),
    Outcome(
        "detected_share",
        "share of ruptures",
        "share of ruptures the clinician noticed",
        _RUPTURED,
        "the model's noticing step (Eubanks et al. 2018 on detection)",
        ("detected", "ruptures"),
        _per("detected", "ruptures"),
    ),
    Outcome(
        "repaired_share",
        "share of ruptures",
        "share of ruptures repaired",
        _RUPTURED,
        "the model's repair step (Eubanks et al. 2018 on resolution)",
        ("repaired", "ruptures"),
        _per("repaired", "ruptures"),
    ),
    Outcome(
        "engagement_mean",
        "share of agreed tasks (0-1)",
        "mean engagement (share of agreed tasks done)",
        "patients with at least one session's engagement",
        "Lemstra & Alsabbagh 2014: proportion of doses taken over follow-up",
        ("engagement_mean",),
        _mean_of("engagement_mean"),
    ),
    Outcome(
        "internalisation_final",
        "internalisation (0-1)",
        "mean internalised motivation at the end of treatment",
        "every patient with a value (the last session attended; intake if none)",
        "self-determination theory (Ryan & Deci 2000): the relative autonomy of motivation",
        ("internalisation_final",),
        _mean_of("internalisation_final"),
    ),
    Outcome(
        "sessions_mean",
        "sessions",
        "mean sessions attended",
        "every patient (sessions attended so far)",
        "session counts as routine-care services report them",
        ("sessions",),
        _sessions,
    ),
)
"""Every outcome, in the order summaries list them."""

OUTCOMES: dict[str, Outcome] = {o.name: o for o in REGISTRY}
"""The registry by name."""


class UnknownOutcome(ValueError):
    """An outcome name that is not in the registry."""


def get(name: str) -> Outcome:
    """Return the outcome called ``name``.

    Raises
    ------
    UnknownOutcome
        Naming the outcome and listing the known ones.
    """
    try:
        return OUTCOMES[name]
    except KeyError:
        raise UnknownOutcome(
            f"outcome '{name}' is unknown; choose one of: {', '.join(OUTCOMES)}"
        ) from None


@dataclass(frozen=True)
class _Blocks:
    """A table's rows as blocks of consecutive rows, one per clinic, in key order."""

    order: np.ndarray | None  # the rows' key order, None when already in it
    starts: np.ndarray  # each block's first row (in key order)
    keys: dict[str, np.ndarray]  # each block's key values

    @classmethod
    def of(cls, dyads: pd.DataFrame, keys: Sequence[str]) -> _Blocks:
        require(dyads, tuple(keys))
        values = [dyads[k].to_numpy() for k in keys]
        order = None if _in_key_order(values) else np.lexsort(values[::-1])
        if order is not None:
            values = [v[order] for v in values]
        new = np.zeros(len(dyads), dtype=bool)  # first row of a clinic
        new[:1] = True
        for v in values:
            new[1:] |= v[1:] != v[:-1]
        starts = np.flatnonzero(new)
        return cls(order, starts, {k: v[starts] for k, v in zip(keys, values, strict=True)})

    def outcome(self, outcome: Outcome, dyads: pd.DataFrame) -> np.ndarray:
        a, b, counts = outcome.contributions(dyads)
        if self.order is not None:
            a, b, counts = a[self.order], b[self.order], counts[self.order]
        if outcome.kind == "ratio":
            return _ratio_by_block(a, b, counts, self.starts)
        return _standardised_change_by_block(a, b, counts, self.starts)


def clinic_values(dyads: pd.DataFrame, keys: Sequence[str] = CLINIC_KEYS) -> pd.DataFrame:
    """Return one row per clinic (group of ``keys``, in key order): every outcome, ``patients``.

    One vectorised pass of block sums over the rows; a clinic's values depend only on its own
    rows. What sweep summaries use, and what a sweep's workers compute when the spec records
    ``["clinics"]`` (the runner names it by reference, ``CLINIC_REDUCER``).
    """
    blocks = _Blocks.of(dyads, keys)
    columns: dict[str, np.ndarray] = dict(blocks.keys)
    for outcome in REGISTRY:
        columns[outcome.name] = blocks.outcome(outcome, dyads)
    columns["patients"] = np.diff(np.append(blocks.starts, len(dyads))).astype(np.int64)
    return pd.DataFrame(columns)


CLINIC_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for o in REGISTRY for c in o.columns))
"""The per-dyad columns :func:`clinic_values` reads besides the keys."""
clinic_values.columns = CLINIC_COLUMNS  # a reducer's declared inputs: workers build only these


def _in_key_order(values: Sequence[np.ndarray]) -> bool:
    """Whether rows are in ascending order of the key columns ``values`` (lexicographically)."""
    decided = np.zeros(max(len(values[0]) - 1, 0), dtype=bool)
    for v in values:
        if np.any(~decided & (v[1:] < v[:-1])):
            return False
        decided |= v[1:] > v[:-1]
    return True


def _block_sums(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(x, starts) if starts.size else np.zeros(0)


def _ratio_by_block(
    a: np.ndarray, b: np.ndarray, counts: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Each block's ratio of sums over the rows that count (NaN where the denominator is 0)."""
    top = _block_sums(np.where(counts, a, 0.0), starts)
    bottom = _block_sums(np.where(counts, b, 0.0), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def _standardised_change_by_block(
    pre: np.ndarray, post: np.ndarray, counts: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Each block's (mean pre - mean post) / SD(pre) over the rows that count (NaN if n < 2)."""
    has_pre = counts & ~np.isnan(pre)
    has_post = counts & ~np.isnan(post)
    n_pre = _block_sums(has_pre.astype(float), starts)
    n_post = _block_sums(has_post.astype(float), starts)
    x = np.where(has_pre, pre, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pre = _block_sums(x, starts) / n_pre
        mean_post = _block_sums(np.where(has_post, post, 0.0), starts) / n_post
        block = np.repeat(np.arange(starts.size), np.diff(np.append(starts, pre.size)))
        deviation = np.where(has_pre, x - mean_pre[block], 0.0)
        sd = np.sqrt(_block_sums(deviation * deviation, starts) / (n_pre - 1))
        # Equal scores have no spread, whatever the rounding of their mean says.
        low = np.minimum.reduceat(np.where(has_pre, pre, np.inf), starts) if starts.size else sd
        high = np.maximum.reduceat(np.where(has_pre, pre, -np.inf), starts) if starts.size else sd
        sd = np.where(low < high, sd, 0.0)
        d = (mean_pre - mean_post) / np.where(sd > 0, sd, np.nan)
    return np.where(n_pre >= 2, d, np.nan)
