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
