"""The dashboard's Solara components, each a view of a :class:`~sim.dashboard.model.TeachingClinic`.

:func:`DashboardView` subscribes to Mesa's ``update_counter``, so its cards redraw after every
step, reset and play tick (:mod:`sim.dashboard.controls` bumps it). Charts are Vega-Lite specs
(:mod:`sim.dashboard.charts`) drawn in the browser; text is generated from the model's numbers
(:mod:`sim.dashboard.narrate`, :mod:`sim.dashboard.compare`). :func:`MainView` shows two tabs: the
dashboard (cards two to a row, the comparison full width) and the Info tab
(:mod:`sim.dashboard.info`).
"""

from __future__ import annotations

import html
import math
from typing import Any

import reacton.ipyvuetify as rv
import solara
from mesa.visualization.utils import update_counter

from sim.dashboard.charts import (
    OUTCOME_COLOURS,
    PART_COLOURS,
    clinic_chart,
    compare_chart,
    dyad_chart,
    needs_chart,
)
from sim.dashboard.compare import compare_sentence, why_identical
from sim.dashboard.info import GLOSSARY, INFO, model_doc_html
from sim.dashboard.model import (
    CLINICIAN_SLIDERS,
    CONTRASTS,
    LABELS,
    PATIENT_SLIDERS,
    TeachingClinic,
)
from sim.dashboard.vega import VegaChart, split_data

CARD = {"height": "100%"}
"""Style of each component's card (cards in a row share its height)."""

LOG_HEIGHT = "360px"
"""Height of the event log's scrolling area."""

TEXT = {"font-size": "15px", "line-height": "1.45"}
_MUTED = {**TEXT, "color": "#444444"}


def _vega(spec: dict[str, Any]) -> solara.Element:
    """Return a chart element: a step changes its data only, which the browser redraws fast."""
    return VegaChart.element(**split_data(spec))


def _line(
    text: str, style: dict[str, str] | None = None, classes: list[str] | None = None
) -> solara.Element:
    """Return a block of text (``solara.Text`` is inline, so lines would run together)."""
    return solara.Div(children=[text], style=style or TEXT, classes=classes or [])


def _html(markup: str, classes: list[str] | None = None) -> solara.Element:
    # Static markup of ours (solara.Markdown would make the browser fetch mermaid from a CDN).
    return solara.HTML(tag="div", unsafe_innerHTML=markup, style=TEXT, classes=classes or [])


def _traits(values: dict[str, float], names: tuple[str, ...]) -> str:
    return " · ".join(f"{LABELS[n].lower()} {values[n]:.2f}" for n in names)


def _fmt(x: float | None, spec: str = ".2f") -> str:
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


def _swatch(colour: str, symbol: str = "●") -> str:
    return f'<span style="color:{colour}">{symbol}</span>'


MARKER_KEY = (
    "Lines: "
    + ", ".join(f"{_swatch(c, '━')} {p}" for p, c in PART_COLOURS.items())
    + ". Markers: ▼ withdrawal, ◆ confrontation; "
    + ", ".join(f"{_swatch(c)} {o}" for o, c in OUTCOME_COLOURS.items())
    + " (not noticed)."
)
"""The key to the dyad charts' markers (as text: it wraps where a chart legend would be cut)."""


@solara.component
def DyadView(model: TeachingClinic, tick: int = 0) -> None:
    """Show one dyad up close: goal, task and bond with ruptures and repairs; the outcome."""
    track, info = model.focus, model.info
    rows = track.rows
    last = rows[-1]
    with solara.Card("One dyad up close", style=CARD, classes=["dyad-view"]):
        _line(
            f"Patient: {_traits(track.patient, PATIENT_SLIDERS)}",
            style=_MUTED,
            classes=["dyad-patient"],
        )
        _line(
            f"Clinician: {_traits(track.clinician, CLINICIAN_SLIDERS)}",
            style=_MUTED,
            classes=["dyad-clinician"],
        )
        _line(
            f"After session {last['session']}: alliance {_fmt(last['alliance'])} "
            f"(goal {_fmt(last['goal'])}, task {_fmt(last['task'])}, bond {_fmt(last['bond'])})"
            f" · {_outcome_name(model)} {_outcome(model, rows)} · "
            f"{_status(track.status)}",
            classes=["dyad-summary"],
        )
        _vega(
            dyad_chart(
                rows,
                model.clinics.max_sessions,
                instrument=info.symptom_instrument,
                outcome=info.outcome,
            )
        )
        _html(MARKER_KEY, classes=["marker-key"])


@solara.component
def NeedsView(model: TeachingClinic, tick: int = 0) -> None:
    """Show the three needs and internalisation of the dyad up close."""
    last = model.focus.rows[-1]
    with solara.Card("Needs and motivation (dyad up close)", style=CARD, classes=["needs-view"]):
        _line(
            f"Autonomy {_fmt(last['need_autonomy'])} · competence "
            f"{_fmt(last['need_competence'])} · relatedness {_fmt(last['need_relatedness'])} · "
            f'internalisation {_fmt(last["internalisation"])} (dashed: 0 "I was told to", '
            '1 "it is important to me")',
            style=_MUTED,
        )
        _vega(needs_chart(model.focus.rows, model.clinics.max_sessions))


def event_log_markup(lines: list[str], session: int) -> str:
    """Return the event log as HTML, newest first (one element: a step updates one widget)."""
    if not lines:
        lines = [f"Session {session}: nothing notable yet. Press Step or ▶ Play."]
    return "".join(
        f'<div class="event-line" style="margin-bottom: 8px">{html.escape(line)}</div>'
        for line in reversed(lines)
    )


@solara.component
def EventLog(model: TeachingClinic, tick: int = 0) -> None:
    """Tell the dyad up close in plain words: one line per notable event, newest first."""
    with solara.Card("What happened (newest first)", style=CARD, classes=["event-view"]):
        if model.notice:
            solara.Warning(model.notice, dense=True)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=event_log_markup(model.event_log(), model.focus.rows[-1]["session"]),
            style={**TEXT, "max-height": LOG_HEIGHT, "overflow-y": "auto"},
            classes=["event-log"],
        )


def clinic_summary(model: TeachingClinic) -> str:
    """Return the clinic card's line: running totals and this session's counts, each named."""
    now = model.datacollector.model_vars
    census = model.census[-1]
    withdrawals, confrontations = now["Withdrawals"][-1], now["Confrontations"][-1]
    return (
        f"Session {model.session}: mean alliance {_fmt(float(now['Alliance'][-1]))}. "
        f"So far (of {len(model.patients)}): in treatment {census['in treatment']}, "
        f"finished {census['finished']}, dropped out {census['dropped out']}. "
        f"This session: {withdrawals + confrontations} ruptures ({withdrawals} withdrawals, "
        f"{confrontations} confrontations), {now['Repairs'][-1]} repaired."
    )


@solara.component
def ClinicView(model: TeachingClinic, tick: int = 0) -> None:
    """Show the clinic: mean alliance, where the patients are, ruptures and repairs."""
    title = f"The clinic: {len(model.patients)} patients, {len(model.clinicians)} clinicians"
    with solara.Card(title, style=CARD, classes=["clinic-view"]):
        _line(clinic_summary(model), classes=["clinic-summary"])
        _vega(
            clinic_chart(
                model.datacollector.get_model_vars_dataframe(),
                model.census,
                model.clinics.max_sessions,
            )
        )


@solara.component
def CompareView(model: TeachingClinic, tick: int = 0) -> None:
    """Show the same patient with two clinicians side by side, and why they may not differ."""
    info, low, high = model.info, model.compare_low, model.compare_high
    with solara.Card(
        "Compare: the same patient with two clinicians", style=CARD, classes=["compare-view"]
    ):
        _line(
            compare_sentence(
                model.contrast, model.seed, low.rows, high.rows, CONTRASTS[model.contrast]
            ),
            classes=["compare-sentence"],
        )
        reason = why_identical(
            model.contrast, low.rows, high.rows, model.focus.clinician["attunement"]
        )
        if reason:
            solara.Info(reason, dense=True, classes=["compare-identical"])
        _vega(
            compare_chart(
                low.rows,
                high.rows,
                (f"left: {low.label}", f"right: {high.label}"),
                model.clinics.max_sessions,
                instrument=info.symptom_instrument,
                outcome=info.outcome,
            )
        )


def _list(items: tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def info_markup(scenario: str) -> str:
    """Return the Info tab's HTML for a scenario: the four NetLogo sections and the measure."""
    info = INFO[scenario]
    return (
        f"<h3>What is it?</h3><p>{html.escape(info.what_it_is)}</p>"
        f"<h3>How it works</h3><p>{html.escape(info.how_it_works)}</p>"
        f"<h3>What the outcome chart shows</h3><p>{html.escape(info.measure)}</p>"
        f"<h3>Things to notice</h3>{_list(info.notice)}"
        f"<h3>Things to try</h3>{_list(info.try_)}"
    )


def glossary_markup() -> str:
    """Return the glossary as an HTML definition list."""
    return (
        "<dl>"
        + "".join(
            f"<dt><b>{html.escape(word)}</b></dt><dd>{html.escape(text)}</dd>"
            for word, text in GLOSSARY.items()
        )
        + "</dl>"
    )


@solara.component
def InfoView(model: TeachingClinic) -> None:
    """Show the Info tab: the scenario explained, a glossary, and the model's description."""
    name = model.info.name
    with solara.Column(classes=["info-view"], style={"max-width": "900px"}):
        with solara.Card(f"Scenario {name}: {model.info.description}"):
            _html(info_markup(name), classes=["info-text"])
        with solara.Card("Glossary"):
            _html(glossary_markup(), classes=["glossary"])
        with solara.Card("The model in full (docs/MODEL.md)"):
            _line(
                "Every equation, parameter and calibration target is in docs/MODEL.md in "
                "the project's folder; open it below."
            )
            with solara.Details("Read docs/MODEL.md here"):
                solara.HTML(tag="div", unsafe_innerHTML=model_doc_html(), classes=["model-doc"])


@solara.component
def DashboardView(model: TeachingClinic) -> None:
    """Lay the cards out: two to a row on a wide screen, one to a row on a narrow one.

    Only this component subscribes to Mesa's ``update_counter``, and hands its value to the
    cards (``tick``): a step then re-renders them in one pass, where a subscription per card
    would walk the page once per card.
    """
    # A card whose arguments are unchanged is not drawn again: the tick tells them to.
    tick = update_counter.get()
    with solara.Column(gap="12px"):
        for row in ((DyadView, EventLog), (NeedsView, ClinicView)):
            with solara.ColumnsResponsive(12, large=6, gutters_dense=True):
                for component in row:
                    component(model, tick)
        CompareView(model, tick)


TABS = ("Dashboard", "Info")


@solara.component
def MainView(model: solara.Reactive[TeachingClinic]) -> None:
    """Show the main area: the dashboard and the Info tab.

    Both stay mounted and the hidden one is hidden with CSS, so switching tabs keeps the charts
    (no new embed). Not ``solara.lab.Tabs``: under Vuetify 3 it nests the tabs' content inside
    the tab bar, which lays it out beside the tab titles.
    """
    shown = solara.use_reactive(0)
    rv.Tabs(
        v_model=shown.value,
        on_v_model=shown.set,
        class_="main-tabs",
        children=[rv.Tab(children=[name], value=i) for i, name in enumerate(TABS)],
    )
    for i, view in enumerate((DashboardView, InfoView)):
        with solara.Div(
            style={"padding-top": "12px"} if shown.value == i else {"display": "none"},
            classes=[f"tab-{TABS[i].lower()}"],
        ):
            view(model.value)
