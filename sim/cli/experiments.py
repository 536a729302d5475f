"""The ``alliance`` console script: the model's commands plus sweeps, summaries and studies.

``sim.cli.model`` holds the model's commands (``run``, ``params``, ``scenarios``); this module adds
the experiment commands on top, so that ``sim`` never imports ``experiments``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path

from sim.cli import analyses
from sim.cli import model as sim_cli
from sim.cli.common import (
    UsageError,
    add_allow_incomplete,
    plural,
    sweep_dir,
    warn_incomplete,
    writable_dir,
)

EXIT_FAILED_CHUNKS = 1


def _add_executor_options(p: argparse.ArgumentParser, chunks: bool = True) -> None:
    group = p.add_argument_group("where the work runs (default: a local process pool, all cores)")
    group.add_argument("--workers", type=int, help="local worker processes")
    group.add_argument("--serial", action="store_true", help="run in this process, one by one")
    group.add_argument(
        "--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers"
    )
    group.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="join a running Dask scheduler (e.g. started by dask-jobqueue)",
    )
    if chunks:
        p.add_argument("--chunk-size", type=int, help="clinics per chunk (default: ~200,000 dyads)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_replace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replace",
        action="store_true",
        help="if --out holds results this run cannot continue (another version of the model, "
        "another spec), move them aside to OUT.replaced-<UTC time> and start afresh; "
        "nothing is deleted, and results it can continue are continued",
    )


def _set_aside(out: Path) -> Path:
    """Rename ``out`` to a free ``OUT.replaced-<UTC time>`` beside it and return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in itertools.count():
        aside = out.with_name(f"{out.name}.replaced-{stamp}" + (f"-{n}" if n else ""))
        if not aside.exists():
            out.rename(aside)
            return aside
    raise AssertionError("unreachable")


def _replacing[T](args: argparse.Namespace, out: Path, action: Callable[[Path], T]) -> T:
    """Return ``action(out)``, handling results in ``out`` that it cannot continue.

    Without ``--replace`` they are refused (a usage error naming the option); with it, ``out``
    is moved aside whole (:func:`_set_aside`) and ``action`` runs again in a fresh ``out``.
    """
    from experiments.runner.store import OtherResults

    try:
        return action(out)
    except OtherResults as exc:
        if not args.replace:
            raise UsageError(f"{exc}, or add --replace to move them aside") from None
        aside = _set_aside(out)
        print(
            f"--out '{out}' held {exc.holds}: moved them to '{aside}'; starting afresh",
            file=sys.stderr,
        )
        return action(writable_dir(out))


def _check_executor_options(args: argparse.Namespace) -> None:
    """Refuse executor options out of range, before anything is written."""
    for option in ("workers", "dask_local", "chunk_size"):
        _at_least(getattr(args, option, None), option.replace("_", "-"), 1)


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor]:
    """Open the executor the options ask for; a store or executor refusal is a usage error."""
    from experiments.runner.executors import ExecutorError, open_executor
    from experiments.runner.store import StoreError

    try:
        with open_executor(
            serial=args.serial,
            workers=args.workers,
            dask_local=args.dask_local,
            dask_scheduler=args.dask_scheduler,
        ) as executor:
            yield executor
    except (StoreError, ExecutorError) as exc:
        raise UsageError(str(exc)) from None


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the experiment commands: sweeps, summaries, studies, validation, calibration."""
    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep from a TOML spec (resumable)",
        description="Run the sweep a TOML spec describes into --out: design.parquet, "
        "runs/part-*.parquet (per-dyad summaries), sessions/part-*.parquet when "
        "recorded, manifest.json and a ledger. Running the same command again "
        "resumes where it stopped.",
    )
    sweep.add_argument("spec", help="sweep spec (TOML; see the README)")
    sweep.add_argument("--out", required=True, help="results directory")
    _add_replace_option(sweep)
    _add_executor_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

    summ = sub.add_parser(
        "summarize",
        help="per-point means and 95%% intervals of a sweep's outcomes",
        description="Write summary.parquet and summary.csv into DIR: per design point, the "
        "mean over replicated clinics of each outcome with a 95% t-interval.",
    )
    summ.add_argument("dir", help="results directory of a sweep")
    add_allow_incomplete(summ)
    summ.set_defaults(func=cmd_summarize)

    ver = sub.add_parser(
        "verify",
        help="check that a sweep's directory holds all its results, undamaged",
        description="Check DIR: the manifest, the design's checksum, and every planned chunk's "
        "receipt and part files (present, with the size and checksum recorded when "
        "they were written). Writes nothing; exit status 1 if anything is wrong "
        "(running the sweep again recomputes damaged or missing chunks).",
    )
    ver.add_argument("dir", help="results directory of a sweep")
    ver.set_defaults(func=cmd_verify)

    study = sub.add_parser(
        "study",
        help="run a named study and write its report",
        description="Run a named study (its sweep config is in experiments/configs/) into "
        "--out and write report.md with figures. Resumes like sweep.",
    )
    study.add_argument("name", help="study name (`alliance study --list`)", nargs="?")
    study.add_argument("--list", action="store_true", help="list the studies")
    study.add_argument("--out", help="results directory (default: results/<name>)")
    study.add_argument("--replicates", type=int, help="replicates (default: the config's)")
    _add_replace_option(study)
    _add_executor_options(study)
    study.set_defaults(func=cmd_study)

    val = sub.add_parser(
        "validate",
        help="hold the default model to the published patterns P1-P14",
        description="Simulate the default (psychotherapy) and hypertension scenarios, compute "
        "each pattern of experiments/science/targets.toml as the cited studies do, with "
        "cluster-bootstrap 95% intervals, and judge it: the model's interval must "
        "overlap the published one (plus each pattern's own checks). Writes "
        "validation.md, validation.csv and figures into --out, and the simulated "
        "populations as sweeps into --out/runs: the same command again resumes. Exit "
        "status 0 when every pattern passes, 1 otherwise.",
    )
    val.add_argument(
        "--out", default="results/validation", help="output directory (default: %(default)s)"
    )
    val.add_argument(
        "--patients", type=int, help="patients per simulated population (default: 20,000)"
    )
    val.add_argument("--seed", type=int, help="root seed (default: 2026)")
    _add_replace_option(val)
    val.add_argument(
        "--update-docs",
        action="store_true",
        help="also refresh the validation table in docs/MODEL.md",
    )
    _add_executor_options(val, chunks=False)
    val.set_defaults(func=cmd_validate)

    cal = sub.add_parser(
        "calibrate",
        help="rerun the calibration of the default coefficients",
        description="Rerun the calibration procedure (experiments/science/calibration.py): a Latin-"
        "hypercube screen over the calibrated coefficients, then bounded least "
        "squares from the best screened points, with common random numbers, "
        "minimising the squared standardised distances to the targets. Writes "
        "trace.csv (every evaluated point and its loss) and "
        "chosen.toml (the values to put into sim/core/params.py and sim/core/scenarios.py) "
        "into --out, and every evaluation as it finishes into --out/evaluations: the same "
        "command again resumes, computing only what is missing.",
    )
    cal.add_argument(
        "--out", default="results/calibration", help="output directory (default: %(default)s)"
    )
    cal.add_argument(
        "--screen",
        type=int,
        default=768,
        help="Latin-hypercube points of the screen (default: %(default)s)",
    )
    cal.add_argument(
        "--evaluations",
        type=int,
        default=2400,
        help="evaluations of the local searches together (default: %(default)s), spent in "
        "whole steps: a step costs about one evaluation per calibrated coefficient, "
        "and each local search takes at least one; 0 skips them",
    )
    cal.add_argument(
        "--starts",
        type=int,
        default=4,
        help="local searches, from the best screened points (default: %(default)s)",
    )
    cal.add_argument(
        "--patients", type=int, help="patients per population in each evaluation (default: 12,000)"
    )
    cal.add_argument("--seed", type=int, help="seed of every evaluation (default: 1)")
    cal.add_argument(
        "--holdout",
        action="store_true",
        help="instead, the held-out check: for each of three folds of the targets, "
        "calibrate on the other two from the middle of the box and judge the "
        "fold at full size (writes holdout.csv; --evaluations per fold)",
    )
    _add_replace_option(cal)
    _add_executor_options(cal, chunks=False)
    cal.set_defaults(func=cmd_calibrate)


def _remove_if_unused(out: Path) -> None:
    """Remove ``out`` if it holds nothing but the lock file a refused run took."""
    contents = list(out.iterdir())
    if all(p.name == ".lock" for p in contents):
        for p in contents:
            p.unlink(missing_ok=True)
        out.rmdir()


def _run(spec, out: Path, args: argparse.Namespace):
    _check_executor_options(args)
    created = not out.exists()
    out = writable_dir(out)  # an existing one is probed too (nothing left behind)
    if not args.serial and args.dask_local is None and args.dask_scheduler is None:
        from experiments.runner.pool import start_pool_server

        start_pool_server()  # warms up while the imports below and the sweep's set-up run

    from experiments.runner.sweep import run_sweep

    try:
        with _executor(args) as executor:
            outcome = _replacing(
                args,
                out,
                lambda directory: run_sweep(
                    spec,
                    directory,
                    executor=executor,
                    chunk_size=args.chunk_size,
                    progress=not args.quiet,
                ),
            )
    except UsageError:
        if created:  # a refusal leaves no trace: remove the directory this command made
            _remove_if_unused(out)
        raise
    print(
        f"{spec.name}: {outcome.done} chunks run, {outcome.skipped} already done, "
        f"{len(outcome.failed)} failed; {outcome.dyad_sessions:,} dyad-sessions in "
        f"{outcome.seconds:.1f} s ({outcome.rate / 1e6:.2f} M/s); results in {out}"
    )
    if outcome.stopped:
        print(f"stopped: {outcome.stopped}", file=sys.stderr)
    if outcome.failed:
        for chunk, error in outcome.failed:
            print(f"chunk {chunk} failed: {error}", file=sys.stderr)
        print(
            f"{len(outcome.failed)} chunks failed (recorded in {out / 'ledger.jsonl'}); "
            "run the command again to retry them",
            file=sys.stderr,
        )
    return outcome


def _checked_out(out: str) -> Path:
    """Refuse an --out that is a file (before anything is written)."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out '{path}' is a file, not a directory")
    return path


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run or resume a sweep."""
    from experiments.runner.spec import SpecError, load

    try:
        spec = load(args.spec)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    outcome = _run(spec, _checked_out(args.out), args)
    return EXIT_FAILED_CHUNKS if outcome.failed else 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a sweep's directory; exit 1 if anything is missing or damaged."""
    from experiments.runner.store import Store, StoreError

    directory = sweep_dir(args.dir)
    try:
        verified, problems = Store(directory).verify()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(verified)} chunks verified, {plural(len(problems), 'problem')} in {directory}")
    return 1 if problems else 0


def cmd_summarize(args: argparse.Namespace) -> int:
    """Summarise a sweep."""
    from experiments.runner.store import StoreError
    from experiments.science.summarize import summarize

    sweep_dir(args.dir)
    try:
        summary = summarize(
            args.dir, allow_incomplete=args.allow_incomplete, report=warn_incomplete(args.dir)
        )
    except (FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{len(summary)} points summarised; wrote {Path(args.dir) / 'summary.parquet'} and "
        f"{Path(args.dir) / 'summary.csv'}"
    )
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    """Run a named study and write its report."""
    from dataclasses import replace

    from experiments.runner.spec import load
    from experiments.studies import STUDIES

    if args.list or not args.name:
        for name, study in STUDIES.items():
            print(f"{name:<18} {study.question}")
        return 0
    if args.name not in STUDIES:
        raise UsageError(f"unknown study '{args.name}'; choose one of: {', '.join(STUDIES)}")
    study = STUDIES[args.name]
    spec = load(study.config)
    if args.replicates is not None:
        if args.replicates < 1:
            raise UsageError(f"--replicates must be a whole number >= 1, got {args.replicates}")
        spec = replace(spec, replicates=args.replicates)
    out = _checked_out(args.out or f"results/{args.name}")
    outcome = _run(spec, out, args)
    if outcome.failed:
        return EXIT_FAILED_CHUNKS
    path = study.report(out)
    print(f"report: {path}")
    return 0


def _at_least(value: int | None, option: str, low: int) -> None:
    if value is not None and value < low:
        raise UsageError(f"--{option} must be a whole number >= {low}, got {value}")


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate the default model; exit status 0 only if every pattern passes."""
    from experiments.science import validation
    from experiments.science.targets import TargetsError

    _at_least(args.patients, "patients", 40)
    _at_least(args.seed, "seed", 0)
    _check_executor_options(args)
    out = writable_dir(_checked_out(args.out))
    try:
        with _executor(args) as executor:
            result = _replacing(
                args,
                out,
                lambda directory: validation.run_validation(
                    args.patients or validation.DEFAULT_PATIENTS,
                    validation.DEFAULT_SEED if args.seed is None else args.seed,
                    out=directory,
                    executor=executor,
                    progress=not args.quiet,
                ),
            )
    except TargetsError as exc:
        raise UsageError(str(exc)) from None
    from experiments.science.validation_report import markdown_table, summary_lines, write_report

    report = write_report(result, out)
    for line in summary_lines(result):
        print(line)
    if args.update_docs:
        from sim.cli.docs import update

        print(f"updated the validation table in {update(validation_table=markdown_table(result))}")
    passed = int(result.table["passed"].sum())
    print(f"{passed} of {len(result.table)} patterns pass; report: {report}")
    return 0 if result.passed else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Rerun the calibration and write its trace and choice."""
    from experiments.science import calibration
    from experiments.science.targets import TargetsError

    _at_least(args.screen, "screen", 0)
    _at_least(args.evaluations, "evaluations", 0)
    _at_least(args.starts, "starts", 1)
    _at_least(args.patients, "patients", 40)
    _at_least(args.seed, "seed", 0)
    _check_executor_options(args)
    out = writable_dir(_checked_out(args.out))
    if args.holdout:
        with _executor(args) as executor:
            table = _replacing(
                args,
                out,
                lambda directory: calibration.holdout(
                    directory,
                    max_evaluations=args.evaluations,
                    n_patients=args.patients or calibration.CALIBRATION_PATIENTS,
                    seed=calibration.CALIBRATION_SEED if args.seed is None else args.seed,
                    executor=executor,
                    log=print,
                ),
            )
        for row in table.itertuples(index=False):
            print(
                f"fold {row.fold}  {row.pattern}  {'pass' if row.passed else 'FAIL'}  "
                f"{row.model:.3f} [{row.model_low:.3f}, {row.model_high:.3f}]"
            )
        print(
            f"{int(table['passed'].sum())} of {len(table)} held-out patterns pass; wrote "
            f"{out / 'holdout.csv'}"
        )
        return 0
    try:
        with _executor(args) as executor:
            result = _replacing(
                args,
                out,
                lambda directory: calibration.calibrate(
                    directory,
                    screen_points=args.screen,
                    max_evaluations=args.evaluations,
                    starts=args.starts,
                    n_patients=args.patients or calibration.CALIBRATION_PATIENTS,
                    seed=calibration.CALIBRATION_SEED if args.seed is None else args.seed,
                    executor=executor,
                    log=print,
                ),
            )
    except TargetsError as exc:
        raise UsageError(str(exc)) from None
    for key, value in result.chosen.items():
        print(f"{key} = {value:.4g}")
    print(
        f"loss {result.loss:.2f} (current defaults {result.start_loss:.2f}); wrote "
        f"{', '.join(str(f) for f in result.files)}"
    )
    return 0


COMMANDS = (add_commands, analyses.add_commands)
"""Every group of subcommands the ``alliance`` script adds to the model's."""


def build_parser() -> argparse.ArgumentParser:
    """Return the whole ``alliance`` parser (the manual's command-line page is made from it)."""
    return sim_cli.build_parser(extra=COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``alliance`` command (model, experiment and dashboard commands)."""
    return sim_cli.main(argv, extra=COMMANDS)


if __name__ == "__main__":
    raise SystemExit(main())
