"""Global sensitivity analysis of a ``sobol`` sweep: first-order and total Sobol indices.

Indices are computed with SALib (:func:`SALib.analyze.sobol.analyze`, Saltelli 2002; Jansen
1999 for total effects) on the per-point mean of an outcome over replicates, in the design's
order, which is the order SALib's Saltelli sampler produced.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from SALib.analyze import sobol

from experiments.runner.designs import sobol_problem
from experiments.runner.io import write_text, write_with
from experiments.runner.spec import SweepSpec
from experiments.runner.store import Store
from experiments.science.summarize import OUTCOMES, summarize


class SensitivityError(ValueError):
    """A sensitivity analysis that cannot be done on this directory."""


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
        half-widths from SALib).
    """
    if seed < 1:
        raise SensitivityError(f"seed must be a whole number >= 1, got {seed}")
    if outcome not in OUTCOMES:
        raise SensitivityError(
            f"--outcome '{outcome}' is unknown; choose one of: {', '.join(OUTCOMES)}"
        )
    store = Store(root)
    manifest = store.read_manifest()
    if manifest is None:
        raise SensitivityError(f"'{store.root}' holds no sweep")
    if not isinstance(manifest.get("spec"), dict):
        raise SensitivityError(f"'{store.manifest_path}' holds no sweep spec; restore it")
    spec = SweepSpec.from_stored(manifest["spec"])
    if spec.kind != "sobol":
        raise SensitivityError(
            f"'{store.root}' holds a '{spec.kind}' design; Sobol indices need a sobol design"
        )
    summary = summarize(root, allow_incomplete=allow_incomplete, report=report).sort_values(
        "point_id"
    )
    if len(summary) != manifest["layout"]["points"] or summary[outcome].isna().any():
        raise SensitivityError(
            f"'{store.root}' is incomplete or {outcome} is undefined at some "
            "points; finish the sweep first"
        )
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
    write_text(table.to_csv(index=False), store.root / f"sensitivity-{outcome}.csv")
    write_with(
        lambda tmp: _bar_chart(table, outcome, tmp), store.root / f"sensitivity-{outcome}.png"
    )
    return table


def _bar_chart(table: pd.DataFrame, outcome: str, path: Path) -> None:
    fig = Figure(figsize=(1.2 * len(table) + 3, 4), layout="constrained")
    ax = fig.subplots()
    x = range(len(table))
    ax.bar([i - 0.2 for i in x], table["S1"], 0.4, yerr=table["S1_conf"], label="first order")
    ax.bar([i + 0.2 for i in x], table["ST"], 0.4, yerr=table["ST_conf"], label="total")
    ax.set_xticks(list(x), table["parameter"], rotation=30, ha="right")
    ax.set_ylabel("Sobol index")
    ax.set_title(f"sensitivity of {outcome}")
    ax.legend()
    fig.savefig(path, format="png", dpi=110)
