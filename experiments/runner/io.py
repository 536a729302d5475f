"""Atomic file writing: a file appears complete under its name, or not at all."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

WRITE_BATCH_ROWS = 65_536
"""Rows of each column the Parquet writer encodes at a time (pyarrow's default is 1,024)."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it into place.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates the file 0600; results are shared (a cluster's users, a web server), so
    # the file gets the mode an ordinary open() would give it: 0666 less the umask.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    """Return the process's umask (from /proc: setting it to read it is not thread-safe)."""
    try:  # Linux reports it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_parquet(
    frame: pd.DataFrame | pa.Table, path: str | Path, statistics: Sequence[str] | None = None
) -> Path:
    """Write ``frame`` to ``path`` as Parquet, atomically.

    Parameters
    ----------
    frame : pandas.DataFrame or pyarrow.Table
        The table (a DataFrame's index is not written).
    path : str or Path
        Where it goes.
    statistics : sequence of str, optional
        Columns whose min/max statistics are written (what readers use to skip row groups when
        filtering); default all. Statistics of every float column cost a fifth of the writing time.

    See Also
    --------
    write_part : the same, returning the file's digest (a sweep's part files).
    """
    write_part(frame, path, statistics)
    return Path(path)


def write_part(
    frame: pd.DataFrame | pa.Table, path: str | Path, statistics: Sequence[str] | None = None
) -> dict[str, int]:
    """Write ``frame`` to ``path`` as Parquet, atomically; return its size and CRC-32.

    The digest (what a receipt records and a resume checks, as :func:`file_digest` computes it)
    is taken from the bytes written, so the file is not read back. The Parquet options are the
    fastest to write that we measured at the same size (``benchmarks/README.md``): LZ4 pages of
    format 2.0, dictionary encoding for categorical columns only (for float columns of
    simulated values it costs three times the writing time and makes files larger), and
    values handed to the encoder 65,536 rows at a time instead of 1,024 (12% less time to
    encode a 200,000-row chunk; pages are still cut at ~1 MB). ``statistics`` as in
    :func:`write_parquet`.
    """
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    categorical = [field.name for field in table.schema if pa.types.is_dictionary(field.type)]
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        sink = _Digesting(handle)
        pq.write_table(
            table,
            sink,
            use_dictionary=categorical or False,
            write_statistics=True if statistics is None else list(statistics),
            compression="lz4",
            data_page_version="2.0",
            write_batch_size=WRITE_BATCH_ROWS,
        )
    return {"size": sink.size, "crc32": sink.crc32}


class _Digesting(io.RawIOBase):
    """A binary file that keeps the size and CRC-32 of what is written through it."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self._handle = handle
        self.size = 0
        self.crc32 = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:
        self.crc32 = zlib.crc32(data, self.crc32)
        self.size += len(data)
        return self._handle.write(data)


def file_digest(path: str | Path) -> dict[str, int]:
    """Return a file's size and CRC-32 (what a receipt records, and a resume checks)."""
    crc = 0
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return {"size": size, "crc32": crc}


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` (UTF-8), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_with(writer: Callable[[Path], object], path: str | Path) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
