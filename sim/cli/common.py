"""What every ``alliance`` command shares: the one-line error, the parser, the exit statuses.

Every error a user can cause (:class:`UsageError`, a bad parameter, a dashboard setting) becomes
one line on stderr and exit status :data:`EXIT_USAGE`; :func:`run` does that for any parser.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from sim.core.params import ParameterError
from sim.dashboard.errors import DashboardError

EXIT_USAGE = 2

AddCommands = Callable[[argparse._SubParsersAction], None]
"""A function that registers subcommands on the ``alliance`` parser's subparsers."""


class UsageError(Exception):
    """An error the user can fix; printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr with exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check that files can be written in it.

    Raises
    ------
    UsageError
        Naming the directory and why it cannot be used.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"--out '{out}' is not a writable directory ({exc.strerror})") from None
    return out


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen command and return its exit status.

    Errors a user can fix are printed as one line (``alliance COMMAND: error: ...``) with exit
    status 2; Ctrl+C exits 130; a closed pipe (``| head``) is not an error.
    """
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, so the hint names its --help
        command = next(
            (a.choices.get(args.command) for a in parser._actions if a.dest == "command"), None
        )
        (command or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.func(args)
    except (UsageError, ParameterError, DashboardError) as exc:
        print(f"alliance {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"alliance {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a pager or `head` that closed early: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def sweep_dir(directory: str | Path) -> Path:
    """Return ``directory`` as a path if it is a directory (a sweep's results to analyse).

    Raises
    ------
    UsageError
        If it is not a directory.
    """
    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"'{path}' is not a directory")
    return path


def add_allow_incomplete(p: argparse.ArgumentParser) -> None:
    """Add ``--allow-incomplete`` to a command that analyses a sweep's results."""
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="analyse even if chunks are missing or damaged (said on stderr)",
    )


def plural(count: int, noun: str) -> str:
    """Return ``count`` and ``noun``, plural unless the count is one ("1 problem", "2 problems")."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def warn_incomplete(directory: str | Path) -> Callable[[list[str]], None]:
    """Return what an analysis calls, with --allow-incomplete, to say loudly what it lacks."""

    def warn(problems: list[str]) -> None:
        print(
            f"warning: '{directory}' is incomplete ({plural(len(problems), 'problem')}, e.g. "
            f"{problems[0]}); analysing what is there because of --allow-incomplete",
            file=sys.stderr,
        )

    return warn
