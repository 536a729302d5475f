"""The dashboard's Solara components, each a view of a :class:`~sim.dashboard.model.TeachingClinic`.

Each component subscribes to Mesa's ``update_counter``, so it redraws after every step, reset
and play tick of Mesa's controls. Charts are Vega-Lite specs (:mod:`sim.dashboard.charts`) drawn
in the browser; text is generated from the model's numbers (:mod:`sim.narrate`). A dashboard
cell is about 500 x 390 px, so each component fits one and scrolls beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization.utils import update_counter

from sim.dashboard.charts import clinic_chart, compare_chart, dyad_chart, needs_chart
from sim.dashboard.model import CLINICIAN_SLIDERS, LABELS, PATIENT_SLIDERS, TeachingClinic
from sim.narrate import narrate

CELL = {"height": "380px", "overflow-y": "auto", "padding": "4px 8px"}
"""Style of a component's root: one dashboard cell, scrolling beyond it."""

_MUTED = {"font-size": "0.85em", "color": "#555555"}


def _vega(spec: dict[str, Any]) -> solara.Element:
    """Return a Vega-Lite element (the widget Solara's ``FigureAltair`` uses, without Altair)."""
    return solara.widgets.VegaLite.element(spec=spec, listen_to_click=False,
                                           listen_to_hover=False)


def _traits(values: dict[str, float], names: tuple[str, ...]) -> str:
    return " · ".join(f"{LABELS[n].lower()} {values[n]:.2f}" for n in names)


def _fmt(x: float, spec: str = ".2f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _last_score(rows: list[dict[str, Any]]) -> float:
    scores = [r["symptom_score"] for r in rows if not math.isnan(r["symptom_score"])]
    return scores[-1] if scores else math.nan


def _status(track_status: str) -> str:
    return track_status.replace("_", " ")


@solara.component
def DyadView(model: TeachingClinic) -> None:
    """Show one dyad up close: goal, task and bond with ruptures and repairs; the outcome."""
    update_counter.get()
    track, info = model.focus, model.info
    rows = track.rows
    last = rows[-1]
    with solara.Column(style=CELL, gap="2px", classes=["dyad-view"]):
        solara.Text("One dyad up close", style={"font-weight": "bold"})
        solara.Text(f"Patient: {_traits(track.patient, PATIENT_SLIDERS)}", style=_MUTED)
        solara.Text(f"Clinician: {_traits(track.clinician, CLINICIAN_SLIDERS)}", style=_MUTED)
        solara.Text(
            f"After session {last['session']}: alliance {_fmt(last['alliance'])} "
            f"(goal {_fmt(last['goal'])}, task {_fmt(last['task'])}, bond {_fmt(last['bond'])})"
            f" · {info.symptom_instrument} {_fmt(_last_score(rows), '.0f')} · "
            f"{_status(track.status)}",
            style={"font-size": "0.85em"}, classes=["dyad-summary"])
        _vega(dyad_chart(rows, model.clinics.max_sessions, instrument=info.symptom_instrument,
                         outcome=info.outcome))


@solara.component
def NeedsView(model: TeachingClinic) -> None:
    """Show the three needs and internalisation of the dyad up close."""
    update_counter.get()
    last = model.focus.rows[-1]
    with solara.Column(style=CELL, gap="2px"):
        solara.Text("Needs and motivation (dyad up close)", style={"font-weight": "bold"})
        solara.Text(
            f"Autonomy {_fmt(last['need_autonomy'])} · competence "
            f"{_fmt(last['need_competence'])} · relatedness {_fmt(last['need_relatedness'])} · "
            f"internalisation {_fmt(last['internalisation'])} (dashed: 0 'told to', "
            "1 'important to me')", style=_MUTED)
        _vega(needs_chart(model.focus.rows, model.clinics.max_sessions))


@solara.component
def EventLog(model: TeachingClinic) -> None:
    """Tell the dyad up close in plain words: one line per notable event, newest first."""
    update_counter.get()
    info = model.info
    lines = narrate(model.focus.rows, clinician=model.focus.clinician,
                    instrument=info.symptom_instrument, outcome=info.outcome,
                    engagement_noun=_engagement_noun(info.engagement_noun, info.tasks))
    with solara.Column(style=CELL, gap="4px"):
        solara.Text("What happened (newest first)", style={"font-weight": "bold"})
        if model.notice:
            solara.Warning(model.notice, dense=True)
        with solara.Div(classes=["event-log"]):
            if not lines:
                solara.Div(children=[f"Session {model.focus.rows[-1]['session']}: nothing "
                                     "notable yet. Press Step or ▶."],
                           style=_MUTED, classes=["event-line"])
            for line in reversed(lines):
                solara.Div(children=[line], style={"margin-bottom": "6px"},
                           classes=["event-line"])


def _engagement_noun(noun: str, tasks: tuple[str, ...]) -> str:
    return f"{noun} ({', '.join(tasks)})" if tasks and noun == "the agreed tasks" else noun


@solara.component
def ClinicView(model: TeachingClinic) -> None:
    """Show the clinic: mean alliance, active patients, dropouts, ruptures and repairs."""
    update_counter.get()
    frame = model.datacollector.get_model_vars_dataframe()
    now = frame.iloc[-1]
    ruptures = int(now["Withdrawals"] + now["Confrontations"])
    with solara.Column(style=CELL, gap="2px", classes=["clinic-view"]):
        solara.Text(f"The clinic: {len(model.patients)} patients, "
                    f"{len(model.clinicians)} clinicians", style={"font-weight": "bold"})
        solara.Text(
            f"Session {model.session}: mean alliance {_fmt(float(now['Alliance']))} · "
            f"active {int(now['Active'])} · dropped out {int(now['Dropouts'])} · ruptures "
            f"{ruptures} (withdrawal {int(now['Withdrawals'])}, confrontation "
            f"{int(now['Confrontations'])}), repaired {int(now['Repairs'])}",
            style={"font-size": "0.85em"})
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
            f"{model.info.symptom_instrument} "
            f"{pair(lambda t: _fmt(_last_score(t.rows), '.0f'))}, "
            f"status {pair(lambda t: _status(t.status))}.")


@solara.component
def CompareView(model: TeachingClinic) -> None:
    """Show the same patient with two clinicians side by side (default: repair skill)."""
    update_counter.get()
    info = model.info
    with solara.Column(style=CELL, gap="2px", classes=["compare-view"]):
        solara.Text("Compare: the same patient with two clinicians",
                    style={"font-weight": "bold"})
        solara.Text(_compare_sentence(model), style={"font-size": "0.85em"})
        _vega(compare_chart(model.compare_low.rows, model.compare_high.rows,
                            (model.compare_low.label, model.compare_high.label),
                            model.clinics.max_sessions, instrument=info.symptom_instrument,
                            outcome=info.outcome))


GUIDE = """\
**How to use this page**

1. Pick a **scenario** (the source text's vignettes are here) in the sidebar: it loads at once.
2. Move the **sliders** (clinician and patient traits), change the **seed** or what the
   **compare** view contrasts, then press **Reset**: the clinic starts again with them.
3. **Step** runs one session for every patient; **▶** plays, **❚❚** pauses.

*Dyad up close*: the patient and clinician have exactly the slider values. Markers: ▼ withdrawal,
◆ confrontation; green = repaired, orange = noticed but not repaired, red = missed.
*Clinic*: {patients} patients whose typical traits are the sliders'. *Compare*: the dyad's
patient with two clinicians who differ in one trait only; same seed, so the same luck.
"""


@solara.component
def GuideView(model: TeachingClinic) -> None:
    """Show a short guide to the page and the scenario's description."""
    info = model.info
    with solara.Column(style=CELL, gap="2px"):
        solara.Markdown(f"**Scenario: {info.name}**: {info.description}.")
        if info.goals or info.tasks:
            solara.Markdown(f"Goals: {', '.join(info.goals) or '–'}. "
                            f"Tasks: {', '.join(info.tasks) or '–'}.")
        solara.Markdown(GUIDE.format(patients=len(model.patients)))


COMPONENTS = [DyadView, EventLog, NeedsView, ClinicView, CompareView, GuideView]
"""The components in page order (two per row)."""
