"""The ``alliance`` command line.

Each subcommand is a small function ``cmd_<name>(args) -> int``; :func:`main` parses, dispatches
and turns every error a user can cause into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from sim.cli.common import AddCommands, Parser, UsageError, run, writable_dir
from sim.cli.dashboard import add_parser as add_dashboard_parser
from sim.core.params import ParameterError, check_seed, check_value, markdown_table, table
from sim.core.scenarios import SCENARIOS


class _Version(argparse.Action):
    """``--version``: print the installed project's version and exit.

    Looked up only when asked: reading the installed metadata costs ~70 ms, which every other
    ``alliance`` command would pay at start-up if the string were built with the parser.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("working-alliance")
        except PackageNotFoundError:  # run from a tree that is not installed
            found = "unknown"
        print(f"alliance {found}")
        parser.exit()


def _parse_set(items: Sequence[str]) -> dict[str, float]:
    """Parse repeated ``--set NAME=VALUE`` into validated overrides."""
    overrides: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set takes NAME=VALUE, got '{item}'")
        overrides[name.strip()] = check_value(name.strip(), value)
    return overrides


def _add_clinic_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=2026, help="root seed (default: %(default)s)")
    p.add_argument(
        "--scenario",
        default="psychotherapy",
        help="scenario to start from (`alliance scenarios` lists them)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a parameter (repeatable; `alliance params` lists them)",
    )
    p.add_argument("--clinicians", type=int, help="clinicians in the clinic")
    p.add_argument("--patients-per-clinician", type=int, help="caseload of each clinician")
    p.add_argument("--sessions", type=int, help="planned sessions (max_sessions)")


def _clinic_overrides(args: argparse.Namespace) -> dict[str, float]:
    overrides = _parse_set(args.overrides)
    for option, name in (
        ("clinicians", "n_clinicians"),
        ("patients_per_clinician", "patients_per_clinician"),
        ("sessions", "max_sessions"),
    ):
        value = getattr(args, option)
        if value is not None:
            flag = f"--{option.replace('_', '-')}"
            if name in overrides:
                raise UsageError(f"{flag} and --set {name} both set {name}; give one of them")
            try:
                overrides[name] = check_value(name, value)
            except ParameterError as exc:
                raise UsageError(f"{flag}: {exc}") from None
    return overrides


def build_parser(extra: Iterable[AddCommands] = ()) -> argparse.ArgumentParser:
    """Return the parser of the ``alliance`` command and its subcommands.

    Parameters
    ----------
    extra : iterable of callables
        Functions registering more subcommands; the layers above ``sim`` (experiments, the
        dashboard) add theirs this way, so ``sim`` never imports them.
    """
    parser = Parser(
        prog="alliance",
        description="Simulate the working alliance between clinicians and patients: "
        "goals, tasks and bond, needs and motivation, ruptures and repairs.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    run = sub.add_parser(
        "run",
        help="simulate one clinic and summarise it",
        description="Simulate one clinic of a scenario to the end of treatment, print a "
        "summary, and write dyads.parquet (one row per patient), sessions.parquet "
        "(one row per attended session) and trajectories.png into --out.",
    )
    _add_clinic_options(run)
    run.add_argument("--out", default="results/run", help="output directory (default: %(default)s)")
    run.set_defaults(func=cmd_run)

    params = sub.add_parser(
        "params",
        help="list every parameter with default, bounds, meaning",
        description="List the parameter table: name, default, bounds and meaning "
        "(--markdown adds each unit and the source of each default).",
    )
    params.add_argument(
        "--group",
        help="only this group (clinic, intervention, clinician, patient, mechanism, instrument)",
    )
    params.add_argument(
        "--markdown", action="store_true", help="the whole table as markdown (as in docs/MODEL.md)"
    )
    params.set_defaults(func=cmd_params)

    scenarios = sub.add_parser(
        "scenarios",
        help="list the scenarios",
        description="List the scenarios with a one-line description.",
    )
    scenarios.set_defaults(func=cmd_scenarios)
    add_dashboard_parser(sub)
    for add in extra:
        add(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate one clinic, print its summary, write tables and the figure."""
    from sim.cli.run import run_clinic
    from sim.core.batch import check_size, parameter_rows

    overrides = _clinic_overrides(args)
    check_seed(args.seed, "--seed")
    check_size(
        parameter_rows(overrides, args.scenario), np.zeros(1, dtype=np.int64), record_sessions=True
    )  # before --out is created
    out = writable_dir(args.out)
    report = run_clinic(seed=args.seed, scenario=args.scenario, overrides=overrides, out=out)
    print(report)
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    if args.markdown:
        print(markdown_table())
        return 0
    rows = [r for r in table() if args.group in (None, r["group"])]
    if not rows:
        raise UsageError(
            f"--group '{args.group}' has no parameters; use clinic, intervention, "
            "clinician, patient, mechanism or instrument"
        )
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        bounds = f"[{r['low']:g}, {r['high']:g}]"
        print(f"{r['name']:<{width}}  {r['default']:>8g}  {bounds:<16} {r['meaning']}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """Print the scenarios."""
    width = max(len(name) for name in SCENARIOS)
    for name, scenario in SCENARIOS.items():
        print(f"{name:<{width}}  {scenario.description}")
    return 0


def main(argv: Sequence[str] | None = None, extra: Iterable[AddCommands] = ()) -> int:
    """Run the ``alliance`` command; return its exit status."""
    return run(build_parser(extra), argv)


if __name__ == "__main__":
    raise SystemExit(main())
