"""The dashboard's model: a clinic, one dyad up close, and the same patient with two clinicians.

:class:`TeachingClinic` is an :class:`~sim.model.AllianceModel` (the clinic, 100 patients, whose
typical clinician and patient are set by the sliders) that also steps three one-dyad models in
lockstep with it:

* ``focus``: the dyad up close, a patient and a clinician with *exactly* the slider values (their
  population spread is set to zero, so what the sliders say is what the dyad has);
* ``compare_low`` and ``compare_high``: the same patient, same seed, with a clinician who differs
  from the focus clinician only in one trait (``contrast``, pressure by default). Every draw is
  keyed by (seed, dyad, session), so the two runs see the same luck; the difference between them
  is the clinician alone.

It also keeps, per session, where the clinic's patients are (:attr:`TeachingClinic.census`: in
treatment, finished, dropped out), which Mesa's reporters give only in part.

Each one-dyad model keeps its panel rows (the schema of ``sessions.parquet``, from
:func:`sim.core.batch.session_block`, plus a session-0 intake row), which the charts and the event
log read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.batch import session_block
from sim.core.params import ParameterError, check_value
from sim.core.scenarios import Scenario
from sim.core.scenarios import get as get_scenario
from sim.core.state import STATUS_NAMES
from sim.dashboard.narrate import narrate
from sim.model import AllianceModel

CLINIC_SIZE = {"n_clinicians": 5, "patients_per_clinician": 20}
"""The dashboard's clinic: 100 patients (small enough to step and redraw in well under 200 ms)."""

CLINICIAN_SLIDERS = (
    "warmth",
    "collaboration",
    "structure",
    "pressure",
    "attunement",
    "repair_skill",
)
PATIENT_SLIDERS = ("sensitivity", "hostility", "severity", "autonomy", "responsiveness")
SLIDERS = CLINICIAN_SLIDERS + PATIENT_SLIDERS
"""Traits the dashboard's sliders set (parameter names)."""

LABELS = {
    "warmth": "Warmth",
    "collaboration": "Collaboration",
    "structure": "Structure",
    "pressure": "Pressure",
    "attunement": "Attunement",
    "repair_skill": "Repair skill",
    "sensitivity": "Sensitivity",
    "hostility": "Hostility",
    "severity": "Intake severity",
    "autonomy": "Motivation (autonomy)",
    "responsiveness": "Responsiveness to treatment",
}
"""Human labels of the slider traits."""

CONTRASTS: dict[str, tuple[float, float]] = {
    "pressure": (0.1, 0.7),
    "repair_skill": (0.1, 0.9),
    "attunement": (0.1, 0.9),
    "warmth": (0.2, 0.9),
    "collaboration": (0.2, 0.9),
    "structure": (0.2, 0.9),
}
"""Clinician traits the compare view can contrast, with the low and high value shown."""

DEFAULT_CONTRAST = "pressure"
"""The compare view's first contrast. Pressure enters every session (perceived strain, autonomy
satisfaction, internalisation), so its two runs differ from the first session on, whatever the
seed. Repair skill and attunement act only at a rupture, and the two runs stay identical until
one is noticed (the page then says why, see :mod:`sim.dashboard.compare`)."""

DEFAULT_SEED = 2026


def parse_seed(value: Any, fallback: int = DEFAULT_SEED) -> tuple[int, str]:
    """Return ``(seed, notice)``: the seed as a non-negative integer, or ``fallback``.

    ``notice`` is empty when ``value`` was usable, else one sentence saying what was used.
    """
    try:
        seed = int(str(value).strip())
    except ValueError:
        return fallback, f"Seed '{value}' is not a whole number; using {fallback}."
    if seed < 0:
        return fallback, f"Seed {seed} is negative; using {fallback}."
    return seed, ""


def slider_values(scenario: str) -> dict[str, float]:
    """Return the scenario's value of every slider trait (its population median)."""
    parameters = get_scenario(scenario).parameters()
    return {name: parameters[name] for name in SLIDERS}


def _one_dyad(seed: int, scenario: str, traits: dict[str, float]) -> AllianceModel:
    """Return a one-clinician, one-patient model whose slider traits are exactly ``traits``."""
    exact = {f"{name}_spread": 0.0 for name in traits}
    return AllianceModel(
        rng=seed, scenario=scenario, n_clinicians=1, patients_per_clinician=1, **traits, **exact
    )


class DyadTrack:
    """One dyad's model and its panel rows, oldest first (row 0 is the intake).

    Parameters
    ----------
    label : str
        How the dashboard names this dyad.
    model : AllianceModel
        A one-dyad model at session 0.
    """

    def __init__(self, label: str, model: AllianceModel) -> None:
        self.label = label
        self.model = model
        self.rows: list[dict[str, Any]] = []
        self._record()

    def _record(self) -> None:
        block = session_block(self.model.clinics)
        self.rows.extend(
            dict(zip(block.dtype.names, record.tolist(), strict=True)) for record in block
        )

    def step(self) -> None:
        """Run the next session if the dyad is still in treatment, and record its row."""
        if self.model.running:
            self.model.step()
            self._record()

    @property
    def clinician(self) -> dict[str, float]:
        """The clinician's traits."""
        c = self.model.clinicians[0]
        return {name: getattr(c, name) for name in (*CLINICIAN_SLIDERS, "technique_efficacy")}

    @property
    def patient(self) -> dict[str, float]:
        """The patient's traits (sensitivity as at intake)."""
        p = self.model.patients[0]
        traits = {name: getattr(p, name) for name in PATIENT_SLIDERS if name != "sensitivity"}
        traits["sensitivity"] = self.rows[0]["sensitivity"]
        return traits

    @property
    def status(self) -> str:
        """``active``, ``completed``, ``recovered`` or ``dropped_out``."""
        return self.model.patients[0].status


class TeachingClinic(AllianceModel):
    """The clinic the dashboard shows, with one dyad up close and a compared pair.

    Parameters
    ----------
    scenario_name : str
        Scenario to start from (named so, not ``scenario``, because Mesa's Reset passes its own
        ``scenario`` object to models whose constructor has that parameter).
    seed : int or str
        Root seed (the seed box gives text; text that is not a whole number falls back to
        :data:`DEFAULT_SEED`, and :attr:`notice` says so).
    contrast : str
        Clinician trait in which the compared clinicians differ (a key of :data:`CONTRASTS`,
        :data:`DEFAULT_CONTRAST` by default).
    warmth, collaboration, structure, pressure, attunement, repair_skill : float, optional
        Clinician traits: the clinic's population median, and the exact values of the dyad up
        close. ``None`` keeps the scenario's value.
    sensitivity, hostility, severity, autonomy, responsiveness : float, optional
        Patient traits, likewise. In the calibrated population responsiveness is nearly binary
        (responders and non-responders, docs/MODEL.md section 9), so the scenario's median is a
        middling responder the clinic rarely has; the slider lets the dyad up close be either.

    Attributes
    ----------
    focus : DyadTrack
        The dyad up close.
    compare_low, compare_high : DyadTrack
        The focus patient with the low and the high value of ``contrast``.
    info : sim.core.scenarios.Scenario
        The scenario (labels, tasks, outcome).
    notice : str
        A sentence about an input that could not be used as given, else empty.
    census : list of dict
        Per session (from 0): how many of the clinic's patients are ``in treatment``, have
        ``finished`` (the planned course, or early on recovery) or ``dropped out``: running
        totals that add up to the clinic's size.
    """

    def __init__(
        self,
        *,
        scenario_name: str = "psychotherapy",
        seed: int | str = DEFAULT_SEED,
        contrast: str = DEFAULT_CONTRAST,
        warmth: float | None = None,
        collaboration: float | None = None,
        structure: float | None = None,
        pressure: float | None = None,
        attunement: float | None = None,
        repair_skill: float | None = None,
        sensitivity: float | None = None,
        hostility: float | None = None,
        severity: float | None = None,
        autonomy: float | None = None,
        responsiveness: float | None = None,
    ) -> None:
        if contrast not in CONTRASTS:
            raise ParameterError(
                f"contrast must be one of {', '.join(CONTRASTS)}, got '{contrast}'"
            )
        given = {
            "warmth": warmth,
            "collaboration": collaboration,
            "structure": structure,
            "pressure": pressure,
            "attunement": attunement,
            "repair_skill": repair_skill,
            "sensitivity": sensitivity,
            "hostility": hostility,
            "severity": severity,
            "autonomy": autonomy,
            "responsiveness": responsiveness,
        }
        chosen = {
            name: check_value(name, value) for name, value in given.items() if value is not None
        }
        seed_value, self_notice = parse_seed(seed)
        super().__init__(rng=seed_value, scenario=scenario_name, **chosen, **CLINIC_SIZE)
        self.notice = self_notice
        self.info: Scenario = get_scenario(scenario_name)
        self.contrast = contrast
        traits = {**slider_values(scenario_name), **chosen}
        low, high = CONTRASTS[contrast]
        self.focus = DyadTrack("dyad up close", _one_dyad(seed_value, scenario_name, traits))
        self.compare_low = DyadTrack(
            f"{LABELS[contrast].lower()} {low:.2f}",
            _one_dyad(seed_value, scenario_name, {**traits, contrast: low}),
        )
        self.compare_high = DyadTrack(
            f"{LABELS[contrast].lower()} {high:.2f}",
            _one_dyad(seed_value, scenario_name, {**traits, contrast: high}),
        )
        self.census: list[dict[str, int]] = []
        self._count_statuses()

    @property
    def dyad_traits(self) -> dict[str, float]:
        """The slider traits of the dyad up close (what the sidebar should show)."""
        return {**self.focus.clinician, **self.focus.patient}

    def _count_statuses(self) -> None:
        counts = np.bincount(self.clinics.dyads["status"], minlength=len(STATUS_NAMES))
        named = dict(zip(STATUS_NAMES, counts.tolist(), strict=True))
        self.census.append(
            {
                "session": self.session,
                "in treatment": named["active"],
                "finished": named["completed"] + named["recovered"],
                "dropped out": named["dropped_out"],
            }
        )

    @property
    def tracks(self) -> tuple[DyadTrack, DyadTrack, DyadTrack]:
        """The one-dyad tracks: focus, compare_low, compare_high."""
        return self.focus, self.compare_low, self.compare_high

    def event_log(self) -> list[str]:
        """Return the dyad up close's event log, oldest first (:func:`~.narrate.narrate`)."""
        info = self.info
        noun = info.engagement_noun
        if info.tasks and noun == "the agreed tasks":
            noun = f"{noun} ({', '.join(info.tasks)})"
        return narrate(
            self.focus.rows,
            clinician=self.focus.clinician,
            instrument=info.symptom_instrument,
            outcome=info.outcome,
            engagement_noun=noun,
        )

    def step(self) -> None:
        """Run one session in the clinic and in each one-dyad model."""
        before = self.session
        super().step()
        if self.session != before:  # the clinic may have ended before a one-dyad model
            self._count_statuses()
        for track in self.tracks:
            track.step()
        self.running = self.running or any(track.model.running for track in self.tracks)
