"""``alliance run``: one clinic to the end of treatment, its tables, figure and summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.runner.io import write_parquet, write_with
from experiments.science.outcomes import OUTCOMES
from experiments.science.plots import trajectories
from sim.core.batch import simulate


@dataclass
class ClinicSummary:
    """Headline figures of one clinic's run (what ``alliance run`` prints)."""

    patients: int
    completed: int
    recovered: int
    dropped_out: int
    sessions: int
    withdrawals_per_session: float
    confrontations_per_session: float
    reported_per_session: float
    detected_share: float
    repaired_share: float
    wai_early: float
    wai_final: float
    symptom_pre: float
    symptom_post: float
    pre_post_d: float

    def __str__(self) -> str:
        pct = 100.0 / max(self.patients, 1)
        return "\n".join(
            [
                f"patients                 {self.patients}",
                f"  completed              {self.completed} ({self.completed * pct:.1f}%)",
                f"  recovered              {self.recovered} ({self.recovered * pct:.1f}%)",
                f"  dropped out            {self.dropped_out} ({self.dropped_out * pct:.1f}%)",
                f"sessions attended        {self.sessions}",
                f"ruptures per session     withdrawal {self.withdrawals_per_session:.3f}, "
                f"confrontation {self.confrontations_per_session:.3f} "
                f"(patient-reported {self.reported_per_session:.3f})",
                f"ruptures detected        {self.detected_share:.1%}, "
                f"repaired {self.repaired_share:.1%}",
                f"alliance (WAI-SR 1-5)    session 3 {self.wai_early:.2f}, "
                f"end {self.wai_final:.2f}",
                f"symptoms (PHQ-9 0-27)    pre {self.symptom_pre:.1f}, "
                f"post {self.symptom_post:.1f}, "
                f"pre-post d {self.pre_post_d:.2f}",
            ]
        )


def summarise(dyads: pd.DataFrame) -> ClinicSummary:
    """Return the headline figures of a per-dyad summary table.

    Shares and the pre-post effect size are the registry's outcomes
    (:mod:`experiments.science.outcomes`), computed as everywhere else in the project.
    """
    status = dyads["status"].value_counts()
    sessions = int(dyads["sessions"].sum())
    pre, post = dyads["symptom_score_intake"], dyads["symptom_score_post"]
    both = pre.notna() & post.notna()
    per_session = 1.0 / max(sessions, 1)
    return ClinicSummary(
        patients=len(dyads),
        completed=int(status.get("completed", 0)),
        recovered=int(status.get("recovered", 0)),
        dropped_out=int(status.get("dropped_out", 0)),
        sessions=sessions,
        withdrawals_per_session=dyads["withdrawals"].sum() * per_session,
        confrontations_per_session=dyads["confrontations"].sum() * per_session,
        reported_per_session=dyads["reported"].sum() * per_session,
        detected_share=OUTCOMES["detected_share"].value(dyads),
        repaired_share=OUTCOMES["repaired_share"].value(dyads),
        wai_early=OUTCOMES["wai_early"].value(dyads),
        wai_final=float(dyads["wai_final"].mean()),
        symptom_pre=float(pre[both].mean()),
        symptom_post=float(post[both].mean()),
        pre_post_d=OUTCOMES["pre_post_d"].value(dyads),
    )


def run_clinic(*, seed: int, scenario: str, overrides: dict[str, float], out: Path) -> str:
    """Simulate one clinic, write ``dyads.parquet``, ``sessions.parquet``, ``trajectories.png``.

    Returns
    -------
    str
        The printed summary, ending with where the files are.
    """
    result = simulate(overrides, seed=seed, scenario=scenario, record_sessions=True, parallel=True)
    assert result.sessions is not None
    write_parquet(result.dyads, out / "dyads.parquet")
    write_parquet(result.sessions, out / "sessions.parquet")
    write_with(lambda tmp: trajectories(result.sessions, tmp), out / "trajectories.png")
    summary = summarise(result.dyads)
    return (
        f"scenario {scenario}, seed {seed}\n{summary}\n"
        f"wrote {out / 'dyads.parquet'}, {out / 'sessions.parquet'}, "
        f"{out / 'trajectories.png'}"
    )
