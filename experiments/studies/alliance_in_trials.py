"""Study: the alliance in randomised trials of techniques.

Every replicate of ``experiments/configs/alliance_in_trials.toml`` is one small trial. In each,
the technique effect (post-treatment PHQ-9, B minus A, adjusted for intake) is estimated by OLS
without and with the early alliance (session-3 WAI-SR) as a covariate, on the same patients
(those with an early alliance). Across many trials: the mean estimate (against the true effect,
the mean unadjusted estimate under randomisation within caseloads), its spread between trials
(how blurred one trial's answer is), and how often a trial finds the effect (p < .05).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.runner.io import write_text
from experiments.runner.store import Store
from experiments.science.report import figure, markdown_table, save_figure
from experiments.studies.common import committed_parts

QUESTION = (
    "In a randomised trial of two techniques, what happens to the estimated technique "
    "effect when the alliance is, or is not, taken into account, and when are the "
    "arms delivered by different clinicians?"
)
DESIGN_NAMES = {0: "randomised within caseloads", 1: "arms by clinician"}


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return OLS coefficients and their classical standard errors (x includes a constant)."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    dof = len(y) - x.shape[1]
    sigma2 = residual @ residual / dof
    covariance = sigma2 * np.linalg.inv(x.T @ x)
    return beta, np.sqrt(np.diag(covariance))


def trial_estimates(dyads: pd.DataFrame) -> pd.DataFrame:
    """Return, per trial, the technique effect without and with the alliance covariate."""
    rows = []
    data = dyads.dropna(subset=["wai_early", "symptom_score_intake", "symptom_score_post"])
    for (point, rep), trial in data.groupby(["point_id", "rep"]):
        b = (trial["technique"] == "B").to_numpy(float)
        if b.min() == b.max():
            continue  # a trial without both arms estimates nothing
        y = trial["symptom_score_post"].to_numpy(float)
        base = np.column_stack([np.ones_like(b), trial["symptom_score_intake"], b])
        adjusted = np.column_stack([base, trial["wai_early"]])
        for label, x in (("without alliance", base), ("with alliance", adjusted)):
            beta, se = ols(y, x)
            dof = len(y) - x.shape[1]
            p = 2 * stats.t.sf(abs(beta[2] / se[2]), dof)
            rows.append(
                {
                    "point_id": point,
                    "rep": rep,
                    "model": label,
                    "effect": -beta[2],
                    "se": se[2],
                    "significant": p < 0.05,
                }
            )
    return pd.DataFrame(rows)


def across_trials(estimates: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """Return, per design and model, the mean, spread, bias and power of the estimates."""
    e = estimates.merge(design, on="point_id")
    truth = (
        e[(e["technique_by_clinician"] == 0) & (e["model"] == "without alliance")]
        .groupby("technique_b_advantage")["effect"]
        .mean()
        .rename("true effect")
    )
    e = e.join(truth, on="technique_b_advantage")
    table = (
        e.groupby(["technique_b_advantage", "technique_by_clinician", "model"])
        .agg(
            trials=("effect", "size"),
            mean=("effect", "mean"),
            spread=("effect", "std"),
            truth=("true effect", "first"),
            significant=("significant", "mean"),
        )
        .reset_index()
    )
    table["bias"] = table["mean"] - table["truth"]
    table["design"] = table["technique_by_clinician"].map(DESIGN_NAMES)
    return table[
        [
            "technique_b_advantage",
            "design",
            "model",
            "trials",
            "truth",
            "mean",
            "bias",
            "spread",
            "significant",
        ]
    ]


def answer(table: pd.DataFrame) -> str:
    """Return the two-sentence answer, computed from the results."""
    real = table[table["technique_b_advantage"] > 0].set_index(["design", "model"])
    within = real.loc["randomised within caseloads"]
    by_clin = real.loc["arms by clinician"]
    null = table[table["technique_b_advantage"] == 0].set_index(["design", "model"])

    def narrower(rows: pd.DataFrame) -> float:
        return 1 - rows.loc["with alliance", "spread"] / rows.loc["without alliance", "spread"]

    return (
        f"With patients randomised within caseloads, a trial's estimate of the technique "
        f"effect (true {within.loc['without alliance', 'truth']:.2f} PHQ-9 points) varied "
        f"between trials with SD {within.loc['without alliance', 'spread']:.2f} without the "
        f"alliance and {within.loc['with alliance', 'spread']:.2f} with it "
        f"({narrower(within):.0%} narrower), and its mean moved by "
        f"{within.loc['with alliance', 'bias']:+.2f} points when the alliance was "
        f"controlled. When each clinician delivered one technique, the spread was "
        f"{by_clin.loc['without alliance', 'spread']:.2f} without and "
        f"{by_clin.loc['with alliance', 'spread']:.2f} with the alliance, and with no true "
        f"difference {null.loc[('arms by clinician', 'without alliance'), 'significant']:.0%}"
        f" of trials declared one (p < .05) without the alliance against "
        f"{null.loc[('arms by clinician', 'with alliance'), 'significant']:.0%} with it."
    )


def report(root: Path) -> Path:
    """Build ``report.md`` and its figure from a finished alliance_in_trials sweep."""
    root = Path(root)
    spec = (Store(root).read_manifest() or {}).get("spec", {})
    design = pd.read_parquet(Store(root).design_path)
    dyads = pd.concat(committed_parts(root, "runs"), ignore_index=True)
    estimates = trial_estimates(dyads)
    table = across_trials(estimates, design)

    e = estimates.merge(design, on="point_id")
    e = e[e["technique_b_advantage"] > 0]
    fig = figure(10, 4)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax, (flag, name) in zip(axes, DESIGN_NAMES.items(), strict=True):
        for model, rows in e[e["technique_by_clinician"] == flag].groupby("model"):
            ax.hist(rows["effect"], bins=30, alpha=0.5, label=model)
        ax.axvline(
            table.loc[table["technique_b_advantage"] > 0, "truth"].iloc[0],
            color="k",
            ls="--",
            label="true effect",
        )
        ax.set_title(name)
        ax.set_xlabel("estimated technique effect (PHQ-9 points, B better = positive)")
        ax.set_ylabel("trials")
        ax.legend(fontsize=8)
    figure_path = save_figure(fig, root / "figures" / "trial_estimates.png")
    fixed = spec.get("fixed", {})
    text = f"""# The alliance in trials of techniques

## Question

{QUESTION}

## Design

{spec.get("replicates")} virtual trials per design point, each a clinic of
{fixed.get("n_clinicians", 0):g} clinicians with {fixed.get("patients_per_clinician", 0):g}
patients, half of them on technique B (randomised within every caseload, or each clinician
delivering one technique), B's efficacy advantage 0 (no true difference) or
{design["technique_b_advantage"].max():g}. Per trial, OLS of post-treatment PHQ-9 on intake and
arm, without and with the session-3 WAI-SR (patients with an early alliance). "truth" is the
mean unadjusted estimate under randomisation within caseloads; "spread" the SD of estimates
between trials; "significant" the share of trials with p < .05 (classical OLS standard errors,
which ignore that patients are nested in clinicians, as many trial analyses do).

## Answer

{answer(table)}

## Across trials

{markdown_table(table)}

![trial estimates]({figure_path.relative_to(root)})
"""
    return write_text(text, root / "report.md")
