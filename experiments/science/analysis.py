"""Statistics the literature computes, applied to the model's tables (patterns P1–P4, P7–P9).

Each analysis takes the per-dyad summary or the per-session panel of :func:`sim.core.batch.simulate`
(schemas in the README), computes its statistic the way the cited study does and returns an
:class:`~experiments.science.resampling.Estimate` with a 95% interval from a bootstrap over patients
clustered by clinician (:mod:`experiments.science.resampling`). The within-patient lagged effects
(P5, P6) are in :mod:`experiments.science.lagged`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from experiments.science.outcomes import OUTCOMES
from experiments.science.resampling import (
    DEFAULT,
    PATIENT_KEYS,
    STRATUM_KEYS,
    Estimate,
    Resampling,
    complete,
    estimates,
    require,
    weighted_moments,
)

__all__ = [
    "AutonomySupportEffect",
    "Estimate",
    "Resampling",
    "RupturePerspectives",
    "adherent_share",
    "alliance_outcome_r",
    "autonomy_support_effect",
    "dropout_rate",
    "pre_post_d",
    "resolution_outcome_r",
    "rupture_perspectives",
    "rupture_session_share",
]


# --- P1, P4: correlations with residualised outcome --------------------------------------------


def _residual_r(cov: np.ndarray) -> np.ndarray:
    """Return r of variable 0 with the residual of variable 2 on variable 1, sign reversed.

    Variable 2 is the symptom score after treatment and variable 1 the score at intake, so the
    residual is residualised change; reversing the sign makes "more of variable 0, fewer
    symptoms than intake predicts" positive. The regression is refitted in every resample.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = cov[:, 2, 1] / cov[:, 1, 1]
        cov_residual = cov[:, 0, 2] - slope * cov[:, 0, 1]
        var_residual = cov[:, 2, 2] - slope * cov[:, 2, 1]
        return -cov_residual / np.sqrt(cov[:, 0, 0] * var_residual)


def _residual_outcome_r(
    table: pd.DataFrame,
    predictor: np.ndarray,
    pre: str,
    post: str,
    what: str,
    resampling: Resampling,
) -> Estimate:
    data = np.column_stack([predictor, table[pre].to_numpy(float), table[post].to_numpy(float)])
    return estimates(
        table, lambda w: _residual_r(weighted_moments(w, data)[2])[:, None], resampling, [what]
    )[0]


def alliance_outcome_r(
    dyads: pd.DataFrame,
    *,
    alliance: str = "wai_early",
    pre: str = "symptom_score_intake",
    post: str = "symptom_score_post",
    resampling: Resampling = DEFAULT,
) -> Estimate:
    """Return the alliance–outcome correlation between patients (pattern P1).

    As in the meta-analysis of Flückiger, Del Re, Wampold & Horvath (2018, *Psychotherapy*
    55(4)): Pearson r between the early alliance (the session-3 WAI-SR) and post-treatment
    symptoms residualised on intake symptoms (the residual of post regressed on intake; a
    semi-partial correlation), signed so that a better alliance with a better outcome is
    positive. Only patients with an early alliance and both scores count (those who left
    before session 3 have no early alliance).

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    alliance, pre, post : str
        Columns of the early alliance and of the intake and post-treatment symptom scores.
    resampling : Resampling
        Bootstrap settings (the interval is a cluster-bootstrap percentile interval, not a
        Fisher-z interval, so that therapist effects widen it).

    Returns
    -------
    Estimate
    """
    table = complete(dyads, (alliance, pre, post))
    return _residual_outcome_r(
        table,
        table[alliance].to_numpy(float),
        pre,
        post,
        f"Pearson r of {alliance} with residualised {post} (on {pre}), better = positive",
        resampling,
    )


def resolution_outcome_r(
    dyads: pd.DataFrame,
    *,
    ruptures: str = "ruptures",
    repaired: str = "repaired",
    pre: str = "symptom_score_intake",
    post: str = "symptom_score_post",
    resampling: Resampling = DEFAULT,
) -> Estimate:
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
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    Estimate
    """
    table = complete(dyads, (ruptures, repaired, pre, post))
    table = table[table[ruptures] > 0]
    resolved = table[repaired].to_numpy(float) / table[ruptures].to_numpy(float)
    return _residual_outcome_r(
        table,
        resolved,
        pre,
        post,
        f"Pearson r of {repaired}/{ruptures} with residualised {post}, patients with a "
        "rupture, better = positive",
        resampling,
    )


# --- P2, P3, P9: shares ----------------------------------------------------------------------


def _ratio(
    table: pd.DataFrame,
    numerator: np.ndarray,
    denominator: np.ndarray,
    what: str,
    resampling: Resampling,
) -> Estimate:
    """Return sum(numerator) / sum(denominator) over patients, with its bootstrap interval."""

    def statistic(w: np.ndarray) -> np.ndarray:
        return ((w @ numerator) / (w @ denominator))[:, None]

    return estimates(table, statistic, resampling, [what])[0]


def dropout_rate(
    dyads: pd.DataFrame,
    *,
    interval: str = "bootstrap",
    resampling: Resampling = DEFAULT,
) -> Estimate:
    """Return the share of patients who dropped out (pattern P2).

    The registry's ``dropout_rate`` (:mod:`experiments.science.outcomes`): as in the
    meta-analysis of Swift & Greenberg (2012, *JCCP* 80(4)), patients who ended treatment
    unilaterally before its planned end or recovery, over all patients whose treatment has ended
    (rows still ``active`` are left out: their ending is unknown).

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary.
    interval : {"bootstrap", "wilson"}
        Cluster bootstrap (default), or the Wilson score interval, which treats patients as
        independent and so ignores therapist effects.
    resampling : Resampling
        Bootstrap settings (only ``confidence`` is used by the Wilson interval).

    Returns
    -------
    Estimate
    """
    outcome = OUTCOMES["dropout_rate"]
    if interval == "bootstrap":
        return outcome.estimate(dyads, resampling=resampling)
    if interval != "wilson":
        raise ValueError(f"interval must be 'bootstrap' or 'wilson', got {interval!r}")
    dropouts, _, ended = outcome.contributions(dyads)
    n = int(ended.sum())
    if n == 0:
        raise ValueError("the analysis needs at least 1 patient, got 0")
    k = int(dropouts[ended].sum())
    ci = stats.binomtest(k, n).proportion_ci(
        confidence_level=resampling.confidence, method="wilson"
    )
    return Estimate(
        k / n,
        float(ci.low),
        float(ci.high),
        n,
        f"dropout_rate: {outcome.meaning}; {resampling.confidence:.0%} Wilson score interval",
    )


def rupture_session_share(table: pd.DataFrame, *, resampling: Resampling = DEFAULT) -> Estimate:
    """Return the share of attended sessions with a patient-reported rupture (pattern P3).

    The patient-report studies summarised by Eubanks, Muran & Safran (2018, *Psychotherapy*
    55(4)) count sessions in which the patient reports a rupture on the post-session
    questionnaire, over all sessions attended (a ratio of sums: longer treatments weigh more).

    Parameters
    ----------
    table : pandas.DataFrame
        The per-session panel (column ``rupture_patient_reported``, one row per attended
        session) or the per-dyad summary (columns ``reported`` and ``sessions``).
    resampling : Resampling
        Bootstrap settings; patients are resampled with all their sessions.

    Returns
    -------
    Estimate
        ``n`` counts patients.
    """
    if "rupture_patient_reported" in table.columns:
        require(table, PATIENT_KEYS)
        table = (
            table.assign(reported=table["rupture_patient_reported"].astype(float))
            .groupby(list(PATIENT_KEYS), sort=False, observed=True)["reported"]
            .agg(["sum", "size"])
            .reset_index()
            .rename(columns={"sum": "reported", "size": "sessions"})
        )
    require(table, ("reported", "sessions"))
    table = table[table["sessions"] > 0]
    return _ratio(
        table,
        table["reported"].to_numpy(float),
        table["sessions"].to_numpy(float),
        "patient-reported ruptures / sessions attended",
        resampling,
    )


def adherent_share(
    table: pd.DataFrame,
    *,
    threshold: float = 0.8,
    column: str | None = None,
    engagement: str = "engagement",
    resampling: Resampling = DEFAULT,
) -> Estimate:
    """Return the share of patients adherent at the end of follow-up (pattern P9).

    As in the meta-analysis of Lemstra & Alsabbagh (2014): a patient is adherent when the
    proportion of doses taken (proportion of days covered, medication possession ratio) is at
    least ``threshold``, conventionally 0.8. In the model that proportion is engagement.

    Parameters
    ----------
    table : pandas.DataFrame
        The per-session panel (each patient's last attended session counts) or, with
        ``column``, the per-dyad summary.
    threshold : float
        Adherence threshold on the proportion of doses taken.
    column : str, optional
        Per-dyad column holding each patient's proportion at the end of follow-up.
    engagement : str
        Panel column of engagement, used without ``column``.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    Estimate
    """
    if column is None:
        require(table, (*PATIENT_KEYS, "session", engagement))
        table = table.sort_values([*PATIENT_KEYS, "session"]).drop_duplicates(
            list(PATIENT_KEYS), keep="last"
        )
        column, label = engagement, f"last attended session's {engagement}"
    else:
        label = column
    table = complete(table, (column,))
    adherent = (table[column].to_numpy(float) >= threshold).astype(float)
    return _ratio(
        table, adherent, np.ones(len(table)), f"share with {label} >= {threshold:g}", resampling
    )


# --- P7: pre-post effect size ----------------------------------------------------------------


def pre_post_d(dyads: pd.DataFrame, *, resampling: Resampling = DEFAULT) -> Estimate:
    """Return the pre-post effect size on symptoms (pattern P7).

    The registry's ``pre_post_d`` (:mod:`experiments.science.outcomes`): as in the routine-care
    benchmarks of Wakefield et al. (2021) and Gaskell et al. (2023), (mean pre − mean post) /
    SD(pre), completers and dropouts together (a dropout's post score is the last observation
    carried forward), over every patient with both scores.

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary (``symptom_score_intake``, ``symptom_score_post``).
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    Estimate
        d, positive for improvement.
    """
    return OUTCOMES["pre_post_d"].estimate(dyads, resampling=resampling)


# --- P8: autonomy support, adherence and internalisation ---------------------------------------


@dataclass(frozen=True)
class AutonomySupportEffect:
    """Effect of autonomy-supportive over controlling clinicians, and its mediation.

    All effects are in units of the outcome's pooled within-group SD (Cohen's d), so that
    ``d = direct + indirect``.

    Attributes
    ----------
    d : Estimate
        Standardised mean difference in the outcome (total effect).
    indirect : Estimate
        Product of coefficients a × b through the mediator, standardised.
    direct : Estimate
        Effect of the group with the mediator held fixed, standardised.
    share_mediated : Estimate
        indirect / total (unstable when the total effect is near zero).
    """

    d: Estimate
    indirect: Estimate
    direct: Estimate
    share_mediated: Estimate


def autonomy_support_effect(
    supportive: pd.DataFrame,
    controlling: pd.DataFrame,
    *,
    outcome: str = "engagement_mean",
    mediator: str = "internalisation_final",
    hedges: bool = False,
    resampling: Resampling = DEFAULT,
) -> AutonomySupportEffect:
    """Return the effect of autonomy support on adherence and its mediation (pattern P8).

    The effect size follows Sheeran et al. (2020, *JCCP* 88(8)), a meta-analysis of autonomy-
    support interventions on health behaviour: the standardised mean difference (Cohen's d
    with the pooled SD; Hedges' g on request) between patients of autonomy-supportive and of
    controlling clinicians. The mediation through internalised (autonomous) motivation, the
    path of self-determination theory's process model (Ng et al. 2012), is the
    product-of-coefficients a × b, a from mediator ~ group and b from outcome ~ group +
    mediator, by ordinary least squares; its interval is the percentile bootstrap (Preacher &
    Hayes 2008), here resampling clinicians within each group and then their patients.

    Parameters
    ----------
    supportive, controlling : pandas.DataFrame
        Per-dyad summaries of the patients of each kind of clinician (e.g. two runs, or one
        run split by a clinician trait).
    outcome : str
        Column of adherence (share of agreed tasks done or doses taken).
    mediator : str
        Column of internalisation (relative autonomy of motivation).
    hedges : bool
        Multiply every standardised effect by Hedges' small-sample correction.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    AutonomySupportEffect
    """
    columns = (outcome, mediator)
    groups = [
        complete(t, columns).assign(_supportive=float(s))
        for t, s in ((supportive, True), (controlling, False))
    ]
    if min(len(g) for g in groups) < 2:
        raise ValueError("each group needs at least 2 patients with the outcome and mediator")
    table = pd.concat(groups, ignore_index=True)
    data = table[["_supportive", mediator, outcome]].to_numpy(float)
    correction = 1.0 - 3.0 / (4.0 * len(table) - 9.0) if hedges else 1.0

    def statistic(w: np.ndarray) -> np.ndarray:
        total, _, cov = weighted_moments(w, data)
        var_group = cov[:, 0, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = cov[:, 0, 1] / var_group
            total_effect = cov[:, 0, 2] / var_group  # the difference in means
            det = var_group * cov[:, 1, 1] - cov[:, 0, 1] ** 2
            b = (var_group * cov[:, 1, 2] - cov[:, 0, 1] * cov[:, 0, 2]) / det
            # within-group SS = total SS - between SS; between SS = n var(group) difference^2
            pooled = np.sqrt(total * (cov[:, 2, 2] - var_group * total_effect**2) / (total - 2))
            scale = correction / pooled
            indirect = a * b
            return np.column_stack(
                [
                    total_effect * scale,
                    indirect * scale,
                    (total_effect - indirect) * scale,
                    indirect / total_effect,
                ]
            )

    group_label = f"supportive vs controlling, {outcome}"
    d, indirect, direct, share = estimates(
        table,
        statistic,
        resampling,
        [
            f"{'Hedges g' if hedges else 'Cohen d'} (pooled SD), {group_label}",
            f"indirect effect a*b through {mediator} / pooled SD, {group_label}",
            f"direct effect / pooled SD, {group_label}",
            f"indirect / total effect through {mediator}",
        ],
        strata=("_supportive", *STRATUM_KEYS),
    )
    return AutonomySupportEffect(d, indirect, direct, share)


# --- P13: who sees ruptures --------------------------------------------------------------------


@dataclass(frozen=True)
class RupturePerspectives:
    """Shares of attended sessions with a rupture, as clinicians and as patients see them.

    Attributes
    ----------
    clinician_share : Estimate
        Sessions with a rupture the clinician noticed, over sessions attended.
    patient_share : Estimate
        Sessions with a rupture the patient reported on the questionnaire, over sessions.
    difference : Estimate
        ``clinician_share - patient_share`` (P13 asks it to be above 0).
    """

    clinician_share: Estimate
    patient_share: Estimate
    difference: Estimate


def rupture_perspectives(
    dyads: pd.DataFrame,
    *,
    noticed: str = "detected",
    reported: str = "reported",
    sessions: str = "sessions",
    resampling: Resampling = DEFAULT,
) -> RupturePerspectives:
    """Return how often clinicians and patients see ruptures (pattern P13).

    As Muran et al. (2009) compare them: the share of sessions with a rupture on the
    therapist's post-session questionnaire against the share with one on the patient's, over
    the same sessions (ratios of sums over patients).

    Parameters
    ----------
    dyads : pandas.DataFrame
        Per-dyad summary with per-course counts of ruptures noticed and reported and of
        sessions attended.
    noticed, reported, sessions : str
        Column names of those counts.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    RupturePerspectives
    """
    table = complete(dyads, (noticed, reported, sessions))
    table = table[table[sessions] > 0]
    data = table[[noticed, reported, sessions]].to_numpy(float)

    def statistic(w: np.ndarray) -> np.ndarray:
        noticed_n, reported_n, attended = (w @ data).T
        return np.column_stack(
            [noticed_n / attended, reported_n / attended, (noticed_n - reported_n) / attended]
        )

    return RupturePerspectives(
        *estimates(
            table,
            statistic,
            resampling,
            [
                "sessions with a rupture the clinician noticed / sessions attended",
                "sessions with a patient-reported rupture / sessions attended",
                "clinician share - patient share",
            ],
        )
    )
