"""Interventions: a technique trial's randomisation, rupture-resolution training."""

import numpy as np
import pandas as pd

from sim.core.batch import simulate

CLINIC = {"n_clinicians": 40, "patients_per_clinician": 50}


def improvement(dyads):
    return dyads["symptom_score_intake"] - dyads["symptom_score_post"]


def ruptures_from(result, session):
    s = result.sessions
    return s[(s["session"] >= session) & (s["rupture"] != "none")]


def test_patients_are_randomised_to_technique_b_at_the_given_share():
    dyads = simulate({**CLINIC, "technique_b_share": 0.3}, seed=1).dyads
    share = (dyads["technique"] == "B").mean()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(dyads))
    per_clinician = dyads.groupby("clinician_id")["technique"].nunique()
    assert (per_clinician == 2).mean() > 0.9  # both arms within nearly every caseload
    assert (simulate(CLINIC, seed=1).dyads["technique"] == "A").all()


def test_arms_by_clinician_keep_a_caseload_in_one_arm():
    dyads = simulate(
        {**CLINIC, "technique_b_share": 0.5, "technique_by_clinician": 1}, seed=2
    ).dyads
    assert (dyads.groupby("clinician_id")["technique"].nunique() == 1).all()
    arms = dyads.groupby("clinician_id")["technique"].first()
    assert 0 < (arms == "B").sum() < len(arms)


def test_a_better_technique_helps_its_arm_only():
    # technique_gain set here: the test is about the mechanism, not the calibrated size of
    # technique effects (which the calibration made small).
    trial = {
        **CLINIC,
        "technique_b_share": 0.5,
        "technique_b_advantage": 0.5,
        "technique_gain": 0.1,
    }
    with_b = simulate(trial, seed=3).dyads
    same_patients = simulate({**trial, "technique_b_advantage": 0.0}, seed=3).dyads
    b = with_b["technique"] == "B"
    assert improvement(with_b)[b].mean() > improvement(same_patients)[b].mean() + 0.5
    # Arm A receives exactly the same treatment in both runs.
    pd.testing.assert_frame_equal(with_b[~b], same_patients[~b])


def test_training_changes_nothing_before_its_session_and_helps_after():
    trained = {
        **CLINIC,
        "training_session": 6,
        "training_attunement": 0.4,
        "training_repair_skill": 0.4,
    }
    a = simulate(trained, seed=4, record_sessions=True)
    b = simulate(CLINIC, seed=4, record_sessions=True)
    before_a = a.sessions[a.sessions["session"] < 6].reset_index(drop=True)
    before_b = b.sessions[b.sessions["session"] < 6].reset_index(drop=True)
    pd.testing.assert_frame_equal(before_a, before_b)
    for event in ("rupture_detected", "rupture_repaired"):
        assert ruptures_from(a, 6)[event].mean() > ruptures_from(b, 6)[event].mean() + 0.1
