"""The dashboard's sidebar: scenario, Reset / Play / Step, sliders with their values, seed, compare.

The sidebar holds one :class:`~sim.dashboard.settings.Settings` (a reactive variable) and the
model (another). Choosing a scenario loads its values into the settings and builds the model from
them at once; Reset builds the model from the settings as they stand. The model is therefore
always built from what the sidebar shows, and the sidebar says, next to Reset, what was moved
since (:meth:`Settings.unapplied`). Whether Step and Play are enabled is read off the model each
time (``model.running``), never kept in a variable of its own that could go stale.

Mesa's ``SolaraViz`` controls are not used: their play interval, render interval, threads and
"Time" mean nothing to a clinical audience, and their parameter state is set once when the page
opens, so a scenario chosen later was lost on Reset. The play loop follows Mesa's
``ModelController`` (a thread stepping the model, then ``force_update``); components redraw on
Mesa's ``update_counter``.
"""

from __future__ import annotations

import time

import solara
from mesa.visualization.utils import force_update, update_counter

from sim.core.scenarios import SCENARIOS
from sim.dashboard.model import (
    CLINICIAN_SLIDERS,
    CONTRASTS,
    LABELS,
    PATIENT_SLIDERS,
    TeachingClinic,
)
from sim.dashboard.settings import Settings

PACES_MS = {"slow": 1000, "normal": 400, "fast": 150}
"""Pause between sessions while playing, by name: slow enough to read the event log, or not."""

_NOTE = {"font-size": "14px", "color": "#444444"}


def slider_label(name: str, value: float) -> str:
    """Return a slider's label with its value, e.g. ``"Pressure 0.30"``."""
    return f"{LABELS[name]} {value:.2f}"


def progress_line(model: TeachingClinic) -> str:
    """Return where the course is, e.g. "Session 3 of 20 · 92 of 100 patients in treatment"."""
    census = model.census[-1]
    line = (
        f"Session {model.session} of {model.clinics.max_sessions} · "
        f"{census['in treatment']} of {len(model.patients)} patients in treatment"
    )
    if not model.running:
        line += " · the course has ended: press Reset, or pick a scenario"
    return line


def _play(
    model: solara.Reactive[TeachingClinic],
    playing: solara.Reactive[bool],
    pace: solara.Reactive[str],
) -> None:
    """Step the model while playing, until it ends or another model replaces it."""
    started = model.value
    while playing.value and model.value is started and started.running:
        time.sleep(PACES_MS[pace.value] / 1000)
        if not playing.value or model.value is not started:
            return
        started.step()
        force_update()
    if model.value is started and not started.running:
        playing.set(False)


@solara.component
def RunButtons(
    model: solara.Reactive[TeachingClinic],
    settings: solara.Reactive[Settings],
    playing: solara.Reactive[bool],
) -> None:
    """Show Reset, Play/Pause and Step, and what Reset would apply."""
    update_counter.get()
    current = model.value

    def reset() -> None:
        playing.set(False)
        model.set(settings.value.build())
        force_update()

    def step() -> None:
        current.step()
        force_update()

    with solara.Row(justify="space-between", classes=["run-buttons"]):
        solara.Button("Reset", color="primary", on_click=reset)
        solara.Button(
            "❚❚ Pause" if playing.value else "▶ Play",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=not current.running,
        )
        solara.Button(
            "Step", color="primary", on_click=step, disabled=playing.value or not current.running
        )
    solara.Div(children=[progress_line(current)], style=_NOTE, classes=["progress-line"])
    unapplied = settings.value.unapplied(current)
    if unapplied:
        solara.Warning(
            f"Not applied yet: {'; '.join(unapplied)}. Press Reset to start again with them.",
            dense=True,
            classes=["unapplied"],
        )


@solara.component
def TraitSliders(settings: solara.Reactive[Settings], names: tuple[str, ...], heading: str) -> None:
    """Show one slider per trait, its value in its label."""
    solara.Div(children=[heading], style={"font-weight": "bold", "margin-top": "6px"})
    for name in names:
        value = settings.value.traits[name]

        def moved(new: float, name: str = name) -> None:
            settings.set(settings.value.with_trait(name, new))

        solara.SliderFloat(
            slider_label(name, value), value=value, min=0.0, max=1.0, step=0.01, on_value=moved
        )


@solara.component
def Controls(model: solara.Reactive[TeachingClinic], settings: solara.Reactive[Settings]) -> None:
    """Show the sidebar."""
    playing = solara.use_reactive(False)
    pace = solara.use_reactive("normal")
    # Not intrusive_cancel: it traces every line of the thread, which slows the model; the loop
    # stops itself when paused or when another model replaces the one it plays.
    solara.use_thread(
        lambda: _play(model, playing, pace),
        dependencies=[playing.value, model.value],
        intrusive_cancel=False,
    )

    def load(scenario: str) -> None:
        playing.set(False)
        chosen = Settings.of_scenario(scenario, settings.value.seed, settings.value.contrast)
        settings.set(chosen)
        model.set(chosen.build())
        force_update()

    contrast_of = {LABELS[name]: name for name in CONTRASTS}
    with solara.Column(gap="8px", classes=["controls"]):
        with solara.Card("Scenario"):
            solara.Select(
                "Scenario", values=list(SCENARIOS), value=settings.value.scenario, on_value=load
            )
            solara.Div(children=[SCENARIOS[settings.value.scenario].description], style=_NOTE)
            solara.Div(children=["The Info tab explains it."], style=_NOTE)
        with solara.Card("Run"):
            RunButtons(model, settings, playing)
            solara.ToggleButtonsSingle(
                value=pace.value, values=list(PACES_MS), on_value=pace.set, dense=True
            )
            solara.Div(children=["Pace when playing"], style=_NOTE)
        with solara.Card("Clinician and patient"):
            solara.Div(
                children=[
                    "Set them, then press Reset. The dyad up close has exactly "
                    "these values; the clinic's patients and clinicians vary "
                    "around them."
                ],
                style=_NOTE,
            )
            TraitSliders(settings, CLINICIAN_SLIDERS, "Clinician")
            TraitSliders(settings, PATIENT_SLIDERS, "Patient")
            solara.InputText(
                "Seed (the patients' luck)",
                value=settings.value.seed,
                on_value=lambda text: settings.set(settings.value.with_seed(text)),
            )
            solara.Select(
                "Compare clinicians differing in",
                values=list(contrast_of),
                value=LABELS[settings.value.contrast],
                on_value=lambda label: settings.set(
                    settings.value.with_contrast(contrast_of[label])
                ),
            )
