"""The model document's generated sections match the code."""

from experiments.docs import MODEL_DOC, replace_section, section
from sim.params import markdown_table


def test_parameter_table_in_model_doc_matches_the_code():
    text = MODEL_DOC.read_text(encoding="utf-8")
    assert section(text, "parameter-table") == markdown_table(), (
        "docs/MODEL.md is out of date: run `python -m experiments.docs`")


def test_replace_section_keeps_the_rest():
    text = "a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n"
    assert replace_section(text, "x", "new") == "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n"
