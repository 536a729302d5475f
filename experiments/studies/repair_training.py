"""Study: training a clinic's clinicians in rupture resolution.

Compares an untrained clinic with clinics whose clinicians gain attunement and repair skill from
a chosen session on (``experiments/configs/repair_training.toml``): outcomes per clinic with
95% intervals over replicated clinics, and the share of ruptures noticed and repaired session
by session.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.runner.io import write_text
from experiments.runner.store import Store
from experiments.science.report import figure, interval, markdown_table, save_figure
from experiments.science.summarize import summarize
from experiments.studies.common import committed_parts

QUESTION = (
    "Does training a clinic's clinicians in rupture resolution (noticing ruptures and "
    "repairing them by metacommunication) reduce dropout and improve outcomes, and how "
    "much does it matter when the training comes?"
)


def arm_name(training_session: float) -> str:
    """Return a readable name for a design point."""
    return "untrained" if training_session == 0 else f"trained from session {training_session:g}"


def per_session(root: Path) -> pd.DataFrame:
    """Return, per arm and session, the share of ruptures noticed and repaired (part by part)."""
    design = pd.read_parquet(Store(root).design_path).set_index("point_id")
    total = None
    for sessions in committed_parts(root, "sessions"):
        ruptures = sessions[sessions["rupture"] != "none"]
        part = ruptures.groupby(["point_id", "session"])[
            ["rupture_detected", "rupture_repaired"]
        ].agg(["sum", "count"])
        total = part if total is None else total.add(part, fill_value=0)
    if total is None:
        raise FileNotFoundError(f"'{root}' holds no recorded sessions")
    shares = pd.DataFrame(
        {
            "noticed": total[("rupture_detected", "sum")] / total[("rupture_detected", "count")],
            "repaired": total[("rupture_repaired", "sum")] / total[("rupture_repaired", "count")],
        }
    ).reset_index()
    shares["arm"] = shares["point_id"].map(design["training_session"]).map(arm_name)
    return shares


def answer(summary: pd.DataFrame) -> str:
    """Return the two-sentence answer, computed from the results."""
    by_arm = summary.set_index("arm")
    base = by_arm.loc["untrained"]
    trained = by_arm.drop(index="untrained").sort_values("training_session")
    early, late = trained.iloc[0], trained.iloc[-1]
    verb = "cut" if early["dropout_rate"] < base["dropout_rate"] else "raised"
    early_gain = base["dropout_rate"] - early["dropout_rate"]
    late_gain = base["dropout_rate"] - late["dropout_rate"]
    share = late_gain / early_gain if early_gain else float("nan")
    return (
        f"Training from session {early['training_session']:g} {verb} dropout from "
        f"{base['dropout_rate']:.1%} to {early['dropout_rate']:.1%} and changed the mean "
        f"PHQ-9 improvement from {base['symptom_change']:.2f} to "
        f"{early['symptom_change']:.2f} points. Training from session "
        f"{late['training_session']:g} gave {late['dropout_rate']:.1%} dropout and "
        f"{late['symptom_change']:.2f} points: {share:.0%} of the reduction in dropout that "
        f"training from the start achieved."
    )


def report(root: Path) -> Path:
    """Build ``report.md`` and its figure from a finished repair_training sweep."""
    root = Path(root)
    spec = (Store(root).read_manifest() or {}).get("spec", {})
    summary = summarize(root)
    summary["arm"] = summary["training_session"].map(arm_name)
    shares = per_session(root)

    fig = figure(10, 4)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, what in zip(axes, ("noticed", "repaired"), strict=True):
        for arm, rows in shares.groupby("arm", sort=False):
            ax.plot(rows["session"], rows[what], marker="o", ms=3, label=arm)
        ax.set_xlabel("session")
        ax.set_ylabel(f"share of ruptures {what}")
        ax.legend(fontsize=8)
    figure_path = save_figure(fig, root / "figures" / "repair_training.png")

    table = summary.assign(
        dropout=[
            interval(*r, scale=100)
            for r in zip(
                summary["dropout_rate"],
                summary["dropout_rate_low"],
                summary["dropout_rate_high"],
                strict=True,
            )
        ],
        improvement=[
            interval(*r, fmt=".2f")
            for r in zip(
                summary["symptom_change"],
                summary["symptom_change_low"],
                summary["symptom_change_high"],
                strict=True,
            )
        ],
        repaired=[
            interval(*r, scale=100)
            for r in zip(
                summary["repaired_share"],
                summary["repaired_share_low"],
                summary["repaired_share_high"],
                strict=True,
            )
        ],
    )[["arm", "replicates", "dropout", "improvement", "repaired", "wai_early"]]
    fixed = spec.get("fixed", {})
    text = f"""# Rupture-resolution training

## Question

{QUESTION}

## Design

Clinics of {fixed.get("n_clinicians", 0):g} clinicians with
{fixed.get("patients_per_clinician", 0):g} patients each; training adds
{fixed.get("training_attunement", 0):g} to every clinician's attunement and
{fixed.get("training_repair_skill", 0):g} to their repair skill (capped at 1) from its session on.
{spec.get("replicates")} replicated clinics per arm; intervals are 95% t-intervals over clinics
(dropout and repaired share in %, improvement in PHQ-9 points).

## Answer

{answer(summary)}

## Outcomes by arm

{markdown_table(table)}

## Ruptures noticed and repaired, session by session

![repair training]({figure_path.relative_to(root)})
"""
    return write_text(text, root / "report.md")
