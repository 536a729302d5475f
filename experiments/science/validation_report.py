"""The validation report: ``validation.md``, the table as CSV, and figures.

Figures: ``forest.png`` (each pattern on its own scale: the published interval as a band, the
model's value with its 95% interval) and ``distances.png`` (the standardised distance of each
model value from its target, the terms of the calibration loss). Beside each pattern the table
shows the further estimates its conditions judge and its report names (e.g. P5 over sessions
1-7 and on the latent variables). The report also carries diagnostics that are not patterns
and are not judged: the lagged effects after removing each session's mean (how much of the
within-patient effects the shared time trends carry), and P8's mediation in full.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from experiments.runner.io import write_text
from experiments.science.lagged import lagged_effects
from experiments.science.report import save_figure
from experiments.science.resampling import Estimate
from experiments.science.validation import Validation

PASS_COLOUR, FAIL_COLOUR = "#1b7837", "#b2182b"


def markdown_table(validation: Validation) -> str:
    """Return the validation table as markdown, with a line saying how it was produced."""
    lines = [
        "| pattern | target [interval] | model [95% interval] | also | pass | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in validation.table.itertuples(index=False):
        verdict = "pass" if row.passed else "**FAIL**"
        lines.append(
            f"| {row.pattern} {row.name} | {row.target} {row.interval} | "
            f"{row.model:.3f} [{row.model_low:.3f}, {row.model_high:.3f}] | "
            f"{row.also} | {verdict} | {row.source} |"
        )
    passed = int(validation.table["passed"].sum())
    r = validation.resampling
    lines += [
        "",
        f"{passed} of {len(validation.table)} patterns pass. "
        f"{validation.n_patients:,} patients per population (psychotherapy; hypertension; "
        f"each arm of P8's contrast), seed {validation.seed}; intervals are "
        f"{r.confidence:.0%} percentile cluster bootstraps ({r.n_resamples} resamples of "
        "clinicians with their caseloads). Produced by `alliance validate`.",
    ]
    return "\n".join(lines)


def _estimate(e: Estimate) -> str:
    return f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"


def diagnostics(validation: Validation) -> list[str]:
    """Return markdown lines of the diagnostics (not judged)."""
    lines = []
    p8 = validation.results.get("P8")
    if p8 is not None and hasattr(p8, "indirect"):
        lines += [
            "### P8: mediation through internalisation",
            "",
            f"* total effect d = {_estimate(p8.d)}",
            f"* indirect effect a x b = {_estimate(p8.indirect)}",
            f"* direct effect = {_estimate(p8.direct)}",
            f"* share mediated = {_estimate(p8.share_mediated)}",
            "",
        ]
    run = validation.runs.results.get("psychotherapy")
    effects = validation.results.get("P5")
    if run is not None and run.sessions is not None and hasattr(effects, "forward_early"):
        panel = run.sessions
        centred = panel.copy()
        for column in ("wai_total", "symptom_score"):
            centred[column] -= centred.groupby("session")[column].transform("mean")
        detrended = lagged_effects(centred, resampling=validation.resampling)
        lines += [
            "### Within-patient lagged effects (P5, P6): other windows",
            "",
            "| computed on | forward (P5) | reverse (P6) |",
            "|---|---|---|",
            f"| all sessions (the patterns) | {_estimate(effects.forward)} | "
            f"{_estimate(effects.reverse)} |",
            f"| sessions 1-7 (Flückiger et al. 2020) | {_estimate(effects.forward_early)} | "
            f"{_estimate(effects.reverse_early)} |",
            f"| latent alliance and symptoms, all sessions | "
            f"{_estimate(effects.forward_latent)} | |",
            f"| all sessions, each session's mean removed | "
            f"{_estimate(detrended.forward)} | {_estimate(detrended.reverse)} |",
            "",
            "The pattern's analysis controls a linear effect of session number; the "
            "second row also removes any other shape of the trends all patients share "
            "(alliance rising, symptoms falling over sessions) by subtracting each "
            "session's mean before the same analysis. The latent row applies the same "
            "estimator to the alliance as built and the symptoms as they are: the "
            "model's causal effect of this week's alliance on next week's symptoms. The "
            "rest of the observed P5 is felt improvement colouring both ratings (the "
            "session's alliance state) and measurement error of the PHQ-9 control.",
            "",
        ]
    return lines


def forest_plot(validation: Validation, path: Path) -> Path:
    """Draw each pattern's published interval and the model's estimate; save to ``path``."""
    verdicts = validation.verdicts
    fig, axes = plt.subplots(
        len(verdicts), 1, figsize=(7, 0.9 * len(verdicts) + 0.6), layout="constrained"
    )
    estimates = {v.target.id: v.estimate for v in verdicts}
    for ax, v in zip(axes, verdicts, strict=True):
        t, est = v.target, v.estimate
        high = estimates[t.high].value if isinstance(t.high, str) else t.high
        if math.isinf(high):  # one-sided: shade to the edge of the drawing
            high = max(est.high, t.low) + abs(est.high - min(est.low, t.low)) + 1e-3
        ax.axvspan(t.low, high, color="0.85", label="published")
        if isinstance(t.target, float):
            ax.axvline(t.target, color="0.45", lw=1)
        colour = PASS_COLOUR if v.passed else FAIL_COLOUR
        ax.errorbar(
            [est.value],
            [0],
            xerr=[[est.value - est.low], [est.high - est.value]],
            fmt="o",
            color=colour,
            capsize=4,
            label="model (95% interval)",
        )
        lo, hi = min(t.low, est.low), max(high, est.high)
        pad = 0.15 * (hi - lo) + 1e-3
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_yticks([])
        ax.set_ylabel(t.id, rotation=0, ha="right", va="center")
        ax.set_title(t.name, fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(fontsize=7, loc="upper right")
    return save_figure(fig, path)


def distance_plot(validation: Validation, path: Path) -> Path:
    """Draw each pattern's standardised distance from its target; save to ``path``."""
    from experiments.science.calibration import pattern_values, standardised_distances

    targets = {v.target.id: v.target for v in validation.verdicts}
    distances = standardised_distances(pattern_values(targets, validation.results), targets)
    fig, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    ax.bar(list(distances), list(distances.values()), color="0.5")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.axhline(1, color="0.3", ls=":", lw=1)
    ax.axhline(-1, color="0.3", ls=":", lw=1)
    ax.set_ylabel("(model - target) / half-width")
    ax.set_title(
        "standardised distance from each target (dotted: edge of the interval)", fontsize=9
    )
    return save_figure(fig, path)


def write_report(validation: Validation, out: str | Path) -> Path:
    """Write ``validation.md``, ``validation.csv``, ``forest.png`` and ``distances.png``.

    Returns
    -------
    Path
        The report's path.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    forest_plot(validation, out / "forest.png")
    distance_plot(validation, out / "distances.png")
    write_text(validation.table.to_csv(index=False), out / "validation.csv")
    checks = [
        f"* **{row.pattern}** ({'pass' if row.passed else 'FAIL'}): {row.checks}"
        for row in validation.table.itertuples(index=False)
    ]
    statistics = [
        f"* **{v.target.id}** ({v.target.scenario}, `{v.target.analysis}`"
        f"{'.' + v.target.estimate if v.target.estimate else ''}): "
        f"{v.target.statistic}"
        for v in validation.verdicts
    ]
    p8 = next((v.target for v in validation.verdicts if v.target.arms), None)
    contrast = []
    if p8 is not None:
        arms = "; ".join(
            f"{arm}: " + ", ".join(f"{k} = {x:g}" for k, x in s.items())
            for arm, s in p8.arms.items()
        )
        contrast = [f"{p8.id}'s contrast ({p8.scenario} scenario): {arms}.", ""]
    verdict = "every pattern passes" if validation.passed else "NOT every pattern passes"
    text = "\n".join(
        [
            "# Validation against published patterns",
            "",
            f"Result: {verdict}.",
            "",
            markdown_table(validation),
            "",
            "![forest plot](forest.png)",
            "",
            "![standardised distances](distances.png)",
            "",
            "## Pass rule, pattern by pattern",
            "",
            *checks,
            "",
            "## What is computed",
            "",
            *statistics,
            "",
            *contrast,
            "## Diagnostics (not judged)",
            "",
            *diagnostics(validation),
        ]
    )
    return write_text(text, out / "validation.md")


def summary_lines(validation: Validation) -> list[str]:
    """Return one line per pattern for the terminal."""
    frame: pd.DataFrame = validation.table
    return [
        f"{r.pattern}  {'pass' if r.passed else 'FAIL'}  model {r.model:.3f} "
        f"[{r.model_low:.3f}, {r.model_high:.3f}]  target {r.target} {r.interval}"
        + (f"  ({r.also})" if r.also else "")
        for r in frame.itertuples(index=False)
    ]
