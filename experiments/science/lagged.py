"""Within-patient, session-by-session lagged effects of alliance and symptoms (patterns P5, P6).

The studies behind P5 and P6 (Falkenström, Granström & Holmqvist 2013; Falkenström et al.
2016; Zilcha-Mano et al. 2014; Flückiger et al. 2020) separate within-patient from
between-patient variance: predictors are centred on each patient's own mean, the person means
enter as level-2 covariates, and a random intercept per patient absorbs stable differences.
Flückiger et al. (2020) then standardise the within-patient coefficients.

Estimator. With person-mean centred predictors and the person means as covariates, the
within-patient coefficients of that random-intercept model equal those of the within-patient
fixed-effects estimator (ordinary least squares on person-mean centred outcome and predictors),
for balanced and unbalanced panels alike: the centred predictors are orthogonal to anything
constant within a patient, including the random intercept's quasi-demeaning (Mundlak 1978).
``tests/test_analysis.py`` checks the equality against ``statsmodels`` MixedLM. MixedLM takes
about ten seconds for a few thousand patients and on this design its patient variance often
sits on the boundary (the person means explain it) with convergence warnings, so the
fixed-effects form is used, and with it a cluster bootstrap (:mod:`experiments.science.resampling`)
instead of model-based standard errors. Both share Nickell's (1981) bias of centring a lagged
outcome over short series: of order 1/sessions on the autoregressive control and, where each
variable feeds the other, on the cross-lagged paths too (about −.01 to −.02 with 6–20 sessions
in synthetic checks). RI-CLPMs (Falkenström et al. 2019) avoid it; this follows the
person-mean centring of the studies above.
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
    estimates,
    require,
)

__all__ = [
    "AllianceEffects",
    "LaggedEffects",
    "alliance_effects",
    "lagged_effects",
    "lagged_pairs",
    "latent_panel",
]


@dataclass(frozen=True)
class LaggedEffects:
    """Within-patient lagged effects between alliance and symptoms.

    Signs: positive means the pattern the literature expects, a better alliance followed by
    fewer symptoms (``forward``) and fewer symptoms followed by a better alliance
    (``reverse``).

    Attributes
    ----------
    forward : Estimate
        Alliance(t) → symptoms(t+1), controlling symptoms(t); standardised by within-patient SDs.
    reverse : Estimate
        Symptoms(t) → alliance(t+1), controlling alliance(t); standardised likewise.
    forward_raw : Estimate
        The forward coefficient in instrument units (symptom points fewer per alliance point).
    reverse_raw : Estimate
        The reverse coefficient in instrument units (alliance points more per symptom point
        fewer).
    pairs : int
        Consecutive-session pairs used.
    """

    forward: Estimate
    reverse: Estimate
    forward_raw: Estimate
    reverse_raw: Estimate
    pairs: int


def lagged_pairs(
    panel: pd.DataFrame,
    *,
    alliance: str = "wai_total",
    symptoms: str = "symptom_score",
    last_session: int | None = None,
) -> pd.DataFrame:
    """Return one row per pair of consecutive sessions (t, t+1) of the same patient.

    In the panel, row t's symptom score is the pre-session questionnaire of session t (the
    week before it) and its alliance the WAI at the end of session t, so the order in time is
    symptoms(t), alliance(t), symptoms(t+1), alliance(t+1).

    Parameters
    ----------
    panel : pandas.DataFrame
        Per-session panel.
    alliance, symptoms : str
        Columns of the observed alliance and symptom scores.
    last_session : int, optional
        Keep pairs with t+1 at most this (Flückiger et al. 2020 used sessions 1 to 7).

    Returns
    -------
    pandas.DataFrame
        Patient keys, ``session`` (t), ``alliance``, ``symptoms`` (at t) and
        ``alliance_next``, ``symptoms_next`` (at t+1); only pairs with all four finite.
    """
    require(panel, (*PATIENT_KEYS, "session", alliance, symptoms))
    panel = panel.sort_values([*PATIENT_KEYS, "session"])
    following = panel.groupby(list(PATIENT_KEYS), sort=False, observed=True)[
        ["session", alliance, symptoms]
    ].shift(-1)
    pairs = pd.DataFrame(
        {
            **{k: panel[k].to_numpy() for k in PATIENT_KEYS},
            "session": panel["session"].to_numpy(),
            "alliance": panel[alliance].to_numpy(float),
            "symptoms": panel[symptoms].to_numpy(float),
            "alliance_next": following[alliance].to_numpy(float),
            "symptoms_next": following[symptoms].to_numpy(float),
        }
    )
    keep = following["session"].to_numpy(float) == panel["session"].to_numpy(float) + 1.0
    values = pairs[["alliance", "symptoms", "alliance_next", "symptoms_next"]].to_numpy()
    keep &= np.isfinite(values).all(axis=1)
    if last_session is not None:
        keep &= pairs["session"].to_numpy() + 1 <= last_session
    return pairs[keep].reset_index(drop=True)


_REGRESSORS = 3  # focal, control, time
_PRODUCTS = [(i, j) for i in range(_REGRESSORS + 1) for j in range(i, _REGRESSORS + 1)]
"""Pairs of (focal, control, time, outcome) whose within-patient cross-products are summed."""


def _within_sums(
    codes: np.ndarray,
    count: np.ndarray,
    outcome: np.ndarray,
    focal: np.ndarray,
    control: np.ndarray,
    time: np.ndarray,
    n_patients: int,
) -> np.ndarray:
    """Return per-patient sums of cross-products of person-mean centred variables.

    Columns: the products of :data:`_PRODUCTS` over (focal, control, time, outcome).
    """

    def centred(v: np.ndarray) -> np.ndarray:
        return v - (np.bincount(codes, v, n_patients) / count)[codes]

    v = [centred(focal), centred(control), centred(time), centred(outcome)]
    return np.column_stack([np.bincount(codes, v[i] * v[j], n_patients) for i, j in _PRODUCTS])


def _coefficients(sums: np.ndarray, with_time: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the focal coefficient, raw and standardised, from pooled within sums (B, k).

    Solves the within-patient normal equations of outcome on focal and control (and time).
    The standardised coefficient uses the within-patient SDs of focal and outcome.
    """
    k = _REGRESSORS if with_time else _REGRESSORS - 1
    moment = np.zeros((len(sums), _REGRESSORS + 1, _REGRESSORS + 1))
    for column, (i, j) in enumerate(_PRODUCTS):
        moment[:, i, j] = moment[:, j, i] = sums[:, column]
    xtx, xty = moment[:, :k, :k], moment[:, :k, _REGRESSORS]
    with np.errstate(invalid="ignore", divide="ignore"):
        singular = np.abs(np.linalg.det(xtx)) < 1e-12
        xtx[singular] = np.eye(k)
        raw = np.linalg.solve(xtx, xty[..., None])[:, 0, 0]
        raw[singular] = np.nan
        # within-patient SDs share their degrees of freedom, which cancel in the ratio
        return raw, raw * np.sqrt(moment[:, 0, 0] / moment[:, _REGRESSORS, _REGRESSORS])


def lagged_effects(
    panel: pd.DataFrame,
    *,
    alliance: str = "wai_total",
    symptoms: str = "symptom_score",
    last_session: int | None = None,
    control_time: bool = True,
    resampling: Resampling = DEFAULT,
) -> LaggedEffects:
    """Return the within-patient lagged effects of alliance and symptoms (patterns P5, P6).

    Computed as in Falkenström et al. (2013, 2016) and the individual-participant meta-analysis
    of Flückiger et al. (2020): for each pair of consecutive sessions of a patient, symptoms at
    t+1 are regressed on alliance at t controlling symptoms at t (forward path), and alliance
    at t+1 on symptoms at t controlling alliance at t (reverse path), all variables centred on
    the patient's own mean over the pairs (the within-patient estimator, equal to the
    random-intercept model with person means as covariates; see the module docstring). The
    standardised coefficient is the raw one times the ratio of the within-patient SDs of
    predictor and outcome (the SDs of their person-mean centred values), so that it compares
    with the standardised within-patient effects of Flückiger et al. (2020) and the published
    β ≈ .10–.21 (Falkenström et al. 2016, 2019). Uses the observed instruments.

    Parameters
    ----------
    panel : pandas.DataFrame
        Per-session panel.
    alliance, symptoms : str
        Columns of the observed alliance (WAI) and symptom scores.
    last_session : int, optional
        Only pairs up to this session (Flückiger et al. 2020 used sessions 1 to 7).
    control_time : bool
        Include session number as a covariate, as these multilevel models do (time is part of
        the model in Falkenström et al. 2013, 2016). Without it, the improvement every patient
        shows over sessions (alliance rising while symptoms fall) passes for a lagged effect:
        Falkenström, Finkel et al. (2017) show such trends bias within-person lagged
        estimates. ``False`` reproduces the trend-confounded estimate for comparison.
    resampling : Resampling
        Bootstrap settings; patients are resampled with all their sessions, and the
        standardising SDs are recomputed in every resample.

    Returns
    -------
    LaggedEffects
        ``n`` of each estimate counts patients with at least two pairs (those with one pair
        have no within-patient variation).
    """
    pairs = lagged_pairs(panel, alliance=alliance, symptoms=symptoms, last_session=last_session)
    codes = pairs.groupby(list(PATIENT_KEYS), sort=False, observed=True).ngroup().to_numpy()
    n_patients = int(codes.max()) + 1 if len(codes) else 0
    count = np.bincount(codes, minlength=n_patients).astype(float)
    columns = pairs[["alliance", "symptoms", "alliance_next", "symptoms_next"]].to_numpy()
    a_now, s_now, a_next, s_next = columns.T
    time = pairs["session"].to_numpy(float)
    sums = np.hstack(
        [
            _within_sums(codes, count, s_next, a_now, s_now, time, n_patients),
            _within_sums(codes, count, a_next, s_now, a_now, time, n_patients),
        ]
    )
    width = len(_PRODUCTS)
    first = np.unique(codes, return_index=True)[1]
    patients = pairs.iloc[first].reset_index(drop=True)
    varied = count >= 2
    patients, sums = patients[varied], sums[varied]

    def statistic(w: np.ndarray) -> np.ndarray:
        pooled = w @ sums
        forward_raw, forward = _coefficients(pooled[:, :width], control_time)
        reverse_raw, reverse = _coefficients(pooled[:, width:], control_time)
        # better alliance -> fewer symptoms, and fewer symptoms -> better alliance, positive
        return -np.column_stack([forward, reverse, forward_raw, reverse_raw])

    forward_what = f"alliance(t) -> symptoms(t+1) | symptoms(t), {alliance} on {symptoms}"
    reverse_what = f"symptoms(t) -> alliance(t+1) | alliance(t), {symptoms} on {alliance}"
    suffix = ", within-patient (person-mean centred" + (
        ", session as covariate)" if control_time else ")"
    )
    forward, reverse, forward_raw, reverse_raw = estimates(
        patients,
        statistic,
        resampling,
        [
            f"standardised {forward_what}{suffix}",
            f"standardised {reverse_what}{suffix}",
            f"raw {forward_what}{suffix}",
            f"raw {reverse_what}{suffix}",
        ],
    )
    return LaggedEffects(forward, reverse, forward_raw, reverse_raw, int(count[varied].sum()))


@dataclass(frozen=True)
class AllianceEffects:
    """The lagged effects of patterns P5 and P6, in two windows, and their latent counterpart.

    Attributes
    ----------
    forward, reverse : Estimate
        Standardised within-patient effects over all sessions (:func:`lagged_effects`).
    forward_early, reverse_early : Estimate
        The same over sessions 1 to ``early_window`` (Flückiger et al. 2020's window).
    forward_latent : Estimate
        The forward effect on the model's latent variables (the alliance as built, the
        symptoms as they are, not as rated): how much of ``forward`` is the alliance acting on
        next week's symptoms rather than felt improvement colouring the ratings.
    early_window : int
        Last session of the early window.
    """

    forward: Estimate
    reverse: Estimate
    forward_early: Estimate
    reverse_early: Estimate
    forward_latent: Estimate
    early_window: int


def latent_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Return the panel with ``symptoms_before``: the latent symptoms before each session.

    The panel's ``symptoms`` is the latent level after the week that follows session t, which
    is the level before session t+1; before session 1 it is not in the panel (NaN).
    """
    require(panel, (*PATIENT_KEYS, "session", "symptoms", "alliance"))
    panel = panel.sort_values([*PATIENT_KEYS, "session"])
    before = panel.groupby(list(PATIENT_KEYS), sort=False, observed=True)["symptoms"].shift(1)
    return panel.assign(symptoms_before=before.to_numpy(float))


def alliance_effects(
    panel: pd.DataFrame, *, early_window: int = 7, resampling: Resampling = DEFAULT
) -> AllianceEffects:
    """Return the within-patient lagged effects of patterns P5 and P6 in both windows.

    P5 and P6 are computed as :func:`lagged_effects` computes them, over all sessions and over
    sessions 1 to ``early_window`` (Flückiger et al. 2020 used sessions 1-7). Beside them, the
    same estimator on the model's latent alliance and latent symptoms (sessions 2 on, where the
    latent level before the session is known) says how much of the observed forward effect is
    causal in the model.

    Parameters
    ----------
    panel : pandas.DataFrame
        Per-session panel.
    early_window : int
        Last session of the early window.
    resampling : Resampling
        Bootstrap settings.

    Returns
    -------
    AllianceEffects
    """
    every = lagged_effects(panel, resampling=resampling)
    early = lagged_effects(panel, last_session=early_window, resampling=resampling)
    latent = lagged_effects(
        latent_panel(panel), alliance="alliance", symptoms="symptoms_before", resampling=resampling
    )
    return AllianceEffects(
        every.forward, every.reverse, early.forward, early.reverse, latent.forward, early_window
    )
