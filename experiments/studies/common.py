"""Helpers shared by study reports: reading parts one at a time, markdown tables, figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from experiments.store import Store
from sim.io import write_with


def committed_parts(root: Path, table: str) -> Iterator[pd.DataFrame]:
    """Yield each committed part of ``table`` (``runs`` or ``sessions``), one at a time."""
    store = Store(root)
    tables = ("runs", "sessions") if table == "sessions" else ("runs",)
    for chunk in sorted(store.committed(tables)):
        yield pd.read_parquet(store.part(table, chunk))


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """Return ``frame`` as a GitHub-flavoured markdown table (no extra dependency)."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return format(value, floatfmt)
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def figure(width: float, height: float) -> Figure:
    """Return a new figure, made without pyplot so no backend or global state is touched."""
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with(lambda tmp: fig.savefig(tmp, format="png", dpi=110), path)
    return path


def interval(mean: float, low: float, high: float, scale: float = 1.0, fmt: str = ".1f") -> str:
    """Format ``mean [low, high]`` (optionally scaled, e.g. 100 for percentages)."""
    return (f"{mean * scale:{fmt}} [{low * scale:{fmt}}, {high * scale:{fmt}}]")
