"""The compare card's words: what the two runs show, and, when they are identical, why.

The compare view runs the same patient (same seed, so the same luck) with two clinicians who
differ in one trait. Some traits act in every session (pressure, warmth, collaboration,
structure), so the two runs part at once. Attunement and repair skill act only at a rupture:
until one happens (attunement) or until the clinician notices one (repair skill) the two runs are
the same, number for number. :func:`why_identical` says so in plain words, read off the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.dashboard.model import LABELS

PANEL_FIELDS = (
    "goal",
    "task",
    "bond",
    "alliance",
    "strain",
    "engagement",
    "symptom_score",
    "internalisation",
    "rupture",
    "rupture_detected",
    "rupture_repaired",
    "status",
)
"""The fields the compare card's charts and sentence read."""

Rows = Sequence[Mapping[str, Any]]


def _same(a: Any, b: Any) -> bool:
    return a == b or (a != a and b != b)  # NaN equals NaN here: both unmeasured


def runs_identical(low: Rows, high: Rows) -> bool:
    """Return whether the two runs have the same rows in every field the card shows."""
    return len(low) == len(high) and all(
        _same(a[name], b[name]) for a, b in zip(low, high, strict=True) for name in PANEL_FIELDS
    )


def _ruptures(rows: Rows) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["rupture"] not in (0, "none")]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def why_identical(contrast: str, low: Rows, high: Rows, attunement: float) -> str:
    """Return why the two runs are identical so far, or ``""`` if they differ.

    Parameters
    ----------
    contrast : str
        The trait in which the two clinicians differ.
    low, high : sequence of mappings
        The two runs' panel rows (row 0 is the intake).
    attunement : float
        The attunement both clinicians share (unless it is the contrast).
    """
    if not runs_identical(low, high):
        return ""
    if len(low) <= 1:
        return (
            "Both runs start from the same intake: the same patient. Press Step to see them part."
        )
    name = LABELS[contrast].lower()
    ruptures = _ruptures(low)
    if contrast == "repair_skill":
        noticed = sum(bool(r["rupture_detected"]) for r in ruptures)
        if not ruptures:
            reason = "no rupture has happened yet"
        elif noticed == 0:
            reason = (
                f"the {_plural(len(ruptures), 'rupture')} so far went unnoticed "
                f"(attunement {attunement:.2f}; withdrawals are quiet)"
            )
        else:
            reason = "the noticed ruptures went the same way in both runs"
        return (
            f"The two runs are identical so far: repair skill acts only when the clinician "
            f"notices a rupture, and {reason}. Raise attunement and press Reset, or compare "
            "clinicians differing in attunement or pressure."
        )
    if contrast == "attunement":
        if not ruptures:
            return (
                "The two runs are identical so far: attunement acts only at a rupture, and "
                "none has happened yet. Keep stepping, or raise pressure and press Reset."
            )
        return (
            "The two runs are identical so far: attunement changes the chance of noticing "
            f"a rupture, and in the {_plural(len(ruptures), 'rupture')} so far the same "
            "luck decided both runs alike."
        )
    return (
        f"The two runs are identical so far: {name} has not changed any number the card shows yet."
    )


def _count(rows: Rows, field: str) -> int:
    return sum(bool(r[field]) for r in rows)


def compare_sentence(
    contrast: str, seed: int, low: Rows, high: Rows, values: tuple[float, float]
) -> str:
    """Return the compare card's summary: the two clinicians and what their runs show so far."""
    name = LABELS[contrast].lower()

    def pair(text_of: Any) -> str:
        return f"{text_of(low)} vs {text_of(high)}"

    return (
        f"Same patient, same seed ({seed}); the clinicians differ only in {name}: "
        f"{values[0]:.2f} (left) vs {values[1]:.2f} (right). So far: ruptures "
        f"{pair(lambda rows: len(_ruptures(rows)))}, repaired "
        f"{pair(lambda rows: _count(rows, 'rupture_repaired'))}, alliance "
        f"{pair(lambda rows: format(rows[-1]['alliance'], '.2f'))}."
    )
