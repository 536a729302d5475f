"""The manual (docs/, ``make docs``): built without warnings, complete, and linked.

The build runs at most once per test session: ``make test`` builds it (``make docs``, warnings
as errors) before pytest starts, and the fixture reuses that build when it is newer than every
source it is made from. Otherwise the first xdist worker to get here builds it, under a file
lock, while the others wait and then reuse it.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import inspect
import json
import re
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
HTML = BUILD / "html"
WARNINGS = BUILD / "warnings.txt"
STAMP = HTML / "manual-build.json"
BUILD_SECONDS = 600

sys.path.insert(0, str(DOCS / "_ext"))
import manual  # noqa: E402  (docs/_ext/manual.py: the manual's generators)


def sources() -> list[Path]:
    """Every file the manual is built from."""
    found = [p for p in DOCS.rglob("*") if p.is_file() and not _generated(p)]
    found += list((ROOT / "notebooks").glob("*.ipynb"))
    found += [ROOT / "CITATION.cff", ROOT / "CHANGELOG.md", ROOT / "pyproject.toml"]
    for package in ("sim", "agents", "experiments"):
        found += list((ROOT / package).rglob("*.py")) + list((ROOT / package).rglob("*.toml"))
    return found


def _generated(path: Path) -> bool:
    parts = path.relative_to(DOCS).parts
    return (
        parts[0] in ("_build", "_generated")
        or (parts[0] == "tutorials" and path.suffix == ".ipynb")
        or "__pycache__" in parts
    )


def fresh() -> bool:
    """Whether the last build finished after every source was last changed."""
    if not STAMP.exists() or not WARNINGS.exists():
        return False
    finished = json.loads(STAMP.read_text(encoding="utf-8"))["finished"]
    return max(p.stat().st_mtime for p in sources()) < finished


@pytest.fixture(scope="session")
def built() -> Path:
    """Return the built manual's HTML directory, building it first if it is stale."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, whatever the workers
        if not fresh():
            command = [sys.executable, "-m", "sphinx", "-E", "-j", "2", "--keep-going", "-q"]
            command += ["-b", "html", "-d", str(BUILD / "doctrees"), "-w", str(WARNINGS)]
            command += [str(DOCS), str(HTML)]
            run = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS
            )
            assert run.returncode == 0, f"the manual did not build:\n{run.stderr[-4000:]}"
    return HTML


class Page(HTMLParser):
    """What the tests read of one HTML page: ids, links, remote assets, table rows."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.remote: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        source = a.get("src") if tag in ("script", "img", "iframe") else None
        if tag == "link" and a.get("rel") in ("stylesheet", "preload", "icon"):
            source = a.get("href")
        if source:
            self.links.append(source)
            if re.match(r"(https?:)?//", source):
                self.remote.append(source)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page(built: Path, name: str) -> Page:
    return Page((built / name).read_text(encoding="utf-8"))


def first_cells(p: Page) -> set[str]:
    return {row[0] for row in p.rows if row}


# --- the build ------------------------------------------------------------------------------


def test_the_manual_builds_without_a_warning(built):
    warnings = WARNINGS.read_text(encoding="utf-8").strip()
    assert warnings == "", f"the manual's build warned (make docs fails on these):\n{warnings}"


def test_every_page_of_the_issue_is_there(built):
    for name in (
        "index.html",
        "getting-started.html",
        "tutorials/index.html",
        "MODEL.html",
        "validation/index.html",
        "parameters.html",
        "cli.html",
        "api/index.html",
        "results.html",
        "DASHBOARD.html",
        "teachers/lesson-plan.html",
        "citing.html",
        "changelog.html",
    ):
        assert (built / name).is_file(), f"{name} is missing from the manual"


def test_every_internal_link_and_anchor_resolves(built):
    pages = {p: page(built, str(p.relative_to(built))) for p in built.rglob("*.html")}
    broken = []
    for path, p in pages.items():
        for link in p.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or link.startswith("mailto:"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(built)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else page(built, target.name).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(built)}: {link} (no such anchor)")
    assert not broken, "broken links in the manual:\n" + "\n".join(broken)


def test_nothing_is_loaded_from_the_network(built):
    remote = [
        f"{path.relative_to(built)}: {source}"
        for path in built.rglob("*.html")
        for source in page(built, str(path.relative_to(built))).remote
    ]
    for css in built.rglob("*.css"):
        remote += [
            f"{css.relative_to(built)}: {url}"
            for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text())
        ]
        remote += [
            f"{css.relative_to(built)}: {url}"
            for url in re.findall(r"@import\s+['\"]((?:https?:)?//[^'\"]+)", css.read_text())
        ]
    assert not remote, "the manual loads these from the network:\n" + "\n".join(remote)


# --- the API reference ----------------------------------------------------------------------


def documented_modules() -> list[str]:
    """Modules the API reference documents (each ``automodule`` of docs/api/)."""
    found = []
    for rst in sorted((DOCS / "api").glob("*.rst")):
        found += re.findall(r"^\.\. automodule:: (\S+)", rst.read_text(), flags=re.M)
    return found


def public_objects(module_name: str) -> list[tuple[str, object]]:
    """Public functions and classes of a module, and the public methods of its classes."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module_name
        ]
    found = []
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        home = obj.__module__  # a name a package re-exports is documented where it lives
        found.append((f"{home}.{obj.__qualname__}", obj))
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, staticmethod | classmethod):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    found.append((f"{home}.{obj.__qualname__}.{attr}", member))
    return found


def test_the_api_reference_covers_the_public_modules():
    modules = set(documented_modules())
    for required in (
        "sim.model",
        "agents.patient",
        "agents.clinician",
        "sim.core.batch",
        "sim.core.params",
        "sim.core.fields",
        "sim.core.extension",
        "experiments.runner.sweep",
        "experiments.runner.spec",
        "experiments.runner.store",
        "experiments.science.analysis",
        "experiments.science.outcomes",
        "experiments.science.validation",
    ):
        assert required in modules, f"the API reference does not document {required}"


@pytest.mark.parametrize("module_name", documented_modules())
def test_every_public_object_has_a_docstring_that_renders(built, module_name):
    html = {p: p.read_text(encoding="utf-8") for p in (built / "api").glob("*.html")}
    rendered = "\n".join(html.values())
    missing, absent = [], []
    for qualified, obj in public_objects(module_name):
        doc = inspect.getdoc(obj)  # a property's own doc, not its getter's
        if not doc or not doc.strip():
            missing.append(qualified)
            continue
        # autodoc gives each object an anchor with its full name; napoleon fills the entry.
        entry = re.search(
            rf'<dt[^>]*id="{re.escape(qualified)}"[^>]*>.*?</dt>\s*<dd>(.*?)</dd>',
            rendered,
            flags=re.S,
        )
        if entry is None or "<p>" not in entry.group(1):
            absent.append(qualified)
    assert not missing, f"public objects without a docstring: {missing}"
    assert not absent, f"public objects whose docstring the manual does not show: {absent}"


# --- the generated pages --------------------------------------------------------------------


def test_the_parameter_page_lists_every_parameter(built):
    from sim.core.params import PARAMS
    from sim.core.scenarios import SCENARIOS

    cells = first_cells(page(built, "parameters.html"))
    assert set(PARAMS) <= cells, f"missing: {sorted(set(PARAMS) - cells)}"
    assert set(SCENARIOS) <= cells, f"missing scenarios: {sorted(set(SCENARIOS) - cells)}"


def subcommands(parser: argparse.ArgumentParser, prefix: str = "alliance"):
    """Yield (path, parser) of every subcommand, at any depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}"
                yield path, sub
                yield from subcommands(sub, path)


def test_the_cli_page_lists_every_subcommand_and_option(built):
    from sim.cli.experiments import build_parser

    p = page(built, "cli.html")
    text = (built / "cli.html").read_text(encoding="utf-8")
    commands = list(subcommands(build_parser()))
    assert len(commands) >= 11
    for path, sub in commands:
        anchor = path.replace(" ", "-")
        assert anchor in p.ids, f"the command-line page has no section for `{path}`"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # -h is on every page of --help, and on none of the manual's
            for option in action.option_strings:
                assert f">{option}<" in text, f"`{path} {option}` is not on the page"


def test_the_results_layout_lists_the_columns_a_run_returns(built):
    from sim.core.batch import simulate

    result = simulate(
        {"n_clinicians": 1, "patients_per_clinician": 3, "max_sessions": 3},
        seed=1,
        record_sessions=True,
    )
    assert [row[0] for row in manual.dyad_columns()] == list(result.dyads.columns)
    assert [row[0] for row in manual.session_columns()] == list(result.sessions.columns)
    cells = first_cells(page(built, "results.html"))
    assert set(result.dyads.columns) | set(result.sessions.columns) <= cells


def test_the_results_layout_lists_every_outcome(built):
    from experiments.science.outcomes import REGISTRY

    cells = first_cells(page(built, "results.html"))
    assert {o.name for o in REGISTRY} <= cells


def test_every_notebook_is_a_tutorial_with_its_outputs(built):
    index = page(built, "tutorials/index.html")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = built / "tutorials" / f"{notebook.stem}.html"
        assert html.is_file(), f"{notebook.name} is not in the manual"
        outputs = [
            output
            for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            for output in cell.get("outputs", [])
        ]
        text = html.read_text(encoding="utf-8")
        if outputs:  # the committed outputs are shown, figures included
            assert "cell_output" in text, f"{notebook.name}: its outputs are not shown"
        if any("image/png" in output.get("data", {}) for output in outputs):
            assert "<img" in text, f"{notebook.name}: its figures are not shown"
        assert f"{notebook.stem}.html" in index.links, (
            f"docs/tutorials/index.md does not list {notebook.name}"
        )


def test_the_validation_report_shows_the_table_of_the_model_document():
    from sim.cli.docs import MODEL_DOC, section

    table = section(MODEL_DOC.read_text(encoding="utf-8"), "validation-table")
    report = (DOCS / "validation" / "validation.md").read_text(encoding="utf-8")
    assert table in report, (
        "docs/validation/validation.md is older than docs/MODEL.md's validation table: "
        "run `python docs/validation/refresh.py`"
    )
    for figure in ("forest.png", "distances.png"):
        assert (DOCS / "validation" / figure).is_file()


# --- citing and versions --------------------------------------------------------------------


def test_citation_changelog_package_and_manifests_name_one_version():
    from experiments.runner.store import versions

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version"):
        assert cff.get(key), f"CITATION.cff has no {key}"
    assert str(cff["version"]) == project["version"] == version("working-alliance")
    assert versions()["project"] == project["version"], "manifests record another version"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog


def test_the_citation_page_names_the_version(built):
    text = (built / "citing.html").read_text(encoding="utf-8")
    assert f"version {version('working-alliance')}" in text
