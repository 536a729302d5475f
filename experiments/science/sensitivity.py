"""Global sensitivity of a sweep's outcome: Morris screening and Sobol indices, with noise.

Both work on the per-point mean of an outcome over the replicate clinics of each design point
(:func:`experiments.science.summarize.summarize`), in the design's order, which is the order
SALib's sampler produced: the model is stochastic, so replicates are averaged *before* SALib sees
them, and the replicate variation that is left is reported as noise, not mistaken for an effect.

**Morris** (:func:`morris_screening`; Morris 1991, μ* of Campolongo, Cariboni & Saltelli 2007):
SALib's :func:`SALib.analyze.morris.analyze` gives μ (mean elementary effect), μ* (mean absolute
effect: the importance) and σ (their spread: interaction or non-linearity). Effects are in
outcome units per unit of a parameter's range (the change over a step of Δ = 2/3 of the range,
divided by Δ). The intervals of μ* and σ are percentile intervals of a bootstrap over
trajectories. The **noise floor** is the
μ* that a parameter doing nothing reaches from replicate noise alone: with pooled replicate SD
*s* of a clinic's outcome and *R* replicates per point, a null elementary effect is normal with
SD ``σ0 = s sqrt(2 / R) / Δ``, so its μ* over *r* trajectories is the mean of *r* half-normals;
the floor is that mean's 95% quantile, ``σ0 (sqrt(2/π) + 1.645 sqrt((1 - 2/π) / r))``. A
parameter whose μ* is below the floor is indistinguishable from noise. The floor shrinks as
``1 / sqrt(R)``; :attr:`MorrisResult.replicates_needed` is the R that brings it below a tenth of
the largest μ*.

**Sobol** (:func:`sobol_indices`; Saltelli 2002, Jansen 1999 for total effects): first-order
and total indices with SALib's bootstrap 95% half-widths; an index whose interval covers 0 is
marked (``S1_covers_zero``, ``ST_covers_zero``) instead of being read as a (negative) effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol
from scipy import stats

from experiments.runner.designs import MORRIS_LEVELS, sobol_problem
from experiments.runner.io import write_text, write_with
from experiments.runner.store import Store
from experiments.science.summarize import OUTCOMES, summarize

METHODS = ("morris", "sobol")
FLOOR_QUANTILE = 0.95
"""The noise floor is this quantile of a do-nothing parameter's μ*."""
FLOOR_TARGET = 0.1
"""``replicates_needed`` brings the noise floor below this share of the largest μ*."""
SATURATED_SHARE = 0.2
"""A note is due when at least this share of design points sit at the outcome's lowest or
highest value (:func:`saturation_words`)."""


class SensitivityError(ValueError):
    """A sensitivity analysis that cannot be done on this directory."""


@dataclass(frozen=True)
class MorrisResult:
    """A Morris screening of one outcome.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per parameter, by decreasing μ*: ``rank``, ``parameter``, ``mu``, ``mu_star``
        with ``mu_star_low``/``mu_star_high``, ``sigma`` with ``sigma_low``/``sigma_high``
        (95% bootstrap over trajectories), ``mu_star_conf`` (SALib's half-width) and
        ``below_noise`` (μ* under the noise floor).
    noise_floor : float
        μ* a parameter that does nothing stays under with 95% probability.
    noise_sd : float
        SD of a null elementary effect (``σ0``), also σ's floor.
    replicate_sd : float
        Pooled SD of a clinic's outcome between replicates of a point.
    replicates : int
        Replicates per point.
    trajectories : int
        Trajectories r.
    replicates_needed : int
        Replicates per point that bring the floor below a tenth of the largest μ*.
    """

    table: pd.DataFrame
    noise_floor: float
    noise_sd: float
    replicate_sd: float
    replicates: int
    trajectories: int
    replicates_needed: int


def _load(root: str | Path, outcome: str, allow_incomplete, report, kinds: tuple[str, ...]):
    """Return the spec, the store and the per-point summary of a finished sweep."""
    if outcome not in OUTCOMES:
        raise SensitivityError(
            f"--outcome '{outcome}' is unknown; choose one of: {', '.join(OUTCOMES)}"
        )
    store = Store(root)
    spec = store.stored_spec()
    if spec.kind not in kinds:
        raise SensitivityError(
            f"'{store.root}' holds a '{spec.kind}' design; {' or '.join(kinds)} indices need "
            f"a {' or '.join(kinds)} design"
        )
    summary = summarize(root, allow_incomplete=allow_incomplete, report=report).sort_values(
        "point_id"
    )
    if len(summary) != store.read_manifest()["layout"]["points"] or summary[outcome].isna().any():
        raise SensitivityError(
            f"'{store.root}' is incomplete or {outcome} is undefined at some "
            "points; finish the sweep first"
        )
    return spec, store, summary


def design_method(root: str | Path) -> str | None:
    """Return the design kind of the sweep in ``root`` (None if it holds no readable spec)."""
    manifest = Store(root).read_manifest()
    if not isinstance(manifest, dict) or not isinstance(manifest.get("spec"), dict):
        return None
    return manifest["spec"].get("kind")


def replicate_sd(summary: pd.DataFrame, outcome: str) -> float:
    """Return the pooled SD between replicate clinics of a point, from the summary's intervals.

    The summary's interval is ``mean ± t(0.975, R - 1) s / sqrt(R)``, so each point's SD is
    recovered exactly; the pooled SD is the root mean of the points' variances.
    """
    n = summary["replicates"].to_numpy(float)
    half = (summary[f"{outcome}_high"] - summary[f"{outcome}_low"]).to_numpy(float) / 2.0
    usable = (n >= 2) & np.isfinite(half)
    if not usable.any():
        return np.nan
    sd = half[usable] * np.sqrt(n[usable]) / stats.t.ppf(0.975, n[usable] - 1)
    return float(np.sqrt(np.mean(sd**2)))


def elementary_effects(x: np.ndarray, y: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Return the elementary effects, shape (trajectories, parameters), of a Morris design.

    Each trajectory is D + 1 consecutive rows; each step moves one parameter by ±Δ of its
    range. The effect is the change of ``y`` over the step in units of the range, as SALib
    computes it (unscaled).
    """
    d = x.shape[1]
    r = len(x) // (d + 1)
    unit = (x - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    effects = np.empty((r, d))
    for t in range(r):
        rows = slice(t * (d + 1), (t + 1) * (d + 1))
        steps = np.diff(unit[rows], axis=0)
        moved = np.argmax(np.abs(steps), axis=1)
        effects[t, moved] = np.diff(y[rows]) / steps[np.arange(d), moved]
    return effects


def morris_screening(
    root: str | Path,
    outcome: str,
    seed: int = 1,
    n_resamples: int = 1000,
    allow_incomplete: bool = False,
    report: Callable[[list[str]], None] | None = None,
) -> MorrisResult:
    """Screen every parameter of a finished ``morris`` sweep for its effect on ``outcome``.

    Writes ``sensitivity-<outcome>.csv`` (the table) and ``sensitivity-<outcome>.png`` (the
    μ*–σ plot with the noise floor) into the directory.

    Parameters
    ----------
    root : str or Path
        The sweep's directory.
    outcome : str
        An outcome of :data:`experiments.science.summarize.OUTCOMES`.
    seed : int
        Seed of the bootstrap over trajectories (and of SALib's), at least 1.
    n_resamples : int
        Bootstrap resamples.
    allow_incomplete, report
        As in :func:`experiments.science.summarize.summarize`.
    """
    if seed < 1:
        raise SensitivityError(f"seed must be a whole number >= 1, got {seed}")
    spec, store, summary = _load(root, outcome, allow_incomplete, report, ("morris",))
    problem = sobol_problem(spec)
    names = problem["names"]
    x = summary[names].to_numpy(float)
    y = summary[outcome].to_numpy(float)
    found = morris_analysis.analyze(
        problem, x, y, num_levels=MORRIS_LEVELS, num_resamples=n_resamples, seed=seed
    )
    effects = elementary_effects(x, y, np.array(problem["bounds"], dtype=float))
    r = len(effects)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, r, size=(n_resamples, r))
    resampled = effects[picks]  # (resamples, r, D)
    mu_star_b = np.abs(resampled).mean(axis=1)
    sigma_b = resampled.std(axis=1, ddof=1)
    replicates = int(summary["replicates"].min())
    sd = replicate_sd(summary, outcome)
    delta = MORRIS_LEVELS / (2.0 * (MORRIS_LEVELS - 1))
    noise_sd = sd * np.sqrt(2.0 / replicates) / delta if replicates >= 2 else np.nan
    z = stats.norm.ppf(FLOOR_QUANTILE)
    floor = noise_sd * (np.sqrt(2 / np.pi) + z * np.sqrt((1 - 2 / np.pi) / r))
    table = pd.DataFrame(
        {
            "parameter": names,
            "mu": np.asarray(found["mu"], float),
            "mu_star": np.asarray(found["mu_star"], float),
            "mu_star_low": np.quantile(mu_star_b, 0.025, axis=0),
            "mu_star_high": np.quantile(mu_star_b, 0.975, axis=0),
            "mu_star_conf": np.asarray(found["mu_star_conf"], float),
            "sigma": np.asarray(found["sigma"], float),
            "sigma_low": np.quantile(sigma_b, 0.025, axis=0),
            "sigma_high": np.quantile(sigma_b, 0.975, axis=0),
        }
    )
    table["below_noise"] = table["mu_star"] < floor if np.isfinite(floor) else False
    table = table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    top = float(table["mu_star"].max())
    needed = (
        int(np.ceil(replicates * (floor / (FLOOR_TARGET * top)) ** 2))
        if np.isfinite(floor) and top > 0
        else 0
    )
    result = MorrisResult(table, float(floor), float(noise_sd), sd, replicates, r, needed)
    write_text(table.to_csv(index=False), store.root / f"sensitivity-{outcome}.csv")
    write_with(
        lambda tmp: _mu_star_sigma_plot(result, outcome, tmp),
        store.root / f"sensitivity-{outcome}.png",
    )
    return result


def floor_words(result: MorrisResult) -> str:
    """Return one sentence on the noise floor and the replicates it needs."""
    if not np.isfinite(result.noise_floor):
        return (
            f"noise floor unknown: {result.replicates} replicate per point; run at least 2 to "
            "tell effects from noise"
        )
    below = int(result.table["below_noise"].sum())
    return (
        f"noise floor mu* = {result.noise_floor:.4g} ({result.replicates} replicates per "
        f"point, {result.trajectories} trajectories; replicate SD {result.replicate_sd:.4g}); "
        f"{below} of {len(result.table)} parameters are below it; "
        f"{result.replicates_needed} replicates would bring it under "
        f"{FLOOR_TARGET:.0%} of the largest mu*"
    )


def saturation_words(values: np.ndarray, outcome: str) -> str | None:
    """Return a note when many design points share the outcome's lowest or highest value.

    Where an outcome is pinned at a bound (every patient dropping out after session 1, say), no
    parameter can move it, so elementary effects and Sobol indices computed over the whole box
    understate what each parameter does where the outcome is free: ranges wide enough to reach
    such corners (the default of a design without ``[design.parameters]``: every free
    parameter over its full bounds) screen the corners, not the model. None when fewer than
    :data:`SATURATED_SHARE` of the points are tied at either end.
    """
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    for extreme, end in ((values.max(), "highest"), (values.min(), "lowest")):
        share = float(np.mean(values == extreme))
        if share >= SATURATED_SHARE:
            return (
                f"note: {share:.0%} of the design points give {outcome} = {extreme:.4g}, its "
                f"{end} value: it cannot move there, so these indices understate what each "
                "parameter does elsewhere; narrow the ranges in [design.parameters]"
            )
    return None


def _mu_star_sigma_plot(result: MorrisResult, outcome: str, path: Path) -> None:
    table = result.table
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(
        table["mu_star"],
        table["sigma"],
        xerr=[table["mu_star"] - table["mu_star_low"], table["mu_star_high"] - table["mu_star"]],
        yerr=[table["sigma"] - table["sigma_low"], table["sigma_high"] - table["sigma"]],
        fmt="o",
        ms=4,
        lw=0.7,
        color="tab:blue",
        ecolor="0.6",
    )
    if np.isfinite(result.noise_floor):
        ax.axvspan(
            0,
            result.noise_floor,
            color="0.85",
            label=f"noise floor: mu* < {result.noise_floor:.3g} ({result.replicates} replicates)",
        )
        ax.axhline(result.noise_sd, color="0.5", ls=":", lw=1, label="sigma of pure noise")
    for row in table.head(10).itertuples():
        ax.annotate(
            row.parameter,
            (row.mu_star, row.sigma),
            fontsize="small",
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"mu* (mean |elementary effect| on {outcome}, per unit of its range)")
    ax.set_ylabel("sigma (spread of the effects: interactions, non-linearity)")
    ax.set_title(
        f"Morris screening of {outcome}: {len(table)} parameters, {result.trajectories} "
        "trajectories"
    )
    ax.legend(fontsize="small", loc="upper left")
    fig.savefig(path, format="png", dpi=110)


def sobol_indices(
    root: str | Path,
    outcome: str,
    seed: int = 1,
    allow_incomplete: bool = False,
    report: Callable[[list[str]], None] | None = None,
) -> pd.DataFrame:
    """Compute Sobol indices of ``outcome`` for a finished ``sobol`` sweep.

    Writes ``sensitivity-<outcome>.csv`` and ``sensitivity-<outcome>.png`` into the directory.
    ``seed`` seeds SALib's bootstrap of the confidence half-widths; it must be at least 1,
    because SALib leaves its bootstrap unseeded (irreproducible) for a seed of 0.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (95% bootstrap
        half-widths from SALib), and ``S1_covers_zero``, ``ST_covers_zero``: whether the
        interval covers 0 (an index too small for this design to tell from 0; a negative
        value there is estimation noise, not a negative effect).
    """
    if seed < 1:
        raise SensitivityError(f"seed must be a whole number >= 1, got {seed}")
    spec, store, summary = _load(root, outcome, allow_incomplete, report, ("sobol",))
    problem = sobol_problem(spec)
    result = sobol.analyze(problem, summary[outcome].to_numpy(), calc_second_order=False, seed=seed)
    table = pd.DataFrame(
        {
            "parameter": problem["names"],
            "S1": result["S1"],
            "S1_conf": result["S1_conf"],
            "ST": result["ST"],
            "ST_conf": result["ST_conf"],
        }
    )
    for index in ("S1", "ST"):
        table[f"{index}_covers_zero"] = table[index] - table[f"{index}_conf"] <= 0
    write_text(table.to_csv(index=False), store.root / f"sensitivity-{outcome}.csv")
    write_with(
        lambda tmp: _bar_chart(table, outcome, tmp), store.root / f"sensitivity-{outcome}.png"
    )
    return table


def _bar_chart(table: pd.DataFrame, outcome: str, path: Path) -> None:
    fig = Figure(figsize=(1.2 * len(table) + 3, 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(table))
    for offset, index, label in ((-0.2, "S1", "first order"), (0.2, "ST", "total")):
        bars = ax.bar(x + offset, table[index], 0.4, yerr=table[f"{index}_conf"], label=label)
        for bar, covers in zip(bars, table[f"{index}_covers_zero"], strict=True):
            if covers:
                bar.set_hatch("//")
                bar.set_alpha(0.5)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(list(x), table["parameter"], rotation=30, ha="right")
    ax.set_ylabel("Sobol index (95% interval; hatched: covers 0)")
    ax.set_title(f"sensitivity of {outcome}")
    ax.legend()
    fig.savefig(path, format="png", dpi=110)
