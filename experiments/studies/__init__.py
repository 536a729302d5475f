"""Named studies: a sweep config in ``experiments/configs/`` plus a report built from its results.

``alliance study NAME --out DIR`` runs the sweep through the runner (so it scales and resumes)
and writes ``DIR/report.md`` with its figures. Each study module exposes ``report(root) -> Path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments.studies import (
    alliance_in_trials,
    autonomy_support,
    repair_training,
    rupture_repair,
    rupture_types,
    therapist_effects,
)


@dataclass(frozen=True)
class Study:
    """A named study: its question, config file and report builder."""

    name: str
    question: str
    report: Callable[[Path], Path]

    @property
    def config(self) -> Path:
        """The study's sweep spec."""
        return Path(__file__).resolve().parent.parent / "configs" / f"{self.name}.toml"


STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study("rupture_repair", rupture_repair.QUESTION, rupture_repair.report),
        Study("rupture_types", rupture_types.QUESTION, rupture_types.report),
        Study("therapist_effects", therapist_effects.QUESTION, therapist_effects.report),
        Study("repair_training", repair_training.QUESTION, repair_training.report),
        Study("alliance_in_trials", alliance_in_trials.QUESTION, alliance_in_trials.report),
        Study("autonomy_support", autonomy_support.QUESTION, autonomy_support.report),
    )
}
