"""The teaching dashboard: a Solara page over the Mesa model of :mod:`sim.dashboard.model`.

``alliance dashboard`` serves this module's :func:`Page` (see :mod:`sim.cli.dashboard`); it can
also be served with ``solara run sim.dashboard.app``. The page shows

* in the sidebar (:mod:`sim.dashboard.controls`): the scenario selector (the source text's
  vignettes among them), Reset, Play/Pause and Step, the course's progress, sliders for the
  clinician's and the patient's traits with their values, the seed, and the trait the compare
  view contrasts; sliders, seed and compare apply on Reset, a scenario at once;
* in the main area (:mod:`sim.dashboard.components`), two tabs: *Dashboard* (one dyad up close,
  its event log in plain words, its needs and internalisation, the clinic, the same patient with
  two clinicians) and *Info* (the scenario explained, a glossary, docs/MODEL.md).

The page does not use Mesa's ``SolaraViz``: its generic controls (play interval, render interval,
threads, "Time") mean nothing to a clinical audience, and it keeps the model's parameters in a
state it fills once, when it first draws, so a scenario chosen later was lost on Reset. The
sidebar here builds the model from what it shows (:class:`~sim.dashboard.settings.Settings`).

The initial scenario and seed come from ``ALLIANCE_DASHBOARD_SCENARIO`` and
``ALLIANCE_DASHBOARD_SEED`` (set by ``alliance dashboard --scenario/--seed``).
"""

from __future__ import annotations

import os

import solara

from sim.core.scenarios import SCENARIOS
from sim.dashboard.components import MainView
from sim.dashboard.controls import Controls
from sim.dashboard.model import DEFAULT_SEED, TeachingClinic, parse_seed
from sim.dashboard.settings import Settings

SCENARIO_ENV = "ALLIANCE_DASHBOARD_SCENARIO"
SEED_ENV = "ALLIANCE_DASHBOARD_SEED"
TITLE = "The working alliance: a teaching dashboard"

PAGE_CSS = """
/* On a narrow screen (below 1280 px) the sidebar folds into the app bar's menu button, which
   Vuetify 3 renders empty here (no icon child, no icon font): draw its three bars. */
.v-app-bar-nav-icon .v-btn__content::before {
  content: "\\2630"; font-family: sans-serif; font-size: 26px; line-height: 1;
}
.info-view h3 { margin-top: 12px; font-size: 17px; }
.info-view dd { margin: 0 0 8px 16px; }
.model-doc table { border-collapse: collapse; font-size: 13px; }
.model-doc td, .model-doc th { border: 1px solid #ccc; padding: 2px 6px; }
/* Slider labels carry their values; above the track, so every track has the card's width. */
.controls .v-slider.v-input { display: block; }
.controls .v-slider .v-input__prepend { margin: 0 0 -4px 0; }
.controls .v-slider .v-label { font-size: 15px; color: #222; opacity: 1; }
"""


def initial_settings() -> Settings:
    """Return the settings the page opens with (scenario and seed from the environment)."""
    scenario = os.environ.get(SCENARIO_ENV, "psychotherapy")
    if scenario not in SCENARIOS:
        scenario = "psychotherapy"
    seed, _ = parse_seed(os.environ.get(SEED_ENV, DEFAULT_SEED))
    return Settings.of_scenario(scenario, seed)


@solara.component
def Page() -> None:
    """Show the dashboard page."""
    start = solara.use_memo(initial_settings, [])
    settings = solara.use_reactive(start)
    first_model: TeachingClinic = solara.use_memo(start.build, [])
    model = solara.use_reactive(first_model)
    solara.Title(TITLE)
    solara.Style(PAGE_CSS)
    with solara.AppBarTitle():
        solara.Text(TITLE)
    with solara.Sidebar():
        Controls(model, settings)
    MainView(model)
