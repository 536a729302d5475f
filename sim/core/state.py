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

from sim.core import rng
from sim.core.composition import CORE, Composition
from sim.core.fields import (  # noqa: F401  (status and rupture codes, re-exported)
    ACTIVE,
    COMPLETED,
    CONFRONTATION,
    DROPPED_OUT,
    DYAD_FIELDS,
    NO_RUPTURE,
    RECOVERED,
    RUPTURE_NAMES,
    STATUS_NAMES,
    WITHDRAWAL,
    named,
)
from sim.core.jit import jit

LATENT_FIELDS = named(DYAD_FIELDS, "state")
"""Latent dyad state (all in [0, 1] except ``strain``, which is >= 0)."""

OBSERVED_FIELDS = named(DYAD_FIELDS, "observed")
"""This session's instrument readings (WAI-SR-like 1-5, PHQ-9-like 0-27)."""

EVENT_FIELDS = named(DYAD_FIELDS, "event")
"""This session's rupture events."""

COUNT_FIELDS = named(DYAD_FIELDS, "count")
"""Counts over the course of treatment."""

SUMMARY_FIELDS = named(DYAD_FIELDS, "summary")
"""Running summaries kept for the tables (``symptoms_session``: latent symptoms at the start of
the latest session, which its ``symptom_score`` measures; ``symptoms`` has moved on a week)."""

DYAD_DTYPE = CORE.dyad_dtype
"""Record dtype of one dyad row of the core model (:data:`sim.core.fields.DYAD_FIELDS`)."""

CLINICIAN_DTYPE = CORE.clinician_dtype
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
        Records of :data:`~sim.core.params.PARAM_DTYPE`, one per parameter row.
    session : int
        Sessions run so far.
    composition : sim.core.composition.Composition
        The model (core and extensions) the arrays are laid out for.
    """

    dyads: np.ndarray
    clinicians: np.ndarray
    params: np.ndarray
    session: int = 0
    composition: Composition = CORE

    @property
    def max_sessions(self) -> int:
        """Return the longest course among the parameter rows."""
        return int(self.params["max_sessions"].max())


def build(
    params: np.ndarray,
    seed: int,
    point_ids: np.ndarray | None = None,
    reps: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    composition: Composition = CORE,
) -> Clinics:
    """Build and initialise clinics, one per (point, replicate).

    Parameters
    ----------
    params : numpy.ndarray
        Parameter rows (:data:`~sim.core.params.PARAM_DTYPE`).
    seed : int
        Root seed of the study.
    point_ids, reps : numpy.ndarray, optional
        Point id and replicate number of each clinic (default: one clinic per row, replicate 0,
        point id = row index).
    rows : numpy.ndarray, optional
        Parameter row of each clinic (default: ``arange(len(params))``).
    composition : sim.core.composition.Composition
        The model: its record dtypes, and its extensions' fields' initial values.

    Returns
    -------
    Clinics
        Initialised arrays (session 0: intake state, nothing observed yet).
    """
    if params.dtype != composition.param_dtype:
        raise TypeError(
            "params must be records of the composition's param_dtype "
            "(sim.core.params.PARAM_DTYPE for the core model)"
        )
    rows = np.arange(len(params)) if rows is None else np.asarray(rows, dtype=np.int64)
    point_ids = rows.copy() if point_ids is None else np.asarray(point_ids, dtype=np.int64)
    reps = np.zeros_like(rows) if reps is None else np.asarray(reps, dtype=np.int64)
    n_clin = params["n_clinicians"][rows].astype(np.int64)
    per_clin = params["patients_per_clinician"][rows].astype(np.int64)

    # Clinicians: one row per (clinic, clinician id), all index arithmetic vectorised.
    clinic_of_clin = np.repeat(np.arange(len(rows)), n_clin)
    clin_start = np.concatenate(([0], np.cumsum(n_clin)[:-1]))
    clinicians = np.zeros(len(clinic_of_clin), dtype=composition.clinician_dtype)
    clinicians["row"] = rows[clinic_of_clin]
    clinicians["point_id"] = point_ids[clinic_of_clin]
    clinicians["rep"] = reps[clinic_of_clin]
    clinicians["clinician_id"] = np.arange(len(clinic_of_clin)) - clin_start[clinic_of_clin]

    # Keys: run (point, replicate) -> clinician -> patient, hashed with the counter-based mixer.
    run_keys = rng.combine_np(rng.combine_np(rng.root_key(seed), point_ids), reps)
    clin_keys = rng.combine_np(run_keys[clinic_of_clin], clinicians["clinician_id"])
    clinicians["key"] = rng.combine_np(clin_keys, rng.CLINICIAN_TAG)
    initialise_clinicians(clinicians, params)

    # Dyads: each clinician's caseload, in clinician order, placed and initialised in one pass.
    caseload = per_clin[clinic_of_clin]
    dyads = np.zeros(int(caseload.sum()), dtype=composition.dyad_dtype)
    initialise_dyads(dyads, clinicians, params, clin_keys, caseload)
    extension = set(composition.extension_fields)
    for field in composition.dyad_fields:  # intake values declared in the field registry
        if field.initial is not None or field in extension:
            dyads[field.name] = field.initial or 0.0
    return Clinics(dyads=dyads, clinicians=clinicians, params=params, composition=composition)


@jit
def _logit(centre):
    """Return the logit of a population median in (0, 1) (0 at the bounds, where unused)."""
    if centre <= 0.0 or centre >= 1.0:
        return 0.0
    return math.log(centre / (1.0 - centre))


@jit
def _trait(centre, spread, z):
    """Return a logit-normal trait with median ``centre`` and logit-scale sd ``spread``."""
    return _trait_from_logit(centre, _logit(centre), spread, z)


@jit
def _trait_from_logit(centre, logit, spread, z):
    """Return :func:`_trait` given the median's logit (:func:`_logit`) as ``logit``.

    Patients take their rows' logits from :func:`_patient_logits`, computed once per row.
    """
    if centre <= 0.0:
        return 0.0
    if centre >= 1.0:
        return 1.0
    return 1.0 / (1.0 + math.exp(-(logit + spread * z)))


@jit
def _patient_logits(params):
    """Return the logits of each row's patient trait medians (rows x 7, in trait order)."""
    out = np.empty((params.shape[0], 7))
    for r in range(params.shape[0]):
        p = params[r]
        out[r, 0] = _logit(p.severity)
        out[r, 1] = _logit(p.sensitivity)
        out[r, 2] = _logit(p.hostility)
        out[r, 3] = _logit(p.autonomy)
        out[r, 4] = _logit(p.expectancy)
        out[r, 5] = _logit(p.tolerance)
        out[r, 6] = _logit(p.responsiveness)
    return out


@jit
def initialise_clinicians(clinicians, params):
    """Draw every clinician's traits (counters 0-6 and 8 of the clinician's key).

    Warmth, collaboration, structure, attunement, repair skill and technique efficacy share a
    general skill (counter 8): a share ``clinician_common_skill`` of each one's logit-scale
    variance is common to all six. Pressure is drawn alone. Clinicians are few (one per 20
    patients by default), so each takes its medians' logits itself (:func:`_trait`); patients
    share theirs per parameter row (:func:`_patient_logits`).
    """
    for j in range(clinicians.shape[0]):
        c = clinicians[j]
        p = params[c.row]
        k = c.key
        common = math.sqrt(p.clinician_common_skill) * rng.normal(k, 8)
        own = math.sqrt(1.0 - p.clinician_common_skill)
        c.warmth = _trait(p.warmth, p.warmth_spread, own * rng.normal(k, 0) + common)
        c.collaboration = _trait(
            p.collaboration, p.collaboration_spread, own * rng.normal(k, 1) + common
        )
        c.structure = _trait(p.structure, p.structure_spread, own * rng.normal(k, 2) + common)
        c.pressure = _trait(p.pressure, p.pressure_spread, rng.normal(k, 3))
        c.attunement = _trait(p.attunement, p.attunement_spread, own * rng.normal(k, 4) + common)
        c.repair_skill = _trait(
            p.repair_skill, p.repair_skill_spread, own * rng.normal(k, 5) + common
        )
        c.technique_efficacy = _trait(
            p.technique_efficacy, p.technique_efficacy_spread, own * rng.normal(k, 6) + common
        )


@jit
def initialise_dyads(dyads, clinicians, params, clinician_keys, caseload):
    """Place every clinician's patients (in clinician order) and set their intake state.

    Parameters
    ----------
    dyads : numpy.ndarray
        Zeroed records, ``caseload.sum()`` of them.
    clinicians : numpy.ndarray
        Initialised clinician records.
    params : numpy.ndarray
        Parameter rows.
    clinician_keys : numpy.ndarray
        Each clinician's key before its tag (patients' keys derive from it).
    caseload : numpy.ndarray
        Patients per clinician.
    """
    logits = _patient_logits(params)  # once per row, not once per patient
    i = 0
    for j in range(clinicians.shape[0]):
        c = clinicians[j]
        patients_key = rng.combine(clinician_keys[j], 1)
        for within in range(caseload[j]):
            d = dyads[i]
            d.clinician = j
            d.row = c.row
            d.point_id = c.point_id
            d.rep = c.rep
            d.clinician_id = c.clinician_id
            d.patient_id = c.clinician_id * caseload[j] + within
            d.key = rng.combine(patients_key, within)
            _intake(d, c, params[c.row], logits[c.row])
            i += 1


@jit
def _intake(d, c, p, m):
    """Draw a patient's traits (counters 0-8 of its key) and set the intake state.

    ``m`` holds the logits of the row's trait medians (severity ... tolerance).
    """
    k = d.key
    d.severity = _trait_from_logit(p.severity, m[0], p.severity_spread, rng.normal(k, 0))
    d.sensitivity = _trait_from_logit(p.sensitivity, m[1], p.sensitivity_spread, rng.normal(k, 1))
    d.hostility = _trait_from_logit(p.hostility, m[2], p.hostility_spread, rng.normal(k, 2))
    d.autonomy = _trait_from_logit(p.autonomy, m[3], p.autonomy_spread, rng.normal(k, 3))
    d.expectancy = _trait_from_logit(p.expectancy, m[4], p.expectancy_spread, rng.normal(k, 4))
    d.tolerance = _trait_from_logit(p.tolerance, m[5], p.tolerance_spread, rng.normal(k, 5))
    d.responsiveness = _trait_from_logit(
        p.responsiveness, m[6], p.responsiveness_spread, rng.normal(k, 7)
    )
    d.rating_style = p.wai_rating_style * rng.normal(k, 8)
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


def record_columns(
    records: np.ndarray, names: list[str] | tuple[str, ...], where: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Return contiguous copies of record fields, reading every record once.

    ``records[name]`` for each name separately reads the whole array once per field (a strided
    walk over every record's cache lines); gathering all fields in one pass over the records is
    several times faster for wide records such as :data:`DYAD_DTYPE`'s.

    Parameters
    ----------
    records : numpy.ndarray
        A one-dimensional, contiguous record array.
    names : sequence of str
        Fields to copy.
    where : numpy.ndarray, optional
        Indices of the records to take (default: all, in order).

    Returns
    -------
    dict
        ``name -> array`` of each field's dtype, in the order asked.
    """
    index = np.arange(len(records)) if where is None else np.asarray(where, dtype=np.int64)
    by_size: dict[int, list[tuple[str, np.dtype, int]]] = {}
    for name in names:
        dtype, offset = records.dtype.fields[name][:2]
        by_size.setdefault(dtype.itemsize, []).append((name, dtype, offset))
    columns: dict[str, np.ndarray] = {}
    itemsize = records.dtype.itemsize
    for size, fields in by_size.items():
        if (
            not records.flags.c_contiguous
            or itemsize % size
            or size not in (1, 2, 4, 8)
            or any(offset % size for _, _, offset in fields)
        ):
            for name, _, _ in fields:  # not word-aligned: NumPy's own (strided) copy
                columns[name] = records[name][index]
            continue
        words = records.view(np.dtype(f"u{size}")).reshape(len(records), itemsize // size)
        block = np.empty((len(fields), len(index)), dtype=words.dtype)
        _gather_words(words, np.array([offset // size for _, _, offset in fields]), index, block)
        for k, (name, dtype, _) in enumerate(fields):
            columns[name] = block[k].view(dtype)
    return {name: columns[name] for name in names}


@jit
def _gather_words(words, word_columns, index, out):
    """Set ``out[k, j] = words[index[j], word_columns[k]]``, record by record."""
    for j in range(index.shape[0]):
        row = index[j]
        for k in range(word_columns.shape[0]):
            out[k, j] = words[row, word_columns[k]]
