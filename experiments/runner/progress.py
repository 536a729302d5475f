"""A progress bar for sweeps (rich): chunks done, dyad-sessions per second, time left.

Quiet when disabled (``--quiet``) or when standard error is not a terminal.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class SweepProgress:
    """Context manager showing a sweep's progress.

    Parameters
    ----------
    total : int
        Chunks planned.
    already : int
        Chunks committed by an earlier run (counted as done from the start).
    enabled : bool
        Show anything at all (still quiet when stderr is not a terminal).
    """

    def __init__(self, total: int, already: int, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self.already = already
        self.dyad_sessions = 0
        self.failed = 0
        self._started = time.perf_counter()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> SweepProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]chunks"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "sweep", total=self.total, completed=self.already, rate="", failed=""
            )
        return self

    def advance(self, dyad_sessions: int, failed: bool = False) -> None:
        """Count one finished chunk."""
        self.dyad_sessions += dyad_sessions
        self.failed += int(failed)
        if self._progress is not None:
            elapsed = max(time.perf_counter() - self._started, 1e-9)
            self._progress.update(
                self._task,
                advance=1,
                rate=f"{self.dyad_sessions / elapsed / 1e6:.2f} M dyad-sessions/s",
                failed=f"[red]{self.failed} failed" if self.failed else "",
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
