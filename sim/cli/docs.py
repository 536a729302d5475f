"""Keep the generated sections of docs/MODEL.md (fields, parameters, validation) up to date.

A generated section sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``. Run
``python -m sim.cli.docs`` after changing a parameter; ``alliance validate --update-docs``
refreshes the validation table.
"""

from __future__ import annotations

import re
from pathlib import Path

from experiments.runner.io import write_text
from sim.core.fields import CLINICIAN_FIELDS, DYAD_FIELDS
from sim.core.fields import markdown_table as fields_table
from sim.core.params import markdown_table

MODEL_DOC = Path(__file__).resolve().parents[2] / "docs" / "MODEL.md"


def section(text: str, name: str) -> str:
    """Return the content of generated section ``name`` of ``text``."""
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    if match is None:
        raise ValueError(f"no generated section '{name}' in the document")
    return match.group(1).strip()


def replace_section(text: str, name: str, content: str) -> str:
    """Return ``text`` with generated section ``name`` replaced by ``content``."""
    section(text, name)  # raises if missing
    return re.sub(
        rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
        lambda m: f"{m.group(1)}{content.strip()}\n{m.group(2)}",
        text,
        flags=re.S,
    )


def update(path: Path = MODEL_DOC, **sections: str) -> Path:
    """Rewrite the named generated sections of the document at ``path`` (atomically)."""
    text = path.read_text(encoding="utf-8")
    for name, content in sections.items():
        text = replace_section(text, name.replace("_", "-"), content)
    return write_text(text, path)


def generated() -> dict[str, str]:
    """Return the sections generated from the registries, by name."""
    return {
        "parameter_table": markdown_table(),
        "dyad_fields": fields_table(DYAD_FIELDS),
        "clinician_fields": fields_table(CLINICIAN_FIELDS),
    }


if __name__ == "__main__":
    print(update(**generated()))
