"""``alliance dashboard``: the teaching dashboard in the browser.

:func:`add_parser` registers the subcommand on the ``alliance`` parser (see :mod:`sim.cli`);
``python -m sim.dashboard_cli dashboard [options]`` runs it on its own. Nothing heavy is imported
until the command runs, so ``alliance --help`` stays fast, and :mod:`sim.cli` is imported only
inside functions, so :mod:`sim.cli` can import this module at its top.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8765


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``dashboard`` subcommand on ``subparsers`` and return its parser."""
    p = subparsers.add_parser(
        "dashboard", help="open the teaching dashboard in the browser",
        description="Serve the teaching dashboard (Mesa SolaraViz): one dyad up close with its "
                    "ruptures and repairs, an event log in plain words, the clinic, and the same "
                    "patient with two clinicians. Open the printed address in a browser; "
                    "Ctrl+C stops the server.",
    )
    p.add_argument("--host", default=None,
                   help="address to listen on (default: 127.0.0.1, this machine only; HOST and "
                        "SOLARA_HOST are ignored). Any other address makes the dashboard "
                        "reachable from other machines and must be given here")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="port to listen on (default: %(default)s; 0 picks a free one)")
    p.add_argument("--scenario", default="psychotherapy",
                   help="scenario the page opens with (`alliance scenarios` lists them)")
    p.add_argument("--seed", type=int, default=2026, help="root seed (default: %(default)s)")
    p.set_defaults(func=cmd_dashboard)
    return p


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from sim.cli import UsageError
    from sim.dashboard.server import bind, resolve_host, serve
    from sim.params import ParameterError, check_seed
    from sim.scenarios import get as get_scenario

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
    from sim.cli import EXIT_USAGE, UsageError, _Parser
    from sim.params import ParameterError

    parser = _Parser(prog="alliance")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ParameterError) as exc:
        print(f"alliance {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
