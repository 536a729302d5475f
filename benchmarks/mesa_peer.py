"""The benchmark's Mesa peer: the session model written the way a typical Mesa user would.

Every patient is a :class:`PeerPatient` (a ``mesa.Agent``) holding its state as plain Python
float attributes and a reference to its :class:`PeerClinician`; :meth:`PeerPatient.step` performs
one session (steps 1-12 of docs/MODEL.md) with ``self.random`` (Python's ``random.Random``) for the
draws and :mod:`math` for the functions; :class:`PeerModel` shuffles the active patients and calls
``step`` on each.

The equations, their order and every parameter (``sim.params.defaults()``) are those of
:func:`sim.kernels.advance_dyad`, so comparing dyad-sessions per second is fair. The random numbers
are not the kernel's (the kernel's counter-based generator is not what a Mesa user would write),
so the two agree in distribution, not draw for draw. Nothing here is used by the model itself: it
exists only to be timed by ``benchmarks/bench_kernel.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import mesa

from sim.instruments import PHQ9_MAX, WAI_MAX, WAI_MIN
from sim.params import CLINICIAN_TRAITS, PATIENT_TRAITS, resolve
from sim.state import ACTIVE, COMPLETED, CONFRONTATION, DROPPED_OUT, RECOVERED, WITHDRAWAL


def sigmoid(x: float) -> float:
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


def clip01(x: float) -> float:
    """Return ``x`` clipped to [0, 1]."""
    return min(1.0, max(0.0, x))


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


def symptom_score(symptoms: float, error: float) -> float:
    """Return a PHQ-9-like score (whole points, 0-27) of latent ``symptoms`` plus ``error``."""
    return min(PHQ9_MAX, max(0.0, math.floor(PHQ9_MAX * symptoms + error + 0.5)))


def wai_subscale(level: float, error: float) -> float:
    """Return a WAI-SR-like subscale score (1-5 in steps of 0.25) of a latent ``level``."""
    return min(WAI_MAX, max(WAI_MIN, math.floor(4.0 * (1.0 + 4.0 * level + error) + 0.5) / 4.0))


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
        for trait in CLINICIAN_TRAITS:
            z = self.random.gauss(0.0, 1.0)
            setattr(self, trait,
                    logit_normal(getattr(p, trait), getattr(p, f"{trait}_spread"), z))


class PeerPatient(mesa.Agent):
    """A patient in treatment with one clinician: the dyad's whole state as attributes.

    Parameters
    ----------
    model : PeerModel
        The clinic.
    clinician : PeerClinician
        The patient's clinician.
    """

    def __init__(self, model: PeerModel, clinician: PeerClinician) -> None:
        super().__init__(model)
        p = model.p
        self.clinician = clinician
        for trait in PATIENT_TRAITS:
            z = self.random.gauss(0.0, 1.0)
            setattr(self, trait,
                    logit_normal(getattr(p, trait), getattr(p, f"{trait}_spread"), z))
        # Intake state, as sim.state.initialise sets it.
        self.rapport = p.rapport_initial * clinician.warmth
        self.trust = self.expectancy
        start = min(1.0, p.alliance_initial * (0.5 + self.expectancy))
        self.goal = self.task = self.bond = self.alliance = start
        self.strain = 0.0
        self.need_autonomy = self.need_competence = self.need_relatedness = p.need_initial
        self.internalisation = self.autonomy
        self.engagement = 0.0
        self.symptoms = self.symptoms_intake = self.symptoms_session = self.severity
        self.status = ACTIVE
        self.technique = 1 if self.random.random() < p.technique_b_share else 0
        # This session's events and observations, and running summaries.
        self.rupture = 0
        self.rupture_detected = self.rupture_repaired = self.rupture_patient_reported = 0
        self.wai_total = self.wai_goal = self.wai_task = self.wai_bond = math.nan
        self.symptom_score = self.symptom_score_intake = self.symptom_score_post = math.nan
        self.wai_early = math.nan
        self.sessions = self.withdrawals = self.confrontations = 0
        self.detected = self.repaired = self.reported = 0
        self.alliance_sum = self.engagement_sum = 0.0

    def step(self) -> None:
        """Attend one session (steps 1-12 of docs/MODEL.md) and live the week after it."""
        p = self.model.p
        c = self.clinician
        random = self.random
        session = self.model.session

        # Pre-session questionnaire: the symptom score of the week just ended (session 1: intake).
        symptoms = self.symptoms
        self.symptoms_session = symptoms
        self.symptom_score = symptom_score(
            symptoms, p.symptom_score_noise * random.gauss(0.0, 1.0))
        if session == 1:
            self.symptom_score_intake = self.symptom_score

        # Rupture-resolution training raises attunement and repair skill from its session on.
        attunement = c.attunement
        repair_skill = c.repair_skill
        if p.training_session > 0 and session >= p.training_session:
            attunement = min(1.0, attunement + p.training_attunement)
            repair_skill = min(1.0, repair_skill + p.training_repair_skill)

        # 1. Perceived pressure (amplified by transference) against tolerance.
        pushed = c.pressure * (1.0 + p.transference_gain * self.sensitivity)
        tolerance = (self.tolerance + p.tolerance_bond * self.bond
                     + p.tolerance_competence * self.need_competence)
        strain_now = max(0.0, pushed - tolerance)

        # 2-4. Rupture, detection, repair.
        rupture = detected = repaired = reported = 0
        work = 1.0
        engagement_kept = 1.0
        need_boost = 0.0
        unrepaired_confrontation = 0.0
        p_rupture = sigmoid(p.rupture_base + p.rupture_strain * strain_now
                            + p.rupture_weak_bond * (1.0 - self.bond)
                            + p.rupture_sensitivity * self.sensitivity
                            + p.rupture_unresolved * self.strain)
        if random.random() < p_rupture:
            p_confront = sigmoid(p.confrontation_base + p.confrontation_hostility * self.hostility)
            confront = random.random() < p_confront
            rupture = CONFRONTATION if confront else WITHDRAWAL
            visibility = 1.0 if confront else p.withdrawal_visibility
            if random.random() < attunement * visibility:
                detected = 1
                work = 1.0 - p.repair_time
                p_repair = sigmoid(p.repair_base + p.repair_skill_weight * repair_skill
                                   + p.repair_bond_weight * self.bond
                                   + p.repair_warmth_weight * c.warmth
                                   - p.repair_sensitivity_weight * self.sensitivity)
                if random.random() < p_repair:
                    repaired = 1
            if repaired:
                self.bond += p.repair_bond_gain * (1.0 - self.bond)
                self.strain *= 1.0 - p.repair_strain_relief
                need_boost = p.repair_need_boost
                self.sensitivity *= 1.0 - p.corrective_experience
            else:
                if confront:
                    self.bond -= p.bond_loss_confrontation * self.bond
                    unrepaired_confrontation = 1.0
                else:
                    self.bond -= p.bond_loss_withdrawal * self.bond
                    engagement_kept = 1.0 - p.withdrawal_engagement_loss
                self.strain += 1.0
                self.trust -= p.trust_loss * self.trust
            report_chance = p.report_confrontation if confront else p.report_withdrawal
            if random.random() < report_chance:
                reported = 1
            if confront:
                self.confrontations += 1
            else:
                self.withdrawals += 1
            self.detected += detected
            self.repaired += repaired
            self.reported += reported
        self.rupture = rupture
        self.rupture_detected = detected
        self.rupture_repaired = repaired
        self.rupture_patient_reported = reported

        # 5. Alliance growth, worn down by this session's strain; rapport fades.
        wear = 1.0 - p.strain_wear * min(strain_now, 1.0)
        goal_drive = c.collaboration * (1.0 - p.goal_internalisation
                                        + p.goal_internalisation * self.internalisation)
        self.goal = (self.goal + p.goal_rate * goal_drive * (1.0 - self.goal)) * wear
        self.task = (self.task + p.task_rate * c.structure * self.need_competence
                     * (1.0 - self.task)) * wear
        bond_drive = c.warmth * (self.trust + p.rapport_weight * self.rapport * (1.0 - self.trust))
        self.bond = (self.bond + p.bond_rate * bond_drive * (1.0 - self.bond)) * wear
        self.trust += p.trust_rate * c.warmth * (1.0 - self.trust)
        perceived_bond = self.bond + p.rapport_weight * self.rapport * (1.0 - self.bond)
        self.rapport *= 1.0 - p.rapport_decay
        self.alliance = (self.goal + self.task + self.bond) / 3.0
        # The session's alliance state (state-like component), lifted by felt improvement.
        state = (p.alliance_state_sd * random.gauss(0.0, 1.0)
                 + p.felt_improvement_state * (self.symptoms_intake - symptoms))

        # 6. Needs (moving averages of what the session gave).
        autonomy_given = min(1.0, c.collaboration * (1.0 - p.pressure_autonomy_cost * c.pressure)
                             + need_boost)
        competence_given = 0.5 * (self.task + self.engagement)
        relatedness_given = min(1.0, perceived_bond + need_boost)
        self.need_autonomy += p.need_rate * (autonomy_given - self.need_autonomy)
        self.need_competence += p.need_rate * (competence_given - self.need_competence)
        self.need_relatedness += p.need_rate * (relatedness_given - self.need_relatedness)

        # 7. Internalisation follows need satisfaction; pressure pulls it down.
        needs = (self.need_autonomy + self.need_competence + self.need_relatedness) / 3.0
        self.internalisation = clip01(
            self.internalisation + p.internalisation_rate * (needs - self.internalisation)
            - p.internalisation_pressure * c.pressure * self.internalisation)

        # 8. Engagement between sessions.
        self.engagement = engagement_kept * sigmoid(
            p.engagement_base + p.engagement_internalisation * self.internalisation
            + p.engagement_task * self.task + p.engagement_bond * self.bond
            - p.engagement_symptoms * symptoms + p.engagement_noise * random.gauss(0.0, 1.0))

        # 9. Symptoms over the following week.
        efficacy = clip01(c.technique_efficacy + self.technique * p.technique_b_advantage)
        relief = (p.technique_gain * efficacy * self.engagement * work
                  + p.alliance_effect * self.alliance + p.alliance_state_effect * state
                  + p.natural_recovery)
        life_event = p.life_event_size if random.random() < p.life_event_rate else 0.0
        symptoms_next = clip01(symptoms * (1.0 - relief)
                               + p.symptom_noise * random.gauss(0.0, 1.0)
                               + life_event * (1.0 - symptoms))

        # 10. Reverse path: felt improvement raises trust and competence satisfaction.
        improvement = max(0.0, symptoms - symptoms_next)
        self.trust = clip01(self.trust + p.improvement_trust * improvement * (1.0 - self.trust))
        self.need_competence = clip01(
            self.need_competence
            + p.improvement_competence * improvement * (1.0 - self.need_competence))
        self.symptoms = symptoms_next

        # 12. Observation at the end of the session.
        self.wai_goal = wai_subscale(self.goal + state, p.wai_noise * random.gauss(0.0, 1.0))
        self.wai_task = wai_subscale(self.task + state, p.wai_noise * random.gauss(0.0, 1.0))
        self.wai_bond = wai_subscale(perceived_bond + state,
                                     p.wai_noise * random.gauss(0.0, 1.0))
        self.wai_total = (self.wai_goal + self.wai_task + self.wai_bond) / 3.0
        self.sessions += 1
        self.alliance_sum += self.alliance
        self.engagement_sum += self.engagement
        if session == p.early_session:
            self.wai_early = self.wai_total

        # 11. Ending: planned end, recovery, or dropout.
        if session >= p.max_sessions or (session >= p.min_sessions
                                         and symptoms_next < p.recovery_threshold):
            self.status = COMPLETED if session >= p.max_sessions else RECOVERED
            self.symptom_score_post = symptom_score(
                symptoms_next, p.symptom_score_noise * random.gauss(0.0, 1.0))
        else:
            hazard = sigmoid(p.dropout_base + p.dropout_strain * self.strain
                             + p.dropout_alliance * (1.0 - self.alliance)
                             + p.dropout_internalisation * (1.0 - self.internalisation)
                             + p.dropout_confrontation * unrepaired_confrontation)
            if random.random() < hazard:
                self.status = DROPPED_OUT
                self.symptom_score_post = self.symptom_score


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
        Parameter values other than the defaults of :mod:`sim.params` (validated).

    Attributes
    ----------
    p : types.SimpleNamespace
        Every parameter, as attributes (``model.p.rupture_base``).
    session : int
        Sessions run so far.
    advanced : int
        Patients who attended the latest session.
    """

    def __init__(self, n_clinicians: int = 10, patients_per_clinician: int = 20,
                 rng: int | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng=rng)
        self.p = SimpleNamespace(**resolve(overrides))
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
