"""The analyses of finished sweeps and of a clinic's data: sensitivity, discovery, fitting.

``alliance sensitivity`` (Morris screening or Sobol indices of a sweep), ``alliance discover``
(scenario discovery: PRIM boxes and feature scores) and ``alliance fit`` (ABC-SMC of chosen
parameters to a clinic's session-by-session data). Every error a user can fix is one line with
exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sim.cli.common import UsageError


def _warn_incomplete(directory: str) -> Callable[[list[str]], None]:
    """Return what an analysis calls, with --allow-incomplete, to say loudly what it lacks."""

    def warn(problems: list[str]) -> None:
        print(
            f"warning: '{directory}' is incomplete ({len(problems)} problems, e.g. "
            f"{problems[0]}); analysing what is there because of --allow-incomplete",
            file=sys.stderr,
        )

    return warn


def _add_allow_incomplete(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="analyse even if chunks are missing or damaged (said on stderr)",
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``sensitivity``, ``discover`` and ``fit``."""
    sens = sub.add_parser(
        "sensitivity",
        help="Morris screening or Sobol indices of an outcome (morris, sobol designs)",
        description="Global sensitivity of one outcome of a finished morris or sobol sweep, "
        "on the per-point mean over replicates. morris: mu*, sigma and their 95%% "
        "intervals (bootstrap over trajectories), the noise floor from replicate "
        "variation, and a mu*-sigma plot. sobol: first-order and total indices "
        "with 95%% intervals; those covering 0 are marked. Writes "
        "sensitivity-OUTCOME.csv and .png into DIR.",
    )
    sens.add_argument("dir", help="results directory of a morris or sobol sweep")
    sens.add_argument("--outcome", required=True, help="outcome, e.g. dropout_rate")
    sens.add_argument(
        "--method",
        choices=("morris", "sobol"),
        help="the analysis (default: the one the sweep's design is for)",
    )
    _add_allow_incomplete(sens)
    sens.set_defaults(func=cmd_sensitivity)

    disc = sub.add_parser(
        "discover",
        help="scenario discovery: where an outcome crosses a threshold (PRIM, feature scores)",
        description="Scenario discovery on a finished sweep (lhs, sobol, morris or grid), on "
        "the per-point mean over replicates: PRIM (EMA Workbench) finds the box of "
        "parameters where OUTCOME is above (below) the threshold, with its coverage-"
        "density trade-off; the chosen box is the one of highest coverage among those "
        "at least --density dense, given in parameter units and in words. Also scores "
        "every parameter's importance for every outcome (extra-trees). Writes "
        "discovery-OUTCOME-tradeoff.csv, -box.csv, .png and feature-scores.csv, .png "
        "into DIR.",
    )
    disc.add_argument("dir", help="results directory of a sweep")
    disc.add_argument("--outcome", required=True, help="outcome, e.g. dropout_rate")
    threshold = disc.add_mutually_exclusive_group(required=True)
    threshold.add_argument("--above", type=float, help="cases: outcome above this value")
    threshold.add_argument("--below", type=float, help="cases: outcome below this value")
    disc.add_argument(
        "--density",
        type=float,
        default=0.8,
        help="least density of the chosen box (default: %(default)s)",
    )
    _add_allow_incomplete(disc)
    disc.set_defaults(func=cmd_discover)


def _sweep_dir(directory: str) -> Path:
    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"'{path}' is not a directory")
    return path


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Morris screening or Sobol indices of one outcome."""
    from experiments.runner.store import StoreError
    from experiments.science import sensitivity

    directory = _sweep_dir(args.dir)
    method = args.method or sensitivity.design_method(directory)
    if method not in sensitivity.METHODS:
        method = "sobol"  # the analysis then names what the directory lacks
    try:
        if method == "morris":
            result = sensitivity.morris_screening(
                directory,
                args.outcome,
                allow_incomplete=args.allow_incomplete,
                report=_warn_incomplete(args.dir),
            )
            table = result.table
        else:
            table = sensitivity.sobol_indices(
                directory,
                args.outcome,
                allow_incomplete=args.allow_incomplete,
                report=_warn_incomplete(args.dir),
            )
    except (sensitivity.SensitivityError, FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if method == "morris":
        print(sensitivity.floor_words(result))
    else:
        covers = int(table[["S1_covers_zero", "ST_covers_zero"]].to_numpy().sum())
        print(f"{covers} of {2 * len(table)} intervals cover 0 (*_covers_zero)")
    print(f"wrote {directory / f'sensitivity-{args.outcome}.csv'} and .png")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """PRIM box and feature scores of one outcome."""
    from experiments.runner.store import StoreError
    from experiments.science.discovery import DiscoveryError, discover

    directory = _sweep_dir(args.dir)
    try:
        found = discover(
            directory,
            args.outcome,
            above=args.above,
            below=args.below,
            min_density=args.density,
            allow_incomplete=args.allow_incomplete,
            report=_warn_incomplete(args.dir),
        )
    except (DiscoveryError, FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{found.cases} of {found.points} design points have {found.outcome} "
        f"{found.condition} {found.threshold:g}"
    )
    print("coverage-density trade-off (PRIM, every box):")
    print(
        found.tradeoff[["box", "coverage", "density", "mass", "restricted"]].to_string(
            index=False, float_format=lambda x: f"{x:.3f}"
        )
    )
    print(f"chosen box {found.chosen}:")
    print(found.limits.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(found.words)
    print("feature scores (extra-trees importance):")
    print(found.features.to_string(float_format=lambda x: f"{x:.3f}"))
    print(
        f"wrote discovery-{found.outcome}-tradeoff.csv, -box.csv, .png and feature-scores.* "
        f"into {directory}"
    )
    return 0


COMMANDS = (add_commands,)
