"""AllianceModel: Mesa integration, agent views, agreement with the batch path."""

import mesa
import numpy as np
import pandas as pd
import pytest

from agents import Clinician, Patient
from sim.core.batch import dyad_summary, simulate
from sim.core.params import ParameterError
from sim.model import MODEL_REPORTERS, AllianceModel

SMALL = {"n_clinicians": 3, "patients_per_clinician": 8}


def run(model):
    while model.running:
        model.step()
    return model


def test_model_runs_until_every_dyad_has_ended():
    model = run(AllianceModel(rng=5, **SMALL))
    statuses = {p.status for p in model.patients}
    assert "active" not in statuses
    assert model.steps == model.session <= model.parameters["max_sessions"]
    assert len(model.agents_by_type[Patient]) == 24
    assert len(model.agents_by_type[Clinician]) == 3


def test_model_and_batch_path_give_identical_numbers():
    model = run(AllianceModel(rng=11, repair_skill=0.8, **SMALL))
    batch = simulate({"repair_skill": 0.8, **SMALL}, seed=11)
    pd.testing.assert_frame_equal(dyad_summary(model.clinics), batch.dyads)
    assert model.dyad_sessions == batch.dyad_sessions


def test_parallel_stepping_is_bit_identical():
    a = run(AllianceModel(rng=3, **SMALL))
    b = run(AllianceModel(rng=3, parallel=True, **SMALL))
    assert a.clinics.dyads.tobytes() == b.clinics.dyads.tobytes()


def test_agents_are_views_of_their_own_models_arrays():
    a = AllianceModel(rng=1, **SMALL)
    b = AllianceModel(rng=1, **SMALL)
    patient = a.patients[4]
    assert patient.bond == a.clinics.dyads["bond"][4]
    patient.bond = 0.123
    assert a.clinics.dyads["bond"][4] == 0.123
    assert b.patients[4].bond != 0.123  # per model, never per class
    clinician = a.clinicians[1]
    clinician.repair_skill = 0.9
    assert a.clinics.clinicians["repair_skill"][1] == 0.9
    with pytest.raises(ValueError, match="repair_skill"):
        clinician.repair_skill = 1.5


def test_clinicians_expose_their_caseload():
    model = AllianceModel(rng=2, **SMALL)
    for clinician in model.clinicians:
        caseload = list(clinician.caseload)
        assert len(caseload) == SMALL["patients_per_clinician"]
        assert all(p.clinician is clinician for p in caseload)
    assert model.clinicians[0].active_caseload == 8


def test_agentset_select_agg_groupby_work_unchanged():
    model = AllianceModel(rng=9, **SMALL)
    for _ in range(6):
        model.step()
    patients = model.agents_by_type[Patient]
    dropped = patients.select(lambda p: p.status == "dropped_out")
    assert all(p.status == "dropped_out" for p in dropped)
    mean_bond = patients.agg("bond", np.mean)
    assert mean_bond == pytest.approx(model.clinics.dyads["bond"].mean())
    by_status = patients.groupby("status").agg("alliance", np.mean)
    assert set(by_status) <= {"active", "completed", "recovered", "dropped_out"}
    assert sum(len(g) for _, g in patients.groupby("status")) == len(patients)


def test_datacollector_reports_from_arrays():
    model = run(AllianceModel(rng=4, **SMALL))
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == list(MODEL_REPORTERS)
    assert len(frame) == model.steps + 1  # intake plus one row per session
    d = model.clinics.dyads
    assert frame["Dropouts"].iloc[-1] == np.count_nonzero(d["status"] == 3)
    assert frame["Active"].iloc[0] == 24 and frame["Active"].iloc[-1] == 0
    assert frame["Withdrawals"].sum() == d["withdrawals"].sum()
    assert frame["Confrontations"].sum() == d["confrontations"].sum()
    assert frame["Repairs"].sum() == d["repaired"].sum()
    assert frame["Alliance"].between(0, 1).all()
    assert np.isnan(frame["Symptom score"].iloc[0])  # nothing measured before session 1


def test_reporters_equal_numpy_over_the_dyads_in_each_session():
    """The one-pass summary kernel against masks written with NumPy, session by session."""
    model = AllianceModel(rng=8, n_clinicians=6, patients_per_clinician=15)
    names = {
        "Alliance": "alliance",
        "Goal": "goal",
        "Task": "task",
        "Bond": "bond",
        "WAI": "wai_total",
        "Symptom score": "symptom_score",
    }
    while model.running:
        model.step()
        d = model.clinics.dyads
        here = d["sessions"] == model.session
        row = model.datacollector.get_model_vars_dataframe().iloc[-1]
        for reporter, field in names.items():
            assert row[reporter] == pytest.approx(d[field][here].mean(), rel=1e-12)
        assert row["Withdrawals"] == np.count_nonzero(d["rupture"][here] == 1)
        assert row["Confrontations"] == np.count_nonzero(d["rupture"][here] == 2)
        assert row["Detected"] == np.count_nonzero(d["rupture_detected"][here])
        assert row["Repairs"] == np.count_nonzero(d["rupture_repaired"][here])
        assert row["Active"] == np.count_nonzero(d["status"] == 0)
        assert row["Dropouts"] == np.count_nonzero(d["status"] == 3)


def test_agent_reporters_on_request():
    model = AllianceModel(rng=4, collect_agents=True, **SMALL)
    model.step()
    model.step()
    agents = model.datacollector.get_agenttype_vars_dataframe(Patient)
    assert {"goal", "bond", "symptom_score", "status"} <= set(agents.columns)
    assert len(agents) == 3 * 24
    plain = AllianceModel(rng=4, **SMALL)
    assert plain.datacollector.agenttype_reporters == {}


def test_mesa_batch_run_works_on_the_model():
    results = mesa.batch_run(
        AllianceModel,
        parameters={"repair_skill": [0.2, 0.8], **SMALL},
        rng=[1, 2],
        max_steps=25,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    assert len(frame) == 4
    assert set(frame["repair_skill"]) == {0.2, 0.8}
    assert (frame["Active"] == 0).all()


def test_bad_overrides_are_refused_with_the_parameter_named():
    with pytest.raises(ParameterError, match=r"repair_skill.*from 0 to 1"):
        AllianceModel(rng=1, repair_skill=3)
    with pytest.raises(ParameterError, match="unknown parameter 'charm'"):
        AllianceModel(rng=1, charm=1)
    with pytest.raises(ParameterError, match="unknown scenario"):
        AllianceModel(rng=1, scenario="nowhere")
