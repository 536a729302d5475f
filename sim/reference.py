"""The session model in plain NumPy, vectorised over dyads: obvious rather than fast.

This is what a NumPy-fluent researcher would write from docs/MODEL.md: gather every active dyad's
columns, compute each step for all of them with array expressions and ``np.where``, scatter the
results back. It serves two purposes:

* a second, independent reading of the equations, held to the Numba kernel
  (:mod:`sim.kernels`) to 1e-12 by ``tests/test_reference.py``;
* the honest peer in ``benchmarks/``.

It uses the NumPy twins of the counter-based generator, so it draws exactly the same numbers.
"""

from __future__ import annotations

import numpy as np

from sim.instruments import symptom_score_np, wai_subscale_np
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
)
from sim.rng import SLOTS_PER_SESSION, normal_np, uniform_np
from sim.state import ACTIVE, COMPLETED, CONFRONTATION, DROPPED_OUT, RECOVERED, WITHDRAWAL


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def run_session_reference(dyads: np.ndarray, clinicians: np.ndarray, params: np.ndarray,
                          session: int) -> int:
    """Advance every active dyad by one session (steps 1-12), in place.

    Parameters
    ----------
    dyads, clinicians, params : numpy.ndarray
        Record arrays as built by :func:`sim.state.build`.
    session : int
        Session number, from 1.

    Returns
    -------
    int
        Number of dyads advanced.
    """
    idx = np.flatnonzero(dyads["status"] == ACTIVE)
    if idx.size == 0:
        return 0
    d = {name: dyads[name][idx].copy() for name in dyads.dtype.names}
    c = clinicians[d["clinician"]]
    p = params[d["row"]]
    key = d["key"]
    base = session * SLOTS_PER_SESSION

    def draw(slot: int) -> np.ndarray:
        return uniform_np(key, base + slot)

    def z(slot: int) -> np.ndarray:
        return normal_np(key, base + slot)

    symptoms = d["symptoms"]
    d["symptoms_session"] = symptoms.copy()
    d["symptom_score"] = symptom_score_np(symptoms, p["symptom_score_noise"] * z(SLOT_SCORE))
    if session == 1:
        d["symptom_score_intake"] = d["symptom_score"].copy()

    # rupture-resolution training
    trained = (p["training_session"] > 0) & (session >= p["training_session"])
    attunement = np.where(trained, np.minimum(1.0, c["attunement"] + p["training_attunement"]),
                          c["attunement"])
    repair_skill = np.where(trained,
                            np.minimum(1.0, c["repair_skill"] + p["training_repair_skill"]),
                            c["repair_skill"])

    # 1. perceived pressure and strain
    pushed = c["pressure"] * (1.0 + p["transference_gain"] * d["sensitivity"])
    tolerance = (d["tolerance"] + p["tolerance_bond"] * d["bond"]
                 + p["tolerance_competence"] * d["need_competence"])
    strain_now = np.maximum(0.0, pushed - tolerance)

    # 2. rupture and its type
    p_rupture = _sigmoid(p["rupture_base"] + p["rupture_strain"] * strain_now
                         + p["rupture_weak_bond"] * (1.0 - d["bond"])
                         + p["rupture_sensitivity"] * d["sensitivity"]
                         + p["rupture_unresolved"] * d["strain"])
    ruptured = draw(SLOT_RUPTURE) < p_rupture
    p_confront = _sigmoid(p["confrontation_base"] + p["confrontation_hostility"] * d["hostility"])
    confront = ruptured & (draw(SLOT_TYPE) < p_confront)
    withdraw = ruptured & ~confront

    # 3. detection
    visibility = np.where(confront, 1.0, p["withdrawal_visibility"])
    detected = ruptured & (draw(SLOT_DETECT) < attunement * visibility)

    # 4. repair
    p_repair = _sigmoid(p["repair_base"] + p["repair_skill_weight"] * repair_skill
                        + p["repair_bond_weight"] * d["bond"]
                        + p["repair_warmth_weight"] * c["warmth"]
                        - p["repair_sensitivity_weight"] * d["sensitivity"])
    repaired = detected & (draw(SLOT_REPAIR) < p_repair)
    unrepaired = ruptured & ~repaired
    work = np.where(detected, 1.0 - p["repair_time"], 1.0)

    bond = d["bond"]
    bond = np.where(repaired, bond + p["repair_bond_gain"] * (1.0 - bond), bond)
    bond = np.where(unrepaired & confront, bond - p["bond_loss_confrontation"] * bond, bond)
    bond = np.where(unrepaired & withdraw, bond - p["bond_loss_withdrawal"] * bond, bond)
    d["strain"] = np.where(repaired, d["strain"] * (1.0 - p["repair_strain_relief"]), d["strain"])
    d["strain"] = np.where(unrepaired, d["strain"] + 1.0, d["strain"])
    d["trust"] = np.where(unrepaired, d["trust"] - p["trust_loss"] * d["trust"], d["trust"])
    d["sensitivity"] = np.where(repaired, d["sensitivity"] * (1.0 - p["corrective_experience"]),
                                d["sensitivity"])
    need_boost = np.where(repaired, p["repair_need_boost"], 0.0)
    engagement_kept = np.where(unrepaired & withdraw, 1.0 - p["withdrawal_engagement_loss"], 1.0)
    reported = ruptured & (draw(SLOT_REPORT) < np.where(confront, p["report_confrontation"],
                                                         p["report_withdrawal"]))

    d["rupture"] = np.select([confront, withdraw], [CONFRONTATION, WITHDRAWAL], 0)
    d["rupture_detected"] = detected
    d["rupture_repaired"] = repaired
    d["rupture_patient_reported"] = reported
    d["confrontations"] += confront
    d["withdrawals"] += withdraw
    d["detected"] += detected
    d["repaired"] += repaired
    d["reported"] += reported

    # 5. alliance growth
    wear = 1.0 - p["strain_wear"] * np.minimum(strain_now, 1.0)
    goal_drive = c["collaboration"] * (1.0 - p["goal_internalisation"]
                                       + p["goal_internalisation"] * d["internalisation"])
    d["goal"] = (d["goal"] + p["goal_rate"] * goal_drive * (1.0 - d["goal"])) * wear
    d["task"] = (d["task"] + p["task_rate"] * c["structure"] * d["need_competence"]
                 * (1.0 - d["task"])) * wear
    bond_drive = c["warmth"] * (d["trust"] + p["rapport_weight"] * d["rapport"]
                                * (1.0 - d["trust"]))
    d["bond"] = (bond + p["bond_rate"] * bond_drive * (1.0 - bond)) * wear
    d["trust"] = d["trust"] + p["trust_rate"] * c["warmth"] * (1.0 - d["trust"])
    perceived_bond = d["bond"] + p["rapport_weight"] * d["rapport"] * (1.0 - d["bond"])
    d["rapport"] = d["rapport"] * (1.0 - p["rapport_decay"])
    d["alliance"] = (d["goal"] + d["task"] + d["bond"]) / 3.0
    # this session's alliance state: random part plus felt improvement since intake
    state = (p["alliance_state_sd"] * z(SLOT_ALLIANCE_STATE)
             + p["felt_improvement_state"] * (d["symptoms_intake"] - symptoms))

    # 6. needs
    autonomy_given = np.minimum(
        1.0, c["collaboration"] * (1.0 - p["pressure_autonomy_cost"] * c["pressure"]) + need_boost)
    competence_given = 0.5 * (d["task"] + d["engagement"])
    relatedness_given = np.minimum(1.0, perceived_bond + need_boost)
    d["need_autonomy"] += p["need_rate"] * (autonomy_given - d["need_autonomy"])
    d["need_competence"] += p["need_rate"] * (competence_given - d["need_competence"])
    d["need_relatedness"] += p["need_rate"] * (relatedness_given - d["need_relatedness"])

    # 7. internalisation
    needs = (d["need_autonomy"] + d["need_competence"] + d["need_relatedness"]) / 3.0
    d["internalisation"] = np.clip(
        d["internalisation"] + p["internalisation_rate"] * (needs - d["internalisation"])
        - p["internalisation_pressure"] * c["pressure"] * d["internalisation"], 0.0, 1.0)

    # 8. engagement
    d["engagement"] = engagement_kept * _sigmoid(
        p["engagement_base"] + p["engagement_internalisation"] * d["internalisation"]
        + p["engagement_task"] * d["task"] + p["engagement_bond"] * d["bond"]
        - p["engagement_symptoms"] * symptoms + p["engagement_noise"] * z(SLOT_ENGAGEMENT_NOISE))

    # 9. symptoms over the week
    efficacy = np.clip(c["technique_efficacy"] + d["technique"] * p["technique_b_advantage"],
                       0.0, 1.0)
    relief = (p["technique_gain"] * efficacy * d["engagement"] * work
              + p["alliance_effect"] * d["alliance"] + p["alliance_state_effect"] * state
              + p["natural_recovery"])
    life_event = np.where(draw(SLOT_LIFE_EVENT) < p["life_event_rate"], p["life_event_size"], 0.0)
    symptoms_next = np.clip(symptoms * (1.0 - relief) + p["symptom_noise"] * z(SLOT_SYMPTOM_NOISE)
                            + life_event * (1.0 - symptoms), 0.0, 1.0)

    # 10. reverse path
    improvement = np.maximum(0.0, symptoms - symptoms_next)
    d["trust"] = np.clip(d["trust"] + p["improvement_trust"] * improvement * (1.0 - d["trust"]),
                         0.0, 1.0)
    d["need_competence"] = np.clip(
        d["need_competence"]
        + p["improvement_competence"] * improvement * (1.0 - d["need_competence"]), 0.0, 1.0)
    d["symptoms"] = symptoms_next

    # 12. observation
    d["wai_goal"] = wai_subscale_np(d["goal"] + state, p["wai_noise"] * z(SLOT_WAI_GOAL))
    d["wai_task"] = wai_subscale_np(d["task"] + state, p["wai_noise"] * z(SLOT_WAI_TASK))
    d["wai_bond"] = wai_subscale_np(perceived_bond + state, p["wai_noise"] * z(SLOT_WAI_BOND))
    d["wai_total"] = (d["wai_goal"] + d["wai_task"] + d["wai_bond"]) / 3.0
    d["sessions"] += 1
    d["alliance_sum"] += d["alliance"]
    d["engagement_sum"] += d["engagement"]
    d["wai_early"] = np.where(session == p["early_session"], d["wai_total"], d["wai_early"])

    # 11. ending
    completed = session >= p["max_sessions"]
    recovered = ~completed & (session >= p["min_sessions"]) & (
        symptoms_next < p["recovery_threshold"])
    hazard = _sigmoid(p["dropout_base"] + p["dropout_strain"] * d["strain"]
                      + p["dropout_alliance"] * (1.0 - d["alliance"])
                      + p["dropout_internalisation"] * (1.0 - d["internalisation"])
                      + p["dropout_confrontation"] * (unrepaired & confront))
    dropped = ~completed & ~recovered & (draw(SLOT_DROPOUT) < hazard)
    closing = symptom_score_np(symptoms_next, p["symptom_score_noise"] * z(SLOT_CLOSING))
    d["status"] = np.select([completed, recovered, dropped],
                            [COMPLETED, RECOVERED, DROPPED_OUT], ACTIVE)
    d["symptom_score_post"] = np.select([completed | recovered, dropped],
                                        [closing, d["symptom_score"]], d["symptom_score_post"])

    for name, values in d.items():
        dyads[name][idx] = values
    return int(idx.size)
