"""The teaching dashboard: a Solara page built on Mesa's ``SolaraViz``.

``alliance dashboard`` serves this module's :func:`Page` (see :mod:`sim.dashboard_cli`); it can
also be served with ``solara run sim.app``. The page shows

* in the sidebar: the scenario selector (the source text's vignettes among them), Mesa's controls
  (Step, ▶/❚❚, Reset) and Mesa's model parameters: sliders for the clinician's and the patient's
  traits, the seed and the trait the compare view contrasts, which apply on Reset;
* in the main area: one dyad up close, its event log in plain words, its needs and
  internalisation, the clinic, the same patient with two clinicians, and a short guide.

Two choices depart from the usual ``SolaraViz(model, components=[...])``:

* The scenario selector sits outside Mesa's parameters: choosing a scenario loads its values
  into the sliders (the ``SolaraViz`` element is keyed by the scenario, so it is rebuilt), where a
  Mesa parameter would leave the sliders showing the previous scenario's values.
* ``SolaraViz`` gets no components; the page lays them out itself (:func:`MainView`) and shares
  the model with ``SolaraViz`` as a reactive variable, so Reset reaches them. ``SolaraViz`` puts
  components in a draggable grid whose script (vue-grid-layout 2) fails to load under Vue 3
  (ipyvue 3: "GlobalVue.use is not a function"), which leaves the main area blank; a fixed
  layout also suits a projector better.

The initial scenario and seed come from ``ALLIANCE_DASHBOARD_SCENARIO`` and
``ALLIANCE_DASHBOARD_SEED`` (set by ``alliance dashboard --scenario/--seed``).
"""

from __future__ import annotations

import os
from typing import Any

import solara
from mesa.visualization import Slider, SolaraViz

from sim.dashboard.components import MainView
from sim.dashboard.model import (
    CONTRASTS,
    DEFAULT_SEED,
    LABELS,
    SLIDERS,
    TeachingClinic,
    parse_seed,
    slider_values,
)
from sim.scenarios import SCENARIOS

SCENARIO_ENV = "ALLIANCE_DASHBOARD_SCENARIO"
SEED_ENV = "ALLIANCE_DASHBOARD_SEED"
PLAY_INTERVAL_MS = 300
"""Pause between sessions when playing: slow enough to read the event log."""


def initial_settings() -> tuple[str, int]:
    """Return the scenario and seed the page opens with (from the environment, else defaults)."""
    scenario = os.environ.get(SCENARIO_ENV, "psychotherapy")
    if scenario not in SCENARIOS:
        scenario = "psychotherapy"
    seed, _ = parse_seed(os.environ.get(SEED_ENV, DEFAULT_SEED))
    return scenario, seed


def model_params(scenario: str, seed: int) -> dict[str, Any]:
    """Return Mesa's ``model_params`` for a scenario: sliders at the scenario's values."""
    values = slider_values(scenario)
    params: dict[str, Any] = {"scenario_name": scenario}
    for name in SLIDERS:
        params[name] = Slider(LABELS[name], value=round(values[name], 2), min=0.0, max=1.0,
                              step=0.05, dtype=float)
    params["seed"] = {"type": "InputText", "value": str(seed), "label": "Seed"}
    params["contrast"] = {"type": "Select", "value": "repair_skill", "values": list(CONTRASTS),
                          "label": "Compare clinicians differing in"}
    return params


def build_model(scenario: str, seed: int) -> TeachingClinic:
    """Return the model a scenario opens with: its own values, sliders untouched."""
    return TeachingClinic(scenario_name=scenario, seed=seed)


@solara.component
def ScenarioPicker(scenario: solara.Reactive[str]) -> None:
    """Show the scenario selector: choosing one loads it at once, its values in the sliders."""
    with solara.Card("Scenario"):
        solara.Select(label="Scenario", values=list(SCENARIOS), value=scenario)
        solara.Div(children=[SCENARIOS[scenario.value].description],
                   style={"font-size": "0.85em"})
        solara.Div(children=["Sliders, seed and compare apply when you press Reset."],
                   style={"font-size": "0.85em", "color": "#555555", "margin-top": "4px"})


@solara.component
def Page() -> None:
    """Show the dashboard page."""
    start_scenario, seed = initial_settings()
    scenario = solara.use_reactive(start_scenario)
    # A new scenario builds a new model; Mesa's Reset replaces it in place (model.value = ...).
    model = solara.use_reactive(
        solara.use_memo(lambda: build_model(scenario.value, seed), [scenario.value]))
    with solara.Sidebar():
        ScenarioPicker(scenario)
    SolaraViz(
        model,
        components=[],
        model_params=model_params(scenario.value, seed),
        play_interval=PLAY_INTERVAL_MS,
        name="The working alliance: a teaching dashboard",
    ).key(f"viz-{scenario.value}")
    MainView(model)
