"""The model document's generated sections match the code."""

import pytest

from sim.cli.docs import MODEL_DOC, generated, replace_section, section


@pytest.mark.parametrize(("name", "content"), generated().items())
def test_generated_tables_in_model_doc_match_the_registries(name, content):
    text = MODEL_DOC.read_text(encoding="utf-8")
    assert section(text, name.replace("_", "-")) == content.strip(), (
        "docs/MODEL.md is out of date: run `python -m sim.cli.docs`"
    )


def test_replace_section_keeps_the_rest():
    text = "a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n"
    assert replace_section(text, "x", "new") == "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n"


def test_readme_outputs_name_every_column_of_both_tables():
    """The README's Outputs section lists the columns by hand: every one the tables have."""
    import re
    from pathlib import Path

    from sim.core.batch import simulate

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    outputs = readme.split("## Outputs", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"[a-z][a-z0-9_]*", outputs))
    tiny = {"n_clinicians": 1, "patients_per_clinician": 2, "max_sessions": 3}
    result = simulate(tiny, record_sessions=True)
    for table, frame in (("per-dyad", result.dyads), ("panel", result.sessions)):
        missing = [c for c in frame.columns if c not in named]
        assert not missing, f"README's Outputs section omits {table} columns {missing}"
