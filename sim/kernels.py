"""The session kernel: steps 1-12 of docs/MODEL.md for every active dyad, in one call.

Arrays in, arrays changed in place, nothing else: no Python objects. :func:`advance_dyad` is the
whole model for one dyad and one session; :func:`run_session` loops it over dyads serially and
:func:`run_session_parallel` with ``prange``. Every random draw is keyed by (dyad key, session,
slot), so the thread count never changes a number; the slots' mixed counters (streams) are the
same for every dyad and are computed once per session.

The same equations, written with NumPy over arrays of dyads, are in :mod:`sim.reference`; a test
holds the two together to 1e-12.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.instruments import symptom_score, wai_subscale
from sim.jit import jit, jit_inline, jit_parallel
from sim.rng import normal_at, session_streams, uniform_at
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


@jit_inline
def sigmoid(x):
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


@jit_inline
def sigmoid_bounds(draw, x):
    """Return 0 or 1 when bounds of the logistic decide ``draw < sigmoid(x)``, else 2.

    From ``exp(t) >= 1 + t``: ``1 - 1/(2 + x) <= sigmoid(x) <= 1/(2 - x)`` (where the
    denominators are positive). A draw clearly outside that band is decided by the bounds, with a
    margin of 1e-9 that dwarfs every rounding error involved, so the answer is always the one
    the exact comparison gives (the NumPy reference makes that comparison). Only draws inside
    the band (narrow when ``x`` is near 0) need the exponential. Branch-free, so that a loop
    over lanes (:mod:`sim.courses`) stays vectorisable.
    """
    below = (x < 2.0) & (draw * (2.0 - x) >= 1.0 + 1e-9)
    above = (x > -2.0) & ((1.0 - draw) * (2.0 + x) >= 1.0 + 1e-9)
    return 0 if below else (1 if above else 2)


@jit
def below_sigmoid(draw, x):
    """Return ``draw < sigmoid(x)``, mostly decided by :func:`sigmoid_bounds` (no ``exp``)."""
    decided = sigmoid_bounds(draw, x)
    if decided == 2:
        return draw < sigmoid(x)
    return decided == 1


@jit
def clip01(x):
    """Return ``x`` clipped to [0, 1]."""
    return min(1.0, max(0.0, x))


@jit
def advance_dyad(d, c, p, session, streams):
    """Advance one dyad through one session (steps 1-12) and the week after it.

    The state is read into local variables once and written back once: stores into the record
    would otherwise force the compiler to reload every parameter after each of them (it cannot
    prove that the dyad's row and the parameter row do not overlap).

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
    streams : numpy.ndarray
        ``sim.rng.session_streams(session)``: the mixed counter of each draw slot, the same for
        every dyad, so it is computed once per session.
    """
    key = d.key
    symptoms = d.symptoms
    bond = d.bond
    strain = d.strain
    trust = d.trust
    sensitivity = d.sensitivity
    need_competence = d.need_competence
    warmth = c.warmth
    pressure = c.pressure
    collaboration = c.collaboration

    # Pre-session questionnaire: the symptom score of the week just ended (session 1: intake).
    d.symptoms_session = symptoms
    score = symptom_score(symptoms,
                          p.symptom_score_noise * normal_at(key, streams[SLOT_SCORE]))
    d.symptom_score = score
    if session == 1:
        d.symptom_score_intake = score

    # Rupture-resolution training raises attunement and repair skill from its session on.
    attunement = c.attunement
    repair_skill = c.repair_skill
    if p.training_session > 0 and session >= p.training_session:
        attunement = min(1.0, attunement + p.training_attunement)
        repair_skill = min(1.0, repair_skill + p.training_repair_skill)

    # 1. Perceived pressure (amplified by transference) against tolerance (the secure frame).
    pushed = pressure * (1.0 + p.transference_gain * sensitivity)
    tolerance = d.tolerance + p.tolerance_bond * bond + p.tolerance_competence * need_competence
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
    rupture_logit = (p.rupture_base + p.rupture_strain * strain_now
                        + p.rupture_weak_bond * (1.0 - bond)
                        + p.rupture_sensitivity * sensitivity + p.rupture_unresolved * strain)
    if below_sigmoid(uniform_at(key, streams[SLOT_RUPTURE]), rupture_logit):
        confront = below_sigmoid(uniform_at(key, streams[SLOT_TYPE]), p.confrontation_base
                                 + p.confrontation_hostility * d.hostility)
        rupture = CONFRONTATION if confront else WITHDRAWAL
        visibility = 1.0 if confront else p.withdrawal_visibility
        if uniform_at(key, streams[SLOT_DETECT]) < attunement * visibility:
            detected = 1
            work = 1.0 - p.repair_time
            repair_logit = (p.repair_base + p.repair_skill_weight * repair_skill
                               + p.repair_bond_weight * bond + p.repair_warmth_weight * warmth
                               - p.repair_sensitivity_weight * sensitivity)
            if below_sigmoid(uniform_at(key, streams[SLOT_REPAIR]), repair_logit):
                repaired = 1
        if repaired:
            bond += p.repair_bond_gain * (1.0 - bond)
            strain *= 1.0 - p.repair_strain_relief
            need_boost = p.repair_need_boost
            sensitivity *= 1.0 - p.corrective_experience
            d.sensitivity = sensitivity
        else:
            if confront:
                bond -= p.bond_loss_confrontation * bond
                unrepaired_confrontation = 1.0
            else:
                bond -= p.bond_loss_withdrawal * bond
                engagement_kept = 1.0 - p.withdrawal_engagement_loss
            strain += 1.0
            trust -= p.trust_loss * trust
        report_chance = p.report_confrontation if confront else p.report_withdrawal
        if uniform_at(key, streams[SLOT_REPORT]) < report_chance:
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
    internalisation = d.internalisation
    goal = d.goal
    task = d.task
    rapport = d.rapport
    goal_drive = collaboration * (1.0 - p.goal_internalisation
                                  + p.goal_internalisation * internalisation)
    goal = (goal + p.goal_rate * goal_drive * (1.0 - goal)) * wear
    task = (task + p.task_rate * c.structure * need_competence * (1.0 - task)) * wear
    bond_drive = warmth * (trust + p.rapport_weight * rapport * (1.0 - trust))
    bond = (bond + p.bond_rate * bond_drive * (1.0 - bond)) * wear
    trust += p.trust_rate * warmth * (1.0 - trust)
    perceived_bond = bond + p.rapport_weight * rapport * (1.0 - bond)
    d.rapport = rapport * (1.0 - p.rapport_decay)
    alliance = (goal + task + bond) / 3.0
    # The session's alliance state: how well this session went beyond the alliance built so far
    # (the state-like component; the built alliance G, T, B is the trait-like one). Felt
    # improvement since intake lifts it (reverse path, step 10). Transient: it colours this
    # session's WAI and acts on the following week's symptoms (step 9).
    state = (p.alliance_state_sd * normal_at(key, streams[SLOT_ALLIANCE_STATE])
             + p.felt_improvement_state * (d.symptoms_intake - symptoms))

    # 6. Needs: collaborative goals feed autonomy, agreed tasks done feed competence, the bond
    #    feeds relatedness; a repair feeds autonomy and relatedness.
    need_autonomy = d.need_autonomy
    need_relatedness = d.need_relatedness
    autonomy_given = min(1.0, collaboration * (1.0 - p.pressure_autonomy_cost * pressure)
                         + need_boost)
    competence_given = 0.5 * (task + d.engagement)
    relatedness_given = min(1.0, perceived_bond + need_boost)
    need_autonomy += p.need_rate * (autonomy_given - need_autonomy)
    need_competence += p.need_rate * (competence_given - need_competence)
    need_relatedness += p.need_rate * (relatedness_given - need_relatedness)

    # 7. Internalisation follows need satisfaction; controlling pressure pulls it down.
    needs = (need_autonomy + need_competence + need_relatedness) / 3.0
    internalisation = clip01(internalisation
                             + p.internalisation_rate * (needs - internalisation)
                             - p.internalisation_pressure * pressure * internalisation)

    # 8. Engagement between sessions (share of agreed tasks done, or doses taken).
    engagement = engagement_kept * sigmoid(
        p.engagement_base + p.engagement_internalisation * internalisation
        + p.engagement_task * task + p.engagement_bond * bond
        - p.engagement_symptoms * symptoms
        + p.engagement_noise * normal_at(key, streams[SLOT_ENGAGEMENT_NOISE]))

    # 9. Symptoms over the following week: techniques (dose = efficacy x tasks done x session
    #    time left for work), the alliance built so far and this session's alliance state;
    #    noise and life events push back.
    efficacy = clip01(c.technique_efficacy + d.technique * p.technique_b_advantage)
    relief = (p.technique_gain * efficacy * engagement * work
              + p.alliance_effect * alliance + p.alliance_state_effect * state
              + p.natural_recovery)
    life_event = 0.0
    if uniform_at(key, streams[SLOT_LIFE_EVENT]) < p.life_event_rate:
        life_event = p.life_event_size
    symptoms_next = clip01(symptoms * (1.0 - relief)
                           + p.symptom_noise * normal_at(key, streams[SLOT_SYMPTOM_NOISE])
                           + life_event * (1.0 - symptoms))

    # 10. Reverse path: felt improvement raises trust and competence satisfaction.
    improvement = max(0.0, symptoms - symptoms_next)
    trust = clip01(trust + p.improvement_trust * improvement * (1.0 - trust))
    need_competence = clip01(need_competence
                             + p.improvement_competence * improvement * (1.0 - need_competence))

    # 12. Observation at the end of the session (WAI-SR-like; rapport colours the bond items,
    #     the session's alliance state all three).
    wai_goal = wai_subscale(goal + state,
                            p.wai_noise * normal_at(key, streams[SLOT_WAI_GOAL]))
    wai_task = wai_subscale(task + state,
                            p.wai_noise * normal_at(key, streams[SLOT_WAI_TASK]))
    wai_bond = wai_subscale(perceived_bond + state,
                            p.wai_noise * normal_at(key, streams[SLOT_WAI_BOND]))
    wai_total = (wai_goal + wai_task + wai_bond) / 3.0

    # The new state, written back once.
    d.goal = goal
    d.task = task
    d.bond = bond
    d.alliance = alliance
    d.trust = trust
    d.strain = strain
    d.need_autonomy = need_autonomy
    d.need_competence = need_competence
    d.need_relatedness = need_relatedness
    d.internalisation = internalisation
    d.engagement = engagement
    d.symptoms = symptoms_next
    d.wai_goal = wai_goal
    d.wai_task = wai_task
    d.wai_bond = wai_bond
    d.wai_total = wai_total
    d.sessions += 1
    d.alliance_sum += alliance
    d.engagement_sum += engagement
    if session == p.early_session:
        d.wai_early = wai_total

    # 11. Ending: planned end, recovery ("good enough"), or dropout (last observation carried).
    if session >= p.max_sessions or (session >= p.min_sessions
                                     and symptoms_next < p.recovery_threshold):
        d.status = COMPLETED if session >= p.max_sessions else RECOVERED
        error = p.symptom_score_noise * normal_at(key, streams[SLOT_CLOSING])
        d.symptom_score_post = symptom_score(symptoms_next, error)
    else:
        hazard_logit = (p.dropout_base + p.dropout_strain * strain
                         + p.dropout_alliance * (1.0 - alliance)
                         + p.dropout_internalisation * (1.0 - internalisation)
                         + p.dropout_confrontation * unrepaired_confrontation)
        if below_sigmoid(uniform_at(key, streams[SLOT_DROPOUT]), hazard_logit):
            d.status = DROPPED_OUT
            d.symptom_score_post = score


@jit
def run_session(dyads, clinicians, params, session):
    """Advance every active dyad by one session, serially. Returns the number advanced."""
    streams = session_streams(session)
    advanced = 0
    for i in range(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            advance_dyad(d, clinicians[d.clinician], params[d.row], session, streams)
            advanced += 1
    return advanced


@jit_parallel
def run_session_parallel(dyads, clinicians, params, session):
    """Advance every active dyad by one session, dyads shared among threads.

    Returns the number advanced. Each dyad's update reads only its own row, its clinician's
    and its parameter row, and writes only its own row, so threads never race.
    """
    streams = session_streams(session)
    advanced = 0
    for i in numba.prange(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            advance_dyad(d, clinicians[d.clinician], params[d.row], session, streams)
            advanced += 1
    return advanced



# Columns of :func:`clinic_summary`'s result.
SUMMARY_MEANS = ("alliance", "goal", "task", "bond", "wai_total", "symptom_score")
"""Fields averaged over the dyads in the latest session (columns 0-5)."""
SUMMARY_COUNTS = ("withdrawals", "confrontations", "detected", "repairs", "active", "dropouts")
"""Counts (columns 6-11): this session's ruptures by type, detections and repairs among the dyads
in it; dyads still active and dropped out so far, over the whole clinic."""


@jit
def clinic_summary(dyads, session):
    """Return the clinic's means and counts after ``session`` in one pass over the dyads.

    Means are over the dyads that attended ``session`` (everyone at session 0, the intake
    state); a NaN among them (an instrument not yet observed) makes the mean NaN, as
    ``numpy.mean`` would, and no dyad in the session gives NaN. See :data:`SUMMARY_MEANS` and
    :data:`SUMMARY_COUNTS` for the columns. This is what the Mesa model's reporters read, so
    data collection costs one pass instead of one strided scan per reporter.
    """
    out = np.zeros(len(SUMMARY_MEANS) + len(SUMMARY_COUNTS))
    attended = 0
    for i in range(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            out[10] += 1.0
        elif d.status == DROPPED_OUT:
            out[11] += 1.0
        if session == 0 or d.sessions == session:
            attended += 1
            out[0] += d.alliance
            out[1] += d.goal
            out[2] += d.task
            out[3] += d.bond
            out[4] += d.wai_total
            out[5] += d.symptom_score
            if d.rupture == WITHDRAWAL:
                out[6] += 1.0
            elif d.rupture == CONFRONTATION:
                out[7] += 1.0
            out[8] += d.rupture_detected
            out[9] += d.rupture_repaired
    for j in range(len(SUMMARY_MEANS)):
        out[j] = out[j] / attended if attended > 0 else math.nan
    return out
