"""The benchmark's Mesa peer: the model's own phases run per agent, in plain Python.

Every patient is a :class:`PeerPatient` (a ``mesa.Agent``) holding its dyad's fields in a plain
dict, :attr:`PeerPatient.values`, beside a reference to its :class:`PeerClinician`;
:meth:`PeerPatient.step` performs one session (steps 1-12 of docs/MODEL.md) by walking
:data:`sim.core.equations.SESSION` with :func:`sim.core.interpret.advance`: each phase's
plain-Python function (``phase.py_func``) is called with its arguments looked up by name, and its
results are stored back under the names it writes. :class:`PeerModel` shuffles the active patients
and calls ``step`` on each.

There is no hand-written copy of the equations here: the peer runs the very phase functions the
kernels are generated from, with the same parameters (``sim.core.params.defaults()``), so comparing
dyad-sessions per second is fair, and the peer cannot drift from the model. Only the machinery
differs: one Python object per patient, a dict per dyad, Python's ``random.Random``
(``self.random``) for the draws and :func:`math.exp` for the chance events. The random numbers
are not the kernel's (the kernel's counter-based generator is not what a Mesa user would write),
so the two agree in distribution, not draw for draw. Nothing here is used by the model itself: it
exists only to be timed by ``benchmarks/bench_kernel.py``.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Any

import mesa

from sim.core.interpret import advance
from sim.core.params import CLINICIAN_TRAITS, PATIENT_TRAITS, resolve
from sim.core.phase import Draw
from sim.core.state import ACTIVE, NO_RUPTURE


def sigmoid(x: float) -> float:
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


def logit_normal(centre: float, spread: float, z: float) -> float:
    """Return a logit-normal trait with median ``centre`` and logit-scale sd ``spread``.

    Parameters
    ----------
    centre : float
        Population median, in [0, 1].
    spread : float
        Standard deviation on the logit scale.
    z : float
        A standard normal draw.

    Returns
    -------
    float
        ``sigmoid(logit(centre) + spread * z)``; 0 or 1 when ``centre`` is.
    """
    if centre <= 0.0:
        return 0.0
    if centre >= 1.0:
        return 1.0
    return sigmoid(math.log(centre / (1.0 - centre)) + spread * z)


# --- the agents ----------------------------------------------------------------------------------


class PeerClinician(mesa.Agent):
    """A clinician whose traits are drawn once from the population distributions.

    Parameters
    ----------
    model : PeerModel
        The clinic.

    Attributes
    ----------
    warmth, collaboration, structure, pressure, attunement, repair_skill, technique_efficacy : float
        Traits in [0, 1].
    """

    def __init__(self, model: PeerModel) -> None:
        super().__init__(model)
        p = model.p
        # As sim.core.state.initialise_clinicians: six skills share a general one; pressure alone.
        common = math.sqrt(p.clinician_common_skill) * self.random.gauss(0.0, 1.0)
        own = math.sqrt(1.0 - p.clinician_common_skill)
        for trait in CLINICIAN_TRAITS:
            z = self.random.gauss(0.0, 1.0)
            if trait != "pressure":
                z = own * z + common
            setattr(self, trait, logit_normal(getattr(p, trait), getattr(p, f"{trait}_spread"), z))

    def traits(self) -> dict[str, float]:
        """Return the clinician's traits by name."""
        return {trait: getattr(self, trait) for trait in CLINICIAN_TRAITS}


class PeerPatient(mesa.Agent):
    """A patient in treatment with one clinician: the dyad's whole state in a dict.

    Parameters
    ----------
    model : PeerModel
        The clinic.
    clinician : PeerClinician
        The patient's clinician.

    Attributes
    ----------
    values : dict
        What the session's phases read and write: the parameters, overlaid by the clinician's
        traits, overlaid by the dyad's fields (intake state below, then whatever the phases
        write, including values that live for one session such as ``strain_now``).
    """

    def __init__(self, model: PeerModel, clinician: PeerClinician) -> None:
        super().__init__(model)
        p = model.p
        self.clinician = clinician
        traits = {
            trait: logit_normal(
                getattr(p, trait), getattr(p, f"{trait}_spread"), self.random.gauss(0.0, 1.0)
            )
            for trait in PATIENT_TRAITS
        }
        # Intake state, as sim.core.state.initialise_dyads sets it.
        expectancy = traits["expectancy"]
        start = min(1.0, p.alliance_initial * (0.5 + expectancy))
        severity = traits["severity"]
        dyad = {
            **traits,
            "rating_style": p.wai_rating_style * self.random.gauss(0.0, 1.0),
            "rapport": p.rapport_initial * clinician.warmth,
            "trust": expectancy,
            "goal": start,
            "task": start,
            "bond": start,
            "alliance": start,
            "strain": 0.0,
            "need_autonomy": p.need_initial,
            "need_competence": p.need_initial,
            "need_relatedness": p.need_initial,
            "internalisation": traits["autonomy"],
            "engagement": 0.0,
            "symptoms": severity,
            "symptoms_intake": severity,
            "symptoms_session": severity,
            "status": ACTIVE,
            "technique": 1 if self.random.random() < p.technique_b_share else 0,
            # This session's events and observations, and running summaries.
            "rupture": NO_RUPTURE,
            "rupture_detected": 0,
            "rupture_repaired": 0,
            "rupture_patient_reported": 0,
            "wai_total": math.nan,
            "wai_goal": math.nan,
            "wai_task": math.nan,
            "wai_bond": math.nan,
            "symptom_score": math.nan,
            "symptom_score_intake": math.nan,
            "symptom_score_post": math.nan,
            "wai_early": math.nan,
            "sessions": 0,
            "withdrawals": 0,
            "confrontations": 0,
            "detected": 0,
            "repaired": 0,
            "reported": 0,
            "alliance_sum": 0.0,
            "engagement_sum": 0.0,
        }
        self.values: dict[str, Any] = {**model.parameters, **clinician.traits(), **dyad}

    @property
    def status(self) -> int:
        """Return the dyad's status code (:data:`sim.core.state.ACTIVE` while in treatment)."""
        return self.values["status"]

    def step(self) -> None:
        """Attend one session (steps 1-12 of docs/MODEL.md) and live the week after it."""
        advance(self.values, self.model.session, self.draw)

    def draw(self, draw: Draw) -> float:
        """Return a draw from Python's generator: uniform or standard normal, by its kind."""
        return self.random.random() if draw.kind == "uniform" else self.random.gauss(0.0, 1.0)


class PeerModel(mesa.Model):
    """A clinic of clinicians and their caseloads, stepped one session at a time.

    Parameters
    ----------
    n_clinicians : int
        Clinicians in the clinic.
    patients_per_clinician : int
        Caseload of each clinician.
    rng : int, optional
        Seed of the model's generators.
    overrides : mapping, optional
        Parameter values other than the defaults of :mod:`sim.core.params` (validated).

    Attributes
    ----------
    parameters : dict
        Every parameter, by name.
    p : types.SimpleNamespace
        The same, as attributes (``model.p.rupture_base``).
    session : int
        Sessions run so far.
    advanced : int
        Patients who attended the latest session.
    """

    def __init__(
        self,
        n_clinicians: int = 10,
        patients_per_clinician: int = 20,
        rng: int | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.parameters = resolve(overrides)
        self.p = types.SimpleNamespace(**self.parameters)
        self.session = 0
        self.advanced = 0
        for _ in range(n_clinicians):
            clinician = PeerClinician(self)
            for _ in range(patients_per_clinician):
                PeerPatient(self, clinician)

    def step(self) -> None:
        """Run one session for every active patient, in random order."""
        self.session += 1
        active = self.agents_by_type[PeerPatient].select(lambda patient: patient.status == ACTIVE)
        self.advanced = len(active)
        active.shuffle_do("step")
        if self.advanced == 0 or self.session >= self.p.max_sessions:
            self.running = False
