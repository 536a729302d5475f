"""The course kernel: whole courses of treatment for dyads in lanes, vectorised across dyads.

:func:`run_courses` gives exactly the numbers of calling :func:`sim.kernels.run_session` session
after session until everyone has ended (a test holds the two together bit for bit), faster: up to
:data:`LANES` dyads of one parameter row sit in *lanes*, a small structure-of-arrays buffer that
stays in the L1 cache for the whole course, and each step of a session is a loop over the lanes
with no calls and no branches that LLVM cannot turn into selects, so it runs several dyads at a
time (SIMD). A dyad that ends leaves its lane at once (its record is written back and the last
lane moves into its place), so no lane is wasted on ended dyads. The batch path
(:func:`sim.batch.run_to_end`) uses it whenever the per-session panel is not asked for; the Mesa
model and the panel step session by session with :func:`sim.kernels.run_session`.

The equations are those of :func:`sim.kernels.advance_dyad`, in the same order of floating-point
operations (so the same numbers, not merely close ones); a change to the model goes into both,
and into :mod:`sim.reference`. Draws are keyed by (dyad, session, slot) as there, so lanes,
blocks and threads never change a number.

Lane buffers are flat arrays: row ``r`` of lane ``j`` is element ``r * LANES + j`` (rows
``_SYMPTOMS`` ... of ``floats``, ``_SESSIONS`` ... of ``ints``, one row per draw slot of
``normals`` and ``uniforms``). The offsets are constants, so the compiler can see that rows never
overlap and vectorise a loop that reads some rows and writes others. Every function a lane loop
calls is inlined (``sim.jit.jit_inline``): a call that stays a call stops the vectoriser.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.instruments import symptom_score, wai_subscale
from sim.jit import jit, jit_parallel
from sim.kernels import (
    SLOT_ALLIANCE_STATE,
    SLOT_CLOSING,
    SLOT_DETECT,
    SLOT_DROPOUT,
    SLOT_ENGAGEMENT_NOISE,
    SLOT_LIFE_EVENT,
    SLOT_REPAIR,
    SLOT_REPORT,
    SLOT_RUPTURE,
    SLOT_SCORE,
    SLOT_SYMPTOM_NOISE,
    SLOT_TYPE,
    SLOT_WAI_BOND,
    SLOT_WAI_GOAL,
    SLOT_WAI_TASK,
    sigmoid,
    sigmoid_bounds,
)
from sim.rng import (
    _BYTE,
    _MANTISSA,
    _ONE,
    _S8,
    _S9,
    _ZIG_ACCEPT,
    _ZIG_WIDTH,
    SLOTS_PER_SESSION,
    _ziggurat_slow,
    mix64,
    normal_at,
    session_streams,
    uniform_at,
)
from sim.state import ACTIVE, COMPLETED, CONFRONTATION, DROPPED_OUT, RECOVERED, WITHDRAWAL

LANES = 64
"""Dyads advanced together: the lane buffers (~80 rows of 64 eight-byte values, 42 KB) stay in
a core's L1 data cache (48 KB on the development machine); 128 lanes measured no faster, 256
(the buffers in L2) 15% slower."""

# Rows of the float lane buffer: the dyad's state, its clinician's traits, and temporaries that
# carry a session's intermediate values from one loop to the next.
(_SYMPTOMS, _BOND, _STRAIN, _TRUST, _SENSITIVITY, _NEED_COMPETENCE, _NEED_AUTONOMY,
 _NEED_RELATEDNESS, _INTERNALISATION, _GOAL, _TASK, _RAPPORT, _ENGAGEMENT, _TOLERANCE,
 _HOSTILITY, _SYMPTOMS_INTAKE, _SYMPTOMS_SESSION, _SCORE, _SCORE_INTAKE, _SCORE_POST, _ALLIANCE,
 _WAI_GOAL, _WAI_TASK, _WAI_BOND, _WAI_TOTAL, _WAI_EARLY, _ALLIANCE_SUM, _ENGAGEMENT_SUM,
 _WARMTH, _PRESSURE, _COLLABORATION, _ATTUNEMENT, _REPAIR_SKILL, _STRUCTURE, _EFFICACY,
 _ATTUNEMENT_NOW, _REPAIR_SKILL_NOW, _STRAIN_NOW, _LOGIT, _WORK, _ENGAGEMENT_KEPT,
 _UNREPAIRED_CONFRONTATION, _STATE, _PERCEIVED_BOND, _ENGAGEMENT_LOGIT, _HAZARD_LOGIT,
 ) = range(46)
_FLOATS = 46

# Rows of the integer lane buffer: counts, this session's events, and the decisions of the
# random events (0 no, 1 yes, 2 not decided by the logistic's bounds yet).
(_SESSIONS, _STATUS, _RUPTURE, _DETECTED_NOW, _REPAIRED_NOW, _REPORTED_NOW, _WITHDRAWALS,
 _CONFRONTATIONS, _DETECTED, _REPAIRED, _REPORTED, _IS_RUPTURE, _IS_CONFRONTATION, _IS_REPAIR,
 _ENDING, _IS_DROPOUT) = range(16)
_INTS = 16

# Draws of a session, one row each (the closing score's normal is drawn only for dyads ending).
_NORMAL_SLOTS = np.array([SLOT_SCORE, SLOT_ALLIANCE_STATE, SLOT_ENGAGEMENT_NOISE,
                          SLOT_SYMPTOM_NOISE, SLOT_WAI_GOAL, SLOT_WAI_TASK, SLOT_WAI_BOND])
(_Z_SCORE, _Z_STATE, _Z_ENGAGEMENT, _Z_SYMPTOMS, _Z_WAI_GOAL, _Z_WAI_TASK, _Z_WAI_BOND) = range(7)
_UNIFORM_SLOTS = np.array([SLOT_RUPTURE, SLOT_TYPE, SLOT_DETECT, SLOT_REPAIR, SLOT_REPORT,
                           SLOT_LIFE_EVENT, SLOT_DROPOUT])
(_U_RUPTURE, _U_TYPE, _U_DETECT, _U_REPAIR, _U_REPORT, _U_LIFE_EVENT, _U_DROPOUT) = range(7)


@jit
def _load(dyads, clinicians, p, i, j, floats, ints, keys, dyad):
    """Copy dyad ``i`` (and its clinician's traits) into lane ``j``."""
    d = dyads[i]
    c = clinicians[d.clinician]
    keys[j] = d.key
    dyad[j] = i
    floats[_SYMPTOMS * LANES + j] = d.symptoms
    floats[_BOND * LANES + j] = d.bond
    floats[_STRAIN * LANES + j] = d.strain
    floats[_TRUST * LANES + j] = d.trust
    floats[_SENSITIVITY * LANES + j] = d.sensitivity
    floats[_NEED_COMPETENCE * LANES + j] = d.need_competence
    floats[_NEED_AUTONOMY * LANES + j] = d.need_autonomy
    floats[_NEED_RELATEDNESS * LANES + j] = d.need_relatedness
    floats[_INTERNALISATION * LANES + j] = d.internalisation
    floats[_GOAL * LANES + j] = d.goal
    floats[_TASK * LANES + j] = d.task
    floats[_RAPPORT * LANES + j] = d.rapport
    floats[_ENGAGEMENT * LANES + j] = d.engagement
    floats[_TOLERANCE * LANES + j] = d.tolerance
    floats[_HOSTILITY * LANES + j] = d.hostility
    floats[_SYMPTOMS_INTAKE * LANES + j] = d.symptoms_intake
    floats[_SYMPTOMS_SESSION * LANES + j] = d.symptoms_session
    floats[_SCORE * LANES + j] = d.symptom_score
    floats[_SCORE_INTAKE * LANES + j] = d.symptom_score_intake
    floats[_SCORE_POST * LANES + j] = d.symptom_score_post
    floats[_ALLIANCE * LANES + j] = d.alliance
    floats[_WAI_GOAL * LANES + j] = d.wai_goal
    floats[_WAI_TASK * LANES + j] = d.wai_task
    floats[_WAI_BOND * LANES + j] = d.wai_bond
    floats[_WAI_TOTAL * LANES + j] = d.wai_total
    floats[_WAI_EARLY * LANES + j] = d.wai_early
    floats[_ALLIANCE_SUM * LANES + j] = d.alliance_sum
    floats[_ENGAGEMENT_SUM * LANES + j] = d.engagement_sum
    floats[_WARMTH * LANES + j] = c.warmth
    floats[_PRESSURE * LANES + j] = c.pressure
    floats[_COLLABORATION * LANES + j] = c.collaboration
    floats[_ATTUNEMENT * LANES + j] = c.attunement
    floats[_REPAIR_SKILL * LANES + j] = c.repair_skill
    floats[_STRUCTURE * LANES + j] = c.structure
    # Step 9's efficacy is fixed over a course: computed once, as advance_dyad computes it.
    floats[_EFFICACY * LANES + j] = min(1.0, max(0.0, c.technique_efficacy
                                                 + d.technique * p.technique_b_advantage))
    ints[_SESSIONS * LANES + j] = d.sessions
    ints[_STATUS * LANES + j] = d.status
    ints[_RUPTURE * LANES + j] = d.rupture
    ints[_DETECTED_NOW * LANES + j] = d.rupture_detected
    ints[_REPAIRED_NOW * LANES + j] = d.rupture_repaired
    ints[_REPORTED_NOW * LANES + j] = d.rupture_patient_reported
    ints[_WITHDRAWALS * LANES + j] = d.withdrawals
    ints[_CONFRONTATIONS * LANES + j] = d.confrontations
    ints[_DETECTED * LANES + j] = d.detected
    ints[_REPAIRED * LANES + j] = d.repaired
    ints[_REPORTED * LANES + j] = d.reported


@jit
def _store(dyads, j, floats, ints, dyad):
    """Write lane ``j`` back into its dyad's record."""
    d = dyads[dyad[j]]
    d.symptoms = floats[_SYMPTOMS * LANES + j]
    d.bond = floats[_BOND * LANES + j]
    d.strain = floats[_STRAIN * LANES + j]
    d.trust = floats[_TRUST * LANES + j]
    d.sensitivity = floats[_SENSITIVITY * LANES + j]
    d.need_competence = floats[_NEED_COMPETENCE * LANES + j]
    d.need_autonomy = floats[_NEED_AUTONOMY * LANES + j]
    d.need_relatedness = floats[_NEED_RELATEDNESS * LANES + j]
    d.internalisation = floats[_INTERNALISATION * LANES + j]
    d.goal = floats[_GOAL * LANES + j]
    d.task = floats[_TASK * LANES + j]
    d.rapport = floats[_RAPPORT * LANES + j]
    d.engagement = floats[_ENGAGEMENT * LANES + j]
    d.symptoms_session = floats[_SYMPTOMS_SESSION * LANES + j]
    d.symptom_score = floats[_SCORE * LANES + j]
    d.symptom_score_intake = floats[_SCORE_INTAKE * LANES + j]
    d.symptom_score_post = floats[_SCORE_POST * LANES + j]
    d.alliance = floats[_ALLIANCE * LANES + j]
    d.wai_goal = floats[_WAI_GOAL * LANES + j]
    d.wai_task = floats[_WAI_TASK * LANES + j]
    d.wai_bond = floats[_WAI_BOND * LANES + j]
    d.wai_total = floats[_WAI_TOTAL * LANES + j]
    d.wai_early = floats[_WAI_EARLY * LANES + j]
    d.alliance_sum = floats[_ALLIANCE_SUM * LANES + j]
    d.engagement_sum = floats[_ENGAGEMENT_SUM * LANES + j]
    d.sessions = ints[_SESSIONS * LANES + j]
    d.status = ints[_STATUS * LANES + j]
    d.rupture = ints[_RUPTURE * LANES + j]
    d.rupture_detected = ints[_DETECTED_NOW * LANES + j]
    d.rupture_repaired = ints[_REPAIRED_NOW * LANES + j]
    d.rupture_patient_reported = ints[_REPORTED_NOW * LANES + j]
    d.withdrawals = ints[_WITHDRAWALS * LANES + j]
    d.confrontations = ints[_CONFRONTATIONS * LANES + j]
    d.detected = ints[_DETECTED * LANES + j]
    d.repaired = ints[_REPAIRED * LANES + j]
    d.reported = ints[_REPORTED * LANES + j]


@jit
def _move(source, target, floats, ints, keys, dyad):
    """Move lane ``source`` into lane ``target`` (whose dyad has ended and been written back)."""
    for row in range(_FLOATS):
        floats[row * LANES + target] = floats[row * LANES + source]
    for row in range(_INTS):
        ints[row * LANES + target] = ints[row * LANES + source]
    keys[target] = keys[source]
    dyad[target] = dyad[source]


@jit
def _draw(keys, streams, normals, uniforms, bits, m):
    """Fill this session's draws of lanes ``0 .. m-1`` (as ``normal_at``/``uniform_at`` would).

    ``bits`` (one row per normal) keeps each normal's random bits, so that the few draws the
    ziggurat's first try misses (1.2%) are finished from them without hashing again.
    """
    for s in range(_NORMAL_SLOTS.shape[0]):
        stream = streams[_NORMAL_SLOTS[s]]
        missed = 0
        for j in range(m):
            b = mix64(keys[j] ^ stream)
            bits[s * LANES + j] = b
            layer = b & _BYTE
            magnitude = (b >> _S9) & _MANTISSA
            x = float(magnitude) * _ZIG_WIDTH[layer]
            normals[s * LANES + j] = -x if (b >> _S8) & _ONE else x
            missed += magnitude >= _ZIG_ACCEPT[layer]
        if missed:
            for j in range(m):
                b = bits[s * LANES + j]
                if ((b >> _S9) & _MANTISSA) >= _ZIG_ACCEPT[b & _BYTE]:
                    normals[s * LANES + j] = _ziggurat_slow(b)
    for s in range(_UNIFORM_SLOTS.shape[0]):
        stream = streams[_UNIFORM_SLOTS[s]]
        for j in range(m):
            uniforms[s * LANES + j] = uniform_at(keys[j], stream)


@jit
def _settle(ints, row, uniforms, draw_row, floats, logit_row, m, only, only_value):
    """Decide with the exponential the events that the logistic's bounds left open (value 2).

    ``ints[row]`` holds the decisions, ``uniforms[draw_row]`` the draws and ``floats[logit_row]``
    the logits; only lanes where ``ints[only]`` equals ``only_value`` need an answer (``only``
    -1: every lane), the others keep 2 and are never read.
    """
    for j in range(m):
        if ints[row * LANES + j] == 2 and (only < 0 or ints[only * LANES + j] == only_value):
            ints[row * LANES + j] = (uniforms[draw_row * LANES + j]
                                     < sigmoid(floats[logit_row * LANES + j]))


@jit
def _session(floats, ints, normals, uniforms, p, session, m):
    """Advance lanes ``0 .. m-1`` through one session: steps 1-12 of :func:`advance_dyad`.

    Sets ``ints[_ENDING]`` (0 going on, 1 planned end, 2 recovered) and ``ints[_IS_DROPOUT]``;
    the caller ends those dyads.
    """
    # Parameters read once into locals: a parameter read inside a loop would be reloaded after
    # every store (the compiler cannot prove the lane buffers and the parameter row disjoint).
    symptom_score_noise = p.symptom_score_noise
    training = p.training_session > 0 and session >= p.training_session
    training_attunement = p.training_attunement
    training_repair_skill = p.training_repair_skill
    transference_gain = p.transference_gain
    tolerance_bond = p.tolerance_bond
    tolerance_competence = p.tolerance_competence
    rupture_base = p.rupture_base
    rupture_strain = p.rupture_strain
    rupture_weak_bond = p.rupture_weak_bond
    rupture_sensitivity = p.rupture_sensitivity
    rupture_unresolved = p.rupture_unresolved
    confrontation_base = p.confrontation_base
    confrontation_hostility = p.confrontation_hostility
    withdrawal_visibility = p.withdrawal_visibility
    repair_time = p.repair_time
    repair_base = p.repair_base
    repair_skill_weight = p.repair_skill_weight
    repair_bond_weight = p.repair_bond_weight
    repair_warmth_weight = p.repair_warmth_weight
    repair_sensitivity_weight = p.repair_sensitivity_weight
    repair_bond_gain = p.repair_bond_gain
    repair_strain_relief = p.repair_strain_relief
    repair_need_boost = p.repair_need_boost
    corrective_experience = p.corrective_experience
    bond_loss_confrontation = p.bond_loss_confrontation
    bond_loss_withdrawal = p.bond_loss_withdrawal
    withdrawal_engagement_loss = p.withdrawal_engagement_loss
    trust_loss = p.trust_loss
    report_confrontation = p.report_confrontation
    report_withdrawal = p.report_withdrawal
    strain_wear = p.strain_wear
    goal_internalisation = p.goal_internalisation
    goal_rate = p.goal_rate
    task_rate = p.task_rate
    rapport_weight = p.rapport_weight
    bond_rate = p.bond_rate
    trust_rate = p.trust_rate
    rapport_decay = p.rapport_decay
    alliance_state_sd = p.alliance_state_sd
    felt_improvement_state = p.felt_improvement_state
    pressure_autonomy_cost = p.pressure_autonomy_cost
    need_rate = p.need_rate
    internalisation_rate = p.internalisation_rate
    internalisation_pressure = p.internalisation_pressure
    engagement_base = p.engagement_base
    engagement_internalisation = p.engagement_internalisation
    engagement_task = p.engagement_task
    engagement_bond = p.engagement_bond
    engagement_symptoms = p.engagement_symptoms
    engagement_noise = p.engagement_noise
    technique_gain = p.technique_gain
    alliance_effect = p.alliance_effect
    alliance_state_effect = p.alliance_state_effect
    natural_recovery = p.natural_recovery
    life_event_rate = p.life_event_rate
    life_event_size = p.life_event_size
    symptom_noise = p.symptom_noise
    improvement_trust = p.improvement_trust
    improvement_competence = p.improvement_competence
    wai_noise = p.wai_noise
    early = session == p.early_session
    planned_end = session >= p.max_sessions
    may_recover = session >= p.min_sessions
    recovery_threshold = p.recovery_threshold
    dropout_base = p.dropout_base
    dropout_strain = p.dropout_strain
    dropout_alliance = p.dropout_alliance
    dropout_internalisation = p.dropout_internalisation
    dropout_confrontation = p.dropout_confrontation

    # Pre-session score; training; 1. perceived pressure against tolerance; 2. rupture?
    open_ = 0
    for j in range(m):
        symptoms = floats[_SYMPTOMS * LANES + j]
        floats[_SYMPTOMS_SESSION * LANES + j] = symptoms
        score = symptom_score(symptoms, symptom_score_noise * normals[_Z_SCORE * LANES + j])
        floats[_SCORE * LANES + j] = score
        if session == 1:
            floats[_SCORE_INTAKE * LANES + j] = score
        attunement = floats[_ATTUNEMENT * LANES + j]
        repair_skill = floats[_REPAIR_SKILL * LANES + j]
        if training:
            attunement = min(1.0, attunement + training_attunement)
            repair_skill = min(1.0, repair_skill + training_repair_skill)
        floats[_ATTUNEMENT_NOW * LANES + j] = attunement
        floats[_REPAIR_SKILL_NOW * LANES + j] = repair_skill
        sensitivity = floats[_SENSITIVITY * LANES + j]
        bond = floats[_BOND * LANES + j]
        pushed = floats[_PRESSURE * LANES + j] * (1.0 + transference_gain * sensitivity)
        tolerance = (floats[_TOLERANCE * LANES + j] + tolerance_bond * bond
                     + tolerance_competence * floats[_NEED_COMPETENCE * LANES + j])
        strain_now = max(0.0, pushed - tolerance)
        floats[_STRAIN_NOW * LANES + j] = strain_now
        logit = (rupture_base + rupture_strain * strain_now + rupture_weak_bond * (1.0 - bond)
                 + rupture_sensitivity * sensitivity
                 + rupture_unresolved * floats[_STRAIN * LANES + j])
        floats[_LOGIT * LANES + j] = logit
        decided = sigmoid_bounds(uniforms[_U_RUPTURE * LANES + j], logit)
        ints[_IS_RUPTURE * LANES + j] = decided
        open_ += decided == 2
    if open_:
        _settle(ints, _IS_RUPTURE, uniforms, _U_RUPTURE, floats, _LOGIT, m, -1, 0)

    # Which kind of rupture (drawn for every lane; it matters only where there is one).
    open_ = 0
    for j in range(m):
        logit = confrontation_base + confrontation_hostility * floats[_HOSTILITY * LANES + j]
        floats[_LOGIT * LANES + j] = logit
        decided = sigmoid_bounds(uniforms[_U_TYPE * LANES + j], logit)
        ints[_IS_CONFRONTATION * LANES + j] = decided
        open_ += (decided == 2) & (ints[_IS_RUPTURE * LANES + j] == 1)
    if open_:
        _settle(ints, _IS_CONFRONTATION, uniforms, _U_TYPE, floats, _LOGIT, m, _IS_RUPTURE, 1)

    # 3-4. Detection by the clinician, and repair of what was detected.
    open_ = 0
    for j in range(m):
        confront = ints[_IS_CONFRONTATION * LANES + j] == 1
        visibility = 1.0 if confront else withdrawal_visibility
        detected = (ints[_IS_RUPTURE * LANES + j] == 1) & (
            uniforms[_U_DETECT * LANES + j] < floats[_ATTUNEMENT_NOW * LANES + j] * visibility)
        ints[_DETECTED_NOW * LANES + j] = detected
        logit = (repair_base + repair_skill_weight * floats[_REPAIR_SKILL_NOW * LANES + j]
                 + repair_bond_weight * floats[_BOND * LANES + j]
                 + repair_warmth_weight * floats[_WARMTH * LANES + j]
                 - repair_sensitivity_weight * floats[_SENSITIVITY * LANES + j])
        floats[_LOGIT * LANES + j] = logit
        decided = sigmoid_bounds(uniforms[_U_REPAIR * LANES + j], logit)
        ints[_IS_REPAIR * LANES + j] = decided
        open_ += (decided == 2) & detected
    if open_:
        _settle(ints, _IS_REPAIR, uniforms, _U_REPAIR, floats, _LOGIT, m, _DETECTED_NOW, 1)

    # Consequences of the rupture; 5. alliance growth; 6. needs; 7. internalisation;
    # 8. engagement's logit.
    for j in range(m):
        rupture = ints[_IS_RUPTURE * LANES + j] == 1
        confront = rupture & (ints[_IS_CONFRONTATION * LANES + j] == 1)
        detected = ints[_DETECTED_NOW * LANES + j] == 1
        repaired = detected & (ints[_IS_REPAIR * LANES + j] == 1)
        bond = floats[_BOND * LANES + j]
        strain = floats[_STRAIN * LANES + j]
        sensitivity = floats[_SENSITIVITY * LANES + j]
        trust = floats[_TRUST * LANES + j]
        work = 1.0 - repair_time if detected else 1.0
        engagement_kept = 1.0
        need_boost = 0.0
        unrepaired_confrontation = 0.0
        if rupture:
            if repaired:
                bond += repair_bond_gain * (1.0 - bond)
                strain *= 1.0 - repair_strain_relief
                need_boost = repair_need_boost
                sensitivity *= 1.0 - corrective_experience
            else:
                if confront:
                    bond -= bond_loss_confrontation * bond
                    unrepaired_confrontation = 1.0
                else:
                    bond -= bond_loss_withdrawal * bond
                    engagement_kept = 1.0 - withdrawal_engagement_loss
                strain += 1.0
                trust -= trust_loss * trust
        report_chance = report_confrontation if confront else report_withdrawal
        reported = rupture & (uniforms[_U_REPORT * LANES + j] < report_chance)
        ints[_CONFRONTATIONS * LANES + j] += confront
        ints[_WITHDRAWALS * LANES + j] += rupture and not confront
        ints[_DETECTED * LANES + j] += detected
        ints[_REPAIRED * LANES + j] += repaired
        ints[_REPORTED * LANES + j] += reported
        ints[_RUPTURE * LANES + j] = (CONFRONTATION if confront else WITHDRAWAL) if rupture else 0
        ints[_REPAIRED_NOW * LANES + j] = repaired
        ints[_REPORTED_NOW * LANES + j] = reported
        floats[_SENSITIVITY * LANES + j] = sensitivity
        floats[_WORK * LANES + j] = work
        floats[_ENGAGEMENT_KEPT * LANES + j] = engagement_kept
        floats[_UNREPAIRED_CONFRONTATION * LANES + j] = unrepaired_confrontation
        floats[_STRAIN * LANES + j] = strain

        wear = 1.0 - strain_wear * min(floats[_STRAIN_NOW * LANES + j], 1.0)
        internalisation = floats[_INTERNALISATION * LANES + j]
        goal = floats[_GOAL * LANES + j]
        task = floats[_TASK * LANES + j]
        rapport = floats[_RAPPORT * LANES + j]
        warmth = floats[_WARMTH * LANES + j]
        pressure = floats[_PRESSURE * LANES + j]
        collaboration = floats[_COLLABORATION * LANES + j]
        need_competence = floats[_NEED_COMPETENCE * LANES + j]
        goal_drive = collaboration * (1.0 - goal_internalisation
                                      + goal_internalisation * internalisation)
        goal = (goal + goal_rate * goal_drive * (1.0 - goal)) * wear
        task = (task + task_rate * floats[_STRUCTURE * LANES + j] * need_competence
                * (1.0 - task)) * wear
        bond_drive = warmth * (trust + rapport_weight * rapport * (1.0 - trust))
        bond = (bond + bond_rate * bond_drive * (1.0 - bond)) * wear
        trust += trust_rate * warmth * (1.0 - trust)
        perceived_bond = bond + rapport_weight * rapport * (1.0 - bond)
        floats[_RAPPORT * LANES + j] = rapport * (1.0 - rapport_decay)
        alliance = (goal + task + bond) / 3.0
        symptoms = floats[_SYMPTOMS * LANES + j]
        state = (alliance_state_sd * normals[_Z_STATE * LANES + j]
                 + felt_improvement_state * (floats[_SYMPTOMS_INTAKE * LANES + j] - symptoms))
        need_autonomy = floats[_NEED_AUTONOMY * LANES + j]
        need_relatedness = floats[_NEED_RELATEDNESS * LANES + j]
        autonomy_given = min(1.0, collaboration * (1.0 - pressure_autonomy_cost * pressure)
                             + need_boost)
        competence_given = 0.5 * (task + floats[_ENGAGEMENT * LANES + j])
        relatedness_given = min(1.0, perceived_bond + need_boost)
        need_autonomy += need_rate * (autonomy_given - need_autonomy)
        need_competence += need_rate * (competence_given - need_competence)
        need_relatedness += need_rate * (relatedness_given - need_relatedness)
        needs = (need_autonomy + need_competence + need_relatedness) / 3.0
        internalisation = min(1.0, max(0.0, internalisation
                                       + internalisation_rate * (needs - internalisation)
                                       - internalisation_pressure * pressure * internalisation))
        floats[_ENGAGEMENT_LOGIT * LANES + j] = (
            engagement_base + engagement_internalisation * internalisation
            + engagement_task * task + engagement_bond * bond
            - engagement_symptoms * symptoms
            + engagement_noise * normals[_Z_ENGAGEMENT * LANES + j])
        floats[_GOAL * LANES + j] = goal
        floats[_TASK * LANES + j] = task
        floats[_BOND * LANES + j] = bond
        floats[_TRUST * LANES + j] = trust
        floats[_ALLIANCE * LANES + j] = alliance
        floats[_STATE * LANES + j] = state
        floats[_PERCEIVED_BOND * LANES + j] = perceived_bond
        floats[_NEED_AUTONOMY * LANES + j] = need_autonomy
        floats[_NEED_COMPETENCE * LANES + j] = need_competence
        floats[_NEED_RELATEDNESS * LANES + j] = need_relatedness
        floats[_INTERNALISATION * LANES + j] = internalisation

    # 8. Engagement (its own loop: the exponential is a call per lane).
    for j in range(m):
        floats[_ENGAGEMENT * LANES + j] = floats[_ENGAGEMENT_KEPT * LANES + j] * sigmoid(
            floats[_ENGAGEMENT_LOGIT * LANES + j])

    # 9. Symptoms; 10. reverse path; 12. observation; counts; 11. ending or dropout?
    open_ = 0
    for j in range(m):
        symptoms = floats[_SYMPTOMS * LANES + j]
        engagement = floats[_ENGAGEMENT * LANES + j]
        alliance = floats[_ALLIANCE * LANES + j]
        state = floats[_STATE * LANES + j]
        relief = (technique_gain * floats[_EFFICACY * LANES + j] * engagement
                  * floats[_WORK * LANES + j]
                  + alliance_effect * alliance + alliance_state_effect * state
                  + natural_recovery)
        life_event = life_event_size if uniforms[_U_LIFE_EVENT * LANES + j] < life_event_rate \
            else 0.0
        symptoms_next = min(1.0, max(0.0, symptoms * (1.0 - relief)
                                     + symptom_noise * normals[_Z_SYMPTOMS * LANES + j]
                                     + life_event * (1.0 - symptoms)))
        improvement = max(0.0, symptoms - symptoms_next)
        trust = floats[_TRUST * LANES + j]
        trust = min(1.0, max(0.0, trust + improvement_trust * improvement * (1.0 - trust)))
        need_competence = floats[_NEED_COMPETENCE * LANES + j]
        need_competence = min(1.0, max(0.0, need_competence + improvement_competence
                                       * improvement * (1.0 - need_competence)))
        floats[_TRUST * LANES + j] = trust
        floats[_NEED_COMPETENCE * LANES + j] = need_competence
        wai_goal = wai_subscale(floats[_GOAL * LANES + j] + state,
                        wai_noise * normals[_Z_WAI_GOAL * LANES + j])
        wai_task = wai_subscale(floats[_TASK * LANES + j] + state,
                        wai_noise * normals[_Z_WAI_TASK * LANES + j])
        wai_bond = wai_subscale(floats[_PERCEIVED_BOND * LANES + j] + state,
                        wai_noise * normals[_Z_WAI_BOND * LANES + j])
        wai_total = (wai_goal + wai_task + wai_bond) / 3.0
        floats[_WAI_GOAL * LANES + j] = wai_goal
        floats[_WAI_TASK * LANES + j] = wai_task
        floats[_WAI_BOND * LANES + j] = wai_bond
        floats[_WAI_TOTAL * LANES + j] = wai_total
        floats[_SYMPTOMS * LANES + j] = symptoms_next
        ints[_SESSIONS * LANES + j] += 1
        floats[_ALLIANCE_SUM * LANES + j] += alliance
        floats[_ENGAGEMENT_SUM * LANES + j] += engagement
        if early:
            floats[_WAI_EARLY * LANES + j] = wai_total
        ending = 1 if planned_end else (
            2 if may_recover and symptoms_next < recovery_threshold else 0)
        ints[_ENDING * LANES + j] = ending
        logit = (dropout_base + dropout_strain * floats[_STRAIN * LANES + j]
                 + dropout_alliance * (1.0 - alliance)
                 + dropout_internalisation * (1.0 - floats[_INTERNALISATION * LANES + j])
                 + dropout_confrontation * floats[_UNREPAIRED_CONFRONTATION * LANES + j])
        floats[_HAZARD_LOGIT * LANES + j] = logit
        decided = sigmoid_bounds(uniforms[_U_DROPOUT * LANES + j], logit)
        ints[_IS_DROPOUT * LANES + j] = decided
        open_ += (decided == 2) & (ending == 0)
    if open_:  # (dyads ending anyway are not at risk of dropping out)
        _settle(ints, _IS_DROPOUT, uniforms, _U_DROPOUT, floats, _HAZARD_LOGIT, m, _ENDING, 0)


@jit
def _course(dyads, clinicians, params, start, stop, stream_table):
    """Run the active dyads among ``dyads[start:stop]`` (one row, one session) to the end.

    ``stream_table[s]`` holds session ``s``'s streams (:func:`_stream_table`). Returns the
    dyad-sessions run.
    """
    floats = np.zeros(_FLOATS * LANES)
    ints = np.zeros(_INTS * LANES, dtype=np.int64)
    normals = np.zeros(_NORMAL_SLOTS.shape[0] * LANES)
    uniforms = np.zeros(_UNIFORM_SLOTS.shape[0] * LANES)
    bits = np.zeros(_NORMAL_SLOTS.shape[0] * LANES, dtype=np.uint64)
    keys = np.zeros(LANES, dtype=np.uint64)
    dyad = np.zeros(LANES, dtype=np.int64)
    p = params[dyads[start].row]
    session = dyads[start].sessions
    m = 0
    for i in range(start, stop):
        if dyads[i].status == ACTIVE:
            _load(dyads, clinicians, p, i, m, floats, ints, keys, dyad)
            m += 1
    run = 0
    while m > 0:
        session += 1
        streams = stream_table[session]
        # Lanes up to a multiple of 4 (the vector width): the few past m hold stale copies,
        # computed and never stored, and no loop needs a scalar remainder.
        width = min(LANES, (m + 3) // 4 * 4)
        _draw(keys, streams, normals, uniforms, bits, width)
        _session(floats, ints, normals, uniforms, p, session, width)
        run += m
        j = 0
        while j < m:  # 11. dyads that end leave their lane; the last lane moves in
            ending = ints[_ENDING * LANES + j]
            if ending:
                ints[_STATUS * LANES + j] = COMPLETED if ending == 1 else RECOVERED
                error = p.symptom_score_noise * normal_at(keys[j], streams[SLOT_CLOSING])
                floats[_SCORE_POST * LANES + j] = symptom_score(floats[_SYMPTOMS * LANES + j],
                                                                error)
            elif ints[_IS_DROPOUT * LANES + j] == 1:
                ints[_STATUS * LANES + j] = DROPPED_OUT
                floats[_SCORE_POST * LANES + j] = floats[_SCORE * LANES + j]
            else:
                j += 1
                continue
            _store(dyads, j, floats, ints, dyad)
            m -= 1
            if j < m:
                _move(m, j, floats, ints, keys, dyad)
    return run


@jit
def course_blocks(dyads):
    """Return the dyad ranges that :func:`run_courses` runs as blocks, as ``(n, 2)`` bounds.

    A block holds at most :data:`LANES` active dyads, consecutive in the table (ended ones in
    between are skipped), of one parameter row and at the same session.
    """
    n = dyads.shape[0]
    bounds = np.empty((n, 2), dtype=np.int64)
    blocks = 0
    i = 0
    while i < n:
        if dyads[i].status != ACTIVE:
            i += 1
            continue
        start = i
        row = dyads[i].row
        session = dyads[i].sessions
        active = 0
        while i < n and active < LANES:
            d = dyads[i]
            if d.status == ACTIVE:
                if d.row != row or d.sessions != session:
                    break
                active += 1
            i += 1
        bounds[blocks, 0] = start
        bounds[blocks, 1] = i
        blocks += 1
    return bounds[:blocks]


@jit
def _stream_table(dyads, params):
    """Return every session's streams (row ``s``: :func:`sim.rng.session_streams` of ``s``).

    Computed once per call instead of once per block and session. Rows run to the longest
    course, or one past the furthest dyad if a parameter row was shortened mid-course.
    """
    last = 0
    for r in range(params.shape[0]):
        last = max(last, int(params[r].max_sessions))
    for i in range(dyads.shape[0]):
        last = max(last, int(dyads[i].sessions) + 1)
    table = np.zeros((last + 1, SLOTS_PER_SESSION), dtype=np.uint64)
    for session in range(1, last + 1):
        table[session] = session_streams(session)
    return table


@jit
def run_courses(dyads, clinicians, params):
    """Run every active dyad to the end of its course, block after block; return dyad-sessions.

    The same numbers as calling :func:`sim.kernels.run_session` for the next session, and the
    next, until no dyad is active.
    """
    blocks = course_blocks(dyads)
    stream_table = _stream_table(dyads, params)
    run = 0
    for b in range(blocks.shape[0]):
        run += _course(dyads, clinicians, params, blocks[b, 0], blocks[b, 1], stream_table)
    return run


@jit_parallel
def run_courses_parallel(dyads, clinicians, params):
    """:func:`run_courses` with blocks shared among threads (same numbers, any thread count)."""
    blocks = course_blocks(dyads)
    stream_table = _stream_table(dyads, params)
    run = np.zeros(blocks.shape[0], dtype=np.int64)
    for b in numba.prange(blocks.shape[0]):
        run[b] = _course(dyads, clinicians, params, blocks[b, 0], blocks[b, 1], stream_table)
    return run.sum()
