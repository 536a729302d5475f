"""Dyad and clinician state as NumPy record arrays, and building a clinic's initial state.

One row per dyad (patient with their clinician) holds the patient's traits, the dyad's latent
state, this session's events and observations, and running summaries; one row per clinician holds
the clinician's traits. Kernels read and write these rows in place (``dyad.bond``); the Mesa
agents are views onto them; the batch path turns them into tables.

All random draws at initialisation come from the counter-based generator keyed by each agent's
key (session 0 of its counter space: trait ``k`` in table order uses counter ``k``), so a Mesa
model and a sweep point built with the same seed
hold the same patients and clinicians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim import rng
from sim.jit import jit
from sim.params import CLINICIAN_TRAITS, PARAM_DTYPE, PATIENT_TRAITS

# Status codes (``dyad.status``).
ACTIVE, COMPLETED, RECOVERED, DROPPED_OUT = 0, 1, 2, 3
STATUS_NAMES = ("active", "completed", "recovered", "dropped_out")

# Rupture codes (``dyad.rupture``, this session).
NO_RUPTURE, WITHDRAWAL, CONFRONTATION = 0, 1, 2
RUPTURE_NAMES = ("none", "withdrawal", "confrontation")

LATENT_FIELDS = (
    "rapport", "trust", "goal", "task", "bond", "alliance", "strain", "need_autonomy",
    "need_competence", "need_relatedness", "internalisation", "engagement", "symptoms",
    "sensitivity",
)
"""Latent dyad state (all in [0, 1] except ``strain``, which is >= 0)."""

OBSERVED_FIELDS = ("wai_total", "wai_goal", "wai_task", "wai_bond", "symptom_score")
"""This session's instrument readings (WAI-SR-like 1-5, PHQ-9-like 0-27)."""

EVENT_FIELDS = ("rupture", "rupture_detected", "rupture_repaired", "rupture_patient_reported")
"""This session's rupture events."""

COUNT_FIELDS = ("sessions", "withdrawals", "confrontations", "detected", "repaired", "reported")
"""Counts over the course of treatment."""

SUMMARY_FIELDS = ("symptoms_session", "symptom_score_intake", "symptom_score_post", "wai_early",
                  "alliance_sum", "engagement_sum", "symptoms_intake")
"""Running summaries kept for the tables (``symptoms_session``: latent symptoms at the start of
the latest session, which its ``symptom_score`` measures; ``symptoms`` has moved on a week)."""

DYAD_DTYPE = np.dtype(
    [("key", np.uint64), ("row", np.int64), ("clinician", np.int64), ("point_id", np.int64),
     ("rep", np.int64), ("clinician_id", np.int64), ("patient_id", np.int64)]
    + [(t, np.float64) for t in PATIENT_TRAITS if t != "sensitivity"]
    + [(f, np.float64) for f in LATENT_FIELDS]
    + [(f, np.float64) for f in OBSERVED_FIELDS]
    + [(f, np.float64) for f in SUMMARY_FIELDS]
    + [(f, np.int32) for f in COUNT_FIELDS]
    + [("status", np.int8), ("technique", np.int8)]
    + [(f, np.int8) for f in EVENT_FIELDS],
    align=True,
)
"""Record dtype of one dyad row. ``sensitivity`` is state (repairs ease it), the other patient
traits are fixed; ``technique`` is 0 (the clinician's usual technique, A) or 1 (B, in a trial);
``row`` indexes the parameter table, ``clinician`` the clinician table."""

CLINICIAN_DTYPE = np.dtype(
    [("key", np.uint64), ("row", np.int64), ("point_id", np.int64), ("rep", np.int64),
     ("clinician_id", np.int64)]
    + [(t, np.float64) for t in CLINICIAN_TRAITS],
    align=True,
)
"""Record dtype of one clinician row."""


@dataclass
class Clinics:
    """The arrays of one or more clinics, ready for the session kernel.

    Attributes
    ----------
    dyads : numpy.ndarray
        Records of :data:`DYAD_DTYPE`, one per patient.
    clinicians : numpy.ndarray
        Records of :data:`CLINICIAN_DTYPE`.
    params : numpy.ndarray
        Records of :data:`~sim.params.PARAM_DTYPE`, one per parameter row.
    session : int
        Sessions run so far.
    """

    dyads: np.ndarray
    clinicians: np.ndarray
    params: np.ndarray
    session: int = 0

    @property
    def max_sessions(self) -> int:
        """Return the longest course among the parameter rows."""
        return int(self.params["max_sessions"].max())


def build(params: np.ndarray, seed: int, point_ids: np.ndarray | None = None,
          reps: np.ndarray | None = None, rows: np.ndarray | None = None) -> Clinics:
    """Build and initialise clinics, one per (point, replicate).

    Parameters
    ----------
    params : numpy.ndarray
        Parameter rows (:data:`~sim.params.PARAM_DTYPE`).
    seed : int
        Root seed of the study.
    point_ids, reps : numpy.ndarray, optional
        Point id and replicate number of each clinic (default: one clinic per row, replicate 0,
        point id = row index).
    rows : numpy.ndarray, optional
        Parameter row of each clinic (default: ``arange(len(params))``).

    Returns
    -------
    Clinics
        Initialised arrays (session 0: intake state, nothing observed yet).
    """
    if params.dtype != PARAM_DTYPE:
        raise TypeError("params must be records of sim.params.PARAM_DTYPE")
    rows = np.arange(len(params)) if rows is None else np.asarray(rows, dtype=np.int64)
    point_ids = rows.copy() if point_ids is None else np.asarray(point_ids, dtype=np.int64)
    reps = np.zeros_like(rows) if reps is None else np.asarray(reps, dtype=np.int64)
    n_clin = params["n_clinicians"][rows].astype(np.int64)
    per_clin = params["patients_per_clinician"][rows].astype(np.int64)

    # Clinicians: one row per (clinic, clinician id), all index arithmetic vectorised.
    clinic_of_clin = np.repeat(np.arange(len(rows)), n_clin)
    clin_start = np.concatenate(([0], np.cumsum(n_clin)[:-1]))
    clinicians = np.zeros(len(clinic_of_clin), dtype=CLINICIAN_DTYPE)
    clinicians["row"] = rows[clinic_of_clin]
    clinicians["point_id"] = point_ids[clinic_of_clin]
    clinicians["rep"] = reps[clinic_of_clin]
    clinicians["clinician_id"] = np.arange(len(clinic_of_clin)) - clin_start[clinic_of_clin]

    # Dyads: each clinician's caseload, in clinician order.
    caseload = per_clin[clinic_of_clin]
    clin_of_dyad = np.repeat(np.arange(len(clinicians)), caseload)
    dyads = np.zeros(len(clin_of_dyad), dtype=DYAD_DTYPE)
    first_of_clin = np.concatenate(([0], np.cumsum(caseload)[:-1]))
    dyads["clinician"] = clin_of_dyad
    for name in ("row", "point_id", "rep", "clinician_id"):
        dyads[name] = clinicians[name][clin_of_dyad]
    within = np.arange(len(dyads)) - first_of_clin[clin_of_dyad]
    dyads["patient_id"] = dyads["clinician_id"] * per_clin[clinic_of_clin][clin_of_dyad] + within

    run_keys = rng.combine_np(rng.combine_np(rng.root_key(seed), point_ids), reps)
    clin_keys = rng.combine_np(run_keys[clinic_of_clin], clinicians["clinician_id"])
    clinicians["key"] = rng.combine_np(clin_keys, rng.CLINICIAN_TAG)
    dyads["key"] = rng.combine_np(rng.combine_np(clin_keys[clin_of_dyad], 1), within)

    initialise(dyads, clinicians, params)
    return Clinics(dyads=dyads, clinicians=clinicians, params=params)


@jit
def _trait(centre, spread, z):
    """Return a logit-normal trait with median ``centre`` and logit-scale sd ``spread``."""
    if centre <= 0.0:
        return 0.0
    if centre >= 1.0:
        return 1.0
    return 1.0 / (1.0 + math.exp(-(math.log(centre / (1.0 - centre)) + spread * z)))


@jit
def initialise(dyads, clinicians, params):
    """Draw every trait and set the intake state (session 0 of each agent's counters)."""
    for j in range(clinicians.shape[0]):
        c = clinicians[j]
        p = params[c.row]
        k = c.key
        c.warmth = _trait(p.warmth, p.warmth_spread, rng.normal(k, 0))
        c.collaboration = _trait(p.collaboration, p.collaboration_spread, rng.normal(k, 1))
        c.structure = _trait(p.structure, p.structure_spread, rng.normal(k, 2))
        c.pressure = _trait(p.pressure, p.pressure_spread, rng.normal(k, 3))
        c.attunement = _trait(p.attunement, p.attunement_spread, rng.normal(k, 4))
        c.repair_skill = _trait(p.repair_skill, p.repair_skill_spread, rng.normal(k, 5))
        c.technique_efficacy = _trait(p.technique_efficacy, p.technique_efficacy_spread,
                                      rng.normal(k, 6))
    for i in range(dyads.shape[0]):
        d = dyads[i]
        p = params[d.row]
        c = clinicians[d.clinician]
        k = d.key
        d.severity = _trait(p.severity, p.severity_spread, rng.normal(k, 0))
        d.sensitivity = _trait(p.sensitivity, p.sensitivity_spread, rng.normal(k, 1))
        d.hostility = _trait(p.hostility, p.hostility_spread, rng.normal(k, 2))
        d.autonomy = _trait(p.autonomy, p.autonomy_spread, rng.normal(k, 3))
        d.expectancy = _trait(p.expectancy, p.expectancy_spread, rng.normal(k, 4))
        d.tolerance = _trait(p.tolerance, p.tolerance_spread, rng.normal(k, 5))
        # Trial arm: randomised per patient, or per clinician when arms have their own
        # clinicians (counter 7 of the clinician's key, after its seven traits).
        arm_draw = rng.uniform(c.key, 7) if p.technique_by_clinician else rng.uniform(k, 6)
        d.technique = 1 if arm_draw < p.technique_b_share else 0
        d.rapport = p.rapport_initial * c.warmth
        d.trust = d.expectancy
        start = min(1.0, p.alliance_initial * (0.5 + d.expectancy))
        d.goal = start
        d.task = start
        d.bond = start
        d.alliance = start
        d.strain = 0.0
        d.need_autonomy = p.need_initial
        d.need_competence = p.need_initial
        d.need_relatedness = p.need_initial
        d.internalisation = d.autonomy
        d.engagement = 0.0
        d.symptoms = d.severity
        d.symptoms_intake = d.severity
        d.symptoms_session = d.severity
        d.wai_total = math.nan
        d.wai_goal = math.nan
        d.wai_task = math.nan
        d.wai_bond = math.nan
        d.symptom_score = math.nan
        d.symptom_score_intake = math.nan
        d.symptom_score_post = math.nan
        d.wai_early = math.nan
        d.status = ACTIVE
