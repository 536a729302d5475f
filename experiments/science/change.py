"""The shape of change: dose–response and the spread of outcomes (patterns P10, P14).

Both analyses work on the model's tables as routine-care studies work on their records: the
PHQ-9-like score before each session (the panel's ``symptom_score``; session 1's is the intake)
and the closing score of each course (``symptom_score_post``; a dropout's is the last
observation). Intervals come from the cluster bootstrap of :mod:`experiments.science.resampling`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.science.resampling import (
    DEFAULT,
    PATIENT_KEYS,
    Estimate,
    Resampling,
    complete,
    estimates,
    require,
    weighted_moments,
)

__all__ = [
    "RELIABLE_CHANGE",
    "DoseResponse",
    "OutcomeSpread",
    "dose_response",
    "outcome_spread",
    "score_after",
]

RELIABLE_CHANGE = 6.0
"""PHQ-9 points of reliable improvement (the usual reliable-change index of the PHQ-9)."""


@dataclass(frozen=True)
class DoseResponse:
    """How many have improved after a number of sessions, and how change slows.

    Attributes
    ----------
    improved_share : Estimate
        Share reliably improved (score at least :data:`RELIABLE_CHANGE` below intake) on the
        score taken after ``after`` sessions.
    acceleration : Estimate
        Among patients who attended at least ``2 * after`` sessions: mean improvement over the
        first ``after`` sessions over mean improvement over the next ``after`` (above 1: change
        is negatively accelerated, as Howard et al. 1986 found).
    early_gain, late_gain : Estimate
        The two mean improvements (PHQ-9 points per session) of that ratio.
    early_excess : Estimate
        ``early_gain - ratio * late_gain``: at least 0 when early change is at least ``ratio``
        times late change (the comparison P10 makes, defined also where late change is 0 or
        negative and the ratio is not).
    after : int
        The dose (sessions) the share is taken at.
    ratio : float
        The factor of ``early_excess``.
    """

    improved_share: Estimate
    acceleration: Estimate
    early_gain: Estimate
    late_gain: Estimate
    early_excess: Estimate
    after: int
    ratio: float


def score_after(dyads: pd.DataFrame, panel: pd.DataFrame, sessions: int) -> pd.DataFrame:
    """Return each patient's score taken after ``sessions`` sessions (or the course's last).

    The score taken after session *k* is the pre-session questionnaire of session *k* + 1; a
    course that ended before that contributes its closing score (a dropout's last
    observation), as in routine-care dose–response studies.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary (``symptom_score_intake``, ``symptom_score_post``, ``sessions``).
    panel : pandas.DataFrame
        Per-session panel (``session``, ``symptom_score``).
    sessions : int
        The number of sessions attended before the score.

    Returns
    -------
    pandas.DataFrame
        The per-dyad rows with a column ``score_after``.
    """
    require(dyads, (*PATIENT_KEYS, "symptom_score_intake", "symptom_score_post", "sessions"))
    require(panel, (*PATIENT_KEYS, "session", "symptom_score"))
    later = panel.loc[
        panel["session"].to_numpy() == sessions + 1, [*PATIENT_KEYS, "symptom_score"]
    ].rename(columns={"symptom_score": "score_after"})
    table = dyads.merge(later, on=list(PATIENT_KEYS), how="left", validate="one_to_one")
    ended = table["sessions"].to_numpy() <= sessions
    table["score_after"] = np.where(
        ended, table["symptom_score_post"].to_numpy(float), table["score_after"].to_numpy(float)
    )
    return table


def dose_response(
    dyads: pd.DataFrame,
    panel: pd.DataFrame,
    *,
    after: int = 8,
    reliable_change: float = RELIABLE_CHANGE,
    ratio: float = 1.5,
    resampling: Resampling = DEFAULT,
) -> DoseResponse:
    """Return the dose–response statistics of pattern P10.

    As Howard, Kopta, Krause & Orlinsky (1986) and Hansen, Lambert & Forman (2002) count it:
    the share of patients reliably improved (PHQ-9 at least ``reliable_change`` points below
    intake) on the score taken after ``after`` sessions, over all patients who started (those
    who ended earlier count with their closing score, a dropout with the last observation).
    The shape of the curve: among patients who attended at least ``2 * after`` sessions, mean
    improvement over sessions 1 to ``after`` (intake to the score after session ``after``)
    against the next ``after`` sessions (to the score after session ``2 * after``, or the
    closing score of those who ended then); the ratio of the two means.

    Parameters
    ----------
    dyads, panel : pandas.DataFrame
        Per-dyad summary and per-session panel of the same run.
    after : int
        Sessions of the dose.
    reliable_change : float
        Points of reliable improvement.
    ratio : float
        Factor of the comparison early >= ratio x late (``early_excess``).
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    DoseResponse
    """
    middle = score_after(dyads, panel, after)
    end = score_after(dyads, panel, 2 * after)[[*PATIENT_KEYS, "score_after"]].rename(
        columns={"score_after": "score_end"}
    )
    table = complete(
        middle.merge(end, on=list(PATIENT_KEYS), validate="one_to_one"),
        ("symptom_score_intake", "score_after"),
    )
    intake = table["symptom_score_intake"].to_numpy(float)
    improved = (intake - table["score_after"].to_numpy(float) >= reliable_change).astype(float)
    long = (table["sessions"].to_numpy() >= 2 * after).astype(float)
    early = np.where(long > 0, intake - table["score_after"].to_numpy(float), 0.0) / after
    late = (
        np.where(
            long > 0,
            table["score_after"].to_numpy(float)
            - np.nan_to_num(table["score_end"].to_numpy(float)),
            0.0,
        )
        / after
    )

    def statistic(w: np.ndarray) -> np.ndarray:
        n_long = w @ long
        with np.errstate(invalid="ignore", divide="ignore"):
            early_gain, late_gain = (w @ early) / n_long, (w @ late) / n_long
            return np.column_stack(
                [
                    (w @ improved) / w.sum(axis=1),
                    early_gain / late_gain,
                    early_gain,
                    late_gain,
                    early_gain - ratio * late_gain,
                ]
            )

    span = f"sessions 1-{after} over {after + 1}-{2 * after}"
    found = estimates(
        table,
        statistic,
        resampling,
        [
            f"share >= {reliable_change:g} points below intake on the score after session {after}",
            f"mean improvement per session, {span}, patients with >= {2 * after} sessions",
            f"mean improvement per session over sessions 1-{after}, PHQ-9 points",
            f"mean improvement per session over sessions {after + 1}-{2 * after}, PHQ-9 points",
            f"improvement per session 1-{after} - {ratio:g} x that over {after + 1}-{2 * after}",
        ],
    )
    return DoseResponse(*found, after, ratio)


@dataclass(frozen=True)
class OutcomeSpread:
    """Intake scores and how outcomes spread after treatment (pattern P14).

    Attributes
    ----------
    intake_mean, intake_sd, post_mean, post_sd : Estimate
        Mean and SD of the intake and post-treatment scores (dropouts: last observation).
    sd_ratio : Estimate
        Post-treatment SD over intake SD (above 1: outcomes spread out, some recover fully and
        some do not move).
    """

    intake_mean: Estimate
    intake_sd: Estimate
    post_mean: Estimate
    post_sd: Estimate
    sd_ratio: Estimate


def outcome_spread(
    dyads: pd.DataFrame,
    *,
    pre: str = "symptom_score_intake",
    post: str = "symptom_score_post",
    resampling: Resampling = DEFAULT,
) -> OutcomeSpread:
    """Return intake and post-treatment means and SDs, and the ratio of SDs (pattern P14).

    As routine-care services report them (e.g. Europe PMC manuscript EMS82827, Table 3): every
    patient who started, a dropout's post-treatment score being the last observation; SDs with
    the n - 1 divisor.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    pre, post : str
        Columns of the intake and post-treatment scores.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    OutcomeSpread
    """
    table = complete(dyads, (pre, post))
    data = table[[pre, post]].to_numpy(float)

    def statistic(w: np.ndarray) -> np.ndarray:
        total, mean, cov = weighted_moments(w, data)
        with np.errstate(invalid="ignore", divide="ignore"):
            correction = total / (total - 1.0)
            sd_pre = np.sqrt(cov[:, 0, 0] * correction)
            sd_post = np.sqrt(cov[:, 1, 1] * correction)
            return np.column_stack([mean[:, 0], sd_pre, mean[:, 1], sd_post, sd_post / sd_pre])

    return OutcomeSpread(
        *estimates(
            table,
            statistic,
            resampling,
            [
                f"mean {pre}",
                f"SD of {pre}",
                f"mean {post} (dropouts: last observation)",
                f"SD of {post} (dropouts: last observation)",
                f"SD of {post} / SD of {pre}",
            ],
        )
    )
