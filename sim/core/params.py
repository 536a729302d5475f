"""Every parameter of the model in one typed table, and validation of overrides.

Each :class:`Param` carries its default, bounds, unit, a one-line meaning and the rationale or
source of its default. The table is the single source of truth: the record dtype that kernels
read (:data:`PARAM_DTYPE`), the CLI's ``--set`` validation and the model document are all
derived from it.

Clinician and patient traits are drawn per agent from a logit-normal population distribution:
``trait = sigmoid(logit(centre) + spread * z)``. The parameter named after the trait (e.g.
``repair_skill``) is the population's median; ``<trait>_spread`` is the standard deviation on the
logit scale (0 makes every agent identical).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter override that names an unknown parameter or an inadmissible value."""


@dataclass(frozen=True, slots=True)
class Param:
    """One model parameter.

    Attributes
    ----------
    name : str
        Identifier used in code, sweeps and ``--set NAME=VALUE``.
    default : float
        Default value (calibrated where ``source`` says so).
    low, high : float
        Inclusive bounds of admissible values.
    unit : str
        Unit or scale of the value.
    meaning : str
        One-line meaning.
    source : str
        Rationale or literature source of the default.
    group : str
        ``clinic``, ``intervention``, ``clinician``, ``patient``, ``mechanism`` or
        ``instrument``.
    integer : bool
        Whether only whole numbers are admissible.
    """

    name: str
    default: float
    low: float
    high: float
    unit: str
    meaning: str
    source: str
    group: str
    integer: bool = False


_CAL = "calibrated to patterns P1-P14 by `alliance calibrate` (docs/MODEL.md, section 9)"
_EARLIER = "calibrated to P1-P9 in an earlier run, then held fixed (docs/MODEL.md, section 9)"
_SET = "set by hand, not fitted; held fixed by the calibration (docs/MODEL.md, section 9)"
_ASSUMED = "assumption; structural choice, varied in sensitivity analyses"


def _trait(
    name: str,
    centre: float,
    spread: float,
    group: str,
    meaning: str,
    source: str,
    spread_source: str | None = None,
):
    return (
        Param(name, centre, 0.0, 1.0, "0-1", f"population median of {meaning}", source, group),
        Param(
            f"{name}_spread",
            spread,
            0.0,
            5.0,
            "logit sd",
            f"between-{group} spread of {name} (sd on the logit scale)",
            spread_source or source,
            group,
        ),
    )


_TABLE: tuple[Param, ...] = (
    # --- clinic --------------------------------------------------------------------------
    Param(
        "n_clinicians",
        10,
        1,
        100_000,
        "clinicians",
        "clinicians in the clinic",
        "a mid-sized outpatient service",
        "clinic",
        integer=True,
    ),
    Param(
        "patients_per_clinician",
        20,
        1,
        100_000,
        "patients",
        "caseload of each clinician",
        "typical caseload over one treatment cycle",
        "clinic",
        integer=True,
    ),
    Param(
        "max_sessions",
        20,
        1,
        200,
        "sessions",
        "planned length of a course of treatment",
        "weekly psychotherapy of about 20 sessions (MODEL.md section 2)",
        "clinic",
        integer=True,
    ),
    Param(
        "min_sessions",
        6,
        1,
        200,
        "sessions",
        "sessions before an ending on recovery ('good enough') is possible (above "
        "max_sessions: none, every course runs its planned length)",
        "good-enough level model (Barkham et al. 2006)",
        "clinic",
        integer=True,
    ),
    Param(
        "early_session",
        3,
        1,
        200,
        "session",
        "session whose WAI is the 'early alliance'",
        "Flückiger et al. 2018 use early alliance, typically session 3",
        "instrument",
        integer=True,
    ),
    # --- interventions: a technique trial, rupture-resolution training (off by default) --------
    Param(
        "technique_b_share",
        0.0,
        0.0,
        1.0,
        "share",
        "share of patients randomised to technique B (0: no trial; see technique_by_clinician)",
        "technique_trial scenario; the source text's closing point on trials",
        "intervention",
    ),
    Param(
        "technique_b_advantage",
        0.0,
        -1.0,
        1.0,
        "efficacy units",
        "efficacy of technique B minus that of the clinician's usual technique A",
        "technique_trial scenario",
        "intervention",
    ),
    Param(
        "technique_by_clinician",
        0,
        0,
        1,
        "flag",
        "1: a clinician delivers one technique to the whole caseload (arms by different "
        "clinicians); 0: patients randomised within every caseload",
        "trial designs with clinicians nested in arms (alliance_in_trials study)",
        "intervention",
        integer=True,
    ),
    Param(
        "training_session",
        0,
        0,
        200,
        "session",
        "session from which every clinician is trained in rupture resolution (0: never)",
        "rupture-resolution training (Eubanks et al. 2018; repair_training study)",
        "intervention",
        integer=True,
    ),
    Param(
        "training_attunement",
        0.0,
        0.0,
        1.0,
        "0-1",
        "attunement gained by training (added, capped at 1)",
        "repair_training study",
        "intervention",
    ),
    Param(
        "training_repair_skill",
        0.0,
        0.0,
        1.0,
        "0-1",
        "repair skill gained by training (added, capped at 1)",
        "repair_training study",
        "intervention",
    ),
    # --- clinician traits ------------------------------------------------------------------
    *_trait("warmth", 0.6, 0.8, "clinician", "warmth (empathy, validation)", _SET),
    *_trait(
        "collaboration",
        0.55,
        0.5,
        "clinician",
        "collaboration (shared goal setting, autonomy support)",
        _SET,
    ),
    *_trait(
        "structure", 0.55, 0.5, "clinician", "structure (clear, manageable, agreed tasks)", _SET
    ),
    *_trait("pressure", 0.3, 0.6, "clinician", "pressure (pushing its own agenda)", _SET),
    *_trait(
        "attunement",
        0.5982,
        0.6,
        "clinician",
        "attunement (noticing rupture markers)",
        "therapists notice ruptures in more sessions than patients report them (Muran et "
        "al. 2009; pattern P13); " + _CAL,
        spread_source=_SET,
    ),
    *_trait("repair_skill", 0.5, 0.6, "clinician", "repair skill (metacommunication)", _SET),
    *_trait(
        "technique_efficacy",
        0.5,
        2.56,
        "clinician",
        "technique efficacy (help from specific techniques when the patient engages)",
        _SET,
        spread_source="therapist effects: about 5% of outcome variance lies between "
        "clinicians (Johns et al. 2019; pattern P11); " + _CAL,
    ),
    # --- patient traits --------------------------------------------------------------------
    *_trait(
        "severity",
        0.55,
        0.7007,
        "patient",
        "intake symptom severity (0.55 is about PHQ-9 15)",
        "routine-care intake PHQ-9 about 15 (Wakefield et al. 2021)",
        spread_source="intake PHQ-9 SD 4-5 in routine care (EMS82827 Table 3; pattern "
        "P14); " + _CAL,
    ),
    *_trait(
        "sensitivity",
        0.4,
        0.8,
        "patient",
        "interpersonal sensitivity (attachment insecurity, transference)",
        _SET,
    ),
    *_trait(
        "hostility", 0.3, 0.8, "patient", "hostility/dominance (moves against: confrontation)", _SET
    ),
    *_trait(
        "autonomy",
        0.471,
        1.953,
        "patient",
        "baseline relative autonomy of motivation",
        _EARLIER,
        spread_source=_CAL,
    ),
    *_trait(
        "expectancy",
        0.5,
        1.443,
        "patient",
        "expectancy and hope at intake",
        _SET,
        spread_source=_CAL,
    ),
    *_trait("tolerance", 0.35, 0.6, "patient", "tolerance for difficult tasks", _SET),
    *_trait(
        "responsiveness",
        0.3033,
        4.96,
        "patient",
        "responsiveness to treatment (the share of the relief on offer a patient takes)",
        "heterogeneous response: outcomes spread out after treatment, some recover fully "
        "and some do not move (EMS82827 Table 3; pattern P14); " + _CAL,
        spread_source=_CAL,
    ),
    Param(
        "clinician_common_skill",
        0.8878,
        0.0,
        1.0,
        "share of variance",
        "share of the between-clinician variance of warmth, collaboration, structure, "
        "attunement, repair skill and technique efficacy that is one general skill",
        "facilitative interpersonal skill predicts outcome across tasks (Anderson et al. "
        "2009; Schöttke et al. 2017); " + _CAL,
        "clinician",
    ),
    # --- step 1: perceived pressure and strain -----------------------------------------------
    Param(
        "transference_gain",
        1.0,
        0.0,
        5.0,
        "multiplier",
        "how much sensitivity amplifies perceived pressure (kappa)",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "tolerance_bond",
        0.3,
        0.0,
        2.0,
        "per unit bond",
        "tolerance gained from the bond (alliance as a secure context)",
        _SET,
        "mechanism",
    ),
    Param(
        "tolerance_competence",
        0.2,
        0.0,
        2.0,
        "per unit need",
        "tolerance gained from competence satisfaction",
        _SET,
        "mechanism",
    ),
    # --- step 2: rupture -------------------------------------------------------------------
    Param(
        "rupture_base",
        -1.004,
        -10.0,
        5.0,
        "logit",
        "log-odds of a rupture at no strain",
        _CAL,
        "mechanism",
    ),
    Param(
        "rupture_strain",
        3.0,
        0.0,
        20.0,
        "logit per unit",
        "strain's effect on rupture",
        _SET,
        "mechanism",
    ),
    Param(
        "rupture_weak_bond",
        1.5,
        0.0,
        10.0,
        "logit per unit",
        "effect of a weak bond (1 - B) on rupture",
        _SET,
        "mechanism",
    ),
    Param(
        "rupture_sensitivity",
        1.0,
        0.0,
        10.0,
        "logit per unit",
        "effect of interpersonal sensitivity on rupture",
        _SET,
        "mechanism",
    ),
    Param(
        "rupture_unresolved",
        0.2,
        0.0,
        5.0,
        "logit per unit",
        "effect of unresolved strain U on rupture",
        _SET,
        "mechanism",
    ),
    Param(
        "confrontation_base",
        -2.0,
        -10.0,
        10.0,
        "logit",
        "log-odds that a rupture is a confrontation at zero hostility",
        "withdrawal is the more frequent type (Eubanks et al. 2018)",
        "mechanism",
    ),
    Param(
        "confrontation_hostility",
        4.0,
        0.0,
        20.0,
        "logit per unit",
        "effect of hostility on the confrontation share",
        _ASSUMED,
        "mechanism",
    ),
    # --- step 3: detection -----------------------------------------------------------------
    Param(
        "withdrawal_visibility",
        0.9433,
        0.0,
        1.0,
        "probability factor",
        "how visible withdrawal markers are relative to confrontation (delta)",
        "withdrawal is subtle and often missed (Safran & Muran 2000); " + _CAL,
        "mechanism",
    ),
    # --- step 4: repair --------------------------------------------------------------------
    Param(
        "repair_base",
        -1.588,
        -10.0,
        10.0,
        "logit",
        "log-odds of a successful repair at zero",
        _CAL,
        "mechanism",
    ),
    Param(
        "repair_skill_weight",
        3.0,
        0.0,
        20.0,
        "logit per unit",
        "effect of repair skill on repair success",
        _SET,
        "mechanism",
    ),
    Param(
        "repair_bond_weight",
        1.5,
        0.0,
        20.0,
        "logit per unit",
        "effect of the current bond on repair success",
        _SET,
        "mechanism",
    ),
    Param(
        "repair_warmth_weight",
        1.0,
        0.0,
        20.0,
        "logit per unit",
        "effect of clinician warmth on repair success",
        _SET,
        "mechanism",
    ),
    Param(
        "repair_sensitivity_weight",
        1.0,
        0.0,
        20.0,
        "logit per unit",
        "how sensitivity hinders repair",
        _SET,
        "mechanism",
    ),
    Param(
        "repair_bond_gain",
        0.3,
        0.0,
        1.0,
        "share of the gap",
        "bond gained by a repair, as a share of 1 - B (above pre-rupture level)",
        "repaired ruptures strengthen the alliance (Safran & Muran 2000)",
        "mechanism",
    ),
    Param(
        "repair_strain_relief",
        0.7,
        0.0,
        1.0,
        "share",
        "share of unresolved strain removed by a repair",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "repair_need_boost",
        0.3,
        0.0,
        1.0,
        "need units",
        "autonomy and relatedness fed by a repair",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "corrective_experience",
        0.05,
        0.0,
        1.0,
        "share",
        "share of sensitivity eased by each repair (corrective experience)",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "repair_time",
        0.5,
        0.0,
        1.0,
        "share of session",
        "task work lost when the session turns to the rupture",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "bond_loss_confrontation",
        0.15,
        0.0,
        1.0,
        "share of bond",
        "bond lost after a missed or failed confrontation repair",
        _SET,
        "mechanism",
    ),
    Param(
        "bond_loss_withdrawal",
        0.07,
        0.0,
        1.0,
        "share of bond",
        "bond lost after a missed or failed withdrawal repair",
        _SET,
        "mechanism",
    ),
    Param(
        "withdrawal_engagement_loss",
        0.2435,
        0.0,
        1.0,
        "share",
        "engagement lost in the week after an unrepaired withdrawal",
        _CAL,
        "mechanism",
    ),
    Param(
        "trust_loss",
        0.1,
        0.0,
        1.0,
        "share of trust",
        "trust lost after an unrepaired rupture",
        _SET,
        "mechanism",
    ),
    # --- step 5: alliance growth ---------------------------------------------------------------
    Param(
        "alliance_initial",
        0.409,
        0.0,
        1.0,
        "0-1",
        "goal, task and bond at intake for an average-expectancy patient",
        _CAL,
        "mechanism",
    ),
    Param(
        "goal_rate",
        0.0502,
        0.0,
        1.0,
        "per session",
        "growth rate of goal agreement",
        _EARLIER,
        "mechanism",
    ),
    Param(
        "task_rate",
        0.1832,
        0.0,
        1.0,
        "per session",
        "growth rate of task agreement",
        _CAL,
        "mechanism",
    ),
    Param(
        "bond_rate", 0.0567, 0.0, 1.0, "per session", "growth rate of the bond", _CAL, "mechanism"
    ),
    Param(
        "goal_internalisation",
        0.5,
        0.0,
        1.0,
        "share",
        "how much goal agreement depends on internalised motivation",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "strain_wear",
        0.1411,
        0.0,
        1.0,
        "share per unit strain",
        "wear of goal, task and bond by this session's strain",
        _CAL,
        "mechanism",
    ),
    Param(
        "rapport_initial",
        0.5,
        0.0,
        1.0,
        "0-1",
        "initial rapport for a fully warm clinician",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "rapport_decay",
        0.3,
        0.0,
        1.0,
        "per session",
        "decay of rapport (a fading spark)",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "rapport_weight",
        0.5,
        0.0,
        1.0,
        "share",
        "rapport's weight in the perceived bond",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "trust_rate",
        0.1,
        0.0,
        1.0,
        "per session",
        "growth of trust with clinician warmth",
        _SET,
        "mechanism",
    ),
    Param(
        "alliance_state_sd",
        0.0481,
        0.0,
        1.0,
        "0-1 sd",
        "session-to-session variation of the alliance around the alliance built so far "
        "(its state-like part: how this session went)",
        _CAL,
        "mechanism",
    ),
    Param(
        "felt_improvement_state",
        0.5409,
        0.0,
        2.0,
        "state per unit improvement",
        "alliance state gained per unit of symptom improvement since intake (felt "
        "improvement: improving patients experience and rate the alliance higher)",
        _CAL,
        "mechanism",
    ),
    # --- step 6-7: needs and internalisation -------------------------------------------------
    Param(
        "need_initial", 0.4, 0.0, 1.0, "0-1", "need satisfaction at intake", _ASSUMED, "mechanism"
    ),
    Param(
        "need_rate",
        0.3,
        0.0,
        1.0,
        "per session",
        "weight of the latest session in each need (moving average)",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "pressure_autonomy_cost",
        0.8,
        0.0,
        1.0,
        "share",
        "how much clinician pressure undercuts the autonomy fed by collaboration",
        "controlling styles thwart autonomy (Ng et al. 2012)",
        "mechanism",
    ),
    Param(
        "internalisation_rate",
        0.05302,
        0.0,
        1.0,
        "per session",
        "pace at which internalisation follows need satisfaction",
        _CAL,
        "mechanism",
    ),
    Param(
        "internalisation_pressure",
        0.06296,
        0.0,
        1.0,
        "per session",
        "pull of controlling pressure on internalisation",
        _CAL,
        "mechanism",
    ),
    # --- step 8: engagement ----------------------------------------------------------------------
    Param(
        "engagement_base",
        -2.0,
        -10.0,
        10.0,
        "logit",
        "log-odds of doing the tasks at zero",
        _SET,
        "mechanism",
    ),
    Param(
        "engagement_internalisation",
        6.17,
        0.0,
        20.0,
        "logit per unit",
        "effect of internalisation on engagement",
        _CAL,
        "mechanism",
    ),
    Param(
        "engagement_task",
        3.493,
        0.0,
        20.0,
        "logit per unit",
        "effect of task agreement on engagement",
        _CAL,
        "mechanism",
    ),
    Param(
        "engagement_bond",
        0.415,
        0.0,
        20.0,
        "logit per unit",
        "effect of the bond on engagement",
        _CAL,
        "mechanism",
    ),
    Param(
        "engagement_symptoms",
        1.0,
        0.0,
        20.0,
        "logit per unit",
        "how symptoms hold engagement back",
        _SET,
        "mechanism",
    ),
    Param(
        "engagement_noise",
        1.316,
        0.0,
        5.0,
        "logit sd",
        "week-to-week noise in engagement",
        _CAL,
        "mechanism",
    ),
    # --- step 9: symptoms ----------------------------------------------------------------------
    Param(
        "technique_gain",
        0.08441,
        0.0,
        1.0,
        "share per session",
        "relative symptom reduction from techniques at full efficacy and engagement",
        _CAL,
        "mechanism",
    ),
    Param(
        "alliance_effect",
        0.0005763,
        0.0,
        1.0,
        "share per session",
        "relative symptom reduction from the alliance itself (acts on the next session)",
        _CAL,
        "mechanism",
    ),
    Param(
        "alliance_state_effect",
        0.0007254,
        0.0,
        2.0,
        "share per unit state",
        "relative symptom reduction in the week after a session per unit of its alliance "
        "state (the state-like alliance acting on the next session)",
        _CAL,
        "mechanism",
    ),
    Param(
        "remoralisation",
        0.6333,
        0.0,
        1.0,
        "share per session",
        "relative symptom reduction from renewed hope in the first week of treatment, "
        "before techniques can act, with a fully warm clinician (times the clinician's "
        "warmth and the patient's responsiveness)",
        "phase model: remoralisation comes first (Howard et al. 1993), hope instilled by "
        "a warm, credible helper (Frank & Frank 1991); " + _CAL,
        "mechanism",
    ),
    Param(
        "remoralisation_fade",
        0.5558,
        0.0,
        1.0,
        "per session",
        "what remains of remoralisation's relief from one week to the next",
        "most early change happens in the first sessions (Howard et al. 1986); " + _CAL,
        "mechanism",
    ),
    Param(
        "natural_recovery",
        0.0,
        0.0,
        1.0,
        "share per session",
        "relative symptom reduction without treatment (spontaneous remission)",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "symptom_noise",
        0.02877,
        0.0,
        1.0,
        "0-1 sd",
        "week-to-week noise in symptoms",
        _CAL,
        "mechanism",
    ),
    Param(
        "life_event_rate",
        0.03,
        0.0,
        1.0,
        "per week",
        "probability of a stressful life event",
        _ASSUMED,
        "mechanism",
    ),
    Param(
        "life_event_size",
        0.1,
        0.0,
        1.0,
        "0-1",
        "symptom rise from a life event",
        _ASSUMED,
        "mechanism",
    ),
    # --- step 10: reverse path ---------------------------------------------------------------
    Param(
        "improvement_trust",
        1.0,
        0.0,
        10.0,
        "per unit improvement",
        "trust gained from felt improvement (reverse path)",
        _SET,
        "mechanism",
    ),
    Param(
        "improvement_competence",
        1.0,
        0.0,
        10.0,
        "per unit improvement",
        "competence satisfaction gained from felt improvement (reverse path)",
        _SET,
        "mechanism",
    ),
    # --- step 11: ending -------------------------------------------------------------------------
    Param(
        "dropout_base",
        -8.013,
        -15.0,
        5.0,
        "logit",
        "log-odds of dropping out per session",
        _CAL,
        "mechanism",
    ),
    Param(
        "dropout_strain",
        0.3,
        0.0,
        10.0,
        "logit per unit",
        "effect of unresolved strain U",
        _SET,
        "mechanism",
    ),
    Param(
        "dropout_alliance",
        4.0,
        0.0,
        20.0,
        "logit per unit",
        "effect of a weak alliance (1 - A)",
        _SET,
        "mechanism",
    ),
    Param(
        "dropout_internalisation",
        1.0,
        0.0,
        20.0,
        "logit per unit",
        "effect of low internalisation (1 - I)",
        _SET,
        "mechanism",
    ),
    Param(
        "dropout_confrontation",
        1.5,
        0.0,
        10.0,
        "logit",
        "jump in dropout log-odds after an unrepaired confrontation",
        _SET,
        "mechanism",
    ),
    Param(
        "recovery_threshold",
        0.1595,
        0.0,
        1.0,
        "0-1 symptoms",
        "latent symptom level at which treatment ends as 'good enough' (0.25 is about PHQ-9 7)",
        "good-enough level: patients end when they feel well enough, mostly below PHQ-9 10 "
        "(Barkham et al. 2006); where exactly shapes the spread of outcomes (P14); " + _CAL,
        "mechanism",
    ),
    # --- step 12: instruments ------------------------------------------------------------------
    Param(
        "wai_noise",
        0.35,
        0.0,
        2.0,
        "WAI points (1-5)",
        "measurement error of a WAI-SR subscale",
        "WAI-SR subscale reliability about .85-.90 (Hatcher & Gillaspy 2006)",
        "instrument",
    ),
    Param(
        "wai_rating_style",
        0.8024,
        0.0,
        2.0,
        "WAI points (sd)",
        "between-patient sd of a patient's own lean on every WAI-SR item (leniency, "
        "acquiescence), unrelated to the alliance itself",
        "patients' ratings are skewed and reflect their rating style (Tracey & Kokotovic "
        "1989; Hatcher & Gillaspy 2006); why patient-level alliance differences predict "
        "outcome less than clinicians' (Baldwin et al. 2007); " + _CAL,
        "instrument",
    ),
    Param(
        "symptom_score_noise",
        2.0,
        0.0,
        10.0,
        "PHQ-9 points",
        "measurement error of the PHQ-9",
        "PHQ-9 test-retest reliability about .84 (Kroenke et al. 2001)",
        "instrument",
    ),
    Param(
        "report_confrontation",
        0.8,
        0.0,
        1.0,
        "probability",
        "probability that a patient reports a confrontation rupture",
        "patients report fewer ruptures than observers (Eubanks et al. 2018)",
        "instrument",
    ),
    Param(
        "report_withdrawal",
        0.3732,
        0.0,
        1.0,
        "probability",
        "probability that a patient reports a withdrawal rupture",
        "withdrawals are reported least (Eubanks et al. 2018); " + _CAL,
        "instrument",
    ),
)

PARAMS: dict[str, Param] = {p.name: p for p in _TABLE}
"""The parameter table, by name, in a fixed order."""

PARAM_DTYPE = np.dtype([(p.name, np.float64) for p in _TABLE])
"""Record dtype of one parameter row, as kernels read it (``row.repair_skill``)."""

CLINICIAN_TRAITS = (
    "warmth",
    "collaboration",
    "structure",
    "pressure",
    "attunement",
    "repair_skill",
    "technique_efficacy",
)
PATIENT_TRAITS = (
    "severity",
    "sensitivity",
    "hostility",
    "autonomy",
    "expectancy",
    "tolerance",
    "responsiveness",
)


def defaults(table: Mapping[str, Param] | None = None) -> dict[str, float]:
    """Return every parameter's default, by name (of ``table``: the core's by default)."""
    return {p.name: p.default for p in (table or PARAMS).values()}


def check_value(name: str, value: Any, table: Mapping[str, Param] | None = None) -> float:
    """Validate one parameter value and return it as a float.

    Parameters
    ----------
    name : str
        Parameter name.
    value : Any
        A number, or a string that parses as one (as given on a command line).
    table : mapping, optional
        The parameters by name (default: the core's :data:`PARAMS`; a model with extensions
        passes its composition's ``params``).

    Returns
    -------
    float
        The value, checked against the parameter's type and bounds.

    Raises
    ------
    ParameterError
        With one sentence naming the parameter and what is allowed.
    """
    table = PARAMS if table is None else table
    if name not in table:
        close = [n for n in table if n.startswith(name[:4])][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ParameterError(f"unknown parameter '{name}'{hint}; `alliance params` lists them all")
    p = table[name]
    allowed = _allowed(p)
    if isinstance(value, bool):
        raise ParameterError(f"parameter '{name}' must be {allowed}, not a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ParameterError(f"parameter '{name}' must be {allowed}, got '{value}'") from None
    if not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(
            f"parameter '{name}' must be {allowed}, got {type(value).__name__} {value!r}"
        )
    x = float(value)
    if math.isnan(x):
        raise ParameterError(f"parameter '{name}' must be {allowed}, got NaN")
    if p.integer and x != round(x):
        raise ParameterError(f"parameter '{name}' must be {allowed}, got {value}")
    if not p.low <= x <= p.high:
        raise ParameterError(f"parameter '{name}' must be {allowed}, got {value}")
    return x


def check_seed(seed: Any, where: str = "seed") -> int:
    """Return ``seed`` if it is a whole number from 0 (the one rule for every seed).

    Raises
    ------
    ParameterError
        Naming ``where`` and what is allowed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"{where} must be a whole number from 0, got {seed!r}")
    return int(seed)


def check_rows(rows: np.ndarray, table: Mapping[str, Param] | None = None) -> None:
    """Check ready-made parameter rows as :func:`check_value` checks one value.

    Raises
    ------
    ParameterError
        Naming the first row and parameter out of bounds, not whole where it must be, or NaN.
    """
    table = PARAMS if table is None else table
    for name, p in table.items():
        values = np.asarray(rows[name], dtype=np.float64)
        bad = ~((values >= p.low) & (values <= p.high))  # NaN fails both comparisons
        if p.integer:
            bad |= values != np.round(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ParameterError(
                f"parameter '{name}' of row {row} must be {_allowed(p)}, got {values[row]:g}"
            )


def _allowed(p: Param) -> str:
    kind = "a whole number" if p.integer else "a number"
    return f"{kind} from {p.low:g} to {p.high:g}"


def resolve(
    overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, float] | None = None,
    table: Mapping[str, Param] | None = None,
) -> dict[str, float]:
    """Return a complete, validated parameter set.

    Parameters
    ----------
    overrides : mapping, optional
        Values to change, by parameter name; each is validated with :func:`check_value`.
    base : mapping, optional
        Starting values (a scenario's); the table's defaults where omitted.
    table : mapping, optional
        The parameters by name (default: the core's; see :func:`check_value`).

    Returns
    -------
    dict
        Every parameter by name.
    """
    values = defaults(table)
    for source in (base or {}), (overrides or {}):
        for name, value in source.items():
            values[name] = check_value(name, value, table)
    return values


def to_row(values: Mapping[str, float]) -> np.ndarray:
    """Pack a complete parameter set into one record of :data:`PARAM_DTYPE`."""
    row = np.zeros(1, dtype=PARAM_DTYPE)
    for name in PARAMS:
        row[name] = values[name]
    return row


def markdown_table() -> str:
    """Return the parameter table as markdown (kept in docs/MODEL.md; a test checks it)."""
    lines = [
        "| parameter | default | bounds | unit | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for p in _TABLE:
        lines.append(
            f"| `{p.name}` | {p.default:g} | [{p.low:g}, {p.high:g}] | {p.unit} | "
            f"{p.meaning} | {p.source} |"
        )
    return "\n".join(lines)


def table() -> list[dict[str, Any]]:
    """Return the parameter table as a list of dicts (for docs, ``alliance params``, pandas)."""
    return [
        {
            "name": p.name,
            "default": p.default,
            "low": p.low,
            "high": p.high,
            "unit": p.unit,
            "group": p.group,
            "meaning": p.meaning,
            "source": p.source,
        }
        for p in _TABLE
    ]
