"""Study: therapist effects.

Clinics whose clinicians differ more or less in every trait (one spread for all seven, the design
``experiments/configs/therapist_effects.toml``). For each clinic: the share of the variance of
residualised outcome that lies between clinicians (ICC(1), one-way random-effects ANOVA with
unequal caseloads, as in therapist-effect studies; Baldwin & Imel 2013). Across clinics of a
point: whether the clinician-level part of the early alliance (the clinician's mean) or the
patient-level part (the patient's deviation from it) predicts outcome, as in Baldwin, Wampold &
Imel (2007).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.runner.io import write_text
from experiments.runner.store import Store
from experiments.science import multilevel
from experiments.science.multilevel import icc1
from experiments.science.report import figure, markdown_table, save_figure
from experiments.studies.common import committed_parts

QUESTION = (
    "How much of the outcome's variance lies between clinicians as they differ more, "
    "and is it the clinician's or the patient's part of the alliance that predicts "
    "outcome?"
)
CLINIC = ["point_id", "rep"]
CLINICIAN = [*CLINIC, "clinician_id"]
SLOPE = "PHQ-9 points better per WAI point"


def residualised_outcome(dyads: pd.DataFrame) -> pd.Series:
    """Return post-treatment PHQ-9 residualised on intake (OLS per clinic; lower = better)."""

    def residual(group: pd.DataFrame) -> pd.Series:
        slope, intercept = np.polyfit(group["symptom_score_intake"], group["symptom_score_post"], 1)
        return group["symptom_score_post"] - (intercept + slope * group["symptom_score_intake"])

    return dyads.groupby(CLINIC, group_keys=False)[
        ["symptom_score_intake", "symptom_score_post"]
    ].apply(residual)


def clinic_iccs(dyads: pd.DataFrame) -> pd.DataFrame:
    """Return the ICC of residualised outcome for every clinic."""
    d = dyads.dropna(subset=["symptom_score_intake", "symptom_score_post"]).copy()
    d["outcome"] = residualised_outcome(d)
    return (
        d.groupby(CLINIC)
        .apply(lambda c: icc1(c["outcome"], c["clinician_id"]), include_groups=False)
        .rename("icc")
        .reset_index()
    )


def alliance_levels(dyads: pd.DataFrame) -> pd.DataFrame:
    """Return the clinician-level and patient-level early-alliance slopes of each point.

    Pattern P12's statistic (:func:`experiments.science.multilevel.alliance_levels`, as Baldwin,
    Wampold & Imel 2007), pooling a point's clinics: PHQ-9 points of residualised improvement
    per WAI-SR point of the clinician's mean and of the patient's deviation from it, with
    cluster-bootstrap 95% intervals. Positive = a better alliance goes with more improvement.
    """
    rows = []
    for point, group in dyads.groupby("point_id"):
        found = multilevel.alliance_levels(group)
        for level, estimate in (
            ("clinician level", found.clinician_slope),
            ("patient level", found.patient_slope),
        ):
            rows.append(
                {
                    "point_id": point,
                    "level": level,
                    SLOPE: estimate.value,
                    "low": estimate.low,
                    "high": estimate.high,
                }
            )
    return pd.DataFrame(rows)


def _mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(np.mean(values))
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def report(root: Path) -> Path:
    """Build ``report.md`` and its figure from a finished therapist_effects sweep."""
    root = Path(root)
    spec = (Store(root).read_manifest() or {}).get("spec", {})
    design = pd.read_parquet(Store(root).design_path)
    design["spread"] = design["warmth_spread"]
    dyads = pd.concat(committed_parts(root, "runs"), ignore_index=True)
    iccs = clinic_iccs(dyads).merge(design[["point_id", "spread"]], on="point_id")
    icc_table = pd.DataFrame(
        [(spread, *_mean_ci(group["icc"].to_numpy())) for spread, group in iccs.groupby("spread")],
        columns=["clinician spread", "ICC", "low", "high"],
    )
    levels = alliance_levels(dyads).merge(design[["point_id", "spread"]], on="point_id")
    levels = levels.rename(columns={"spread": "clinician spread"}).drop(columns="point_id")
    levels = levels[["clinician spread", "level", SLOPE, "low", "high"]]

    fig = figure(10, 4)
    axes = fig.subplots(1, 2)
    axes[0].errorbar(
        icc_table["clinician spread"],
        icc_table["ICC"],
        yerr=[icc_table["ICC"] - icc_table["low"], icc_table["high"] - icc_table["ICC"]],
        marker="o",
        capsize=3,
    )
    axes[0].set_xlabel("spread of clinician traits (logit sd)")
    axes[0].set_ylabel("ICC of residualised outcome")
    for level, group in levels.groupby("level"):
        axes[1].errorbar(
            group["clinician spread"],
            group[SLOPE],
            yerr=[
                group[SLOPE] - group["low"],
                group["high"] - group[SLOPE],
            ],
            marker="o",
            capsize=3,
            label=level,
        )
    axes[1].axhline(0, color="0.6", lw=0.8)
    axes[1].set_xlabel("spread of clinician traits (logit sd)")
    axes[1].set_ylabel("PHQ-9 points better per WAI point")
    axes[1].legend()
    figure_path = save_figure(fig, root / "figures" / "therapist_effects.png")

    widest = icc_table.iloc[-1]
    at_widest = levels[levels["clinician spread"] == widest["clinician spread"]].set_index("level")
    text = f"""# Therapist effects

## Question

{QUESTION}

## Design

Clinics of {spec.get("fixed", {}).get("n_clinicians", 0):g} clinicians with
{spec.get("fixed", {}).get("patients_per_clinician", 0):g} patients each, whose clinicians' traits
all have the same spread (logit sd {", ".join(f"{s:g}" for s in icc_table["clinician spread"])}),
{spec.get("replicates")} clinics per spread, {len(dyads):,} patients. Outcome: post-treatment
PHQ-9 residualised on intake within each clinic.

## Answer

With the widest spread ({widest["clinician spread"]:g}), {widest["ICC"]:.1%}
[{widest["low"]:.1%}, {widest["high"]:.1%}] of the variance of residualised outcome lay between
clinicians, against {icc_table.iloc[0]["ICC"]:.1%} with the narrowest
({icc_table.iloc[0]["clinician spread"]:g}). At that spread, a clinician whose patients' early
alliance was one WAI point higher had patients improving
{at_widest.loc["clinician level", SLOPE]:+.2f} PHQ-9 points more than their intake predicts,
while a patient one WAI point above their clinician's mean improved
{at_widest.loc["patient level", SLOPE]:+.2f} points more (pattern P12's statistic, as in the
validation).

## Share of outcome variance between clinicians

{markdown_table(icc_table)}

## Clinician-level and patient-level alliance

{markdown_table(levels)}

![therapist effects]({figure_path.relative_to(root)})
"""
    return write_text(text, root / "report.md")
