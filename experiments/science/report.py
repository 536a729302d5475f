"""What every report shares: markdown tables, figures saved atomically, intervals in words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from experiments.runner.io import write_with


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
    return f"{mean * scale:{fmt}} [{low * scale:{fmt}}, {high * scale:{fmt}}]"
