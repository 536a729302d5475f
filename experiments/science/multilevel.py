"""Patients nested in clinicians: therapist effects and the therapist's part of the alliance.

Patterns P11 and P12. Studies of therapist effects (Baldwin & Imel 2013; Johns, Barkham,
Kellett & Saxon 2019) and of the therapist's part of the alliance–outcome link (Baldwin,
Wampold & Imel 2007; Del Re, Flückiger, Horvath, Symonds & Wampold 2012) fit random-intercept
models of post-treatment symptoms, adjusted for intake, with patients nested in clinicians.

Estimators. The between-clinician variance share (ICC(1)) is the one-way random-effects ANOVA
estimator with unequal caseloads (the method-of-moments counterpart of the random-intercept model;
``tests/test_multilevel.py`` checks it against ``statsmodels`` MixedLM). The alliance's two levels
follow Baldwin et al. (2007): each patient's early alliance is split into the clinician's mean (over
the clinician's patients) and the patient's deviation from it, and residualised outcome is regressed
on both; with the deviations centred within clinicians the two slopes are the between-clinician and
the pooled within-clinician regressions. Intervals: the cluster bootstrap of
:mod:`experiments.science.resampling` (a clinician drawn twice counts as two clinicians: group sizes
follow from the weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from experiments.science.resampling import (
    CLINICIAN_KEYS,
    DEFAULT,
    Estimate,
    Resampling,
    complete,
    estimates,
    require,
)

__all__ = ["AllianceLevels", "TherapistEffects", "alliance_levels", "icc1", "therapist_effects"]


def _groups(table: pd.DataFrame) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Return the patient-by-clinician indicator matrix and the caseload sizes."""
    require(table, CLINICIAN_KEYS)
    return _indicator(
        table.groupby(list(CLINICIAN_KEYS), sort=False, observed=True).ngroup().to_numpy()
    )


def _indicator(codes: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Return the row-by-group indicator matrix of group codes 0..k-1, and the group sizes."""
    n = len(codes)
    member = sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, codes.max() + 1))
    return member, np.bincount(codes).astype(float)


def _residualised(w: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Return post minus its weighted regression on pre, refitted per resample (rows of w)."""
    total = w.sum(axis=1)
    mean_pre, mean_post = (w @ pre) / total, (w @ post) / total
    slope = ((w @ (pre * post)) / total - mean_pre * mean_post) / (
        (w @ (pre * pre)) / total - mean_pre**2
    )
    return post[None, :] - mean_post[:, None] - slope[:, None] * (pre[None, :] - mean_pre[:, None])


def _icc(w: np.ndarray, y: np.ndarray, member: sparse.csr_matrix, size: np.ndarray) -> np.ndarray:
    """Return the one-way ANOVA ICC(1) of ``y`` (resamples x patients) per resample."""
    weight = (member.T @ w.T).T  # patients drawn per clinician, (B, G)
    sums = (member.T @ (w * y).T).T
    squares = (member.T @ (w * y * y).T).T
    drawn = weight / size  # how often each clinician was drawn
    total, groups = weight.sum(axis=1), drawn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        between_part = np.where(weight > 0, sums**2 / weight, 0.0).sum(axis=1)
        ss_between = between_part - sums.sum(axis=1) ** 2 / total
        ss_within = squares.sum(axis=1) - between_part
        ms_between = ss_between / (groups - 1.0)
        ms_within = ss_within / (total - groups)
        k0 = (total - (drawn * size**2).sum(axis=1) / total) / (groups - 1.0)
        return (ms_between - ms_within) / (ms_between + (k0 - 1.0) * ms_within)


def icc1(values: np.ndarray | pd.Series, groups: np.ndarray | pd.Series) -> float:
    """Return the one-way random-effects ANOVA ICC(1) of ``values`` grouped by ``groups``.

    The point estimate :func:`therapist_effects` bootstraps (unequal group sizes: the k0
    correction), for callers that need it per clinic.
    """
    member, size = _indicator(pd.factorize(np.asarray(groups))[0])
    y = np.asarray(values, dtype=float)[None, :]
    return float(_icc(np.ones_like(y), y, member, size)[0])


@dataclass(frozen=True)
class TherapistEffects:
    """How much of the outcome lies between clinicians (pattern P11).

    Attributes
    ----------
    icc : Estimate
        ICC(1) of post-treatment scores residualised on intake, between clinicians.
    alliance_icc : Estimate
        ICC(1) of the early alliance, between clinicians (for reading P12).
    """

    icc: Estimate
    alliance_icc: Estimate


def therapist_effects(
    dyads: pd.DataFrame,
    *,
    pre: str = "symptom_score_intake",
    post: str = "symptom_score_post",
    alliance: str = "wai_early",
    resampling: Resampling = DEFAULT,
) -> TherapistEffects:
    """Return the between-clinician share of outcome variance (pattern P11).

    As Johns et al. (2019) and Baldwin & Imel (2013) compute it: the intraclass correlation
    ICC(1) of post-treatment symptoms adjusted for intake (the residual of post on intake),
    patients nested in clinicians; every patient who started (dropouts: last observation).

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    pre, post, alliance : str
        Columns of the intake and post-treatment scores and of the early alliance.
    resampling : Resampling
        Bootstrap settings (clinicians with their caseloads by default).

    Returns
    -------
    TherapistEffects
    """
    table = complete(dyads, (pre, post))
    member, size = _groups(table)
    pre_v, post_v = table[pre].to_numpy(float), table[post].to_numpy(float)
    rated = table[alliance].notna().to_numpy()
    wai = np.nan_to_num(table[alliance].to_numpy(float))
    rated_member, rated_size = _groups(table[rated])

    def statistic(w: np.ndarray) -> np.ndarray:
        outcome = _icc(w, _residualised(w, pre_v, post_v), member, size)
        alliance_share = _icc(
            w[:, rated],
            np.broadcast_to(wai[rated], (len(w), rated.sum())),
            rated_member,
            rated_size,
        )
        return np.column_stack([outcome, alliance_share])

    return TherapistEffects(
        *estimates(
            table,
            statistic,
            resampling,
            [
                f"ICC(1) of {post} residualised on {pre}, between clinicians (one-way ANOVA)",
                f"ICC(1) of {alliance}, between clinicians, patients with it (one-way ANOVA)",
            ],
        )
    )


@dataclass(frozen=True)
class AllianceLevels:
    """The alliance–outcome link split between clinicians and patients (pattern P12).

    Slopes are PHQ-9 points of residualised improvement per WAI-SR point, positive when a
    better alliance goes with more improvement than intake predicts.

    Attributes
    ----------
    clinician_slope : Estimate
        Slope on the clinician's mean early alliance.
    patient_slope : Estimate
        Slope on the patient's deviation from that mean.
    excess : Estimate
        ``clinician_slope - 2 * patient_slope`` (P12 asks it to be at least 0).
    """

    clinician_slope: Estimate
    patient_slope: Estimate
    excess: Estimate


def alliance_levels(
    dyads: pd.DataFrame,
    *,
    alliance: str = "wai_early",
    pre: str = "symptom_score_intake",
    post: str = "symptom_score_post",
    resampling: Resampling = DEFAULT,
) -> AllianceLevels:
    """Return the clinician-level and patient-level alliance–outcome slopes (pattern P12).

    As Baldwin, Wampold & Imel (2007) and Del Re et al. (2012): among patients with an early
    alliance and both scores, the early alliance (session-3 WAI-SR) is split into the
    clinician's mean and the patient's deviation from it, and post-treatment symptoms
    residualised on intake are regressed on both.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    alliance, pre, post : str
        Columns of the early alliance and of the intake and post-treatment scores.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    AllianceLevels
    """
    table = complete(dyads, (alliance, pre, post))
    member, _ = _groups(table)
    wai = table[alliance].to_numpy(float)
    pre_v, post_v = table[pre].to_numpy(float), table[post].to_numpy(float)

    def statistic(w: np.ndarray) -> np.ndarray:
        better = -_residualised(w, pre_v, post_v)
        weight = (member.T @ w.T).T
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (member.T @ (w * wai).T).T / weight
        mean = (member @ np.nan_to_num(means).T).T  # each patient's clinician mean
        deviation = wai[None, :] - mean
        total = w.sum(axis=1)
        centred = mean - ((w * mean).sum(axis=1) / total)[:, None]
        within = (w * deviation * better).sum(axis=1) / (w * deviation**2).sum(axis=1)
        between = (w * centred * better).sum(axis=1) / (w * centred**2).sum(axis=1)
        return np.column_stack([between, within, between - 2.0 * within])

    what = f"residualised {post} (on {pre}), better = positive, per {alliance} point"
    return AllianceLevels(
        *estimates(
            table,
            statistic,
            resampling,
            [
                f"slope of {what} on the clinician's mean {alliance}",
                f"slope of {what} on the patient's deviation from the clinician's mean",
                "clinician-level slope - 2 x patient-level slope",
            ],
        )
    )
