"""The pattern analyses: known values recovered from synthetic data, and a run on model output.

Each synthetic data set is drawn with a seeded generator from a process whose true statistic is
known in closed form; the test asserts the truth lies in the 95% interval, the estimate is
close to it on the larger data set, and the interval narrows with ten times the data.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning, SingularMatrixWarning

from experiments.science.analysis import (
    adherent_share,
    alliance_outcome_r,
    autonomy_support_effect,
    dropout_rate,
    pre_post_d,
    resolution_outcome_r,
    rupture_session_share,
)
from experiments.science.lagged import lagged_effects, lagged_pairs
from experiments.science.resampling import Estimate, Resampling, bootstrap_weights
from sim.core.batch import simulate

PER_CLINICIAN = 20
SMALL, LARGE = 20, 200  # clinicians: 400 and 4000 patients


def keys(n_clinicians: int, per_clinician: int = PER_CLINICIAN) -> pd.DataFrame:
    """Key columns of one clinic of ``n_clinicians`` with equal caseloads."""
    n = n_clinicians * per_clinician
    return pd.DataFrame(
        {
            "point_id": 0,
            "rep": 0,
            "clinician_id": np.repeat(np.arange(n_clinicians), per_clinician),
            "patient_id": np.arange(n),
        }
    )


# --- synthetic data with known statistics ---------------------------------------------------


def alliance_outcome_data(
    rng: np.random.Generator, n_clinicians: int, r: float = 0.278
) -> pd.DataFrame:
    """Early WAI correlated -r with the part of post symptoms that intake does not predict."""
    table = keys(n_clinicians)
    n = len(table)
    alliance = rng.standard_normal(n)
    intake = 15.0 + 4.0 * rng.standard_normal(n)
    residual = 3.0 * (-r * alliance + np.sqrt(1.0 - r**2) * rng.standard_normal(n))
    return table.assign(
        wai_early=3.5 + 0.5 * alliance,
        symptom_score_intake=intake,
        symptom_score_post=2.0 + 0.6 * intake + residual,
    )


RUPTURE_MEAN = 3.0


def resolution_share_r() -> tuple[float, float]:
    """Return (target r, outcome slope on the resolved share giving it), in closed form.

    With ruptures = 1 + Poisson(3) and repaired ~ Binomial(ruptures, 1/2), the resolved share
    has mean 1/2 and variance E[1/(4 ruptures)] = (1 - exp(-3)) / 12.
    """
    r = 0.29
    variance = (1.0 - np.exp(-RUPTURE_MEAN)) / (4.0 * RUPTURE_MEAN)
    return r, np.sqrt(r**2 / (1.0 - r**2) / variance)


def resolution_data(rng: np.random.Generator, n_clinicians: int) -> pd.DataFrame:
    """Outcome linear in the resolved share; a third of patients have no rupture (left out)."""
    table = keys(n_clinicians)
    n = len(table)
    _, slope = resolution_share_r()
    ruptures = 1 + rng.poisson(RUPTURE_MEAN, n)
    repaired = rng.binomial(ruptures, 0.5)
    intake = 15.0 + 4.0 * rng.standard_normal(n)
    post = 0.6 * intake - slope * (repaired / ruptures - 0.5) + rng.standard_normal(n)
    none = rng.random(n) < 1 / 3
    ruptures[none], repaired[none] = 0, 0
    post[none] = 0.0  # would ruin the correlation if counted
    return table.assign(
        ruptures=ruptures, repaired=repaired, symptom_score_intake=intake, symptom_score_post=post
    )


def dropout_data(rng: np.random.Generator, n_clinicians: int, p: float = 0.197) -> pd.DataFrame:
    table = keys(n_clinicians)
    dropped = rng.random(len(table)) < p
    other = np.where(rng.random(len(table)) < 0.5, "completed", "recovered")
    return table.assign(status=pd.Categorical(np.where(dropped, "dropped_out", other)))


def rupture_summary(rng: np.random.Generator, n_clinicians: int, p: float = 0.3) -> pd.DataFrame:
    table = keys(n_clinicians)
    sessions = rng.integers(1, 21, len(table))
    return table.assign(sessions=sessions, reported=rng.binomial(sessions, p))


def rupture_panel(rng: np.random.Generator, n_clinicians: int, p: float = 0.3) -> pd.DataFrame:
    summary = rupture_summary(rng, n_clinicians, p)
    panel = summary.loc[summary.index.repeat(summary["sessions"])].reset_index(drop=True)
    panel["session"] = panel.groupby("patient_id").cumcount() + 1
    panel["rupture_patient_reported"] = rng.random(len(panel)) < p
    return panel.drop(columns=["sessions", "reported"])


def pre_post_data(rng: np.random.Generator, n_clinicians: int, d: float = 0.9) -> pd.DataFrame:
    table = keys(n_clinicians)
    pre = 15.0 + 5.0 * rng.standard_normal(len(table))
    post = pre - 5.0 * d + 4.0 * rng.standard_normal(len(table))
    return table.assign(symptom_score_intake=pre, symptom_score_post=post)


ADHERENCE = stats.beta(3.0, 1.2)  # proportion of doses taken; P(>= 0.8) about .44


def adherence_summary(rng: np.random.Generator, n_clinicians: int) -> pd.DataFrame:
    table = keys(n_clinicians)
    return table.assign(engagement_final=ADHERENCE.rvs(len(table), random_state=rng))


def adherence_panel(rng: np.random.Generator, n_clinicians: int) -> pd.DataFrame:
    """Earlier sessions fully adherent, so only the last one decides (and gives the truth)."""
    summary = adherence_summary(rng, n_clinicians)
    length = rng.integers(1, 11, len(summary))
    panel = summary.loc[summary.index.repeat(length)].reset_index(drop=True)
    panel["session"] = panel.groupby("patient_id").cumcount() + 1
    last = panel["session"].to_numpy() == np.repeat(length, length)
    panel["engagement"] = np.where(last, panel["engagement_final"], 1.0)
    return panel.drop(columns="engagement_final").sample(frac=1.0, random_state=1)


# Mediation: internalisation = a group + e1, engagement = c' group + b internalisation + e2.
A_PATH, B_PATH, DIRECT, SD_MEDIATOR, SD_OUTCOME = 0.5, 0.4, 0.05, 1.0, 0.9
POOLED_SD = np.hypot(B_PATH * SD_MEDIATOR, SD_OUTCOME)
TOTAL = DIRECT + A_PATH * B_PATH


def mediation_data(rng: np.random.Generator, n_clinicians: int) -> tuple[pd.DataFrame, ...]:
    """Two groups of n_clinicians / 2 clinicians each, with clashing clinician ids."""
    groups = []
    for supportive in (1.0, 0.0):
        table = keys(n_clinicians // 2)
        mediator = A_PATH * supportive + SD_MEDIATOR * rng.standard_normal(len(table))
        outcome = (
            DIRECT * supportive + B_PATH * mediator + SD_OUTCOME * rng.standard_normal(len(table))
        )
        groups.append(table.assign(internalisation_final=mediator, engagement_mean=outcome))
    return tuple(groups)


# Lagged panels: alliance and symptoms vary around person means that are strongly related
# between patients (a confound that person-mean centring must remove). With ``path="forward"``
# the alliance deviation of session t lowers symptoms at t+1; with ``"reverse"`` the symptom
# deviation at t lowers the alliance at t+1; with ``"none"`` neither. The predictor's deviations
# are independent over sessions and nothing feeds back into them, so centring recovers the
# coefficient. (With feedback, e.g. the reverse path estimated in the forward panel, centring
# on a short series biases the other path by O(1/sessions), Nickell's bias: not a known value.)
SD_ALLIANCE, SD_SYMPTOMS = 0.4, 3.0
FORWARD_SLOPE, REVERSE_SLOPE = 2.0, 0.02  # raw: symptom points per WAI point, and back
FORWARD_BETA = FORWARD_SLOPE * SD_ALLIANCE / np.hypot(FORWARD_SLOPE * SD_ALLIANCE, SD_SYMPTOMS)
REVERSE_BETA = REVERSE_SLOPE * SD_SYMPTOMS / np.hypot(REVERSE_SLOPE * SD_SYMPTOMS, SD_ALLIANCE)


def lagged_panel(
    rng: np.random.Generator, n_clinicians: int, path: str, sessions: tuple[int, int] = (6, 20)
) -> pd.DataFrame:
    table = keys(n_clinicians)
    n = len(table)
    mean_alliance = 3.5 + 0.4 * rng.standard_normal(n)
    mean_symptoms = 12.0 - 5.0 * (mean_alliance - 3.5) + 2.0 * rng.standard_normal(n)
    length = rng.integers(sessions[0], sessions[1] + 1, n)
    rows = np.repeat(np.arange(n), length)
    session = np.concatenate([np.arange(1, k + 1) for k in length])
    alliance_deviation = SD_ALLIANCE * rng.standard_normal(len(rows))
    symptom_deviation = SD_SYMPTOMS * rng.standard_normal(len(rows))
    alliance = mean_alliance[rows] + alliance_deviation
    symptoms = mean_symptoms[rows] + symptom_deviation
    previous = np.arange(len(rows)) - 1  # the patient's previous session, where session > 1
    has_previous = session > 1
    if path == "forward":  # symptoms(t+1) carry -slope x the alliance deviation of t
        symptoms[has_previous] -= FORWARD_SLOPE * alliance_deviation[previous[has_previous]]
    elif path == "reverse":  # alliance(t+1) carries -slope x the symptom deviation of t
        alliance[has_previous] -= REVERSE_SLOPE * symptom_deviation[previous[has_previous]]
    panel = table.iloc[rows].reset_index(drop=True)
    return panel.assign(session=session, wai_total=alliance, symptom_score=symptoms)


# --- known-value cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    make: Callable[[np.random.Generator, int], object]
    analyse: Callable[[object, Resampling], Estimate]
    truth: float
    tolerance: float  # allowed |estimate - truth| on the large data set


def lagged(path: str, effect: str, truth: float, tolerance: float = 0.02) -> Case:
    def analyse(panel: pd.DataFrame, resampling: Resampling) -> Estimate:
        return getattr(lagged_effects(panel, resampling=resampling), effect)

    return Case(lambda rng, k: lagged_panel(rng, k, path), analyse, truth, tolerance)


def mediation(effect: str, truth: float, tolerance: float) -> Case:
    def analyse(groups: tuple[pd.DataFrame, ...], resampling: Resampling) -> Estimate:
        return getattr(autonomy_support_effect(*groups, resampling=resampling), effect)

    return Case(mediation_data, analyse, truth, tolerance)


def wilson_dropout(table: pd.DataFrame, resampling: Resampling) -> Estimate:
    return dropout_rate(table, interval="wilson")


def adherent_by_column(table: pd.DataFrame, resampling: Resampling) -> Estimate:
    return adherent_share(table, column="engagement_final", resampling=resampling)


ADHERENT = float(ADHERENCE.sf(0.8))
CASES = {
    "P1 alliance-outcome r": Case(alliance_outcome_data, alliance_outcome_r, 0.278, 0.04),
    "P2 dropout, bootstrap": Case(dropout_data, dropout_rate, 0.197, 0.02),
    "P2 dropout, Wilson": Case(dropout_data, wilson_dropout, 0.197, 0.02),
    "P3 ruptures, summary": Case(rupture_summary, rupture_session_share, 0.3, 0.01),
    "P3 ruptures, panel": Case(rupture_panel, rupture_session_share, 0.3, 0.01),
    "P4 resolution-outcome r": Case(
        resolution_data, resolution_outcome_r, resolution_share_r()[0], 0.04
    ),
    "P5 forward path": lagged("forward", "forward", FORWARD_BETA),
    "P5 forward path, none": lagged("none", "forward", 0.0),
    "P6 reverse path": lagged("reverse", "reverse", REVERSE_BETA),
    "P6 reverse path, none": lagged("none", "reverse", 0.0),
    "P6 raw reverse slope": lagged("reverse", "reverse_raw", REVERSE_SLOPE, 0.003),
    "P7 pre-post d": Case(pre_post_data, pre_post_d, 0.9, 0.05),
    "P8 d": mediation("d", TOTAL / POOLED_SD, 0.07),
    "P8 indirect": mediation("indirect", A_PATH * B_PATH / POOLED_SD, 0.04),
    "P8 direct": mediation("direct", DIRECT / POOLED_SD, 0.07),
    "P8 share mediated": mediation("share_mediated", A_PATH * B_PATH / TOTAL, 0.3),
    "P9 adherent, panel": Case(adherence_panel, adherent_share, ADHERENT, 0.03),
    "P9 adherent, column": Case(adherence_summary, adherent_by_column, ADHERENT, 0.03),
}

# Known values are checked with the conservative two-stage intervals: 36 checks of 95%
# intervals would fail about twice by chance. The default's own coverage is checked below.
KNOWN = Resampling(two_stage=True)


@pytest.mark.parametrize("name", CASES)
def test_known_value_in_interval_and_interval_narrows_with_data(name):
    case = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    small = case.analyse(case.make(rng, SMALL), resampling=KNOWN)
    large = case.analyse(case.make(rng, LARGE), resampling=KNOWN)
    for estimate in (small, large):
        assert estimate.low <= estimate.high
        assert estimate.contains(case.truth), f"{name}: truth {case.truth:.3f} not in {estimate}"
    assert abs(large.value - case.truth) < case.tolerance, f"{name}: {large}"
    assert large.width < 0.6 * small.width
    assert large.n > small.n


def test_default_cluster_bootstrap_covers_near_nominal_with_therapist_effects():
    """Dropout risk differs between clinicians (Beta(2, 8), mean .2, ICC about .09)."""
    rng = np.random.default_rng(42)
    covered = {"default": 0, "independent": 0}
    n_sets = 150
    for i in range(n_sets):
        table = keys(40, 10)
        risk = rng.beta(2.0, 8.0, 40)[table["clinician_id"]]
        table["status"] = np.where(rng.random(len(table)) < risk, "dropped_out", "completed")
        for label, clusters in (("default", Resampling.clusters), ("independent", None)):
            estimate = dropout_rate(
                table, resampling=Resampling(n_resamples=200, seed=i, clusters=clusters)
            )
            covered[label] += estimate.contains(0.2)
    assert 0.85 <= covered["default"] / n_sets <= 0.99  # about .93 in a longer run
    assert covered["independent"] < covered["default"]


def test_rupture_share_from_panel_equals_summary():
    panel = rupture_panel(np.random.default_rng(3), 5)
    summary = (
        panel.groupby(["point_id", "rep", "clinician_id", "patient_id"])["rupture_patient_reported"]
        .agg(reported="sum", sessions="size")
        .reset_index()
    )
    assert rupture_session_share(panel) == rupture_session_share(summary)


def test_resampling_is_deterministic_per_seed():
    data = pre_post_data(np.random.default_rng(5), 10)
    assert pre_post_d(data) == pre_post_d(data)
    other = pre_post_d(data, resampling=Resampling(seed=1))
    assert other.value == pre_post_d(data).value
    assert (other.low, other.high) != (pre_post_d(data).low, pre_post_d(data).high)


def test_clinician_clusters_widen_the_interval_when_clinicians_differ():
    """Dropout risk varies between clinicians: resampling patients alone understates it."""
    rng = np.random.default_rng(11)
    table = keys(40)
    risk = 1.0 / (1.0 + np.exp(-(-1.4 + 1.0 * rng.standard_normal(40))))
    dropped = rng.random(len(table)) < risk[table["clinician_id"]]
    table["status"] = np.where(dropped, "dropped_out", "completed")
    clustered = dropout_rate(table)
    two_stage = dropout_rate(table, resampling=Resampling(two_stage=True))
    independent = dropout_rate(table, resampling=Resampling(clusters=None))
    assert independent.width < 0.75 * clustered.width
    assert clustered.width < two_stage.width
    assert "caseloads" in clustered.method and "clinicians" not in independent.method


def test_bootstrap_weights_respect_clusters_and_strata():
    table = pd.concat([keys(3, 4).assign(point_id=p) for p in (0, 1)], ignore_index=True)
    weights = bootstrap_weights(table, 200, np.random.default_rng(0), two_stage=True)
    by_point = np.stack([weights[:, table["point_id"] == p].sum(axis=1) for p in (0, 1)])
    np.testing.assert_array_equal(by_point, 12.0)  # each clinic keeps its size
    whole = bootstrap_weights(table, 200, np.random.default_rng(0))
    for _, rows in table.groupby(["point_id", "clinician_id"]).groups.items():
        block = whole[:, rows]
        np.testing.assert_array_equal(block, block[:, :1].repeat(len(rows), axis=1))
        assert set(np.unique(block)) <= {0.0, 1.0, 2.0, 3.0}
    independent = bootstrap_weights(
        table, 200, np.random.default_rng(0), clusters=None, strata=None
    )
    np.testing.assert_array_equal(independent.sum(axis=1), len(table))


def test_lagged_pairs_are_consecutive_sessions_of_one_patient():
    panel = pd.DataFrame(
        {
            "point_id": 0,
            "rep": 0,
            "clinician_id": 0,
            "patient_id": [0, 0, 0, 0, 1, 1],
            "session": [1, 2, 4, 5, 1, 2],  # patient 0 missed session 3
            "wai_total": [3.0, 3.5, 4.0, 4.5, 2.0, 2.5],
            "symptom_score": [20.0, 18.0, 15.0, 12.0, 10.0, 9.0],
        }
    ).sample(frac=1.0, random_state=0)
    pairs = lagged_pairs(panel)
    assert pairs[["patient_id", "session"]].to_numpy().tolist() == [[0, 1], [0, 4], [1, 1]]
    assert pairs["alliance"].tolist() == [3.0, 4.0, 2.0]
    assert pairs["symptoms_next"].tolist() == [18.0, 12.0, 9.0]
    assert len(lagged_pairs(panel, last_session=2)) == 2


@pytest.mark.parametrize("control_time", [False, True])
def test_within_estimator_equals_random_intercept_model_with_person_means(control_time):
    """The documented equivalence: MixedLM (person-mean centred + person means) = within.

    The within-patient coefficient of the random-intercept model does not depend on the
    intercept's variance, so it is checked at two fixed variances and at the REML fit. With
    ``control_time`` the session number enters both models the same way (centred + mean).
    """
    panel = lagged_panel(np.random.default_rng(7), 10, "forward", sessions=(3, 6))
    pairs = lagged_pairs(panel)
    patient = pairs["patient_id"]
    exog = pd.DataFrame(index=pairs.index).assign(const=1.0)
    for column in ("alliance", "symptoms", *(("session",) if control_time else ())):
        mean = pairs.groupby(patient)[column].transform("mean")
        exog[f"{column}_within"], exog[f"{column}_mean"] = pairs[column] - mean, mean
    k = exog.shape[1]
    model = MixedLM(pairs["symptoms_next"], exog, groups=patient)
    within = -lagged_effects(
        panel, control_time=control_time, resampling=Resampling(n_resamples=10)
    ).forward_raw.value
    fixed_variance = MixedLMParams.from_components(fe_params=np.ones(k), cov_re=np.zeros((1, 1)))
    for variance in (0.5, 5.0):
        start = MixedLMParams.from_components(fe_params=np.zeros(k), cov_re=np.array([[variance]]))
        fit = model.fit(reml=True, start_params=start, free=fixed_variance)
        assert fit.params["alliance_within"] == pytest.approx(within, rel=1e-8)
    with warnings.catch_warnings():
        # The person means explain the between-patient variance, so the REML estimate of the
        # intercept's variance sits on the boundary and statsmodels says so; the coefficient
        # compared here does not depend on that variance (checked above).
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = model.fit(reml=True)
    assert fit.params["alliance_within"] == pytest.approx(within, rel=1e-6)


def test_shared_time_trends_do_not_pass_for_lagged_effects():
    """Alliance rising and symptoms falling over sessions, with no lagged effect either way."""
    rng = np.random.default_rng(11)
    rows = []
    for patient in range(400):
        for session in range(1, 13):
            rows.append(
                {
                    "point_id": 0,
                    "rep": 0,
                    "clinician_id": patient // 10,
                    "patient_id": patient,
                    "session": session,
                    "wai_total": 3 + 0.08 * session + rng.normal(0, 0.3),
                    "symptom_score": 18 - 0.6 * session + rng.normal(0, 2.0),
                }
            )
    panel = pd.DataFrame(rows)
    small = Resampling(n_resamples=200)
    naive = lagged_effects(panel, control_time=False, resampling=small)
    controlled = lagged_effects(panel, resampling=small)
    assert naive.forward.low > 0.05  # the trend passes for an effect ...
    assert controlled.forward.low < 0 < controlled.forward.high  # ... until time is controlled
    assert controlled.reverse.low < 0 < controlled.reverse.high


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="wai_early"):
        alliance_outcome_r(pre_post_data(np.random.default_rng(0), 2))
    with pytest.raises(ValueError, match="confidence"):
        pre_post_d(pre_post_data(np.random.default_rng(0), 2), resampling=Resampling(confidence=95))


# --- model output --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_run():
    return simulate({"n_clinicians": 10}, seed=1, record_sessions=True)


def test_every_analysis_runs_on_model_output(model_run):
    dyads, panel = model_run.dyads, model_run.sessions
    margin = dyads["clinician_collaboration"] - dyads["clinician_pressure"]
    supportive = margin >= margin.median()
    mediation = autonomy_support_effect(dyads[supportive], dyads[~supportive])
    lagged = lagged_effects(panel)
    results = {
        "P1": alliance_outcome_r(dyads),
        "P2": dropout_rate(dyads),
        "P3": rupture_session_share(panel),
        "P4": resolution_outcome_r(dyads),
        "P5": lagged.forward,
        "P6": lagged.reverse,
        "P7": pre_post_d(dyads),
        "P8": mediation.d,
        "P8 indirect": mediation.indirect,
        "P9": adherent_share(panel),
    }
    for name, estimate in results.items():
        assert np.isfinite([estimate.value, estimate.low, estimate.high]).all(), name
        assert estimate.low <= estimate.value <= estimate.high, f"{name}: {estimate}"
        assert 0 < estimate.n <= len(dyads), name
    assert rupture_session_share(panel) == rupture_session_share(dyads)
