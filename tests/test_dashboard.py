"""The teaching dashboard without a browser: narration, scenarios, model, charts, page, binding."""

import json
import math
import re
import socket

import ipyvuetify as v
import numpy as np
import pytest
import solara

from sim.cli.dashboard import add_parser, main
from sim.core.batch import simulate
from sim.core.params import ParameterError
from sim.core.scenarios import SCENARIOS
from sim.dashboard import assets
from sim.dashboard.app import Page
from sim.dashboard.charts import (
    FONT_SIZE,
    clinic_chart,
    compare_chart,
    dyad_chart,
    needs_chart,
)
from sim.dashboard.compare import runs_identical, why_identical
from sim.dashboard.controls import slider_label
from sim.dashboard.errors import DashboardError
from sim.dashboard.info import GLOSSARY, INFO, model_doc_html
from sim.dashboard.model import (
    CLINIC_SIZE,
    CLINICIAN_SLIDERS,
    DEFAULT_CONTRAST,
    LABELS,
    PATIENT_SLIDERS,
    SLIDERS,
    TeachingClinic,
    parse_seed,
    slider_values,
)
from sim.dashboard.narrate import narrate, narrate_session
from sim.dashboard.server import bind, is_loopback, resolve_host
from sim.dashboard.settings import Settings, settings_of
from sim.dashboard.vega import split_data

VIGNETTES = ("copd_panic", "knee_pain", "hypertension", "pushing_too_hard")


def row(session, **fields):
    base = {
        "session": session,
        "goal": 0.5,
        "task": 0.5,
        "bond": 0.5,
        "alliance": 0.5,
        "strain": 0.0,
        "engagement": 0.6,
        "internalisation": 0.4,
        "symptom_score": 14.0,
        "rupture": "none",
        "rupture_detected": False,
        "rupture_repaired": False,
        "rupture_patient_reported": False,
        "status": "active",
    }
    return {**base, **fields}


# --- narration: sentences from constructed panels ---------------------------------------------


def test_repaired_withdrawal_reads_like_the_source_text():
    rows = [
        row(4, bond=0.50),
        row(5, bond=0.58, rupture="withdrawal", rupture_detected=True, rupture_repaired=True),
    ]
    (line,) = narrate(rows, clinician={"pressure": 0.7})
    assert line == (
        "Session 5 — Withdrawal (the patient went quiet and agreed too readily): noticed and "
        "repaired (the clinician acknowledged pushing too hard, explored, validated). Bond "
        "0.50 → 0.58 (higher). The patient would not report it on a questionnaire (asked after "
        "the session whether the collaboration broke down; clinicians learn of many ruptures "
        "only this way, and many are never reported)."
    )


def test_a_repair_is_never_said_to_raise_a_bond_that_fell():
    rows = [
        row(4, bond=0.60),
        row(5, bond=0.55, rupture="withdrawal", rupture_detected=True, rupture_repaired=True),
    ]
    (line,) = narrate(rows, clinician={"pressure": 0.7})
    assert "repaired" in line
    assert "Bond 0.60 → 0.55 (lower)" in line
    assert "higher" not in line


def test_bond_that_did_not_move_is_about_where_it_was():
    rows = [
        row(1, bond=0.501),
        row(2, bond=0.503, rupture="confrontation", rupture_detected=True, rupture_repaired=True),
    ]
    assert "Bond 0.50 → 0.50 (about the same)" in narrate(rows)[0]


def test_only_a_pushing_clinician_acknowledges_pushing_too_hard():
    rows = [row(1), row(2, rupture="withdrawal", rupture_detected=True, rupture_repaired=True)]
    low = narrate(rows, clinician={"pressure": 0.2})[0]
    assert "acknowledged its part" in low and "pushing" not in low
    assert "pushing" not in narrate(rows)[0]  # unknown clinician: no claim about pressure


def test_missed_withdrawal_strain_and_engagement_numbers():
    rows = [
        row(2, bond=0.5, strain=0.0, engagement=0.66),
        row(
            3,
            bond=0.46,
            strain=1.0,
            engagement=0.35,
            rupture="withdrawal",
            rupture_patient_reported=True,
        ),
    ]
    (line,) = narrate(rows, engagement_noun="the agreed tasks (paced breathing)")
    assert "Withdrawal (the patient went quiet and agreed too readily): not noticed" in line
    assert "Bond 0.50 → 0.46 (lower); strain 0.0 → 1.0 (unresolved strain: " in line
    assert "follow-through on the agreed tasks (paced breathing) 66% → 35%." in line
    assert "The patient would report it on a questionnaire (asked after the session" in line


def test_a_log_explains_each_term_once_then_stays_short():
    rupture = {"rupture": "withdrawal", "rupture_patient_reported": True}
    rows = [row(1, strain=0.0), row(2, strain=1.0, **rupture), row(3, strain=2.0, **rupture)]
    first, second = narrate(rows)
    for explained in (
        "went quiet",
        "unresolved strain:",
        "clinicians learn of many ruptures",
        "follow-through on the agreed tasks",
    ):
        assert explained in first and explained not in second, explained
    assert second == (
        "Session 3 — Withdrawal: not noticed (withdrawal is quiet). Bond "
        "0.50 → 0.50 (about the same); strain 1.0 → 2.0; follow-through "
        "60% → 60%. Questionnaire: would report it."
    )
    assert len(second) < len(first) / 2


def test_failed_repair_of_a_confrontation():
    rows = [row(6, bond=0.7), row(7, bond=0.6, rupture="confrontation", rupture_detected=True)]
    (line,) = narrate(rows)
    assert line.startswith("Session 7 — Confrontation (the patient criticised the clinician")
    assert "but the repair did not take hold" in line


def test_codes_and_names_give_the_same_sentences():
    named = [
        row(0, symptom_score=math.nan),
        row(1, rupture="withdrawal", rupture_detected=True),
        row(2, rupture="confrontation", status="dropped_out"),
    ]
    coded = [
        {
            **r,
            "rupture": ("none", "withdrawal", "confrontation").index(r["rupture"]),
            "status": ("active", "completed", "recovered", "dropped_out").index(r["status"]),
            "rupture_detected": int(r["rupture_detected"]),
        }
        for r in named
    ]
    assert narrate(named) == narrate(coded)
    assert len(narrate(named)) == 3


def test_quiet_sessions_and_the_intake_row_say_nothing():
    assert narrate([row(0), row(1), row(2)]) == []
    assert narrate_session(None, row(0)) == []


def test_endings_state_their_numbers():
    intake = row(0, symptom_score=math.nan)
    first = row(1, symptom_score=15.0, rupture="withdrawal")
    dropped = row(2, symptom_score=13.0, alliance=0.41, status="dropped_out")
    line = narrate([intake, first, dropped])[-1]
    assert line == (
        "Session 2 — the patient did not come back after this session: dropped out "
        "with the alliance at 0.41 and 1 unrepaired rupture so far; PHQ-9 at this "
        "session 13 (15 at intake)."
    )
    recovered = narrate(
        [intake, row(1, symptom_score=15.0), row(2, symptom_score=6.0, status="recovered")]
    )
    assert recovered == [
        'Session 2 — treatment ended early, on recovery ("good enough"); '
        "PHQ-9 at this session 6 (15 at intake)."
    ]
    adherence = narrate(
        [intake, row(1, engagement=0.48, status="completed")],
        outcome="adherence",
        engagement_noun="the prescribed doses",
    )
    assert adherence == [
        "Session 1 — the planned course of treatment ended; in the last "
        "interval the patient took 48% of the prescribed doses."
    ]


def test_internalisation_crossing_one_half_either_way():
    up = narrate([row(3, internalisation=0.48), row(4, internalisation=0.53)])
    assert up == [
        "Session 4 — motivation is becoming the patient's own: from \"the clinician "
        'told me to" toward "it is important to me" (internalisation 0.48 → 0.53).'
    ]
    down = narrate([row(3, internalisation=0.52), row(4, internalisation=0.47)])
    assert "slipped back" in down[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_bond_claim_matches_the_simulated_rows(seed):
    model = TeachingClinic(scenario_name="pushing_too_hard", seed=seed)
    while model.running:
        model.step()
    rows = model.focus.rows
    lines = narrate(rows, clinician=model.focus.clinician)
    by_session = {r["session"]: r for r in rows}
    checked = 0
    for line in lines:
        found = re.search(
            r"Session (\d+) — .* Bond (\d\.\d\d) → (\d\.\d\d) "
            r"\((higher|lower|about the same)\)",
            line,
        )
        if not found:
            continue
        session = int(found.group(1))
        before, after = by_session[session - 1]["bond"], by_session[session]["bond"]
        assert found.group(2) == f"{before:.2f}" and found.group(3) == f"{after:.2f}"
        word = found.group(4)
        assert (word == "higher") == (round(after, 2) > round(before, 2))
        assert (word == "lower") == (round(after, 2) < round(before, 2))
        checked += 1
    ruptures = sum(r["rupture"] != 0 for r in rows)
    assert checked == ruptures > 0


# --- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VIGNETTES)
def test_vignettes_are_registered_and_valid(name):
    scenario = SCENARIOS[name]
    assert scenario.description and "\n" not in scenario.description
    parameters = scenario.parameters()
    assert all(parameters[k] == pytest.approx(v) for k, v in scenario.overrides.items())


def test_copd_vignette_carries_the_source_texts_goals_and_tasks():
    copd = SCENARIOS["copd_panic"]
    assert copd.tasks == ("paced breathing", "graded activity schedule", "daily inhaler checklist")
    assert "inhaler" in " ".join(copd.goals)
    assert SCENARIOS["knee_pain"].tasks == ("pain-activity diary", "physiotherapy attendance")


def test_pushing_too_hard_provokes_more_ruptures_mostly_withdrawals():
    base = simulate(CLINIC_SIZE, seed=4).dyads
    pushed = simulate(CLINIC_SIZE, seed=4, scenario="pushing_too_hard").dyads
    rate = lambda d: d["ruptures"].sum() / d["sessions"].sum()  # noqa: E731
    assert rate(pushed) > rate(base)
    assert pushed["withdrawals"].sum() > 2 * pushed["confrontations"].sum()


def test_hypertension_has_few_visits_and_no_ending_on_recovery():
    dyads = simulate(CLINIC_SIZE, seed=4, scenario="hypertension").dyads
    assert dyads["sessions"].max() <= 6
    assert "recovered" not in set(dyads["status"].astype(str))
    assert SCENARIOS["hypertension"].outcome == "adherence"


# --- the dashboard's model --------------------------------------------------------------------


def test_dyad_up_close_has_exactly_the_slider_values():
    model = TeachingClinic(
        seed=5, repair_skill=0.85, sensitivity=0.65, severity=0.7, responsiveness=0.9
    )
    expected = {
        **slider_values("psychotherapy"),
        "repair_skill": 0.85,
        "sensitivity": 0.65,
        "severity": 0.7,
        "responsiveness": 0.9,
    }
    traits = {**model.focus.clinician, **model.focus.patient}
    for name in SLIDERS:
        assert traits[name] == pytest.approx(expected[name], abs=1e-12), name
    assert len(model.patients) == 100
    # The sliders move the clinic's population too: every clinician, same draws, higher value.
    lower = TeachingClinic(seed=5, repair_skill=0.15)
    assert (
        model.clinics.clinicians["repair_skill"] > lower.clinics.clinicians["repair_skill"]
    ).all()


def test_compared_clinicians_differ_in_the_contrast_only():
    model = TeachingClinic(seed=9, contrast="attunement")
    low, high = model.compare_low, model.compare_high
    assert low.patient == high.patient == model.focus.patient
    differ = {k for k in low.clinician if low.clinician[k] != high.clinician[k]}
    assert differ == {"attunement"}
    assert low.clinician["attunement"] < high.clinician["attunement"]
    np.testing.assert_equal(low.rows[0], high.rows[0])  # the same patient at intake


def test_all_models_advance_in_lockstep():
    model = TeachingClinic(seed=3)
    for _ in range(4):
        model.step()
    assert model.session == 4
    for track in model.tracks:
        assert track.rows[0]["session"] == 0
        assert [r["session"] for r in track.rows] == list(range(len(track.rows)))
        assert track.model.session == 4 or track.status != "active"


def test_seed_text_is_parsed_or_replaced_with_a_notice():
    assert parse_seed(" 42 ") == (42, "")
    assert parse_seed("abc")[1] == "Seed 'abc' is not a whole number; using 2026."
    assert parse_seed(-3)[1].startswith("Seed -3 is negative")
    model = TeachingClinic(seed="x1")
    assert model.seed == 2026 and "not a whole number" in model.notice


def test_the_event_log_names_the_vignettes_tasks():
    model = TeachingClinic(
        scenario_name="copd_panic", seed=1, pressure=0.9, sensitivity=0.9, attunement=0.0
    )
    while model.running:
        model.step()
    lines = model.event_log()
    assert lines == narrate(
        model.focus.rows,
        clinician=model.focus.clinician,
        engagement_noun="the agreed tasks (paced breathing, graded activity "
        "schedule, daily inhaler checklist)",
    )
    assert any("paced breathing" in line for line in lines)


def test_bad_contrast_or_trait_is_a_parameter_error():
    with pytest.raises(ParameterError, match="contrast must be one of"):
        TeachingClinic(contrast="charisma")
    with pytest.raises(ParameterError, match="'warmth' must be a number from 0 to 1"):
        TeachingClinic(warmth=1.5)


# --- charts -----------------------------------------------------------------------------------


def test_chart_specs_are_strict_json_with_one_marker_per_rupture():
    model = TeachingClinic(scenario_name="pushing_too_hard", seed=1)
    for _ in range(6):
        model.step()
    rows = model.focus.rows
    specs = [
        dyad_chart(rows, 20, instrument="PHQ-9"),
        needs_chart(rows, 20),
        clinic_chart(model.datacollector.get_model_vars_dataframe(), model.census, 20),
        compare_chart(
            model.compare_low.rows, model.compare_high.rows, ("a", "b"), 20, instrument="PHQ-9"
        ),
        dyad_chart(rows, 20, instrument="PHQ-9", outcome="adherence"),
    ]
    for spec in specs:
        json.dumps(spec, allow_nan=False)  # JSON has no NaN: the browser would reject it
    markers = specs[0]["vconcat"][0]["layer"][1]["data"]["values"]
    assert len(markers) == sum(r["rupture"] != 0 for r in rows)
    assert {m["outcome"] for m in markers} <= {"repaired", "repair failed", "missed"}


def test_a_step_changes_a_charts_rows_not_its_structure():
    model = TeachingClinic(seed=1)
    model.step()
    first = split_data(dyad_chart(model.focus.rows, 20, instrument="PHQ-9"))
    model.step()
    second = split_data(dyad_chart(model.focus.rows, 20, instrument="PHQ-9"))
    assert first["spec"] == second["spec"]  # the browser keeps the chart, takes new rows
    assert first["datasets"] != second["datasets"]
    assert set(first["datasets"]) == {"rows_0", "rows_1", "rows_2"}
    assert "values" not in json.dumps(first["spec"])


# --- the page, rendered without a browser -----------------------------------------------------


def render_page():
    _box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    return rc


def texts(rc, css_class):
    return [w.children[0] for w in rc.find(v.Html, class_=css_class).widgets]


def test_page_steps_and_the_event_log_follows_the_model():
    rc = render_page()
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(5):
        step.click()
    (summary,) = texts(rc, "dyad-summary")
    assert summary.startswith("After session 5:")
    expected = Settings.of_scenario("psychotherapy", 2026).build()
    for _ in range(5):
        expected.step()
    lines = expected.event_log()
    assert lines, "seed 2026 has events in the first five sessions"
    assert event_lines(rc) == list(reversed(lines))


def event_lines(rc):
    """Return the event log's lines as the page shows them, newest first."""
    import html as html_module

    (log,) = [
        w for w in rc.find(solara.widgets.HTML).widgets if w.attributes.get("class") == "event-log"
    ]
    return [
        html_module.unescape(line)
        for line in re.findall(r'<div class="event-line"[^>]*>(.*?)</div>', log.unsafe_innerHTML)
    ]


def choose(rc, label, value):
    rc.find(v.Select, label=label).widget.v_model = value


def slider(rc, name):
    """Return the slider of a trait (its label carries its value)."""
    (found,) = [w for w in rc.find(v.Slider).widgets if w.label.startswith(LABELS[name] + " ")]
    return found


def sidebar_traits(rc):
    return {name: slider(rc, name).v_model for name in SLIDERS}


def test_choosing_a_scenario_loads_its_values_into_the_sliders():
    rc = render_page()
    choose(rc, "Scenario", "pushing_too_hard")
    assert slider(rc, "pressure").v_model == pytest.approx(0.6)
    assert slider(rc, "pressure").label == "Pressure 0.60"
    (clinician,) = texts(rc, "dyad-clinician")
    assert "pressure 0.60" in clinician  # the dyad up close has the scenario's pressure


@pytest.mark.parametrize("vignette", VIGNETTES)
def test_reset_after_a_vignette_keeps_the_vignette_and_the_moved_slider(vignette):
    rc = render_page()
    choose(rc, "Scenario", vignette)
    moved = round(1.0 - slider(rc, "sensitivity").v_model, 2)
    slider(rc, "sensitivity").v_model = moved
    (notice,) = rc.find(v.Alert, class_="unapplied").widgets
    assert f"sensitivity {moved:.2f}" in str(notice.children)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    shown = sidebar_traits(rc)
    assert shown == {**slider_values_rounded(vignette), "sensitivity": moved}
    assert rc.find(v.Select, label="Scenario").widget.v_model == vignette
    assert INFO[vignette].what_it_is in info_text(rc)  # the model runs the vignette
    rc.find(v.Btn, children=["Step"]).widget.click()
    (clinician,) = texts(rc, "dyad-clinician")
    (patient,) = texts(rc, "dyad-patient")
    for name in CLINICIAN_SLIDERS:
        assert f"{LABELS[name].lower()} {shown[name]:.2f}" in clinician
    for name in PATIENT_SLIDERS:
        assert f"{LABELS[name].lower()} {shown[name]:.2f}" in patient
    assert rc.find(v.Alert, class_="unapplied").widgets == []


def test_the_responsiveness_slider_exists_and_shows_its_value():
    assert "responsiveness" in PATIENT_SLIDERS
    assert LABELS["responsiveness"] == "Responsiveness to treatment"
    rc = render_page()
    shown = slider(rc, "responsiveness")
    assert (shown.min, shown.max) == (0.0, 1.0)
    assert shown.v_model == Settings.of_scenario("psychotherapy").traits["responsiveness"]
    assert shown.label == slider_label("responsiveness", shown.v_model)
    (patient,) = texts(rc, "dyad-patient")
    assert f"responsiveness to treatment {shown.v_model:.2f}" in patient


def test_reset_gives_the_patient_up_close_the_responsiveness_of_the_slider(monkeypatch):
    built = []
    build = Settings.build

    def recording_build(self):
        built.append(build(self))
        return built[-1]

    monkeypatch.setattr(Settings, "build", recording_build)
    rc = render_page()
    (before,) = built
    moved = round(1.0 - slider(rc, "responsiveness").v_model, 2)  # a responder, not the median
    slider(rc, "responsiveness").v_model = moved
    assert slider(rc, "responsiveness").label == slider_label("responsiveness", moved)
    (notice,) = rc.find(v.Alert, class_="unapplied").widgets
    assert f"responsiveness to treatment {moved:.2f}" in str(notice.children)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    after = built[-1]
    assert after is not before
    running = after.focus.patient["responsiveness"]
    assert running == pytest.approx(moved, abs=1e-12)
    # The compared pair is the same patient; the clinic's patients moved with the median.
    for track in (after.compare_low, after.compare_high):
        assert track.patient["responsiveness"] == running
    assert (after.clinics.dyads["responsiveness"] >= before.clinics.dyads["responsiveness"]).all()
    assert (
        after.clinics.dyads["responsiveness"].mean() > before.clinics.dyads["responsiveness"].mean()
    )
    (patient,) = texts(rc, "dyad-patient")
    assert f"responsiveness to treatment {running:.2f}" in patient
    assert rc.find(v.Alert, class_="unapplied").widgets == []
    # Everything else is what the sidebar showed before the slider moved.
    assert {**before.dyad_traits, "responsiveness": running} == pytest.approx(after.dyad_traits)


def slider_values_rounded(scenario):
    return dict(Settings.of_scenario(scenario).traits)


def test_step_works_after_a_finished_course_and_a_new_scenario():
    rc = render_page()
    choose(rc, "Scenario", "hypertension")
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(int(SCENARIOS["hypertension"].parameters()["max_sessions"])):
        step.click()
    assert step.disabled, "the course has ended"
    (progress,) = texts(rc, "progress-line")
    assert "the course has ended" in progress
    choose(rc, "Scenario", "copd_panic")
    step = rc.find(v.Btn, children=["Step"]).widget
    assert not step.disabled
    step.click()
    (summary,) = texts(rc, "dyad-summary")
    assert summary.startswith("After session 1:")


def test_the_compare_box_and_card_agree_after_a_scenario_switch():
    rc = render_page()
    choose(rc, "Compare clinicians differing in", LABELS["attunement"])
    rc.find(v.Btn, children=["Reset"]).widget.click()
    choose(rc, "Scenario", "knee_pain")
    box = rc.find(v.Select, label="Compare clinicians differing in").widget.v_model
    (sentence,) = texts(rc, "compare-sentence")
    assert f"differ only in {box.lower()}:" in sentence


def test_sliders_show_their_values():
    assert slider_label("repair_skill", 0.5) == "Repair skill 0.50"
    rc = render_page()
    for name in SLIDERS:
        assert slider(rc, name).label == slider_label(name, slider(rc, name).v_model)


def test_mesas_generic_controls_are_not_on_the_page():
    rc = render_page()
    labels = [w.label for w in rc.find(v.Slider).widgets]
    assert not any(word in " ".join(labels) for word in ("Interval", "Threads"))
    assert all(
        not str(w.children[0]).startswith("Time:") for w in rc.find(v.Html).widgets if w.children
    )


# --- settings and the comparison --------------------------------------------------------------


def test_settings_build_exactly_what_they_show():
    settings = Settings.of_scenario("knee_pain", 11).with_trait("pressure", 0.734)
    model = settings.build()
    assert settings.traits["pressure"] == 0.73
    assert settings_of(model) == settings
    assert settings.unapplied(model) == []
    moved = settings.with_trait("warmth", 0.1).with_contrast("attunement")
    assert moved.unapplied(model) == [
        f"warmth 0.10 (running: {model.focus.clinician['warmth']:.2f})",
        "compare attunement (running: pressure)",
    ]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_default_comparison_differs_whatever_the_seed(scenario):
    # Pressure acts in every session, so the two runs part in the first; checked on the rows
    # the card draws, for several seeds, never on remembered numbers.
    assert DEFAULT_CONTRAST == "pressure"
    for seed in (0, 1, 2, 3, 4):
        model = Settings.of_scenario(scenario, seed).build()
        model.step()
        low, high = model.compare_low.rows, model.compare_high.rows
        assert not runs_identical(low, high), seed
        assert why_identical(model.contrast, low, high, 0.5) == ""


def test_identical_runs_say_why():
    intake, quiet = row(0), row(1)
    missed = row(2, rupture="withdrawal")
    assert "same intake" in why_identical("repair_skill", [intake], [intake], 0.5)
    text = why_identical("repair_skill", [intake, quiet, missed], [intake, quiet, missed], 0.5)
    assert "repair skill acts only when the clinician notices a rupture" in text
    assert "the 1 rupture so far went unnoticed (attunement 0.50" in text
    assert "none has happened yet" in why_identical(
        "attunement", [intake, quiet], [intake, quiet], 0.5
    )
    assert why_identical("repair_skill", [intake, quiet], [intake, row(1, bond=0.6)], 0.5) == ""


def test_a_page_with_identical_runs_shows_the_reason():
    # Find a seed whose repair-skill runs are identical after a session, at run time.
    for seed in range(40):
        model = Settings.of_scenario("psychotherapy", seed, "repair_skill").build()
        model.step()
        if runs_identical(model.compare_low.rows, model.compare_high.rows):
            break
    else:
        pytest.skip("no seed of 0-39 gives identical repair-skill runs after one session")
    rc = render_page()
    choose(rc, "Compare clinicians differing in", LABELS["repair_skill"])
    seed_box = rc.find(v.TextField, label="Seed (the patients' luck)").widget
    seed_box.v_model = str(seed)
    seed_box.fire_event("focusout", {})  # the box applies its text when it loses focus
    rc.find(v.Btn, children=["Reset"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    (alert,) = rc.find(v.Alert, class_="compare-identical").widgets
    assert "identical so far" in str(alert.children)


# --- the clinic and the Info tab --------------------------------------------------------------


def test_the_census_counts_every_patient_every_session():
    model = TeachingClinic(seed=4, scenario_name="hypertension")
    while model.running:
        model.step()
    assert [c["session"] for c in model.census] == list(range(model.session + 1))
    for counts in model.census:
        assert counts["in treatment"] + counts["finished"] + counts["dropped out"] == 100
    assert model.census[-1]["in treatment"] == 0
    assert model.census[-1]["finished"] > 0  # the course ended: not a clinic that emptied


def test_charts_are_readable_on_a_projector():
    model = TeachingClinic(seed=2)
    model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    specs = [
        dyad_chart(model.focus.rows, 20, instrument="PHQ-9"),
        needs_chart(model.focus.rows, 20),
        clinic_chart(frame, model.census, 20),
        compare_chart(
            model.compare_low.rows, model.compare_high.rows, ("a", "b"), 20, instrument="PHQ-9"
        ),
    ]
    assert FONT_SIZE >= 12
    titles = []

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("FontSize") or key == "fontSize":
                    assert value >= 12, key
                if key in ("x", "y") and isinstance(value, dict) and value.get("title"):
                    titles.append(value["title"])
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for spec in specs:
        visit(spec)
    assert "0-1" not in titles and all(len(t) > 4 or t == "" for t in titles)
    clinic = json.dumps(specs[2])
    assert '"finished"' in clinic and "running totals" in clinic and "in the session" in clinic


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_has_its_info(scenario):
    info = INFO[scenario]
    for text in (info.what_it_is, info.how_it_works, info.measure, *info.notice, *info.try_):
        assert len(text) > 20 and text.strip() == text
    assert info.notice and info.try_
    # A number quoted next to a trait is the scenario's value of that trait.
    values = SCENARIOS[scenario].parameters()
    for name, number in re.findall(
        r"\b(warmth|collaboration|structure|pressure|attunement|"
        r"sensitivity|hostility|autonomy|responsiveness) (\d\.\d+)",
        info.how_it_works,
    ):
        assert values[name] == pytest.approx(float(number)), name
    if SCENARIOS[scenario].symptom_instrument == "PHQ-9" and scenario in (
        "copd_panic",
        "knee_pain",
    ):
        assert "PHQ-9" in info.measure and "not this vignette's own outcome" in info.measure


def test_the_glossary_and_the_model_document():
    for word in (
        "goal",
        "task",
        "bond",
        "attunement",
        "strain",
        "internalisation",
        "responsiveness",
        "WAI-SR",
        "PHQ-9",
    ):
        assert GLOSSARY[word]
    responsiveness = GLOSSARY["responsiveness"]
    for phrase in ("techniques", "remoralisation", "responders", "non-responders"):
        assert phrase in responsiveness
    assert any(
        LABELS["responsiveness"].lower() in text.lower()
        for info in INFO.values()
        for text in info.try_
    )
    assert "<table>" in model_doc_html() and "Process overview" in model_doc_html()


def test_the_info_tab_shows_the_chosen_scenario():
    rc = render_page()
    choose(rc, "Scenario", "copd_panic")
    assert INFO["copd_panic"].what_it_is in info_text(rc)
    assert "Things to try" in info_text(rc)


def info_text(rc):
    """Return the Info tab's scenario text, as the reader sees it (entities unescaped)."""
    import html as html_module

    (widget,) = [
        w for w in rc.find(solara.widgets.HTML).widgets if w.attributes.get("class") == "info-text"
    ]
    return html_module.unescape(widget.unsafe_innerHTML)


# --- binding and the command line -------------------------------------------------------------


def test_loopback_addresses():
    for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.4", "example.org", ""):
        assert not is_loopback(host), host


def test_environment_never_chooses_a_public_address():
    environ = {"SOLARA_HOST": "0.0.0.0", "HOST": "10.0.0.5", "UVICORN_HOST": "127.0.0.1"}
    host, notes = resolve_host(None, environ)
    assert host == "127.0.0.1"
    assert notes == [
        "note: ignoring HOST=10.0.0.5; the dashboard listens on 127.0.0.1 unless --host is given",
        "note: ignoring SOLARA_HOST=0.0.0.0; the dashboard listens on 127.0.0.1 unless --host "
        "is given",
    ]


def test_an_explicit_host_is_obeyed_with_a_warning():
    host, notes = resolve_host("0.0.0.0", {})
    assert host == "0.0.0.0"
    assert notes == [
        "warning: listening on 0.0.0.0: anyone who can reach this machine can open the dashboard"
    ]
    assert resolve_host("127.0.0.1", {}) == ("127.0.0.1", [])


def test_bind_refuses_a_public_address_unless_allowed():
    with pytest.raises(DashboardError, match=r"refusing to listen on 0\.0\.0\.0"):
        bind("0.0.0.0", 0)
    with bind("127.0.0.1", 0) as sock:
        assert sock.getsockname()[0] == "127.0.0.1"


def test_cli_without_host_binds_loopback_even_if_solara_host_says_otherwise(monkeypatch, capsys):
    monkeypatch.setenv("SOLARA_HOST", "0.0.0.0")
    bound = {}

    def fake_serve(sock, *, scenario, seed):
        bound.update(address=sock.getsockname()[0], scenario=scenario, seed=seed)

    monkeypatch.setattr("sim.dashboard.server.serve", fake_serve)
    assert main(["dashboard", "--port", "0", "--scenario", "copd_panic", "--seed", "3"]) == 0
    assert bound == {"address": "127.0.0.1", "scenario": "copd_panic", "seed": 3}
    assert "ignoring SOLARA_HOST=0.0.0.0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "mars"], "unknown scenario 'mars'; choose one of: psychotherapy"),
        (["--port", "70000"], "--port must be a whole number from 0 to 65535, got 70000"),
        (["--seed", "-1"], "--seed must be a whole number from 0, got -1"),
        (
            ["--host", "not-an-address.invalid"],
            "--host not-an-address.invalid is not an address of this machine",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["dashboard", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1


def test_add_parser_registers_the_subcommand():
    import argparse

    parser = argparse.ArgumentParser(prog="alliance")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["dashboard"])
    assert (args.host, args.port, args.scenario, args.seed) == (None, 8765, "psychotherapy", 2026)
    assert args.func.__name__ == "cmd_dashboard"
    assert "--host" in sub.choices["dashboard"].format_help()


# --- front-end assets -------------------------------------------------------------------------


def test_required_page_files_are_read_from_solaras_templates(tmp_path):
    required = assets.required_files()
    assert any(name.startswith("@widgetti/solara-vuetify") for name in required)
    assert {"requirejs@2.3.6", "vega@5", "vega-lite@5", "vega-embed@6"} <= set(required)
    assert assets.missing(tmp_path) == required


def test_an_npm_tarball_unpacks_where_the_proxy_looks(tmp_path):
    import io
    import tarfile

    tarball = tmp_path / "vega-5.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        content = b"// vega"
        info = tarfile.TarInfo("package/build/vega.min.js")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    cache = tmp_path / "cdn"
    cache.mkdir()
    assets._unpack(tarball, cache / "vega@5")
    assert (cache / "vega@5" / "build" / "vega.min.js").read_bytes() == b"// vega"
    assert [p.name for p in cache.iterdir()] == ["vega@5"]  # no staging directory left


def test_every_slider_trait_is_labelled_and_split_by_role():
    assert set(SLIDERS) == set(CLINICIAN_SLIDERS) | set(PATIENT_SLIDERS)
    assert all(LABELS[name] for name in SLIDERS)
    assert set(Settings.of_scenario("psychotherapy").traits) == set(SLIDERS)
    assert slider_values("psychotherapy").keys() == set(SLIDERS)
