"""The notebooks: each runs top to bottom at small size, cleanly, and is committed executed.

Every ``notebooks/*.ipynb`` is found and executed with nbclient in a fresh kernel of this
environment, with ``ALLIANCE_NOTEBOOK_SCALE=small``, by the same function that
``notebooks/execute.py`` uses to re-execute them at full size (working directory and TMPDIR in a
temporary directory; outputs kept in memory, never written back). Warnings inside the kernel do
not reach pytest's ``filterwarnings = error``, so the test fails instead on anything a notebook
prints to stderr, where warnings go.

``test_committed_numbers_come_back_in_a_fresh_run`` executes notebooks 02, 03 and 05 at full
size, as committed, and compares the numbers their cells print with the committed outputs: a
notebook whose prose was written from numbers the code no longer gives fails. After a change to
the model, ``python notebooks/execute.py`` re-executes them all.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# run_path compiles the script without writing bytecode into notebooks/.
harness = runpy.run_path(str(NOTEBOOK_DIR / "execute.py"), run_name="notebook_harness")
CELL_TIMEOUT = 120
"""Seconds a cell may take at small size (all of them together take a few)."""


def files_under(directory: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``directory``."""
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in directory.rglob("*")
        if p.is_file()
    }


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebooks_of_the_issue_are_there():
    stems = {path.stem for path in NOTEBOOKS}
    assert {"01_quickstart", "02_what_if", "03_sweeps_and_sensitivity"} <= stems


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_cleanly_at_small_size(path: Path):
    before = files_under(NOTEBOOK_DIR)
    run = harness["execute"](path, scale="small", timeout=CELL_TIMEOUT)
    assert run.stderr == [], f"{path.name} printed to stderr:\n" + "\n".join(run.stderr)
    executed = code_cells(run.notebook)
    assert all(cell.execution_count is not None for cell in executed)
    assert files_under(NOTEBOOK_DIR) == before, "the run wrote into notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_follows_the_house_layout(path: Path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown", "the first cell says what the notebook shows"
    assert "full size" in first.source, "the first cell says how long a full-size run takes"
    assert harness["SCALE_VARIABLE"] in code_cells(notebook)[0].source, (
        "the first code cell reads the size from ALLIANCE_NOTEBOOK_SCALE"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_executed_top_to_bottom(path: Path):
    # Outputs come from `python notebooks/execute.py` (full size), so they read well on the web.
    cells = code_cells(nbformat.read(path, as_version=4))
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name} is not executed top to bottom in one go; run notebooks/execute.py"
    )
    problems = [
        output
        for cell in cells
        for output in cell.outputs
        if output.output_type == "error"
        or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert problems == []


RECHECKED = ("02_what_if", "03_sweeps_and_sensitivity", "05_alliance_in_trials")
"""Notebooks whose committed numbers are checked against a fresh full-size run."""


def test_key_numbers_ignore_durations_only():
    cell = nbformat.v4.new_code_cell(
        outputs=[
            nbformat.v4.new_output(
                "stream",
                name="stdout",
                text="200 chunks run: 1,135,856 dyad-sessions in 1.1 s; "
                "r = -0.23, 31% (95% CI 24% to 37%)\n",
            )
        ]
    )
    numbers = harness["key_numbers"](nbformat.v4.new_notebook(cells=[cell]))
    assert numbers == [["200", "1,135,856", "-0.23", "31", "95", "24", "37"]]


@pytest.mark.slow
@pytest.mark.parametrize("name", RECHECKED)
def test_committed_numbers_come_back_in_a_fresh_run(name: str):
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    committed = harness["key_numbers"](nbformat.read(path, as_version=4))
    assert any(committed), f"{name} prints no numbers"
    fresh = harness["key_numbers"](harness["execute"](path, scale="full").notebook)
    assert fresh == committed, (
        f"{name}: its committed outputs are not what the code gives "
        "now; run `python notebooks/execute.py` and reread the prose"
    )
