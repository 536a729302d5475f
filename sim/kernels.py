"""The session kernel: steps 1-12 of docs/MODEL.md for every active dyad, in one call.

Arrays in, arrays changed in place, nothing else: no Python objects. :func:`advance_dyad` is the
whole model for one dyad and one session; :func:`run_session` loops it over dyads serially and
:func:`run_session_parallel` with ``prange``. Every random draw is keyed by (dyad key, session,
slot), so the thread count never changes a number.

The same equations, written with NumPy over arrays of dyads, are in :mod:`sim.reference`; a test
holds the two together to 1e-12.
"""

from __future__ import annotations

import math

import numba

from sim.instruments import symptom_score, wai_subscale
from sim.jit import jit, jit_parallel
from sim.rng import counter, normal, uniform
from sim.state import ACTIVE, COMPLETED, CONFRONTATION, DROPPED_OUT, RECOVERED, WITHDRAWAL

# Draw slots within a session: each uniform or normal draw has its own.
SLOT_RUPTURE = 0
SLOT_TYPE = 1
SLOT_DETECT = 2
SLOT_REPAIR = 3
SLOT_REPORT = 4
SLOT_LIFE_EVENT = 5
SLOT_DROPOUT = 6
SLOT_ENGAGEMENT_NOISE = 7
SLOT_SYMPTOM_NOISE = 8
SLOT_WAI_GOAL = 9  # measurement errors of the instruments
SLOT_WAI_TASK = 10
SLOT_WAI_BOND = 11
SLOT_SCORE = 12  # pre-session symptom score
SLOT_CLOSING = 13  # closing symptom assessment
SLOT_ALLIANCE_STATE = 14  # how this session went: the alliance's state-like part


@jit
def sigmoid(x):
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


@jit
def clip01(x):
    """Return ``x`` clipped to [0, 1]."""
    return min(1.0, max(0.0, x))


@jit
def advance_dyad(d, c, p, session):
    """Advance one dyad through one session (steps 1-12) and the week after it.

    Parameters
    ----------
    d : record of ``DYAD_DTYPE``
        The dyad, changed in place.
    c : record of ``CLINICIAN_DTYPE``
        Its clinician.
    p : record of ``PARAM_DTYPE``
        Its parameter row.
    session : int
        Session number, from 1.
    """
    key = d.key
    # Pre-session questionnaire: the symptom score of the week just ended (session 1: intake).
    symptoms = d.symptoms
    d.symptoms_session = symptoms
    d.symptom_score = symptom_score(
        symptoms, p.symptom_score_noise * normal(key, counter(session, SLOT_SCORE)))
    if session == 1:
        d.symptom_score_intake = d.symptom_score

    # Rupture-resolution training raises attunement and repair skill from its session on.
    attunement = c.attunement
    repair_skill = c.repair_skill
    if p.training_session > 0 and session >= p.training_session:
        attunement = min(1.0, attunement + p.training_attunement)
        repair_skill = min(1.0, repair_skill + p.training_repair_skill)

    # 1. Perceived pressure (amplified by transference) against tolerance (the secure frame).
    pushed = c.pressure * (1.0 + p.transference_gain * d.sensitivity)
    tolerance = d.tolerance + p.tolerance_bond * d.bond + p.tolerance_competence * d.need_competence
    strain_now = max(0.0, pushed - tolerance)

    # 2-4. Rupture, detection, repair.
    rupture = 0
    detected = 0
    repaired = 0
    reported = 0
    work = 1.0  # share of the session left for task work
    engagement_kept = 1.0
    need_boost = 0.0
    unrepaired_confrontation = 0.0
    p_rupture = sigmoid(p.rupture_base + p.rupture_strain * strain_now
                        + p.rupture_weak_bond * (1.0 - d.bond)
                        + p.rupture_sensitivity * d.sensitivity + p.rupture_unresolved * d.strain)
    if uniform(key, counter(session, SLOT_RUPTURE)) < p_rupture:
        p_confront = sigmoid(p.confrontation_base + p.confrontation_hostility * d.hostility)
        confront = uniform(key, counter(session, SLOT_TYPE)) < p_confront
        rupture = CONFRONTATION if confront else WITHDRAWAL
        visibility = 1.0 if confront else p.withdrawal_visibility
        if uniform(key, counter(session, SLOT_DETECT)) < attunement * visibility:
            detected = 1
            work = 1.0 - p.repair_time
            p_repair = sigmoid(p.repair_base + p.repair_skill_weight * repair_skill
                               + p.repair_bond_weight * d.bond + p.repair_warmth_weight * c.warmth
                               - p.repair_sensitivity_weight * d.sensitivity)
            if uniform(key, counter(session, SLOT_REPAIR)) < p_repair:
                repaired = 1
        if repaired:
            d.bond += p.repair_bond_gain * (1.0 - d.bond)
            d.strain *= 1.0 - p.repair_strain_relief
            need_boost = p.repair_need_boost
            d.sensitivity *= 1.0 - p.corrective_experience
        else:
            if confront:
                d.bond -= p.bond_loss_confrontation * d.bond
                unrepaired_confrontation = 1.0
            else:
                d.bond -= p.bond_loss_withdrawal * d.bond
                engagement_kept = 1.0 - p.withdrawal_engagement_loss
            d.strain += 1.0
            d.trust -= p.trust_loss * d.trust
        report_chance = p.report_confrontation if confront else p.report_withdrawal
        if uniform(key, counter(session, SLOT_REPORT)) < report_chance:
            reported = 1
        if confront:
            d.confrontations += 1
        else:
            d.withdrawals += 1
        d.detected += detected
        d.repaired += repaired
        d.reported += reported
    d.rupture = rupture
    d.rupture_detected = detected
    d.rupture_repaired = repaired
    d.rupture_patient_reported = reported

    # 5. Alliance growth, worn down by this session's strain; rapport is a fading spark.
    wear = 1.0 - p.strain_wear * min(strain_now, 1.0)
    goal_drive = c.collaboration * (1.0 - p.goal_internalisation
                                    + p.goal_internalisation * d.internalisation)
    d.goal = (d.goal + p.goal_rate * goal_drive * (1.0 - d.goal)) * wear
    d.task = (d.task + p.task_rate * c.structure * d.need_competence * (1.0 - d.task)) * wear
    bond_drive = c.warmth * (d.trust + p.rapport_weight * d.rapport * (1.0 - d.trust))
    d.bond = (d.bond + p.bond_rate * bond_drive * (1.0 - d.bond)) * wear
    d.trust += p.trust_rate * c.warmth * (1.0 - d.trust)
    perceived_bond = d.bond + p.rapport_weight * d.rapport * (1.0 - d.bond)
    d.rapport *= 1.0 - p.rapport_decay
    d.alliance = (d.goal + d.task + d.bond) / 3.0
    # The session's alliance state: how well this session went beyond the alliance built so far
    # (the state-like component; the built alliance G, T, B is the trait-like one). Felt
    # improvement since intake lifts it (reverse path, step 10). Transient: it colours this
    # session's WAI and acts on the following week's symptoms (step 9).
    state = (p.alliance_state_sd * normal(key, counter(session, SLOT_ALLIANCE_STATE))
             + p.felt_improvement_state * (d.symptoms_intake - symptoms))

    # 6. Needs: collaborative goals feed autonomy, agreed tasks done feed competence, the bond
    #    feeds relatedness; a repair feeds autonomy and relatedness.
    autonomy_given = min(1.0, c.collaboration * (1.0 - p.pressure_autonomy_cost * c.pressure)
                         + need_boost)
    competence_given = 0.5 * (d.task + d.engagement)
    relatedness_given = min(1.0, perceived_bond + need_boost)
    d.need_autonomy += p.need_rate * (autonomy_given - d.need_autonomy)
    d.need_competence += p.need_rate * (competence_given - d.need_competence)
    d.need_relatedness += p.need_rate * (relatedness_given - d.need_relatedness)

    # 7. Internalisation follows need satisfaction; controlling pressure pulls it down.
    needs = (d.need_autonomy + d.need_competence + d.need_relatedness) / 3.0
    d.internalisation = clip01(d.internalisation
                               + p.internalisation_rate * (needs - d.internalisation)
                               - p.internalisation_pressure * c.pressure * d.internalisation)

    # 8. Engagement between sessions (share of agreed tasks done, or doses taken).
    d.engagement = engagement_kept * sigmoid(
        p.engagement_base + p.engagement_internalisation * d.internalisation
        + p.engagement_task * d.task + p.engagement_bond * d.bond
        - p.engagement_symptoms * symptoms
        + p.engagement_noise * normal(key, counter(session, SLOT_ENGAGEMENT_NOISE)))

    # 9. Symptoms over the following week: techniques (dose = efficacy x tasks done x session
    #    time left for work), the alliance built so far and this session's alliance state;
    #    noise and life events push back.
    efficacy = clip01(c.technique_efficacy + d.technique * p.technique_b_advantage)
    relief = (p.technique_gain * efficacy * d.engagement * work
              + p.alliance_effect * d.alliance + p.alliance_state_effect * state
              + p.natural_recovery)
    life_event = 0.0
    if uniform(key, counter(session, SLOT_LIFE_EVENT)) < p.life_event_rate:
        life_event = p.life_event_size
    symptoms_next = clip01(symptoms * (1.0 - relief)
                           + p.symptom_noise * normal(key, counter(session, SLOT_SYMPTOM_NOISE))
                           + life_event * (1.0 - symptoms))

    # 10. Reverse path: felt improvement raises trust and competence satisfaction.
    improvement = max(0.0, symptoms - symptoms_next)
    d.trust = clip01(d.trust + p.improvement_trust * improvement * (1.0 - d.trust))
    d.need_competence = clip01(d.need_competence
                               + p.improvement_competence * improvement * (1.0 - d.need_competence))
    d.symptoms = symptoms_next

    # 12. Observation at the end of the session (WAI-SR-like; rapport colours the bond items,
    #     the session's alliance state all three).
    d.wai_goal = wai_subscale(d.goal + state,
                              p.wai_noise * normal(key, counter(session, SLOT_WAI_GOAL)))
    d.wai_task = wai_subscale(d.task + state,
                              p.wai_noise * normal(key, counter(session, SLOT_WAI_TASK)))
    d.wai_bond = wai_subscale(perceived_bond + state,
                              p.wai_noise * normal(key, counter(session, SLOT_WAI_BOND)))
    d.wai_total = (d.wai_goal + d.wai_task + d.wai_bond) / 3.0
    d.sessions += 1
    d.alliance_sum += d.alliance
    d.engagement_sum += d.engagement
    if session == p.early_session:
        d.wai_early = d.wai_total

    # 11. Ending: planned end, recovery ("good enough"), or dropout (last observation carried).
    if session >= p.max_sessions or (session >= p.min_sessions
                                     and symptoms_next < p.recovery_threshold):
        d.status = COMPLETED if session >= p.max_sessions else RECOVERED
        error = p.symptom_score_noise * normal(key, counter(session, SLOT_CLOSING))
        d.symptom_score_post = symptom_score(symptoms_next, error)
    else:
        hazard = sigmoid(p.dropout_base + p.dropout_strain * d.strain
                         + p.dropout_alliance * (1.0 - d.alliance)
                         + p.dropout_internalisation * (1.0 - d.internalisation)
                         + p.dropout_confrontation * unrepaired_confrontation)
        if uniform(key, counter(session, SLOT_DROPOUT)) < hazard:
            d.status = DROPPED_OUT
            d.symptom_score_post = d.symptom_score


@jit
def run_session(dyads, clinicians, params, session):
    """Advance every active dyad by one session, serially. Returns the number advanced."""
    advanced = 0
    for i in range(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            advance_dyad(d, clinicians[d.clinician], params[d.row], session)
            advanced += 1
    return advanced


@jit_parallel
def run_session_parallel(dyads, clinicians, params, session):
    """Advance every active dyad by one session, dyads shared among threads.

    Returns the number advanced. Each dyad's update reads only its own row, its clinician's
    and its parameter row, and writes only its own row, so threads never race.
    """
    advanced = 0
    for i in numba.prange(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            advance_dyad(d, clinicians[d.clinician], params[d.row], session)
            advanced += 1
    return advanced

