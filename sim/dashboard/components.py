"""The dashboard's Solara components, each a view of a :class:`~sim.dashboard.model.TeachingClinic`.

Each component subscribes to Mesa's ``update_counter``, so it redraws after every step, reset
and play tick of Mesa's controls. Charts are Vega-Lite specs (:mod:`sim.dashboard.charts`) drawn
in the browser; text is generated from the model's numbers (:mod:`sim.narrate`).
:func:`MainView` lays them out two to a row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization.utils import update_counter

from sim.dashboard.charts import clinic_chart, compare_chart, dyad_chart, needs_chart
from sim.dashboard.model import CLINICIAN_SLIDERS, LABELS, PATIENT_SLIDERS, TeachingClinic
from sim.dashboard.vega import VegaChart, split_data

CARD = {"height": "100%"}
"""Style of each component's card (cards in a row share its height)."""

LOG_HEIGHT = "340px"
"""Height of the event log's scrolling area."""

_MUTED = {"font-size": "0.85em", "color": "#555555"}


def _vega(spec: dict[str, Any]) -> solara.Element:
    """Return a chart element: a step changes its data only, which the browser redraws fast."""
    return VegaChart.element(**split_data(spec))


def _line(text: str, style: dict[str, str] | None = None,
          classes: list[str] | None = None) -> solara.Element:
    """Return a block of text (``solara.Text`` is inline, so lines would run together)."""
    return solara.Div(children=[text], style=style, classes=classes or [])


def _traits(values: dict[str, float], names: tuple[str, ...]) -> str:
    return " · ".join(f"{LABELS[n].lower()} {values[n]:.2f}" for n in names)


def _fmt(x: float, spec: str = ".2f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _last_score(rows: list[dict[str, Any]]) -> float:
    scores = [r["symptom_score"] for r in rows if not math.isnan(r["symptom_score"])]
    return scores[-1] if scores else math.nan


def _outcome(model: TeachingClinic, rows: list[dict[str, Any]]) -> str:
    """Return the scenario's outcome now: the symptom score, or the share of doses taken."""
    if model.info.outcome == "adherence":
        return "–" if len(rows) < 2 else f"{rows[-1]['engagement']:.0%}"
    return _fmt(_last_score(rows), ".0f")


def _outcome_name(model: TeachingClinic) -> str:
    return "doses taken" if model.info.outcome == "adherence" else model.info.symptom_instrument


def _status(track_status: str) -> str:
    return track_status.replace("_", " ")


@solara.component
def DyadView(model: TeachingClinic) -> None:
    """Show one dyad up close: goal, task and bond with ruptures and repairs; the outcome."""
    update_counter.get()
    track, info = model.focus, model.info
    rows = track.rows
    last = rows[-1]
    with solara.Card("One dyad up close", style=CARD, classes=["dyad-view"]):
        _line(f"Patient: {_traits(track.patient, PATIENT_SLIDERS)}", style=_MUTED,
              classes=["dyad-patient"])
        _line(f"Clinician: {_traits(track.clinician, CLINICIAN_SLIDERS)}", style=_MUTED,
              classes=["dyad-clinician"])
        _line(
            f"After session {last['session']}: alliance {_fmt(last['alliance'])} "
            f"(goal {_fmt(last['goal'])}, task {_fmt(last['task'])}, bond {_fmt(last['bond'])})"
            f" · {_outcome_name(model)} {_outcome(model, rows)} · "
            f"{_status(track.status)}",
            style={"font-size": "0.85em"}, classes=["dyad-summary"])
        _vega(dyad_chart(rows, model.clinics.max_sessions, instrument=info.symptom_instrument,
                         outcome=info.outcome))


@solara.component
def NeedsView(model: TeachingClinic) -> None:
    """Show the three needs and internalisation of the dyad up close."""
    update_counter.get()
    last = model.focus.rows[-1]
    with solara.Card("Needs and motivation (dyad up close)", style=CARD):
        _line(
            f"Autonomy {_fmt(last['need_autonomy'])} · competence "
            f"{_fmt(last['need_competence'])} · relatedness {_fmt(last['need_relatedness'])} · "
            f"internalisation {_fmt(last['internalisation'])} (dashed: 0 'told to', "
            "1 'important to me')", style=_MUTED)
        _vega(needs_chart(model.focus.rows, model.clinics.max_sessions))


@solara.component
def EventLog(model: TeachingClinic) -> None:
    """Tell the dyad up close in plain words: one line per notable event, newest first."""
    update_counter.get()
    lines = model.event_log()
    with solara.Card("What happened (newest first)", style=CARD):
        if model.notice:
            solara.Warning(model.notice, dense=True)
        with solara.Div(classes=["event-log"],
                        style={"max-height": LOG_HEIGHT, "overflow-y": "auto"}):
            if not lines:
                solara.Div(children=[f"Session {model.focus.rows[-1]['session']}: nothing "
                                     "notable yet. Press Step or ▶."],
                           style=_MUTED, classes=["event-line"])
            for line in reversed(lines):
                solara.Div(children=[line], style={"margin-bottom": "6px"},
                           classes=["event-line"])


@solara.component
def ClinicView(model: TeachingClinic) -> None:
    """Show the clinic: mean alliance, active patients, dropouts, ruptures and repairs."""
    update_counter.get()
    frame = model.datacollector.get_model_vars_dataframe()
    now = frame.iloc[-1]
    ruptures = int(now["Withdrawals"] + now["Confrontations"])
    title = f"The clinic: {len(model.patients)} patients, {len(model.clinicians)} clinicians"
    with solara.Card(title, style=CARD, classes=["clinic-view"]):
        _line(
            f"Session {model.session}: mean alliance {_fmt(float(now['Alliance']))} · "
            f"active {int(now['Active'])} · dropped out {int(now['Dropouts'])} · ruptures "
            f"{ruptures} (withdrawal {int(now['Withdrawals'])}, confrontation "
            f"{int(now['Confrontations'])}), repaired {int(now['Repairs'])}",
            style={"font-size": "0.85em"}, classes=["clinic-summary"])
        _vega(clinic_chart(frame, model.clinics.max_sessions))


def _compare_sentence(model: TeachingClinic) -> str:
    low, high = model.compare_low, model.compare_high
    name = LABELS[model.contrast].lower()

    def pair(value: Callable[[Any], str]) -> str:
        return f"{value(low)} vs {value(high)}"

    def ruptures(t: Any) -> str:
        return str(sum(r["rupture"] != 0 for r in t.rows))

    def repaired(t: Any) -> str:
        return str(sum(bool(r["rupture_repaired"]) for r in t.rows))

    return (f"Same patient, same seed ({model.seed}): the clinicians differ only in {name} "
            f"({low.clinician[model.contrast]:.2f} vs {high.clinician[model.contrast]:.2f}). "
            f"So far: ruptures {pair(ruptures)}, repaired {pair(repaired)}, alliance "
            f"{pair(lambda t: _fmt(t.rows[-1]['alliance']))}, "
            f"{_outcome_name(model)} {pair(lambda t: _outcome(model, t.rows))}, "
            f"status {pair(lambda t: _status(t.status))}.")


@solara.component
def CompareView(model: TeachingClinic) -> None:
    """Show the same patient with two clinicians side by side (default: repair skill)."""
    update_counter.get()
    info = model.info
    with solara.Card("Compare: the same patient with two clinicians", style=CARD,
                     classes=["compare-view"]):
        _line(_compare_sentence(model), style={"font-size": "0.85em"})
        _vega(compare_chart(model.compare_low.rows, model.compare_high.rows,
                            (model.compare_low.label, model.compare_high.label),
                            model.clinics.max_sessions, instrument=info.symptom_instrument,
                            outcome=info.outcome))


GUIDE = """\
<p><b>How to use this page</b></p>
<ol>
<li>Pick a <b>scenario</b> in the sidebar (the source text's vignettes are there): it loads at
once.</li>
<li>Move the <b>sliders</b> (clinician and patient traits), change the <b>seed</b> or what the
compare view contrasts, then press <b>Reset</b>: the clinic starts again with them.</li>
<li><b>Step</b> runs one session for every patient; <b>▶</b> plays, <b>❚❚</b> pauses.</li>
</ol>
<p><i>Dyad up close</i>: the patient and the clinician have exactly the slider values. Markers:
▼ withdrawal, ◆ confrontation; green: repaired, orange: noticed but the repair failed,
red: missed (not noticed).
<i>Clinic</i>: {patients} patients whose typical traits are the sliders'.
<i>Compare</i>: the dyad's patient with two clinicians who differ in one trait only; same seed,
so the same luck.</p>
"""


@solara.component
def GuideView(model: TeachingClinic) -> None:
    """Show a short guide to the page and the scenario's description."""
    info = model.info
    with solara.Card("About this page", style=CARD):
        _line(f"Scenario {info.name}: {info.description}.", style={"font-weight": "bold"},
              classes=["scenario-line"])
        if info.goals or info.tasks:
            _line(f"Goals: {', '.join(info.goals) or '–'}. "
                  f"Tasks: {', '.join(info.tasks) or '–'}.")
        # Static text of ours (Markdown would make the browser fetch mermaid from a CDN).
        solara.HTML(tag="div", unsafe_innerHTML=GUIDE.format(patients=len(model.patients)),
                    style={"font-size": "0.9em"})


ROWS = ((DyadView, EventLog), (NeedsView, ClinicView), (CompareView, GuideView))
"""The components, two per row, in page order."""


@solara.component
def MainView(model: solara.Reactive[TeachingClinic]) -> None:
    """Lay the components out, two to a row, for the model ``SolaraViz`` controls."""
    with solara.Column(gap="12px", style={"padding": "12px"}):
        for row in ROWS:
            with solara.Columns([1, 1], gutters_dense=True):
                for component in row:
                    component(model.value)
