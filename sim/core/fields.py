"""Every field of a dyad and of a clinician, declared once.

A :class:`Field` says what a column of the model's arrays holds: its name, type, range, meaning and
*role*. Everything else is derived from this registry: the record dtypes the kernels read
(:data:`sim.core.state.DYAD_DTYPE`, :data:`sim.core.state.CLINICIAN_DTYPE`), the lane rows of the
session drivers and their loading and storing (:mod:`sim.core.codegen`), the Mesa agents' properties
(:mod:`agents`), the columns of the per-session panel, and the schema table in the docs
(:func:`markdown_table`). An extension (:mod:`sim.core.extension`) adds fields of its own.

Roles
-----
``id``
    Where the row belongs (keys, indices into other tables); set when a clinic is built.
``trait``
    Drawn once at intake, fixed afterwards.
``state``
    Latent state the session's phases change (:mod:`sim.core.equations`).
``observed``
    This session's instrument readings.
``event``
    This session's rupture events (codes or 0/1).
``count``
    Counts over the course of treatment.
``summary``
    Running summaries kept for the output tables.
``code``
    Categorical codes (``status``, ``technique``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

ROLES = ("id", "trait", "state", "observed", "event", "count", "summary", "code")

# Status codes (``dyad.status``).
ACTIVE, COMPLETED, RECOVERED, DROPPED_OUT = 0, 1, 2, 3
STATUS_NAMES = ("active", "completed", "recovered", "dropped_out")

# Rupture codes (``dyad.rupture``, this session).
NO_RUPTURE, WITHDRAWAL, CONFRONTATION = 0, 1, 2
RUPTURE_NAMES = ("none", "withdrawal", "confrontation")


@dataclass(frozen=True, slots=True)
class Field:
    """One column of the dyad or clinician arrays.

    Attributes
    ----------
    name : str
        Identifier, as kernels (``dyad.bond``), agents (``patient.bond``) and tables use it.
    dtype : str
        NumPy type code: ``f8`` (float64), ``i8``, ``i4``, ``i1`` or ``u8``.
    role : str
        One of :data:`ROLES`.
    meaning : str
        One-line meaning (the docs' schema table and the agents' property docstrings).
    low, high : float
        Range of values (``nan`` where unbounded or not numeric).
    panel : bool
        Whether the per-session panel carries it (each attended session's value).
    initial : float or None
        Value at intake; None for a field the intake equations set (``sim.core.state._intake``, or
        0 for an extension's field).
    summary : str
        Column of the per-dyad table that holds the field's value at the end of the course
        ("" for none; an extension's field defaults to its own name).
    """

    name: str
    dtype: str
    role: str
    meaning: str
    low: float = math.nan
    high: float = math.nan
    panel: bool = False
    initial: float | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"field '{self.name}': role must be one of {', '.join(ROLES)}, not '{self.role}'"
            )
        if self.dtype not in ("f8", "i8", "i4", "i1", "u8"):
            raise ValueError(
                f"field '{self.name}': dtype must be f8, i8, i4, i1 or u8, not '{self.dtype}'"
            )
        if not self.name.isidentifier():
            raise ValueError(f"field name '{self.name}' is not a Python identifier")

    @property
    def integer(self) -> bool:
        """Whether the field holds whole numbers (counts, codes, ids)."""
        return self.dtype != "f8"


def _unit(
    name: str, meaning: str, role: str = "state", panel: bool = True, summary: str = ""
) -> Field:
    return Field(name, "f8", role, meaning, 0.0, 1.0, panel=panel, summary=summary)


DYAD_FIELDS: tuple[Field, ...] = (
    # --- where the row belongs -------------------------------------------------------------
    Field("key", "u8", "id", "the dyad's key for the counter-based generator"),
    Field("row", "i8", "id", "row of the parameter table"),
    Field("clinician", "i8", "id", "row of the clinician table"),
    Field("point_id", "i8", "id", "design point", panel=True),
    Field("rep", "i8", "id", "replicate", panel=True),
    Field("clinician_id", "i8", "id", "clinician number within the clinic", panel=True),
    Field("patient_id", "i8", "id", "patient number within the clinic", panel=True),
    # --- patient traits, fixed from intake (sensitivity is state: repairs ease it) ----------
    _unit("severity", "symptom severity at intake", "trait", panel=False),
    _unit("hostility", "hostility/dominance (moves against: confrontation)", "trait", panel=False),
    _unit("autonomy", "baseline relative autonomy of motivation", "trait", panel=False),
    _unit("expectancy", "expectancy and hope at intake", "trait", panel=False),
    _unit("tolerance", "tolerance for difficult tasks", "trait", panel=False),
    _unit(
        "responsiveness",
        "responsiveness to treatment (share of the relief on offer it takes)",
        "trait",
        panel=False,
    ),
    Field(
        "rating_style",
        "f8",
        "trait",
        "the patient's own lean on every WAI-SR item, in WAI points (leniency, acquiescence)",
        -math.inf,
        math.inf,
    ),
    # --- latent state ------------------------------------------------------------------------
    _unit("rapport", "rapport: a fading spark of liking at the start"),
    _unit("trust", "trust in the clinician"),
    _unit("goal", "agreement on the goals of treatment (Bordin)"),
    _unit("task", "agreement on the tasks of treatment (Bordin)"),
    _unit("bond", "the affective bond (Bordin)"),
    _unit("alliance", "the alliance: mean of goal, task and bond"),
    Field(
        "strain",
        "f8",
        "state",
        "unresolved strain (grows with unrepaired ruptures)",
        0.0,
        math.inf,
        panel=True,
    ),
    _unit("need_autonomy", "satisfaction of the need for autonomy (SDT)"),
    _unit("need_competence", "satisfaction of the need for competence (SDT)"),
    _unit("need_relatedness", "satisfaction of the need for relatedness (SDT)"),
    _unit(
        "internalisation",
        "relative autonomy of motivation (internalisation, SDT)",
        summary="internalisation_final",
    ),
    _unit("engagement", "share of agreed tasks done (or doses taken) in the week"),
    _unit("symptoms", "latent symptom severity", summary="symptoms_final"),
    _unit("sensitivity", "interpersonal sensitivity (eased by repairs)"),
    # --- this session's instrument readings --------------------------------------------------
    Field(
        "wai_total",
        "f8",
        "observed",
        "WAI-SR-like total (mean of the subscales)",
        1.0,
        5.0,
        panel=True,
        summary="wai_final",
    ),
    Field("wai_goal", "f8", "observed", "WAI-SR-like goal subscale", 1.0, 5.0, panel=True),
    Field("wai_task", "f8", "observed", "WAI-SR-like task subscale", 1.0, 5.0, panel=True),
    Field("wai_bond", "f8", "observed", "WAI-SR-like bond subscale", 1.0, 5.0, panel=True),
    Field(
        "symptom_score",
        "f8",
        "observed",
        "PHQ-9-like score before the session",
        0.0,
        27.0,
        panel=True,
    ),
    # --- running summaries ------------------------------------------------------------------
    Field(
        "symptoms_session",
        "f8",
        "summary",
        "latent symptoms at the start of the latest session (what its score measures)",
        0.0,
        1.0,
    ),
    Field(
        "symptom_score_intake",
        "f8",
        "summary",
        "PHQ-9-like score at intake",
        0.0,
        27.0,
        summary="symptom_score_intake",
    ),
    Field(
        "symptom_score_post",
        "f8",
        "summary",
        "closing PHQ-9-like score (dropouts: last observation)",
        0.0,
        27.0,
        summary="symptom_score_post",
    ),
    Field(
        "wai_early",
        "f8",
        "summary",
        "WAI-SR-like total at the early session",
        1.0,
        5.0,
        summary="wai_early",
    ),
    Field(
        "alliance_sum",
        "f8",
        "summary",
        "latent alliance summed over attended sessions",
        0.0,
        math.inf,
    ),
    Field(
        "engagement_sum", "f8", "summary", "engagement summed over attended sessions", 0.0, math.inf
    ),
    Field(
        "symptoms_intake",
        "f8",
        "summary",
        "latent symptoms at intake",
        0.0,
        1.0,
        summary="symptoms_intake",
    ),
    # --- counts over the course ----------------------------------------------------------------
    Field("sessions", "i4", "count", "sessions attended", 0, math.inf, summary="sessions"),
    Field(
        "withdrawals",
        "i4",
        "count",
        "withdrawal ruptures so far",
        0,
        math.inf,
        summary="withdrawals",
    ),
    Field(
        "confrontations",
        "i4",
        "count",
        "confrontation ruptures so far",
        0,
        math.inf,
        summary="confrontations",
    ),
    Field(
        "detected",
        "i4",
        "count",
        "ruptures the clinician noticed so far",
        0,
        math.inf,
        summary="detected",
    ),
    Field("repaired", "i4", "count", "ruptures repaired so far", 0, math.inf, summary="repaired"),
    Field(
        "reported",
        "i4",
        "count",
        "ruptures the patient would report so far",
        0,
        math.inf,
        summary="reported",
    ),
    # --- codes ---------------------------------------------------------------------------------
    Field(
        "status",
        "i1",
        "code",
        "active, completed, recovered or dropped_out (as of the end of the session)",
        0,
        3,
        panel=True,
        summary="status",
    ),
    Field(
        "technique",
        "i1",
        "code",
        "0: the clinician's usual technique A; 1: B (a trial)",
        0,
        1,
        summary="technique",
    ),
    # --- this session's rupture events ----------------------------------------------------------
    Field(
        "rupture",
        "i1",
        "event",
        "this session's rupture: none, withdrawal or confrontation",
        0,
        2,
        panel=True,
    ),
    Field("rupture_detected", "i1", "event", "whether the clinician noticed it", 0, 1, panel=True),
    Field("rupture_repaired", "i1", "event", "whether it was repaired", 0, 1, panel=True),
    Field(
        "rupture_patient_reported",
        "i1",
        "event",
        "whether the patient would report it on a questionnaire",
        0,
        1,
        panel=True,
    ),
)
"""The core model's dyad fields, in record order."""

CLINICIAN_FIELDS: tuple[Field, ...] = (
    Field("key", "u8", "id", "the clinician's key for the counter-based generator"),
    Field("row", "i8", "id", "row of the parameter table"),
    Field("point_id", "i8", "id", "design point"),
    Field("rep", "i8", "id", "replicate"),
    Field("clinician_id", "i8", "id", "clinician number within the clinic"),
    _unit("warmth", "warmth (empathy, validation)", "trait", panel=False),
    _unit(
        "collaboration",
        "collaboration (shared goal setting, autonomy support)",
        "trait",
        panel=False,
    ),
    _unit("structure", "structure (clear, manageable, agreed tasks)", "trait", panel=False),
    _unit("pressure", "pressure (pushing its own agenda)", "trait", panel=False),
    _unit("attunement", "attunement (noticing rupture markers)", "trait", panel=False),
    _unit("repair_skill", "repair skill (metacommunication)", "trait", panel=False),
    _unit(
        "technique_efficacy",
        "efficacy of the clinician's specific techniques",
        "trait",
        panel=False,
    ),
)
"""The core model's clinician fields, in record order."""


def record_dtype(fields: Iterable[Field]) -> np.dtype:
    """Return the aligned record dtype of ``fields``, in their order."""
    return np.dtype([(f.name, np.dtype(f.dtype)) for f in fields], align=True)


def named(fields: Iterable[Field], *roles: str) -> tuple[str, ...]:
    """Return the names of the fields with one of ``roles``, in order."""
    return tuple(f.name for f in fields if f.role in roles)


def markdown_table(fields: Iterable[Field]) -> str:
    """Return a fields table as markdown (name, type, role, range, outputs, meaning)."""
    lines = [
        "| field | type | role | range | in the tables | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for f in fields:
        bounds = "" if math.isnan(f.low) else f"[{f.low:g}, {f.high:g}]"
        tables = [f"dyads: `{f.summary}`"] if f.summary else []
        tables += ["sessions"] if f.panel else []
        lines.append(
            f"| `{f.name}` | {np.dtype(f.dtype).name} | {f.role} | {bounds} | "
            f"{', '.join(tables)} | {f.meaning} |"
        )
    return "\n".join(lines)
