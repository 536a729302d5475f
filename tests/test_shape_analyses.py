"""The analyses of the shape of change (P10-P14), on data whose answers are known.

Therapist effects are checked against ``statsmodels`` MixedLM (the random-intercept model the
studies fit), the split of the alliance between clinicians and patients against the slopes
the data were generated with, and the dose-response, spread and rupture shares against sums
worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.science.analysis import rupture_perspectives
from experiments.science.change import dose_response, outcome_spread, score_after
from experiments.science.lagged import alliance_effects, lagged_effects, latent_panel
from experiments.science.multilevel import alliance_levels, therapist_effects
from experiments.science.resampling import Resampling

FEW = Resampling(n_resamples=200, seed=1)


def _clinic(n_clinicians: int, caseload: int | np.ndarray) -> pd.DataFrame:
    sizes = np.broadcast_to(caseload, (n_clinicians,))
    clinician = np.repeat(np.arange(n_clinicians), sizes)
    return pd.DataFrame(
        {
            "point_id": 0,
            "rep": 0,
            "clinician_id": clinician,
            "patient_id": np.arange(clinician.size),
        }
    )


def _nested_outcomes(rng, n_clinicians=80, caseload=12, tau=1.0, sigma=3.0):
    table = _clinic(n_clinicians, caseload)
    effect = rng.normal(0.0, tau, n_clinicians)[table["clinician_id"]]
    pre = rng.normal(15.0, 4.0, len(table))
    table["symptom_score_intake"] = pre
    table["symptom_score_post"] = 4.0 + 0.5 * pre + effect + rng.normal(0.0, sigma, len(table))
    table["wai_early"] = rng.normal(3.5, 0.5, len(table))
    return table


@pytest.mark.parametrize("caseload", [12, "unequal"])
def test_therapist_icc_matches_the_random_intercept_model(caseload):
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(5)
    sizes = rng.integers(4, 25, 80) if caseload == "unequal" else caseload
    table = _nested_outcomes(rng, caseload=sizes)
    effects = therapist_effects(table, resampling=FEW)
    # Standardised variables and Powell's method: statsmodels' default gradient search stops on
    # the boundary here (an ICC is scale-free).
    scaled = table.assign(
        post=table["symptom_score_post"] / 3.0, pre=(table["symptom_score_intake"] - 15.0) / 4.0
    )
    fit = smf.mixedlm("post ~ pre", scaled, groups=scaled["clinician_id"]).fit(
        reml=True, method=["powell"]
    )
    assert fit.converged
    tau2, sigma2 = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    assert effects.icc.value == pytest.approx(tau2 / (tau2 + sigma2), abs=0.01)
    assert effects.icc.low < 1.0 / 10.0 < effects.icc.high  # the truth: 1 / (1 + 9)
    assert abs(effects.alliance_icc.value) < 0.05  # the alliance here has no clinician part


def test_therapist_icc_is_near_zero_without_clinician_differences():
    table = _nested_outcomes(np.random.default_rng(6), tau=0.0)
    effects = therapist_effects(table, resampling=FEW)
    assert effects.icc.low < 0.0 < effects.icc.high


def test_alliance_levels_recover_the_slopes_the_data_were_made_with():
    rng = np.random.default_rng(7)
    table = _clinic(150, 60)
    clinician_part = rng.normal(0.0, 0.4, 150)[table["clinician_id"]]
    patient_part = rng.normal(0.0, 0.5, len(table))
    table["wai_early"] = 3.5 + clinician_part + patient_part
    pre = rng.normal(15.0, 4.0, len(table))
    improvement = 3.0 * clinician_part + 0.5 * patient_part + rng.normal(0.0, 1.0, len(table))
    table["symptom_score_intake"] = pre
    table["symptom_score_post"] = 0.6 * pre - improvement
    levels = alliance_levels(table, resampling=FEW)
    # The observed clinician mean carries its patients' average deviation: reliability
    # 0.16 / (0.16 + 0.25 / 60) and a little of the patient slope.
    reliability = 0.16 / (0.16 + 0.25 / 60)
    expected = reliability * 3.0 + (1 - reliability) * 0.5
    assert levels.clinician_slope.value == pytest.approx(expected, abs=0.2)
    assert levels.patient_slope.value == pytest.approx(0.5, abs=0.05)
    assert levels.excess.value == pytest.approx(
        levels.clinician_slope.value - 2 * levels.patient_slope.value
    )
    assert levels.excess.low > 0


def _course(clinician, patient, sessions, scores, post):
    """One patient's dyad row and panel rows: pre-session scores of sessions 1..sessions."""
    keys = {"point_id": 0, "rep": 0, "clinician_id": clinician, "patient_id": patient}
    dyad = {
        **keys,
        "symptom_score_intake": scores[0],
        "symptom_score_post": post,
        "sessions": sessions,
    }
    panel = [{**keys, "session": s + 1, "symptom_score": scores[s]} for s in range(sessions)]
    return dyad, panel


def test_dose_response_counts_scores_after_eight_sessions_as_the_studies_do():
    courses = [
        # 20 sessions: 20 -> 12 after 8 (8 better: improved), -> 8 after 16
        _course(0, 0, 20, [20 - min(s, 8) - 0.5 * max(0, s - 8) for s in range(20)], 6),
        # 16 sessions: 18 -> 14 after 8 (4: not), closing score after 16 is 12
        _course(0, 1, 16, [18 - 0.5 * s for s in range(16)], 12),
        # ended after 5 sessions (recovered, closing 9): 15 - 9 = 6 counts as improved
        _course(1, 2, 5, [15, 14, 13, 12, 11], 9),
        # dropped out after 3 (last observation 17): no change
        _course(1, 3, 3, [17, 17, 17], 17),
    ]
    dyads = pd.DataFrame([c[0] for c in courses])
    panel = pd.DataFrame([row for c in courses for row in c[1]])
    after = score_after(dyads, panel, 8)["score_after"].tolist()
    assert after == [12.0, 14.0, 9.0, 17.0]
    result = dose_response(dyads, panel, resampling=FEW)
    assert result.improved_share.value == pytest.approx(2 / 4)
    # long courses: 20->12 then 12->8 (score of session 17: 20 - 8 - 4); 18->14 then 14->12
    early, late = (8 + 4) / 2 / 8, (4 + 2) / 2 / 8
    assert result.early_gain.value == pytest.approx(early)
    assert result.late_gain.value == pytest.approx(late)
    assert result.acceleration.value == pytest.approx(early / late)
    assert result.early_excess.value == pytest.approx(early - 1.5 * late)


def test_outcome_spread_is_the_ratio_of_sample_sds():
    rng = np.random.default_rng(8)
    table = _nested_outcomes(rng)
    spread = outcome_spread(table, resampling=FEW)
    pre, post = table["symptom_score_intake"], table["symptom_score_post"]
    assert spread.intake_mean.value == pytest.approx(pre.mean())
    assert spread.intake_sd.value == pytest.approx(pre.std(ddof=1))
    assert spread.post_sd.value == pytest.approx(post.std(ddof=1))
    assert spread.sd_ratio.value == pytest.approx(post.std(ddof=1) / pre.std(ddof=1))


def test_rupture_perspectives_are_ratios_of_sums():
    table = _clinic(2, 2).assign(
        detected=[3, 0, 5, 1], reported=[1, 2, 2, 0], sessions=[10, 5, 20, 5]
    )
    seen = rupture_perspectives(table, resampling=FEW)
    assert seen.clinician_share.value == pytest.approx(9 / 40)
    assert seen.patient_share.value == pytest.approx(5 / 40)
    assert seen.difference.value == pytest.approx(4 / 40)


def test_alliance_effects_give_p5_and_p6_in_both_windows_and_the_latent_effect():
    from sim.core.batch import simulate
    from sim.core.params import to_row
    from sim.core.scenarios import get

    values = get("psychotherapy").parameters({"n_clinicians": 40})
    panel = simulate(to_row(values), seed=4, record_sessions=True).sessions
    effects = alliance_effects(panel, resampling=FEW)
    every = lagged_effects(panel, resampling=FEW)
    early = lagged_effects(panel, last_session=7, resampling=FEW)
    assert effects.forward == every.forward and effects.reverse == every.reverse
    assert effects.forward_early == early.forward and effects.reverse_early == early.reverse
    latent = latent_panel(panel)
    first = latent["session"] == 1
    assert latent.loc[first, "symptoms_before"].isna().all()
    second = latent[latent["session"] == 2].set_index("patient_id")["symptoms_before"]
    after_first = panel[panel["session"] == 1].set_index("patient_id")["symptoms"]
    pd.testing.assert_series_equal(second, after_first.loc[second.index], check_names=False)
    assert np.isfinite(effects.forward_latent.value)


def test_icc1_is_the_point_estimate_therapist_effects_bootstraps():
    from experiments.science.multilevel import icc1

    table = _nested_outcomes(np.random.default_rng(9), caseload=np.arange(5, 85) % 20 + 3)
    residual = table["symptom_score_post"] - np.polyval(
        np.polyfit(table["symptom_score_intake"], table["symptom_score_post"], 1),
        table["symptom_score_intake"],
    )
    expected = therapist_effects(table, resampling=FEW).icc.value
    assert icc1(residual, table["clinician_id"]) == pytest.approx(expected, abs=1e-9)
    # by hand: one-way ANOVA with the k0 correction
    groups = residual.groupby(table["clinician_id"])
    k, n = groups.ngroups, len(residual)
    ms_between = (groups.size() * (groups.mean() - residual.mean()) ** 2).sum() / (k - 1)
    ms_within = ((residual - groups.transform("mean")) ** 2).sum() / (n - k)
    k0 = (n - (groups.size() ** 2).sum() / n) / (k - 1)
    assert icc1(residual, table["clinician_id"]) == pytest.approx(
        (ms_between - ms_within) / (ms_between + (k0 - 1) * ms_within)
    )
