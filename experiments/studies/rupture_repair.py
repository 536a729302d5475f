"""The flagship study: how ruptures and repairs shape outcomes.

Design (``experiments/configs/rupture_repair.toml``): clinician repair skill x attunement x
pressure, every clinician of a point sharing those three traits, replicated clinics. The report
shows dropout and symptom change against repair skill by attunement, and the mean alliance
around a patient's first rupture, repaired versus missed (the V shape of Safran & Muran). Its
answer is computed from the results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.runner.io import write_text
from experiments.runner.store import Store
from experiments.science.report import figure, interval, markdown_table, save_figure
from experiments.science.summarize import summarize
from experiments.studies.common import committed_parts
from sim.core.batch import KEY_COLUMNS

QUESTION = (
    "How do a clinician's skill at repairing ruptures and attunement to their markers, "
    "under more or less pressure, shape dropout and symptom change; and what happens to "
    "the alliance around a rupture that is repaired rather than missed?"
)
WINDOW = (-3, 5)
"""Sessions before and after a first rupture shown in the trajectories."""
LEVELS = ("alliance", "bond", "wai_total")


def rupture_trajectories(root: Path, window: tuple[int, int] = WINDOW) -> pd.DataFrame:
    """Return mean alliance, bond and WAI by session offset from each patient's first rupture.

    Only patients whose first rupture came late enough to have ``-window[0]`` sessions before
    it are included; offsets are sessions attended (dropouts thin the later offsets). Computed
    part by part, so memory does not grow with the study.

    Returns
    -------
    pandas.DataFrame
        Index (``repaired``, ``offset``); columns the mean of each level and ``patients``.
    """
    keys = list(KEY_COLUMNS)
    total: pd.DataFrame | None = None
    for sessions in committed_parts(root, "sessions"):
        ruptures = sessions.loc[
            sessions["rupture"] != "none", [*keys, "session", "rupture_repaired"]
        ]
        first = ruptures.sort_values("session", kind="stable").drop_duplicates(keys)
        first = first[first["session"] > -window[0]].rename(
            columns={"session": "rupture_session", "rupture_repaired": "repaired"}
        )
        rows = sessions[[*keys, "session", *LEVELS]].merge(first, on=keys)
        rows["offset"] = rows["session"] - rows["rupture_session"]
        rows = rows[rows["offset"].between(*window)]
        grouped = rows.groupby(["repaired", "offset"])[list(LEVELS)]
        part = grouped.sum().join(grouped.size().rename("patients"))
        total = part if total is None else total.add(part, fill_value=0)
    if total is None:
        raise FileNotFoundError(f"'{root}' holds no recorded sessions")
    means = total[list(LEVELS)].div(total["patients"], axis=0)
    return means.join(total["patients"].astype(int))


def _by_repair_skill(
    summary: pd.DataFrame, outcome: str, path: Path, ylabel: str, scale: float = 1.0
) -> Path:
    pressures = sorted(summary["pressure"].unique())
    fig = figure(5 * len(pressures), 4)
    axes = fig.subplots(1, len(pressures), sharey=True, squeeze=False)
    for ax, pressure in zip(axes[0], pressures, strict=True):
        for attunement, rows in summary[summary["pressure"] == pressure].groupby("attunement"):
            rows = rows.sort_values("repair_skill")
            ax.plot(
                rows["repair_skill"],
                rows[outcome] * scale,
                marker="o",
                label=f"attunement {attunement:g}",
            )
            ax.fill_between(
                rows["repair_skill"],
                rows[f"{outcome}_low"] * scale,
                rows[f"{outcome}_high"] * scale,
                alpha=0.2,
            )
        ax.set_title(f"clinician pressure {pressure:g}")
        ax.set_xlabel("clinician repair skill")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def _trajectory_figure(trajectories: pd.DataFrame, path: Path) -> Path:
    fig = figure(10, 4)
    axes = fig.subplots(1, 2)
    labels = {True: "repaired", False: "missed or not repaired"}
    for repaired, rows in trajectories.groupby(level="repaired"):
        offsets = rows.index.get_level_values("offset")
        axes[0].plot(offsets, rows["alliance"], marker="o", label=labels[bool(repaired)])
        axes[1].plot(offsets, rows["wai_total"], marker="o", label=labels[bool(repaired)])
    for ax, label in zip(
        axes, ("mean latent alliance (0-1)", "mean WAI-SR total (1-5)"), strict=True
    ):
        ax.axvline(0, color="0.6", ls=":")
        ax.set_xlabel("sessions from the patient's first rupture")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def _change(trajectories: pd.DataFrame, repaired: bool, after: int = 2) -> float:
    rows = trajectories.xs(repaired, level="repaired")["alliance"]
    return float(rows.get(after, np.nan) - rows.get(-1, np.nan))


def answer(summary: pd.DataFrame, trajectories: pd.DataFrame) -> str:
    """Return the report's two-sentence answer, computed from the results."""
    skill = summary.groupby(["attunement", "repair_skill"])[
        ["dropout_rate", "symptom_change"]
    ].mean()
    low_a, high_a = skill.index.levels[0].min(), skill.index.levels[0].max()
    low_s, high_s = skill.index.levels[1].min(), skill.index.levels[1].max()

    def span(attunement: float, outcome: str) -> tuple[float, float]:
        return skill.loc[(attunement, low_s), outcome], skill.loc[(attunement, high_s), outcome]

    def moved(a: float, b: float) -> str:
        return "fell" if b < a else "rose" if b > a else "stayed"

    hi0, hi1 = span(high_a, "dropout_rate")
    lo0, lo1 = span(low_a, "dropout_rate")
    sc0, sc1 = span(high_a, "symptom_change")
    first = (
        f"Averaged over pressure, dropout {moved(hi0, hi1)} from {hi0:.1%} to {hi1:.1%} as "
        f"repair skill rose from {low_s:g} to {high_s:g} among clinicians with attunement "
        f"{high_a:g}, and {moved(lo0, lo1)} from {lo0:.1%} to {lo1:.1%} among those with "
        f"attunement {low_a:g}; with high attunement the mean PHQ-9 improvement went from "
        f"{sc0:.2f} to {sc1:.2f} points."
    )
    repaired, missed = _change(trajectories, True), _change(trajectories, False)
    second = (
        f"Two sessions after a patient's first rupture the mean latent alliance stood "
        f"{repaired:+.3f} against the session before it when the rupture was repaired, and "
        f"{missed:+.3f} when it was missed or not repaired."
    )
    return f"{first} {second}"


def report(root: Path) -> Path:
    """Build ``report.md`` and its figures from a finished rupture_repair sweep in ``root``."""
    root = Path(root)
    manifest = Store(root).read_manifest() or {}
    spec = manifest.get("spec", {})
    summary = summarize(root)
    trajectories = rupture_trajectories(root)
    figures = root / "figures"
    dropout_png = _by_repair_skill(
        summary, "dropout_rate", figures / "dropout.png", "dropout (%)", scale=100
    )
    change_png = _by_repair_skill(
        summary,
        "symptom_change",
        figures / "symptom_change.png",
        "PHQ-9 improvement, intake - post",
    )
    v_png = _trajectory_figure(trajectories, figures / "rupture_trajectories.png")
    table = summary.sort_values(["pressure", "attunement", "repair_skill"]).assign(
        dropout=lambda f: [
            interval(*r, scale=100)
            for r in zip(
                f["dropout_rate"], f["dropout_rate_low"], f["dropout_rate_high"], strict=True
            )
        ],
        improvement=lambda f: [
            interval(*r, fmt=".2f")
            for r in zip(
                f["symptom_change"], f["symptom_change_low"], f["symptom_change_high"], strict=True
            )
        ],
    )[
        [
            "pressure",
            "attunement",
            "repair_skill",
            "replicates",
            "dropout",
            "improvement",
            "repaired_share",
            "ruptures_per_session",
        ]
    ]
    patients = int(
        summary["replicates"].sum()
        * spec.get("fixed", {}).get("n_clinicians", 0)
        * spec.get("fixed", {}).get("patients_per_clinician", 0)
    )
    traj = trajectories.reset_index()
    text = f"""# Rupture and repair: how ruptures and repairs shape outcomes

## Question

{QUESTION}

## Design

A full grid of clinician repair skill x attunement x pressure
({len(summary)} points), {spec.get("replicates")} replicated clinics per point
({patients:,} simulated patients in all), scenario `{spec.get("scenario")}`, root seed
{spec.get("seed")}. Every clinician of a point has that point's repair skill, attunement and
pressure; their other traits and all patient traits vary as in the population. Intervals are
95% t-intervals over replicated clinics.

## Answer

{answer(summary, trajectories)}

## Dropout and symptom change against repair skill

![dropout]({dropout_png.relative_to(root)})

![symptom change]({change_png.relative_to(root)})

{markdown_table(table)}

## The alliance around a rupture

Mean alliance by sessions from each patient's first rupture (patients whose first rupture came
after session {-WINDOW[0]}), repaired versus missed or not repaired.

![rupture trajectories]({v_png.relative_to(root)})

{markdown_table(traj)}
"""
    return write_text(text, root / "report.md")
