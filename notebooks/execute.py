"""Execute the notebooks top to bottom and save them, with their outputs, in place.

Run it with the project's environment, from any directory::

    .venv/bin/python notebooks/execute.py               # every notebook, full size, saved
    .venv/bin/python notebooks/execute.py 02_what_if    # only some (names or paths)
    .venv/bin/python notebooks/execute.py --small       # every notebook, small size, not saved

After a change to the model's equations or defaults, the first command re-executes every
notebook at full size and saves it; ``tests/test_notebooks.py`` then finds the committed
outputs' numbers again in a fresh run (:func:`key_numbers`).

Each notebook runs in a fresh kernel of this interpreter (the ``python3`` kernel that ipykernel
installs into the environment; nothing is registered globally). The kernel's working directory
and ``TMPDIR`` are a temporary directory removed afterwards, so whatever a notebook writes stays
out of ``notebooks/``. The size reaches the notebook as ``ALLIANCE_NOTEBOOK_SCALE`` (``full`` or
``small``), read in its first code cell. Warnings are shown once per place (also the deprecation
warnings Python hides by default), and anything a notebook prints to stderr is reported and
makes the exit status 1; a notebook that raises is reported with its traceback, exit status 1,
and is not saved. ``tests/test_notebooks.py`` runs :func:`execute` at small size.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

NOTEBOOK_DIR = Path(__file__).resolve().parent
SCALE_VARIABLE = "ALLIANCE_NOTEBOOK_SCALE"
SCALES = ("full", "small")
KERNEL_NAME = "python3"
CELL_TIMEOUT = 600
"""Seconds a cell may run before the notebook counts as failed."""

KERNEL_STARTUP = (
    "import warnings as _w; _w.simplefilter('default'); "
    # As in pytest's configuration (pyproject.toml): Mesa's own deprecations are not ours.
    "_w.filterwarnings('ignore', category=DeprecationWarning, module='mesa'); del _w"
)
"""Run in the kernel before the first cell: show every warning once per place."""


@dataclass
class Executed:
    """A notebook after execution.

    Attributes
    ----------
    notebook : nbformat.NotebookNode
        The notebook with its new outputs.
    seconds : float
        Wall time, kernel start included.
    stderr : list of str
        Everything the cells printed to stderr, one entry per output, prefixed by the cell.
    """

    notebook: nbformat.NotebookNode
    seconds: float
    stderr: list[str]


def find_notebooks(names: Sequence[str] = ()) -> list[Path]:
    """Return the notebooks named (by stem, file name or path), or all of ``notebooks/``."""
    if not names:
        return sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    found = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = NOTEBOOK_DIR / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if not path.is_file():
            raise FileNotFoundError(f"no notebook '{name}' (looked for {path})")
        found.append(path.resolve())
    return found


def execute(path: Path, *, scale: str = "full", timeout: int = CELL_TIMEOUT) -> Executed:
    """Execute a notebook in a fresh kernel; return it with its outputs (the file is untouched).

    Parameters
    ----------
    path : Path
        The ``.ipynb`` file.
    scale : {"full", "small"}
        Passed to the notebook in ``ALLIANCE_NOTEBOOK_SCALE``.
    timeout : int
        Seconds any one cell may take.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raises; the message holds the cell's traceback.
    nbclient.exceptions.CellTimeoutError, nbclient.exceptions.DeadKernelError
        If a cell runs out of time or the kernel dies.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"alliance-{path.stem}-") as workdir:
        client = NotebookClient(
            notebook, kernel_name=KERNEL_NAME, timeout=timeout, record_timing=False,
            resources={"metadata": {"path": workdir}},
            extra_arguments=[f"--InteractiveShellApp.exec_lines={KERNEL_STARTUP}"],
        )
        _prepare_kernel(client)
        env = os.environ | {SCALE_VARIABLE: scale, "TMPDIR": workdir}
        client.execute(env=env)
    return Executed(notebook, time.perf_counter() - started, stderr_outputs(notebook))


def _prepare_kernel(client: NotebookClient) -> None:
    """Create the client's kernel manager; refuse a kernel of another interpreter than this."""
    manager = client.create_kernel_manager()
    program = manager.kernel_spec.argv[0]
    # jupyter_client runs a spec's bare "python" as sys.executable.
    if program not in ("python", "python3", sys.executable):
        raise RuntimeError(
            f"the '{KERNEL_NAME}' kernel found first runs {program}, not this environment's "
            f"{sys.executable}; remove that kernelspec or set JUPYTER_PREFER_ENV_PATH=1")
    # Encrypt the kernel's channels where jupyter_client (>= 8.10) and libzmq can; otherwise
    # ipykernel warns on the terminal that it runs over unencrypted TCP.
    if manager.has_trait("transport_encryption") and zmq.has("curve"):
        manager.transport_encryption = "auto"


def stderr_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Return what the notebook's cells printed to stderr, each prefixed by its cell."""
    found = []
    for number, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {number}: {output['text'].strip()}")
    return found


_DURATION = re.compile(r"\d[\d,.]*\s*(?:s|ms|seconds|minutes)\b")
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?")


def key_numbers(notebook: nbformat.NotebookNode) -> list[list[str]]:
    """Return, per code cell, the numbers its printed text shows (durations left out).

    The numbers a notebook's prose is built from are printed by its cells; two runs of the same
    notebook at the same size give the same numbers (every draw is seeded), except for how long
    things took.
    """
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(output.get("text", "") for output in cell.get("outputs", [])
                       if output.get("output_type") == "stream" and output.get("name") == "stdout")
        found.append(_NUMBER.findall(_DURATION.sub("", text)))
    return found


def save(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook in place atomically (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    temporary.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Execute notebooks; save them at full size. Return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="names or paths (default: all)")
    parser.add_argument("--small", action="store_true",
                        help="run at small size as the tests do, and save nothing")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds a cell may take (default {CELL_TIMEOUT})")
    args = parser.parse_args(argv)
    try:
        paths = find_notebooks(args.notebooks)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scale = "small" if args.small else "full"
    status = 0
    for path in paths:
        print(f"{path.name}: executing at {scale} size ...", flush=True)
        try:
            run = execute(path, scale=scale, timeout=args.timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            print(f"{path.name}: FAILED, not saved\n{exc}", file=sys.stderr)
            status = 1
            continue
        if run.stderr:
            status = 1
            print(f"{path.name}: printed to stderr:\n  " + "\n  ".join(run.stderr),
                  file=sys.stderr)
        if not args.small:
            save(run.notebook, path)
        print(f"{path.name}: {run.seconds:.1f} s{'' if args.small else ', saved'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
