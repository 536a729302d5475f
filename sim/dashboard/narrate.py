"""The event log in plain words: sentences generated from a dyad's panel rows.

:func:`narrate` is a pure function of one dyad's per-session panel rows (the schema of
``sessions.parquet``, see :data:`sim.core.batch.PANEL_FIELDS`, plus a session-0 intake row if there
is one) and, optionally, its clinician's traits. Every claim in a sentence is read off the rows: the
bond before a rupture is the previous row's bond, after it the rupture row's; the clinician
"acknowledged pushing too hard" only if its pressure is high. Rows may carry rupture and status as
names (``"withdrawal"``, as in the panel table) or as codes (as in the record arrays).

Examples
--------
>>> rows = [
...     {"session": 4, "bond": 0.50, "rupture": "none", "status": "active"},
...     {"session": 5, "bond": 0.58, "rupture": "withdrawal", "rupture_detected": True,
...      "rupture_repaired": True, "status": "active"},
... ]
>>> narrate(rows, clinician={"pressure": 0.7})[0]
'Session 5 — Withdrawal (the patient went quiet and agreed too readily): noticed and repaired \
(the clinician acknowledged pushing too hard, explored, validated). Bond 0.50 → 0.58 (higher).'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.core.state import RUPTURE_NAMES, STATUS_NAMES

HIGH_PRESSURE = 0.5
"""Clinician pressure from which a repair is narrated as "acknowledged pushing too hard"."""

INTERNALISED = 0.5
"""Internalisation at which motivation counts as more "important to me" than "told to"."""

SAME = 0.005
"""Changes smaller than this (after rounding to two decimals) are narrated as "about the same"."""

_KINDS = {"withdrawal": "Withdrawal", "confrontation": "Confrontation"}
_MARKERS = {
    "withdrawal": "the patient went quiet and agreed too readily",
    "confrontation": "the patient criticised the clinician, questioned its competence",
}
"""What each rupture looks like, said the first time a log names it."""

STRAIN_EXPLAINED = (
    "unresolved strain: what ruptures left unrepaired leave behind; it makes "
    "the next rupture and dropping out likelier"
)
"""Said where "strain" first appears in a log."""

REPORT_EXPLAINED = (
    "asked after the session whether the collaboration broke down; clinicians "
    "learn of many ruptures only this way, and many are never reported"
)
"""Said where the questionnaire first appears in a log."""


def _name(value: Any, names: Sequence[str]) -> str:
    """Return a category's name from its name or its code."""
    if isinstance(value, str):
        return value
    return names[int(value)]


def _number(row: Mapping[str, Any], field: str) -> float:
    """Return ``row[field]`` as a float (NaN when missing)."""
    value = row.get(field)
    return math.nan if value is None else float(value)


def _change(before: float, after: float) -> str:
    """Return "higher"/"lower"/"about the same" for a change, judged on the shown decimals."""
    if round(after, 2) - round(before, 2) > SAME:
        return "higher"
    if round(before, 2) - round(after, 2) > SAME:
        return "lower"
    return "about the same"


def _score_phrase(score: float, intake: float, instrument: str) -> str:
    """Return e.g. "PHQ-9 at this session 9 (15 at intake)"."""
    if math.isnan(score):
        return ""
    text = f"{instrument} at this session {score:.0f}"
    return text if math.isnan(intake) else f"{text} ({intake:.0f} at intake)"


def _fate(kind: str, detected: bool, repaired: bool, pressure: float, explain: bool) -> str:
    """Return what the clinician did about a rupture (how it repairs, if ``explain``)."""
    acknowledged = (
        "acknowledged pushing too hard" if pressure >= HIGH_PRESSURE else "acknowledged its part"
    )
    if repaired:
        return (
            f"noticed and repaired (the clinician {acknowledged}, explored, validated)"
            if explain
            else "noticed and repaired"
        )
    if detected:
        return f"noticed (the clinician {acknowledged}), but the repair did not take hold"
    if kind == "withdrawal":
        return "not noticed (withdrawal is quiet)"
    return "not taken up by the clinician"


def _changes(
    before: Mapping[str, Any],
    row: Mapping[str, Any],
    kind: str,
    repaired: bool,
    engagement_noun: str,
    earlier: str,
) -> list[str]:
    """Return the rupture's numbers: bond, strain and follow-through, before → after."""
    parts = []
    bond_before, bond_after = _number(before, "bond"), _number(row, "bond")
    if not (math.isnan(bond_before) or math.isnan(bond_after)):
        change = _change(bond_before, bond_after)
        parts.append(f"bond {bond_before:.2f} → {bond_after:.2f} ({change})")
    strain_before, strain_after = _number(before, "strain"), _number(row, "strain")
    if (
        not (math.isnan(strain_before) or math.isnan(strain_after))
        and _change(strain_before, strain_after) != "about the same"
    ):
        note = "" if "strain" in earlier else f" ({STRAIN_EXPLAINED})"
        parts.append(f"strain {strain_before:.1f} → {strain_after:.1f}{note}")
    engaged_before, engaged_after = _number(before, "engagement"), _number(row, "engagement")
    if (
        not repaired
        and kind == "withdrawal"
        and before.get("session", 0) > 0
        and not (math.isnan(engaged_before) or math.isnan(engaged_after))
    ):
        noun = "" if "follow-through" in earlier else f" on {engagement_noun}"
        parts.append(f"follow-through{noun} {engaged_before:.0%} → {engaged_after:.0%}")
    return parts


def _rupture_sentences(
    before: Mapping[str, Any] | None,
    row: Mapping[str, Any],
    kind: str,
    pressure: float,
    engagement_noun: str,
    earlier: str = "",
) -> str:
    """Return a rupture's line: what it was, what the clinician did, what changed."""
    detected = bool(row.get("rupture_detected", False))
    repaired = bool(row.get("rupture_repaired", False))
    what = _KINDS[kind]
    if f"{what} (" not in earlier:
        what = f"{what} ({_MARKERS[kind]})"
    explain_repair = "noticed and repaired (" not in earlier
    parts = [f"{what}: {_fate(kind, detected, repaired, pressure, explain_repair)}."]
    if before is not None:
        changes = _changes(before, row, kind, repaired, engagement_noun, earlier)
        if changes:
            text = "; ".join(changes)
            parts.append(text[0].upper() + text[1:] + ".")
    if "rupture_patient_reported" in row:
        verdict = "would" if row["rupture_patient_reported"] else "would not"
        if "questionnaire" in earlier:
            parts.append(f"Questionnaire: {verdict} report it.")
        else:
            parts.append(
                f"The patient {verdict} report it on a questionnaire ({REPORT_EXPLAINED})."
            )
    return " ".join(parts)


def _ending_sentence(
    row: Mapping[str, Any],
    status: str,
    rows_so_far: Sequence[Mapping],
    instrument: str,
    outcome: str,
    engagement_noun: str,
) -> str:
    intake = next(
        (
            _number(r, "symptom_score")
            for r in rows_so_far
            if not math.isnan(_number(r, "symptom_score"))
        ),
        math.nan,
    )
    score = _score_phrase(_number(row, "symptom_score"), intake, instrument)
    engagement = _number(row, "engagement")
    if outcome == "adherence" and not math.isnan(engagement):
        result = f"in the last interval the patient took {engagement:.0%} of {engagement_noun}"
    else:
        result = score
    tail = f"; {result}." if result else "."
    if status == "dropped_out":
        unrepaired = sum(
            1
            for r in rows_so_far
            if _name(r.get("rupture", 0), RUPTURE_NAMES) != "none"
            and not r.get("rupture_repaired", False)
        )
        alliance = _number(row, "alliance")
        alliance_text = "" if math.isnan(alliance) else f" with the alliance at {alliance:.2f}"
        ruptures = (
            "no unrepaired rupture"
            if unrepaired == 0
            else f"{unrepaired} unrepaired rupture{'s' if unrepaired > 1 else ''}"
        )
        return (
            f"the patient did not come back after this session: dropped out{alliance_text} "
            f"and {ruptures} so far{tail}"
        )
    if status == "recovered":
        return f'treatment ended early, on recovery ("good enough"){tail}'
    return f"the planned course of treatment ended{tail}"


def narrate_session(
    before: Mapping[str, Any] | None,
    row: Mapping[str, Any],
    rows_so_far: Sequence[Mapping[str, Any]] = (),
    *,
    clinician: Mapping[str, float] | None = None,
    instrument: str = "PHQ-9",
    outcome: str = "symptoms",
    engagement_noun: str = "the agreed tasks",
    earlier: str = "",
) -> list[str]:
    """Return the log lines of one session (none if nothing notable happened).

    Parameters
    ----------
    before : mapping or None
        The previous row (the previous session, or the intake row), ``None`` if unknown.
    row : mapping
        This session's panel row.
    rows_so_far : sequence of mappings
        All rows up to and including ``row`` (for counts and the intake score).
    clinician : mapping, optional
        The clinician's traits; ``pressure`` decides how a repair is worded.
    instrument : str
        Name of the symptom instrument, e.g. ``"PHQ-9"``.
    outcome : str
        ``"symptoms"`` or ``"adherence"`` (see :class:`sim.core.scenarios.Scenario`).
    engagement_noun : str
        What engagement is a share of, e.g. ``"the agreed tasks"``.
    earlier : str
        The log's earlier lines: what they already explained (a rupture type, strain, the
        questionnaire, the tasks) is not explained again.

    Returns
    -------
    list of str
        Sentences starting with "Session N — ".
    """
    session = int(row["session"])
    if session == 0:
        return []
    prefix = f"Session {session} — "
    pressure = float((clinician or {}).get("pressure", 0.0))
    lines = []
    kind = _name(row.get("rupture", 0), RUPTURE_NAMES)
    if kind != "none":
        lines.append(
            prefix + _rupture_sentences(before, row, kind, pressure, engagement_noun, earlier)
        )

    if before is not None:
        was, now = _number(before, "internalisation"), _number(row, "internalisation")
        if was < INTERNALISED <= now:
            lines.append(
                prefix + "motivation is becoming the patient's own: from \"the "
                'clinician told me to" toward "it is important to me" '
                f"(internalisation {was:.2f} → {now:.2f})."
            )
        elif now < INTERNALISED <= was:
            lines.append(
                prefix + 'motivation slipped back toward "because I was told to" '
                f"(internalisation {was:.2f} → {now:.2f})."
            )

    status = _name(row.get("status", 0), STATUS_NAMES)
    if status != "active":
        lines.append(
            prefix
            + _ending_sentence(
                row, status, rows_so_far or [row], instrument, outcome, engagement_noun
            )
        )
    return lines


def narrate(
    rows: Sequence[Mapping[str, Any]],
    *,
    clinician: Mapping[str, float] | None = None,
    instrument: str = "PHQ-9",
    outcome: str = "symptoms",
    engagement_noun: str = "the agreed tasks",
) -> list[str]:
    """Return the event log of one dyad, one line per notable event, oldest first.

    Notable events: every rupture (its type, whether the clinician noticed and repaired it, the
    bond before and after, strain, and whether the patient would report it), internalisation
    crossing one half (either way), and the end of treatment (dropout, recovery, planned end).
    A line explains what no earlier line has: what a withdrawal or a confrontation looks like,
    strain (:data:`STRAIN_EXPLAINED`), the questionnaire (:data:`REPORT_EXPLAINED`) and which
    tasks "tasks done" counts; later lines are short.

    Parameters
    ----------
    rows : sequence of mappings
        One dyad's panel rows in session order, optionally starting with a session-0 intake row;
        each has at least ``session``, ``rupture`` and ``status``, and the fields a sentence
        uses (``bond``, ``strain``, ``engagement``, ``internalisation``, ``alliance``,
        ``symptom_score``, ``rupture_detected``, ``rupture_repaired``,
        ``rupture_patient_reported``).
    clinician, instrument, outcome, engagement_noun
        As in :func:`narrate_session`.

    Returns
    -------
    list of str
    """
    lines: list[str] = []
    for i, row in enumerate(rows):
        before = rows[i - 1] if i > 0 else None
        lines.extend(
            narrate_session(
                before,
                row,
                rows[: i + 1],
                clinician=clinician,
                instrument=instrument,
                outcome=outcome,
                engagement_noun=engagement_noun,
                earlier=" ".join(lines),
            )
        )
    return lines
