"""``AllianceModel``: one clinic as a Mesa model, stepped by the Numba session kernel.

The model owns the clinic's arrays (:class:`sim.core.state.Clinics`); its agents are views onto them
(:mod:`agents`). ``step()`` is one session for every active dyad, in one kernel call, followed by
data collection from arrays. The batch path (:func:`sim.core.batch.simulate`) runs the same kernel
on the same arrays, so the same seed gives the same numbers on both paths.

Examples
--------
>>> from sim.model import AllianceModel
>>> model = AllianceModel(rng=42, n_clinicians=2, patients_per_clinician=5)
>>> while model.running:
...     model.step()
>>> frame = model.datacollector.get_model_vars_dataframe()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mesa
import numpy as np

from agents import Clinician, Patient
from sim.core import kernels
from sim.core.composition import compose
from sim.core.params import check_seed
from sim.core.scenarios import get as get_scenario
from sim.core.state import ACTIVE, build

DEFAULT_PATIENT_REPORTERS = {
    name: name
    for name in (
        "goal",
        "task",
        "bond",
        "alliance",
        "trust",
        "symptoms",
        "internalisation",
        "engagement",
        "wai_total",
        "symptom_score",
        "rupture",
        "rupture_detected",
        "rupture_repaired",
        "status",
    )
}
"""Patient reporters collected with ``collect_agents=True``."""


def _summary(model: AllianceModel) -> np.ndarray:
    """Return the clinic's means and counts after the latest session.

    :func:`sim.core.kernels.clinic_summary`, computed in one pass once per session and shared by
    every reporter.
    """
    if model._summary_session != model.clinics.session:
        model._summary = kernels.clinic_summary(model.clinics.dyads, model.clinics.session)
        model._summary_session = model.clinics.session
    return model._summary


def _mean_of(field: str) -> Callable[[AllianceModel], float]:
    column = kernels.SUMMARY_MEANS.index(field)

    def report(model: AllianceModel) -> float:
        return float(_summary(model)[column])

    report.__name__ = f"mean_{field}"
    return report


def _count_of(name: str) -> Callable[[AllianceModel], int]:
    column = len(kernels.SUMMARY_MEANS) + kernels.SUMMARY_COUNTS.index(name)

    def report(model: AllianceModel) -> int:
        return int(_summary(model)[column])

    report.__name__ = f"count_{name}"
    return report


MODEL_REPORTERS: dict[str, Callable[[Any], float]] = {
    "Alliance": _mean_of("alliance"),
    "Goal": _mean_of("goal"),
    "Task": _mean_of("task"),
    "Bond": _mean_of("bond"),
    "WAI": _mean_of("wai_total"),
    "Symptom score": _mean_of("symptom_score"),
    "Withdrawals": _count_of("withdrawals"),
    "Confrontations": _count_of("confrontations"),
    "Detected": _count_of("detected"),
    "Repairs": _count_of("repairs"),
    "Active": _count_of("active"),
    "Dropouts": _count_of("dropouts"),
}
"""Clinic-level reporters, each computed from arrays over the dyads in the latest session
(counts of ruptures and repairs are this session's; ``Active`` and ``Dropouts`` are totals)."""


class AllianceModel(mesa.Model):
    """One clinic of clinicians and their patients, a session per step.

    Parameters
    ----------
    rng : int, optional
        Root seed. The model's draws come from a counter-based generator keyed by this seed, so
        ``AllianceModel(rng=s)`` and ``simulate(seed=s)`` hold the same patients and give the
        same numbers. ``None`` picks a fresh seed (kept in ``model.seed``).
    scenario : str
        Scenario whose parameters to start from.
    collect_agents : bool or mapping
        Collect patient-level data each step: ``True`` for :data:`DEFAULT_PATIENT_REPORTERS`, or
        a mapping of reporters as Mesa's ``DataCollector`` takes them.
    parallel : bool
        Step with the multi-threaded kernel (identical numbers).
    extensions : sequence of Extension or str
        Mechanisms added to the model (:mod:`sim.core.extension`), or their import references; their
        parameters are set like the core's (``**overrides``) and their fields read from the
        agents (``patient.<field>``).
    **overrides
        Parameter values (see ``alliance params``), e.g. ``repair_skill=0.8``,
        ``n_clinicians=4``, ``patients_per_clinician=25``, ``max_sessions=20``.

    Attributes
    ----------
    clinics : sim.core.state.Clinics
        The arrays the agents view and the kernel steps.
    patients, clinicians : list
        The agents, in row order.
    parameters : dict
        The complete, validated parameter set.
    """

    def __init__(
        self,
        rng: int | None = None,
        *,
        scenario: str = "psychotherapy",
        collect_agents: bool | Mapping[str, Any] = False,
        parallel: bool = False,
        extensions: Sequence[Any] = (),
        **overrides: Any,
    ) -> None:
        if rng is None:
            rng = int(np.random.SeedSequence().entropy % 2**63)
        if not isinstance(rng, int | np.integer):
            raise TypeError(f"rng must be an integer seed, got {type(rng).__name__}")
        check_seed(rng, "rng (the seed)")
        super().__init__(rng=int(rng))
        self.seed = int(rng)
        self.scenario_name = scenario
        composition = compose(extensions)
        self.parameters = get_scenario(scenario).parameters(overrides, table=composition.params)
        self.clinics = build(
            composition.to_row(self.parameters), self.seed, composition=composition
        )
        drivers = self.clinics.composition.kernels
        self._step_kernel = drivers.run_session_parallel if parallel else drivers.run_session
        self.clinicians = [Clinician(self, j) for j in range(len(self.clinics.clinicians))]
        self.patients = [Patient(self, i) for i in range(len(self.clinics.dyads))]
        self.dyad_sessions = 0
        self._summary_session = -1
        self._summary = np.zeros(0)

        agent_reporters = (
            DEFAULT_PATIENT_REPORTERS if collect_agents is True else dict(collect_agents or {})
        )
        self.datacollector = mesa.DataCollector(
            model_reporters=MODEL_REPORTERS,
            agenttype_reporters={Patient: agent_reporters} if agent_reporters else None,
        )
        self.running = True
        self.datacollector.collect(self)

    @property
    def session(self) -> int:
        """Sessions run so far."""
        return self.clinics.session

    def step(self) -> None:
        """Run one session for every active dyad, then collect data."""
        if not self.running:
            return
        self.clinics.session += 1
        c = self.clinics
        self.dyad_sessions += self._step_kernel(c.dyads, c.clinicians, c.params, c.session)
        self.running = bool(np.any(c.dyads["status"] == ACTIVE)) and c.session < c.max_sessions
        self.datacollector.collect(self)
