"""The layers of CONTRIBUTING.md hold: import contracts kept, no import cycle anywhere."""

from __future__ import annotations

import graphlib
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "agents", "experiments")


def _graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    return {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


def test_no_module_imports_itself_through_others():
    try:
        tuple(graphlib.TopologicalSorter(_graph()).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_cycle_check_finds_a_cycle():
    graph = _graph()
    graph["sim.core.params"] = graph["sim.core.params"] | {"sim.cli.model"}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return
    raise AssertionError("a cycle through sim.core.params was not found")


def test_the_core_imports_nothing_above_it():
    graph = _graph()
    above = [
        (module, imported)
        for module, imports in graph.items()
        if module.startswith("sim.core")
        for imported in imports
        if not imported.startswith("sim.core") and imported.split(".")[0] in PACKAGES
    ]
    assert above == []
