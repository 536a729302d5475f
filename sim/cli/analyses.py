"""The analyses of finished sweeps and of a clinic's data: sensitivity, discovery, fitting.

``alliance sensitivity`` (Morris screening or Sobol indices of a sweep), ``alliance discover``
(scenario discovery: PRIM boxes and feature scores) and ``alliance fit`` (ABC-SMC of chosen
parameters to a clinic's session-by-session data). Every error a user can fix is one line with
exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import UsageError, add_allow_incomplete, sweep_dir, warn_incomplete


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``sensitivity``, ``discover`` and ``fit``."""
    sens = sub.add_parser(
        "sensitivity",
        help="Morris screening or Sobol indices of an outcome (morris, sobol designs)",
        description="Global sensitivity of one outcome of a finished morris or sobol sweep, "
        "on the per-point mean over replicates. morris: mu*, sigma and their 95% "
        "intervals (bootstrap over trajectories), the noise floor from replicate "
        "variation, and a mu*-sigma plot. sobol: first-order and total indices "
        "with 95% intervals; those covering 0 are marked. Writes "
        "sensitivity-OUTCOME.csv and .png into DIR, and the per-point summary it reads "
        "(summary.parquet and summary.csv, as `alliance summarize` writes them).",
    )
    sens.add_argument("dir", help="results directory of a morris or sobol sweep")
    sens.add_argument("--outcome", required=True, help="outcome, e.g. dropout_rate")
    sens.add_argument(
        "--method",
        choices=("morris", "sobol"),
        help="the analysis (default: the one the sweep's design is for)",
    )
    add_allow_incomplete(sens)
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
    add_allow_incomplete(disc)
    disc.set_defaults(func=cmd_discover)

    fit = sub.add_parser(
        "fit",
        help="fit parameters to a clinic's session-by-session data (ABC-SMC, resumable)",
        description="Approximate Bayesian computation (ABC-SMC, pyabc) of the --params to a "
        "clinic's records (CSV or Parquet; schema in docs/FITTING.md), on summary "
        "statistics that are the project's outcome definitions. Writes into --out: "
        "posterior.parquet, posterior-summary.csv (90% credible intervals), "
        "marginals.png, ppc.png and ppc.csv (posterior predictive check against the "
        "data), data-statistics.csv, generations.csv, manifest.json and abc.db "
        "(pyabc's history: the same command again resumes).",
    )
    fit.add_argument("data", help="the clinic's records (.csv or .parquet)")
    fit.add_argument("--params", required=True, help="parameters to fit, e.g. a,b,c")
    fit.add_argument("--out", required=True, help="the fit's directory")
    fit.add_argument(
        "--prior",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="uniform prior of a fitted parameter (default: its bounds in alliance params)",
    )
    fit.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hold another parameter at a value (e.g. max_sessions=16)",
    )
    fit.add_argument(
        "--statistics", help="summary statistics (default: every one the data's columns allow)"
    )
    fit.add_argument("--population", type=int, default=200, help="particles (default: 200)")
    fit.add_argument("--generations", type=int, default=8, help="generations in all (default: 8)")
    fit.add_argument("--min-epsilon", type=float, default=0.0, help="stop below this threshold")
    fit.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    fit.add_argument(
        "--ppc-draws", type=int, default=50, help="draws of the predictive check (default: 50)"
    )
    fit.add_argument("--seed", type=int, default=1, help="seed of the check and the bootstrap")
    where = fit.add_argument_group("where simulations run (default: pyabc's multicore sampler)")
    where.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    where.add_argument("--serial", action="store_true", help="one by one, in this process")
    where.add_argument("--dask-local", type=int, metavar="N", help="a Dask LocalCluster of N")
    where.add_argument("--dask-scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    fit.set_defaults(func=cmd_fit)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Morris screening or Sobol indices of one outcome."""
    from experiments.runner.store import StoreError
    from experiments.science import sensitivity

    directory = sweep_dir(args.dir)
    method = args.method or sensitivity.design_method(directory)
    if method not in sensitivity.METHODS:
        method = "sobol"  # the analysis then names what the directory lacks
    try:
        if method == "morris":
            result = sensitivity.morris_screening(
                directory,
                args.outcome,
                allow_incomplete=args.allow_incomplete,
                report=warn_incomplete(args.dir),
            )
            table = result.table
        else:
            table = sensitivity.sobol_indices(
                directory,
                args.outcome,
                allow_incomplete=args.allow_incomplete,
                report=warn_incomplete(args.dir),
            )
    except (sensitivity.SensitivityError, FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if method == "morris":
        print(sensitivity.floor_words(result))
    else:
        covers = int(table[["S1_covers_zero", "ST_covers_zero"]].to_numpy().sum())
        print(f"{covers} of {2 * len(table)} intervals cover 0 (*_covers_zero)")
    import pandas as pd

    values = pd.read_parquet(directory / "summary.parquet", columns=[args.outcome])
    note = sensitivity.saturation_words(values[args.outcome].to_numpy(), args.outcome)
    if note:
        print(note)
    print(f"wrote {directory / f'sensitivity-{args.outcome}.csv'} and .png")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """PRIM box and feature scores of one outcome."""
    from experiments.runner.store import StoreError
    from experiments.science.discovery import DiscoveryError, discover

    directory = sweep_dir(args.dir)
    try:
        found = discover(
            directory,
            args.outcome,
            above=args.above,
            below=args.below,
            min_density=args.density,
            allow_incomplete=args.allow_incomplete,
            report=warn_incomplete(args.dir),
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


def _pairs(items: list[str], option: str, sep: str = "=") -> dict[str, str]:
    found = {}
    for item in items:
        name, eq, value = item.partition(sep)
        if not eq or not name.strip() or not value.strip():
            raise UsageError(f"{option} '{item}' must look like NAME{sep}VALUE")
        found[name.strip()] = value.strip()
    return found


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: '{text}' is not a number") from None


def cmd_fit(args: argparse.Namespace) -> int:
    """ABC-SMC of chosen parameters to a clinic's data."""
    from experiments.science.clinic_data import DataError
    from experiments.science.fitting import FitError, fit

    priors = {}
    for name, text in _pairs(args.prior, "--prior").items():
        low, colon, high = text.partition(":")
        if not colon:
            raise UsageError(f"--prior {name}={text} must look like NAME=LOW:HIGH")
        priors[name] = (_number(low, f"--prior {name}"), _number(high, f"--prior {name}"))
    fixed = {k: _number(v, f"--set {k}") for k, v in _pairs(args.set, "--set").items()}
    chosen = [args.serial, args.workers is not None, args.dask_local is not None,
              args.dask_scheduler is not None]  # fmt: skip
    if sum(chosen) > 1:
        raise UsageError("choose one of --serial, --workers, --dask-local, --dask-scheduler")
    for option in ("workers", "dask_local", "population", "generations", "ppc_draws"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be a whole number >= 1")
    sampler = "serial" if args.serial else "pool"
    workers = args.workers
    if args.dask_local is not None or args.dask_scheduler is not None:
        sampler, workers = "dask", args.dask_local
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out '{out}' is a file, not a directory")
    try:
        result = fit(
            args.data,
            [p.strip() for p in args.params.split(",") if p.strip()],
            out,
            priors=priors,
            statistics=None if args.statistics is None else args.statistics.split(","),
            fixed=fixed,
            population=args.population,
            generations=args.generations,
            min_epsilon=args.min_epsilon,
            max_minutes=args.max_minutes,
            sampler=sampler,
            workers=workers,
            dask_address=args.dask_scheduler,
            ppc_draws=args.ppc_draws,
            seed=args.seed,
            log=print,
        )
    except (DataError, FitError) as exc:
        raise UsageError(str(exc)) from None
    print("posterior (weighted; 90% credible interval):")
    print(result.summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print("posterior predictive check (data with 95% interval; model median and 95% range):")
    columns = ["statistic", "value", "low", "high", "predicted", "predicted_low",
               "predicted_high", "median_in_data_interval"]  # fmt: skip
    print(result.ppc[columns].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"wrote {', '.join(p.name for p in result.files)} into {out}")
    return 0


COMMANDS = (add_commands,)
