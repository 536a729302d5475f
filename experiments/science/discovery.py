"""Scenario discovery on a finished sweep: PRIM boxes and extra-trees feature scores.

Which combinations of parameters make an outcome cross a threshold (dropout above 30%)? PRIM,
the Patient Rule Induction Method (Friedman & Fisher 1999), peels a box off the parameter space
a few percent at a time, keeping the points where the outcome is of interest, then pastes back
what it peeled too eagerly; each step trades **coverage** (the share of all cases of interest
inside the box) for **density** (the share of the box's points that are cases of interest). The
implementation is EMA Workbench's (:class:`ema_workbench.analysis.prim.Prim`, Kwakkel 2017),
with its default objective (``lenient1``), 5% peeling and pasting, and its quasi-p-values of each
restriction (Bryant & Lempert 2010). The chosen box is the one with the highest coverage among
those with at least :data:`MIN_DENSITY` density (or the densest, if none reaches it).

**Feature scoring** (as EMA Workbench's ``feature_scoring``): the impurity-based importance of
each varied parameter in an extra-trees regression (:class:`sklearn.ensemble.ExtraTreesRegressor`,
Geurts, Ernst & Wehenkel 2006) of each outcome; the scores of one outcome sum to 1.

Points are design points with their outcomes averaged over replicate clinics (as in
:mod:`experiments.science.sensitivity`): the box describes where the expected outcome crosses the
threshold, not where single noisy clinics do. Any design with varied continuous parameters
works: lhs, sobol, morris (and grid).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.runner.io import write_text, write_with
from experiments.runner.store import Store
from experiments.science.outcomes import OUTCOMES
from experiments.science.summarize import summarize

MIN_DENSITY = 0.8
"""The chosen box is the one of highest coverage with at least this density."""
TREES = 250
"""Trees of the extra-trees regressions (EMA Workbench's default)."""


class DiscoveryError(ValueError):
    """A scenario discovery that cannot be done on this directory or with these options."""


@dataclass(frozen=True)
class Discovery:
    """The result of scenario discovery for one outcome and threshold.

    Attributes
    ----------
    outcome : str
        The outcome.
    condition : str
        ``"above"`` or ``"below"``.
    threshold : float
        Cases of interest have the outcome strictly above (below) this.
    tradeoff : pandas.DataFrame
        PRIM's peeling and pasting trajectory: ``box``, ``coverage``, ``density``, ``mass``,
        ``restricted`` (parameters restricted), one row per box.
    chosen : int
        Row of ``tradeoff`` chosen.
    limits : pandas.DataFrame
        The chosen box's restricted parameters: ``parameter``, ``low``, ``high`` (parameter
        units), ``design_low``, ``design_high`` (the sweep's range), ``qp_low``, ``qp_high``
        (quasi-p-values of each side's restriction; NaN where the side is not restricted).
    words : str
        The box in plain words.
    features : pandas.DataFrame
        Extra-trees importance: one row per parameter, one column per outcome.
    points : int
        Design points analysed.
    cases : int
        Points that are cases of interest.
    """

    outcome: str
    condition: str
    threshold: float
    tradeoff: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    words: str
    features: pd.DataFrame
    points: int
    cases: int


def _prim(x: pd.DataFrame, y: np.ndarray):
    """Run EMA Workbench's PRIM; return its box (peeling and pasting done)."""
    with warnings.catch_warnings():
        # EMA Workbench warns on import about optional executors, and uses pandas calls that
        # pandas 3 deprecates; neither concerns PRIM's arithmetic.
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        return prim.Prim(x.copy(), y).find_box()


def prim_box(
    x: pd.DataFrame, y: np.ndarray, min_density: float = MIN_DENSITY
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Return PRIM's trade-off trajectory, the chosen box's row and its restricted limits.

    Parameters
    ----------
    x : pandas.DataFrame
        One row per point, one column per parameter.
    y : numpy.ndarray
        Whether each point is a case of interest.
    min_density : float
        The chosen box has the highest coverage among boxes at least this dense.
    """
    box = _prim(x, np.asarray(y, dtype=bool))
    trajectory = box.peeling_trajectory
    ranges = pd.DataFrame({"low": x.min(), "high": x.max()})
    restricted, limits = [], []
    for i in range(len(trajectory)):
        lims = box.box_lims[i]
        rows = []
        for name in x.columns:
            low, high = float(lims[name].iloc[0]), float(lims[name].iloc[1])
            cut_low = low > ranges.loc[name, "low"]
            cut_high = high < ranges.loc[name, "high"]
            if cut_low or cut_high:
                qp = box.p_values[i].get(name, [np.nan, np.nan])
                rows.append(
                    {
                        "parameter": name,
                        "low": low if cut_low else np.nan,
                        "high": high if cut_high else np.nan,
                        "design_low": float(ranges.loc[name, "low"]),
                        "design_high": float(ranges.loc[name, "high"]),
                        "qp_low": qp[0] if cut_low and qp[0] != -1 else np.nan,
                        "qp_high": qp[1] if cut_high and qp[1] != -1 else np.nan,
                    }
                )
        limits.append(pd.DataFrame(rows, columns=_LIMIT_COLUMNS))
        restricted.append(", ".join(r["parameter"] for r in rows))
    tradeoff = pd.DataFrame(
        {
            "box": np.arange(len(trajectory)),
            "coverage": trajectory["coverage"].to_numpy(float),
            "density": trajectory["density"].to_numpy(float),
            "mass": trajectory["mass"].to_numpy(float),
            "restricted_count": trajectory["res_dim"].to_numpy(int),
            "restricted": restricted,
        }
    )
    dense = tradeoff[tradeoff["density"] >= min_density]
    if len(dense):
        chosen = int(dense.sort_values(["coverage", "density"], kind="stable").index[-1])
    else:
        chosen = int(tradeoff["density"].idxmax())
    return tradeoff, chosen, limits[chosen]


_LIMIT_COLUMNS = ["parameter", "low", "high", "design_low", "design_high", "qp_low", "qp_high"]


def box_words(
    outcome: str, condition: str, threshold: float, limits: pd.DataFrame, row: pd.Series
) -> str:
    """Return the box in plain words, e.g. "dropout_rate exceeds 0.3 when attunement < 0.35"."""
    verb = "exceeds" if condition == "above" else "falls below"
    parts = []
    for r in limits.itertuples():
        if np.isfinite(r.low) and np.isfinite(r.high):
            parts.append(f"{r.low:.3g} < {r.parameter} < {r.high:.3g}")
        elif np.isfinite(r.low):
            parts.append(f"{r.parameter} > {r.low:.3g}")
        else:
            parts.append(f"{r.parameter} < {r.high:.3g}")
    where = " and ".join(parts) if parts else "anywhere in the design (no restriction)"
    return (
        f"{outcome} {verb} {threshold:g} when {where}: {row['density']:.0%} of the design points "
        f"in this box do (density), and the box holds {row['coverage']:.0%} of all points that "
        f"do (coverage), in {row['mass']:.0%} of the design"
    )


def feature_scores(x: pd.DataFrame, outcomes: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Return extra-trees importances: one row per parameter, one column per outcome.

    Outcomes undefined at some point or constant are left out.
    """
    from sklearn.ensemble import ExtraTreesRegressor

    scores = {}
    for name in outcomes.columns:
        y = outcomes[name].to_numpy(float)
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            continue
        forest = ExtraTreesRegressor(
            n_estimators=TREES, max_features=0.6, random_state=seed, n_jobs=1
        ).fit(x.to_numpy(float), y)
        scores[name] = forest.feature_importances_
    return pd.DataFrame(scores, index=pd.Index(x.columns, name="parameter"))


def discover(
    root: str | Path,
    outcome: str,
    *,
    above: float | None = None,
    below: float | None = None,
    min_density: float = MIN_DENSITY,
    seed: int = 1,
    allow_incomplete: bool = False,
    report: Callable[[list[str]], None] | None = None,
) -> Discovery:
    """Find the parameter box where ``outcome`` is above (or below) a threshold.

    Writes into the directory ``discovery-<outcome>-tradeoff.csv`` (PRIM's trajectory),
    ``discovery-<outcome>-box.csv`` (the chosen box), ``discovery-<outcome>.png`` (the
    coverage–density trade-off with the chosen box), ``feature-scores.csv`` and
    ``feature-scores.png`` (extra-trees importance of every parameter for every outcome).

    Raises
    ------
    DiscoveryError
        Naming the option or the directory's problem.
    """
    if (above is None) == (below is None):
        raise DiscoveryError("give one of --above or --below")
    if outcome not in OUTCOMES:
        raise DiscoveryError(
            f"--outcome '{outcome}' is unknown; choose one of: {', '.join(OUTCOMES)}"
        )
    if not 0.0 < min_density <= 1.0:
        raise DiscoveryError(f"--density must lie in (0, 1], got {min_density}")
    store = Store(root)
    spec = store.stored_spec()
    names = spec.varied
    if spec.kind == "list" or not names:
        raise DiscoveryError(
            f"'{store.root}' holds a '{spec.kind}' design; scenario discovery needs a design "
            "that varies parameters over a range (lhs, sobol, morris or grid)"
        )
    summary = summarize(root, allow_incomplete=allow_incomplete, report=report)
    summary = summary.sort_values("point_id").reset_index(drop=True)
    values = summary[outcome].to_numpy(float)
    defined = np.isfinite(values)
    if defined.sum() < 10:
        raise DiscoveryError(
            f"{outcome} is defined at {int(defined.sum())} points of '{store.root}'; "
            "scenario discovery needs at least 10"
        )
    condition, threshold = ("above", above) if above is not None else ("below", below)
    cases = values > threshold if condition == "above" else values < threshold
    cases = cases[defined]
    if not cases.any() or cases.all():
        share = "none" if not cases.any() else "all"
        raise DiscoveryError(
            f"{share} of the {int(defined.sum())} points have {outcome} {condition} "
            f"{threshold:g} (range {np.nanmin(values):.3g} to {np.nanmax(values):.3g}); "
            "choose a threshold inside that range"
        )
    x = summary.loc[defined, names].reset_index(drop=True)
    tradeoff, chosen, limits = prim_box(x, cases, min_density)
    words = box_words(outcome, condition, threshold, limits, tradeoff.loc[chosen])
    outcome_columns = [o for o in OUTCOMES if o in summary.columns]
    features = feature_scores(summary[names], summary[outcome_columns], seed=seed)
    result = Discovery(
        outcome,
        condition,
        threshold,
        tradeoff,
        chosen,
        limits,
        words,
        features,
        int(defined.sum()),
        int(cases.sum()),
    )
    _write(result, store.root)
    return result


def _write(result: Discovery, root: Path) -> None:
    stem = f"discovery-{result.outcome}"
    write_text(result.tradeoff.to_csv(index=False), root / f"{stem}-tradeoff.csv")
    box = result.limits.assign(
        coverage=result.tradeoff.loc[result.chosen, "coverage"],
        density=result.tradeoff.loc[result.chosen, "density"],
    )
    write_text(box.to_csv(index=False), root / f"{stem}-box.csv")
    write_with(lambda tmp: _tradeoff_plot(result, tmp), root / f"{stem}.png")
    write_text(result.features.to_csv(), root / "feature-scores.csv")
    write_with(lambda tmp: _features_plot(result.features, tmp), root / "feature-scores.png")


def _tradeoff_plot(result: Discovery, path: Path) -> None:
    t = result.tradeoff
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.subplots()
    points = ax.scatter(
        t["coverage"], t["density"], c=t["restricted_count"], cmap="viridis", s=18, zorder=2
    )
    ax.plot(t["coverage"], t["density"], color="0.7", lw=0.8, zorder=1)
    chosen = t.loc[result.chosen]
    ax.scatter(
        [chosen["coverage"]],
        [chosen["density"]],
        s=140,
        facecolors="none",
        edgecolors="tab:red",
        lw=1.5,
        zorder=3,
        label=f"chosen box: {chosen['restricted'] or 'no restriction'}",
    )
    most = int(t["restricted_count"].max())
    fig.colorbar(points, ax=ax, label="parameters restricted", ticks=range(most + 1))
    ax.set_xlabel("coverage (share of all cases inside the box)")
    ax.set_ylabel("density (share of the box's points that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(
        f"PRIM: {result.outcome} {result.condition} {result.threshold:g} "
        f"({result.cases} of {result.points} points)"
    )
    ax.legend(fontsize="small", loc="lower left")
    fig.savefig(path, format="png", dpi=110)


def _features_plot(features: pd.DataFrame, path: Path) -> None:
    fig = Figure(
        figsize=(1.0 * len(features.columns) + 4, 0.3 * len(features) + 2), layout="constrained"
    )
    ax = fig.subplots()
    image = ax.imshow(features.to_numpy(), cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(range(len(features.columns)), features.columns, rotation=40, ha="right")
    ax.set_yticks(range(len(features)), features.index)
    fig.colorbar(image, ax=ax, label="extra-trees importance (sums to 1 per outcome)")
    ax.set_title("feature scores")
    fig.savefig(path, format="png", dpi=110)
