"""Reading a study's committed parts one table at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from experiments.runner.store import Store


def committed_parts(root: Path, table: str) -> Iterator[pd.DataFrame]:
    """Yield each committed part of ``table`` (``runs`` or ``sessions``), one at a time."""
    return Store(root).committed_parts(table)
