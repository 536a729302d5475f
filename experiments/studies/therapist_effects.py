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
    """Return coefficients of clinician-level and patient-level early alliance on outcome.

    Post-treatment PHQ-9 regressed on intake PHQ-9, the clinician's mean early WAI (centred on
    the clinic's mean) and the patient's deviation from the clinician's mean, pooling a point's
    clinics, standard errors clustered by clinician. Negative = a better alliance goes with
    fewer symptoms after treatment.
    """
    import statsmodels.api as sm

    d = dyads.dropna(subset=["wai_early", "symptom_score_intake", "symptom_score_post"]).copy()
    clinician_mean = d.groupby(CLINICIAN)["wai_early"].transform("mean")
    d["clinician_level"] = clinician_mean - d.groupby(CLINIC)["wai_early"].transform("mean")
    d["patient_level"] = d["wai_early"] - clinician_mean
    rows = []
    for point, group in d.groupby("point_id"):
        x = sm.add_constant(group[["symptom_score_intake", "clinician_level", "patient_level"]])
        clusters = pd.factorize(group[CLINICIAN].astype(str).agg("-".join, axis=1))[0]
        fit = sm.OLS(group["symptom_score_post"], x).fit(
            cov_type="cluster", cov_kwds={"groups": clusters}
        )
        ci = fit.conf_int()
        for level in ("clinician_level", "patient_level"):
            rows.append(
                {
                    "point_id": point,
                    "level": level.replace("_", " "),
                    "PHQ-9 per WAI point": fit.params[level],
                    "low": ci.loc[level, 0],
                    "high": ci.loc[level, 1],
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
    levels = levels[["clinician spread", "level", "PHQ-9 per WAI point", "low", "high"]]

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
            group["PHQ-9 per WAI point"],
            yerr=[
                group["PHQ-9 per WAI point"] - group["low"],
                group["high"] - group["PHQ-9 per WAI point"],
            ],
            marker="o",
            capsize=3,
            label=level,
        )
    axes[1].axhline(0, color="0.6", lw=0.8)
    axes[1].set_xlabel("spread of clinician traits (logit sd)")
    axes[1].set_ylabel("post PHQ-9 per WAI point (negative = better)")
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
alliance was one WAI point higher had patients ending
{at_widest.loc["clinician level", "PHQ-9 per WAI point"]:+.2f} PHQ-9 points different, while a
patient one WAI point above their clinician's mean ended
{at_widest.loc["patient level", "PHQ-9 per WAI point"]:+.2f} points different.

## Share of outcome variance between clinicians

{markdown_table(icc_table)}

## Clinician-level and patient-level alliance

{markdown_table(levels)}

![therapist effects]({figure_path.relative_to(root)})
"""
    return write_text(text, root / "report.md")
