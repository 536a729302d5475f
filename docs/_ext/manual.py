"""The manual's generated pages: written from the registries when a build starts.

Nothing here is written by hand into a page. When Sphinx starts (``builder-inited``) this
extension writes, into ``docs/_generated/`` (not committed):

* ``parameters.md``: every parameter of :data:`sim.core.params.PARAMS` by group (default,
  bounds, unit, meaning, source), and the scenarios of :data:`sim.core.scenarios.SCENARIOS`;
* ``dyads.md``, ``sessions.md``: the columns of the per-dyad table and of the per-session
  panel, from the field registry (:mod:`sim.core.fields`) and the rules of the batch path
  (:mod:`sim.core.batch`); ``tests/test_manual.py`` checks them against a real run;
* ``outcomes.md``: the outcome registry (:mod:`experiments.science.outcomes`), the columns of
  ``alliance summarize``;
* ``citation.md``: the recommended citation, read from ``CITATION.cff``;
* ``tutorials.md``: the tutorials' index, one row per notebook (its title and first sentence);
* ``using-it.md``: the "Using it" part of the contents, with any ``docs/UPPERCASE.md`` guide
  that no other part lists;

and copies ``notebooks/*.ipynb`` into ``docs/tutorials/`` (not committed), so that a new
notebook becomes a tutorial by itself. A file is rewritten only when its content changes, so
incremental builds stay incremental.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
TUTORIALS = DOCS / "tutorials"
NOTEBOOKS = ROOT / "notebooks"

GROUPS = {
    "clinic": "The clinic",
    "intervention": "Interventions",
    "clinician": "Clinician traits (population medians and spreads)",
    "patient": "Patient traits (population medians and spreads)",
    "mechanism": "Mechanisms",
    "instrument": "Instruments",
}
"""Parameter groups, in the order of the page, with their headings."""

DERIVED_COLUMNS = {
    "ruptures": ("int32", "ruptures over the course: withdrawals + confrontations"),
    "alliance_mean": ("float64", "latent alliance, mean over attended sessions (NaN: none)"),
    "engagement_mean": ("float64", "engagement, mean over attended sessions (NaN: none)"),
}
"""Per-dyad columns computed from other fields (``sim.core.batch.summary_columns``)."""


def cell(text: Any) -> str:
    """Return ``text`` safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """Return a markdown table."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def number(x: float) -> str:
    """Return a parameter value as the registry would print it."""
    return f"{x:g}"


def parameters_page() -> str:
    """Return the parameter tables (one per group) and the scenarios, as markdown."""
    from sim.core.params import PARAMS
    from sim.core.scenarios import SCENARIOS

    unknown = {p.group for p in PARAMS.values()} - set(GROUPS)
    if unknown:
        raise ValueError(f"parameter groups without a heading in docs/_ext/manual.py: {unknown}")
    parts = []
    for group, heading in GROUPS.items():
        params = [p for p in PARAMS.values() if p.group == group]
        if not params:
            continue
        rows = [
            (
                f"`{p.name}`",
                number(p.default),
                f"[{number(p.low)}, {number(p.high)}]" + (" whole" if p.integer else ""),
                p.unit,
                p.meaning,
                p.source,
            )
            for p in params
        ]
        parts += [
            f"## {heading}",
            "",
            f"{len(params)} parameters.",
            "",
            table(("parameter", "default", "bounds", "unit", "meaning", "source"), rows),
            "",
        ]
    rows = [
        (
            f"`{s.name}`",
            s.description,
            ", ".join(f"`{k}` = {number(v)}" for k, v in s.overrides.items()) or "(defaults)",
        )
        for s in SCENARIOS.values()
    ]
    parts += [
        "## Scenarios",
        "",
        "A scenario changes some defaults (`--scenario NAME`, `scenario = ` in a sweep spec, "
        "`AllianceModel(scenario=...)`); anything not listed keeps the table's default.",
        "",
        table(("scenario", "what it is", "parameters it sets"), rows),
        "",
    ]
    return "\n".join(parts)


def _range(low: float, high: float) -> str:
    if math.isnan(low) or (math.isinf(low) and math.isinf(high)):
        return ""
    if math.isinf(high):
        return f"≥ {number(low)}"
    return f"[{number(low)}, {number(high)}]"


def dyad_columns() -> list[tuple[str, str, str, str]]:
    """Return (column, type, range, meaning) of every column of the per-dyad table."""
    import numpy as np

    from sim.core.batch import CATEGORIES, KEY_COLUMNS, summary_fields
    from sim.core.composition import CORE
    from sim.core.fields import CLINICIAN_FIELDS, DYAD_FIELDS
    from sim.core.params import CLINICIAN_TRAITS

    dyad = {f.name: f for f in DYAD_FIELDS}
    clinician = {f.name: f for f in CLINICIAN_FIELDS}

    def kind(f) -> str:
        if f.name in CATEGORIES:
            return "category: " + ", ".join(f"`{c}`" for c in CATEGORIES[f.name])
        return np.dtype(f.dtype).name

    def span(f) -> str:
        return "" if f.name in CATEGORIES else _range(f.low, f.high)

    rows = [(name, kind(dyad[name]), "", dyad[name].meaning) for name in KEY_COLUMNS]
    for t in CLINICIAN_TRAITS:
        f = clinician[t]
        rows.append((f"clinician_{t}", kind(f), span(f), "the clinician's " + f.meaning))
    for f in DYAD_FIELDS:
        if f.role == "trait":
            rows.append((f"patient_{f.name}", kind(f), span(f), f.meaning))
    for column, name in summary_fields(CORE).items():
        f = dyad[name]
        meaning = f.meaning if column == name else f"{f.meaning} (field `{name}`, at the end)"
        rows.append((column, kind(f), span(f), meaning))
    rows += [(name, t, "", meaning) for name, (t, meaning) in DERIVED_COLUMNS.items()]
    return rows


def session_columns() -> list[tuple[str, str, str, str]]:
    """Return (column, type, range, meaning) of every column of the per-session panel."""
    import numpy as np

    from sim.core.batch import CATEGORIES, KEY_COLUMNS, PANEL_FIELDS, PANEL_SOURCES
    from sim.core.fields import DYAD_FIELDS

    dyad = {f.name: f for f in DYAD_FIELDS}
    rows = [(name, np.dtype(dyad[name].dtype).name, "", dyad[name].meaning) for name in KEY_COLUMNS]
    rows.append(("session", "int32", "[1, max_sessions]", "session number, from 1"))
    for name in PANEL_FIELDS[len(KEY_COLUMNS) :]:
        f = dyad[PANEL_SOURCES.get(name, name)]
        if name in CATEGORIES:
            kind = "category: " + ", ".join(f"`{c}`" for c in CATEGORIES[name])
        elif f.role == "event":
            kind = "bool"
        else:
            kind = np.dtype(f.dtype).name
        plain = kind in ("bool",) or name in CATEGORIES
        rows.append((name, kind, "" if plain else _range(f.low, f.high), f.meaning))
    return rows


def columns_table(rows: list[tuple[str, str, str, str]]) -> str:
    """Return output columns as a markdown table."""
    return table(
        ("column", "type", "range", "meaning"),
        ((f"`{c}`", t, r, m) for c, t, r, m in rows),
    )


KINDS = {
    "ratio": "ratio of sums over the patients who count",
    "standardised_change": "(mean pre - mean post) / SD(pre) over the patients who count",
}
"""How an outcome's terms make its value, in words (``Outcome.kind``)."""


def outcome_rows() -> list[tuple[str, ...]]:
    """Return (name, unit, meaning, who counts, how it aggregates, source) of every outcome."""
    from experiments.science.outcomes import REGISTRY

    return [
        (
            o.name,
            o.unit,
            o.meaning,
            o.who,
            f"per clinic: {KINDS.get(o.kind, o.kind)}; per point: {o.across_replicates}",
            o.source,
        )
        for o in REGISTRY
    ]


def outcomes_page() -> str:
    """Return the outcome registry as markdown (the columns of ``summary.parquet``)."""
    return table(
        ("outcome", "unit", "meaning", "who counts", "how it aggregates", "source"),
        ((f"`{name}`", *rest) for name, *rest in outcome_rows()),
    )


def citation_page() -> str:
    """Return the recommended citation (text and BibTeX), read from ``CITATION.cff``."""
    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    names = [
        " ".join(filter(None, (a.get("given-names"), a.get("family-names")))) or a.get("name", "")
        for a in cff["authors"]
    ]
    # BibTeX splits a person's name into parts; an organisation's is kept whole in braces.
    bib_names = [
        n if a.get("family-names") else f"{{{n}}}"
        for n, a in zip(names, cff["authors"], strict=True)
    ]
    year = str(cff.get("date-released", ""))[:4]
    when = f" ({year})" if year else ""
    text = (
        f"{', '.join(names)}{when}. *{cff['title']}* (version {cff['version']}) "
        "[Computer software]."
    )
    bib = "\n".join(
        [
            "@software{working_alliance,",
            f"  author  = {{{' and '.join(bib_names)}}},",
            f"  title   = {{{cff['title']}}},",
            f"  version = {{{cff['version']}}},",
            *([f"  year    = {{{year}}},"] if year else []),
            f"  license = {{{cff.get('license', '')}}},",
            "}",
        ]
    )
    return "\n".join([text, "", "```bibtex", bib, "```", ""])


USING_IT = ("cli", "results", "api/index", "EXTENDING")
"""The "Using it" part of the contents, in order; other guides follow it (:func:`using_it`)."""
ELSEWHERE = ("MODEL", "DASHBOARD")
"""Top-level guides that the contents place in another part."""


def using_it() -> str:
    """Return the "Using it" toctree: its pages, then any other ``docs/UPPERCASE.md`` guide.

    A guide added to docs/ (say ``docs/FITTING.md``) appears in the manual by itself.
    """
    guides = sorted(
        p.stem
        for p in DOCS.glob("*.md")
        if p.stem.isupper() and p.stem not in (*USING_IT, *ELSEWHERE)
    )
    entries = "\n".join((*USING_IT, *guides))
    return f"```{{toctree}}\n:hidden:\n:caption: Using it\n\n{entries}\n```\n"


TUTORIALS_SAY = {
    "01_quickstart": "the Mesa model session by session, its agents as views onto the arrays, "
    "`AgentSet` and the `DataCollector`",
    "02_what_if": "the source text's vignettes as paired experiments: the same patients, with "
    "the same luck, and different clinicians",
    "03_sweeps_and_sensitivity": "a sweep defined in Python, outcome surfaces with pandas, "
    "Sobol indices",
    "04_published_findings": "the model against the published patterns P1-P14, and what a "
    "correlation between patients can and cannot say",
    "05_alliance_in_trials": "virtual trials of techniques, with and without the alliance as "
    "a covariate",
    "06_add_a_mechanism": "routine outcome monitoring, written in a notebook and run on every path",
}
"""What each notebook teaches, in a line; a notebook not listed here is described by the first
sentence of its introduction."""


def tutorial_rows() -> list[tuple[str, str, str]]:
    """Return (file, title, what it teaches) of every notebook, for the tutorials' index."""
    rows = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        ).splitlines()
        title = next((line.lstrip("# ").strip() for line in text if line.startswith("# ")), "")
        body = " ".join(
            line.strip() for line in text[1:] if line.strip() and not line.startswith("#")
        )
        sentence = body.split(". ")[0].rstrip(".") + "." if body else ""
        rows.append((path.name, title or path.stem, TUTORIALS_SAY.get(path.stem, sentence)))
    return rows


def tutorials_table() -> str:
    """Return the tutorials' index table (every notebook, linked)."""
    return table(
        ("notebook", "what you learn"),
        ((f"[{title}]({name})", sentence) for name, title, sentence in tutorial_rows()),
    )


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it already holds exactly that."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def tutorial_copy(source: Path) -> str:
    """Return a notebook as the manual shows it: links into docs/ made relative to the manual.

    A notebook links the guides as ``../docs/NAME.md`` (from ``notebooks/``); its copy lives in
    ``docs/tutorials/``, from where the same page is ``../NAME.md``.
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]).replace("](../docs/", "](../")
            cell["source"] = text.splitlines(keepends=True)
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


def copy_notebooks() -> list[str]:
    """Copy ``notebooks/*.ipynb`` into ``docs/tutorials/``; drop copies of removed ones."""
    TUTORIALS.mkdir(exist_ok=True)
    names = []
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        write_if_changed(TUTORIALS / source.name, tutorial_copy(source))
        names.append(source.stem)
    for stale in TUTORIALS.glob("*.ipynb"):
        if stale.stem not in names:
            stale.unlink()
    return names


def generate(app=None) -> None:
    """Write every generated page (Sphinx's ``builder-inited``; also callable by hand)."""
    write_if_changed(GENERATED / "parameters.md", parameters_page())
    write_if_changed(GENERATED / "dyads.md", columns_table(dyad_columns()))
    write_if_changed(GENERATED / "sessions.md", columns_table(session_columns()))
    write_if_changed(GENERATED / "outcomes.md", outcomes_page())
    write_if_changed(GENERATED / "citation.md", citation_page())
    write_if_changed(GENERATED / "using-it.md", using_it())
    write_if_changed(GENERATED / "tutorials.md", tutorials_table())
    copy_notebooks()


LONG_VALUE = 80
"""Characters beyond which a module constant's value is left out of its entry (its docstring
says what it holds; a dict of functions printed in full helps no reader)."""


def _short_values():
    from sphinx.domains.python import PyVariable

    class ShortValueVariable(PyVariable):
        """``py:data`` that leaves out a value longer than :data:`LONG_VALUE` characters."""

        def run(self):
            if len(self.options.get("value", "")) > LONG_VALUE:
                del self.options["value"]
            return super().run()

    return ShortValueVariable


STAMP = "manual-build.json"
"""Written into the output directory when a build ends without an error: when it ended and how
many warnings it gave (``tests/test_manual.py`` reuses a build newer than every source)."""


def stamp(app, exception) -> None:
    """Record a finished build (Sphinx's ``build-finished``)."""
    if exception is None:
        record = {"finished": time.time(), "warnings": app._warncount}
        Path(app.outdir, STAMP).write_text(json.dumps(record), encoding="utf-8")


def _one_numpydoc_template() -> None:
    """Make numpydoc compile its docstring template once per build, not once per docstring.

    numpydoc 1.x builds a new Jinja environment and compiles the same template for each of the
    manual's ~800 docstrings (a quarter of the build's time). Where numpydoc's internals are not
    as expected, nothing is changed.
    """
    try:
        from numpydoc import docscrape_sphinx as ds
        from numpydoc import numpydoc as nd
    except ImportError:
        return
    needed = ("get_doc_object_orig", "SphinxClassDoc", "SphinxFunctionDoc", "SphinxObjDoc")
    if not all(hasattr(ds, name) for name in needed) or not hasattr(nd, "get_doc_object"):
        return
    original = ds.get_doc_object
    cached: dict[int, Any] = {}

    def get_doc_object(obj, what=None, doc=None, config=None, builder=None):
        config = {} if config is None else config
        key = id(builder)
        if key not in cached:
            original(None, what="object", doc="", config=config, builder=builder)
            cached[key] = config["template"]
        config["template"] = cached[key]
        return ds.get_doc_object_orig(
            obj,
            what=what,
            doc=doc,
            config=config,
            class_doc=ds.SphinxClassDoc,
            func_doc=ds.SphinxFunctionDoc,
            obj_doc=ds.SphinxObjDoc,
        )

    nd.get_doc_object = get_doc_object


def setup(app) -> dict[str, Any]:
    """Register the generators and the short constants with Sphinx."""
    app.connect("builder-inited", generate)
    app.connect("build-finished", stamp)
    app.add_directive_to_domain("py", "data", _short_values(), override=True)
    _one_numpydoc_template()
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
