"""``alliance dashboard``: the teaching dashboard in the browser.

:func:`add_parser` registers the subcommand on the ``alliance`` parser (see :mod:`sim.cli.model`);
``python -m sim.cli.dashboard dashboard [options]`` runs it on its own. Nothing heavy is imported
until the command runs, so ``alliance --help`` stays fast,.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8765


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``dashboard`` subcommand on ``subparsers`` and return its parser."""
    p = subparsers.add_parser(
        "dashboard",
        help="open the teaching dashboard in the browser",
        description="Serve the teaching dashboard (Mesa SolaraViz): one dyad up close with its "
        "ruptures and repairs, an event log in plain words, the clinic, and the same "
        "patient with two clinicians. Open the printed address in a browser; "
        "Ctrl+C stops the server.",
    )
    p.add_argument(
        "--host",
        default=None,
        help="address to listen on (default: 127.0.0.1, this machine only; HOST and "
        "SOLARA_HOST are ignored). Any other address makes the dashboard "
        "reachable from other machines and must be given here",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on (default: %(default)s; 0 picks a free one)",
    )
    p.add_argument(
        "--scenario",
        default="psychotherapy",
        help="scenario the page opens with (`alliance scenarios` lists them)",
    )
    p.add_argument("--seed", type=int, default=2026, help="root seed (default: %(default)s)")
    p.set_defaults(func=cmd_dashboard)
    return p


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from sim.cli.common import UsageError
    from sim.core.params import ParameterError, check_seed
    from sim.core.scenarios import get as get_scenario
    from sim.dashboard.server import bind, resolve_host, serve

    get_scenario(args.scenario)  # unknown scenario: ParameterError, one line
    try:
        check_seed(args.seed, "--seed")
    except ParameterError as exc:
        raise UsageError(str(exc)) from None
    host, notes = resolve_host(args.host)
    sock = bind(host, args.port, allow_remote=args.host is not None)
    for note in notes:
        print(note, file=sys.stderr)
    try:
        serve(sock, scenario=args.scenario, seed=args.seed)
    finally:
        sock.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dashboard`` as ``alliance`` would; return the exit status."""
    from sim.cli.common import Parser, run

    parser = Parser(prog="alliance")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    add_parser(sub)
    return run(parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
