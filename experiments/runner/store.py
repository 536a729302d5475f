"""The results store of a sweep: a directory that is complete at every instant.

Layout of ``DIR``::

    manifest.json            spec, spec hash, seeds, chunk layout, versions, git commit, times
    design.parquet           the design points (point_id + varied parameters)
    runs/part-<chunk>.parquet      per-dyad summaries of one chunk
    sessions/part-<chunk>.parquet  per-session panel of one chunk (when recorded)
    clinics/part-<chunk>.parquet   one row per clinic of one chunk (instead of runs, when the
                                   spec records ["clinics"])
    ledger.jsonl             one receipt per line: a chunk committed ("ok") or failed

Every file is written under a temporary name, fsynced and renamed (:mod:`experiments.runner.io`); a
receipt is appended to the ledger only after its chunk's files are in place. A chunk counts as done
when the ledger says so *and* its files exist, so a run killed at any instant resumes without losing
or duplicating anything: a chunk written but not yet ledgered is simply computed again and its file
replaced by an identical one. ``pandas.read_parquet(DIR / "runs")`` reads the whole table (pyarrow
ignores the dot-prefixed temporary files).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.runner.io import file_digest, write_parquet, write_text
from experiments.runner.spec import SweepSpec


class StoreError(ValueError):
    """A results directory that cannot be used for this sweep."""


class OtherResults(StoreError):
    """A results directory holding results this run cannot continue.

    They are of another version of the model, of another spec, or of other outcome definitions:
    only a fresh directory will do. ``root`` is the directory and ``holds`` what it holds, in words.
    """

    def __init__(self, root: Path, holds: str) -> None:
        self.root = root
        self.holds = holds
        super().__init__(f"--out '{root}' holds {holds}; choose another --out")


def now() -> str:
    """Return the current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Return the versions of the project and the libraries that decide the numbers.

    A library already imported gives its module's ``__version__``; one not imported (Mesa, in
    a sweep's driver and workers) its installed distribution's, without importing it (Mesa
    takes 0.5-1 s to import, which every sweep's start and every worker's first chunk paid).
    """
    return {
        "project": _version_of("working-alliance"),
        "python": platform.python_version(),
        "numpy": _version_of("numpy"),
        "numba": _version_of("numba"),
        "mesa": _version_of("mesa"),
    }


def _version_of(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    module = sys.modules.get(name)
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def model_fingerprint(extensions: tuple[str, ...] = ()) -> str:
    """Return the fingerprint of the model's sources and extensions, shortened.

    The same fingerprint names the compiled drivers and guards Numba's cache: results computed
    by another version of the model must not be mixed into a store, even when the spec is the
    same, since a recalibrated default or a changed equation changes numbers. The fingerprint
    covers the core's sources (:mod:`sim.core.fingerprint`) and every extension's phases, fields and
    parameters.
    """
    from sim.core.composition import compose

    return compose(extensions).fingerprint[:16]


def git_commit() -> str | None:
    """Return the project's git commit (with ``-dirty`` if modified), or None outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty.strip() else "")


def _temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of an atomic write, or the lock file."""
    return path.name == ".lock" or (path.name.startswith(".") and path.name.endswith(".tmp"))


class Store:
    """A sweep's results directory.

    Parameters
    ----------
    root : Path
        The directory (``--out``).
    """

    def __init__(self, root: str | Path) -> None:
        # Absolute from the start: chunks run in workers whose working directory (a Dask
        # worker's, on a cluster) is not the driver's.
        self.root = Path(root).absolute()
        self.manifest_path = self.root / "manifest.json"
        self.ledger_path = self.root / "ledger.jsonl"
        self.design_path = self.root / "design.parquet"
        self._lock_handle: Any = None

    def part(self, table: str, chunk: str) -> Path:
        """Return the path of one chunk's part file of ``table`` (runs, sessions, clinics)."""
        return self.root / table / f"part-{chunk}.parquet"

    def read_manifest(self) -> dict[str, Any] | None:
        """Return the manifest, or None if the directory holds no sweep."""
        if not self.manifest_path.exists():
            return None
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"'{self.manifest_path}' is unreadable ({exc}); choose another --out"
            ) from None
        if not isinstance(manifest, dict):
            raise StoreError(
                f"'{self.manifest_path}' is not a sweep's manifest (a JSON object "
                f"was expected, found {type(manifest).__name__}); restore it or "
                "choose another --out"
            )
        return manifest

    def stored_spec(self) -> SweepSpec:
        """Return the spec of the sweep this directory holds (what an analysis reads first).

        Raises
        ------
        StoreError
            If the directory holds no sweep, or its manifest no spec.
        """
        manifest = self.read_manifest()
        if manifest is None:
            raise StoreError(f"'{self.root}' holds no sweep")
        if not isinstance(manifest.get("spec"), dict):
            raise StoreError(f"'{self.manifest_path}' holds no sweep spec; restore it")
        return SweepSpec.from_stored(manifest["spec"])

    def check_compatible(
        self, spec: SweepSpec, reducer: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Refuse a directory written by another spec; return its manifest if any.

        ``reducer`` is the clinic reducer (``reference`` and ``fingerprint``) of a sweep that
        records ``["clinics"]``: its rows must not be mixed with rows of other definitions.

        Raises
        ------
        StoreError
            If the directory holds other files but no manifest; :class:`OtherResults` if it
            holds a sweep of another spec, of another version of the model, with more
            replicates than ``spec`` asks for, or clinics computed by another reducer.
        """
        manifest = self.read_manifest()
        if manifest is None:
            self.require_empty("sweep")
            return None
        fingerprint = model_fingerprint(spec.extensions)
        if manifest.get("model_fingerprint") not in (None, fingerprint):
            raise OtherResults(
                self.root,
                f"results of another version of the model (model fingerprint "
                f"{manifest.get('model_fingerprint')}, now {fingerprint})",
            )
        if manifest.get("spec_hash") != spec.content_hash():
            raise OtherResults(
                self.root,
                f"results of a different spec (experiment "
                f"'{manifest.get('spec', {}).get('name')}', hash {manifest.get('spec_hash')}; "
                f"this spec's hash is {spec.content_hash()})",
            )
        held = manifest.get("replicates")
        if isinstance(held, int) and held > spec.replicates:
            raise OtherResults(
                self.root,
                f"{held} replicates of this spec, more than the {spec.replicates} it now asks "
                "for (a results directory can gain replicates, not lose them)",
            )
        written = manifest.get("clinic_reducer")
        if reducer is not None and isinstance(written, dict) and written != reducer:
            raise OtherResults(
                self.root,
                f"clinics whose outcomes were computed by other definitions (reducer "
                f"{written.get('reference')}, fingerprint {written.get('fingerprint')}; now "
                f"{reducer['reference']}, {reducer['fingerprint']})",
            )
        return manifest

    def committed_parts(self, table: str) -> Iterator[pd.DataFrame]:
        """Yield each committed part of ``table`` (``runs`` or ``sessions``), in chunk order.

        One part at a time, so memory stays that of a part; a ``sessions`` part counts when its
        chunk's ``runs`` part is committed too.
        """
        tables = ("runs", "sessions") if table == "sessions" else ("runs",)
        for chunk in sorted(self.committed(tables)):
            yield pd.read_parquet(self.part(table, chunk))

    def require_empty(self, what: str) -> None:
        """Refuse a directory without a manifest that holds anything but temporary files.

        A run killed while writing its first manifest leaves only a temporary file (and the
        lock file), which do not count.

        Raises
        ------
        StoreError
            Saying the directory holds no ``what``.
        """
        if self.root.exists() and any(not _temporary(p) for p in self.root.iterdir()):
            raise StoreError(
                f"--out '{self.root}' is not empty and holds no {what}; "
                "choose an empty or new directory"
            )

    def initialise(
        self,
        spec: SweepSpec,
        design: pd.DataFrame,
        layout: dict[str, Any],
        reducer: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create the directory, write a manifest for this run, then the design.

        The manifest comes first: a run killed at any instant after it leaves a directory that
        :meth:`check_compatible` recognises as this sweep's, and the next run completes it
        (before, a kill between the design and the manifest left a directory refused for
        ever). An existing manifest (a resumed run) keeps its creation time and chunk layout.
        ``reducer`` (a clinics sweep's, see :meth:`check_compatible`) is recorded as
        ``clinic_reducer``.
        """
        previous = self.read_manifest()
        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_temporary_files()
        manifest = {
            "spec": spec.to_dict(),
            "spec_hash": spec.content_hash(),
            "model_fingerprint": model_fingerprint(spec.extensions),
            "seed": spec.seed,
            "design_seed": spec.design_seed,
            "replicates": spec.replicates,  # never fewer than before: check_compatible
            "layout": (previous or {}).get("layout", layout),
            **({"clinic_reducer": dict(reducer)} if reducer is not None else {}),
            "versions": versions(),
            "git_commit": git_commit(),
            "created": (previous or {}).get("created", now()),
            "started": now(),
            "finished": None,
        }
        self.write_manifest(manifest)
        for table in spec.tables:
            (self.root / table).mkdir(exist_ok=True)
        # The design follows from the spec: a missing or damaged one is written again.
        recorded = (previous or {}).get("design")
        digest = file_digest(self.design_path) if self.design_path.exists() else None
        if digest is None or digest != recorded:
            write_parquet(design, self.design_path)
            digest = file_digest(self.design_path)
        manifest["design"] = digest
        self.write_manifest(manifest)
        return manifest

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the directory for a whole run (``.lock``, ``fcntl``).

        The lock file names its holder once :meth:`claim` is called (after the run's checks
        pass); a run refused before that changes nothing in the directory, and removes the lock
        file if it created it.

        Raises
        ------
        StoreError
            If another run holds it, naming that run's process and host.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        created = not path.exists()
        self._lock_handle = handle = open(path, "a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                created = False  # the holder's file
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise StoreError(
                    f"--out '{self.root}' is in use by another run ({holder}); "
                    "wait for it to finish or choose another --out"
                ) from None
            yield
        except BaseException:
            if created and handle.tell() == 0:
                path.unlink(missing_ok=True)
            raise
        finally:
            self._lock_handle = None
            handle.close()

    def claim(self) -> None:
        """Write this run's process, host and start into the held lock file."""
        handle = self._lock_handle
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {platform.node()}, since {now()}\n")
        handle.flush()

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        # Not sorted: the spec's parameter order decides its design and must survive a reload.
        write_text(json.dumps(manifest, indent=2) + "\n", self.manifest_path)

    def remove_temporary_files(self) -> None:
        """Delete temporary files a killed run may have left (never complete files)."""
        for tmp in self.root.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def receipts(self) -> list[dict[str, Any]]:
        """Return the ledger's receipts (a torn last line from a crash is ignored)."""
        if not self.ledger_path.exists():
            return []
        receipts = []
        for line in self.ledger_path.read_text(encoding="utf-8").splitlines():
            try:
                receipts.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return receipts

    def latest_receipts(self) -> dict[str, dict[str, Any]]:
        """Return each chunk's latest receipt (a chunk recomputed after damage has two)."""
        latest: dict[str, dict[str, Any]] = {}
        for receipt in self.receipts():
            if isinstance(receipt, dict) and isinstance(receipt.get("chunk"), str):
                latest[receipt["chunk"]] = receipt
        return latest

    def damage(
        self, chunk: str, receipt: dict[str, Any], tables: tuple[str, ...], checksums: bool = True
    ) -> str | None:
        """Return what is wrong with a committed chunk's part files, or None if nothing.

        Each file must exist and, where the receipt recorded them (every receipt since the
        store kept checksums), have the recorded size and CRC-32.
        """
        recorded = receipt.get("files") or {}
        for table in tables:
            path = self.part(table, chunk)
            if not path.exists():
                return f"{path} is missing"
            expected = recorded.get(table)
            if not isinstance(expected, dict):
                continue
            size = path.stat().st_size
            if size != expected.get("size"):
                return f"{path} has {size:,} bytes, the receipt says {expected.get('size'):,}"
            if checksums and file_digest(path)["crc32"] != expected.get("crc32"):
                return f"{path} does not have the checksum its receipt recorded"
        return None

    def committed(self, tables: tuple[str, ...]) -> set[str]:
        """Return the chunks whose latest receipt says ok and whose part files are intact.

        A damaged chunk (a part missing, truncated or altered) is not committed: a resumed run
        computes it again.
        """
        return {
            chunk
            for chunk, receipt in self.latest_receipts().items()
            if receipt.get("status") == "ok" and self.damage(chunk, receipt, tables) is None
        }

    def check_layout(self, manifest: dict[str, Any], points: int) -> dict[str, Any]:
        """Return the manifest's chunk layout if the receipts agree with it, else refuse.

        Raises
        ------
        StoreError
            If the layout is not a whole number of points per chunk, does not cover the design,
            or is not the layout the ledger's chunks were written with (an edited manifest).
        """
        layout = manifest.get("layout")
        per_chunk = layout.get("points_per_chunk") if isinstance(layout, dict) else None
        if isinstance(per_chunk, bool) or not isinstance(per_chunk, int) or per_chunk < 1:
            raise StoreError(
                f"'{self.manifest_path}' has no valid layout.points_per_chunk "
                f"(a whole number >= 1, got {per_chunk!r}); restore the manifest "
                "or choose another --out"
            )
        if layout.get("points") != points:
            raise StoreError(
                f"'{self.manifest_path}' says the design has {layout.get('points')}"
                f" points, the spec gives {points}; restore the manifest"
            )
        for chunk, receipt in self.latest_receipts().items():
            written = receipt.get("points_per_chunk")
            start = chunk[7:] if chunk.startswith("r") and "-p" in chunk else ""
            misaligned = not start.isdigit() or int(start) % per_chunk != 0
            if (written not in (None, 0, per_chunk)) or misaligned:
                raise StoreError(
                    f"'{self.manifest_path}' says {per_chunk} points per chunk but chunk "
                    f"{chunk} of the ledger was written with "
                    f"{written if written else 'another layout'}; the manifest was edited: "
                    "restore it or choose another --out"
                )
        return layout

    def verify(self) -> tuple[set[str], list[str]]:
        """Check a whole results directory; return (the chunks verified, the problems found).

        The manifest must be readable and hold a spec; the design must match its recorded
        checksum; every planned chunk must have an ok receipt and intact part files (size and
        CRC-32 as recorded); nothing is written.
        """
        manifest = self.read_manifest()
        if not isinstance(manifest, dict) or not isinstance(manifest.get("spec"), dict):
            return set(), [f"'{self.manifest_path}' is missing or holds no sweep spec"]
        try:
            spec = SweepSpec.from_stored(manifest["spec"])
        except (TypeError, KeyError, ValueError) as exc:
            return set(), [f"'{self.manifest_path}' holds a spec that cannot be read ({exc})"]
        problems: list[str] = []
        recorded = manifest.get("design")
        if not self.design_path.exists():
            problems.append(f"{self.design_path} is missing")
        elif isinstance(recorded, dict) and file_digest(self.design_path) != recorded:
            problems.append(f"{self.design_path} does not have the checksum the manifest recorded")
        try:
            layout = self.check_layout(
                manifest, int((manifest.get("layout") or {}).get("points", -1))
            )
        except StoreError as exc:
            return set(), [*problems, str(exc)]
        tables = spec.tables
        latest = self.latest_receipts()
        verified: set[str] = set()
        per_rep = -(-layout["points"] // layout["points_per_chunk"])
        for rep in range(int(manifest.get("replicates", spec.replicates))):
            for k in range(per_rep):
                chunk = f"r{rep:04d}-p{k * layout['points_per_chunk']:06d}"
                receipt = latest.get(chunk)
                if receipt is None or receipt.get("status") != "ok":
                    problems.append(
                        f"chunk {chunk} has not been computed" + (" (it failed)" if receipt else "")
                    )
                    continue
                wrong = self.damage(chunk, receipt, tables)
                if wrong:
                    problems.append(f"chunk {chunk}: {wrong}")
                else:
                    verified.add(chunk)
        return verified, problems

    def require_complete(self, allow_incomplete: bool = False) -> tuple[set[str], list[str]]:
        """Refuse to analyse a sweep that is not complete and intact (see :meth:`verify`).

        Returns
        -------
        tuple
            The chunks verified intact (what an analysis may read), and the problems, which
            ``allow_incomplete`` lets the analysis go on without (the caller says so loudly).

        Raises
        ------
        StoreError
            Saying how many chunks are missing or damaged, the first of them, and what to do.
        """
        verified, problems = self.verify()
        if problems and not allow_incomplete:
            raise StoreError(
                f"'{self.root}' is not complete: {len(problems)} problem"
                f"{'s' if len(problems) > 1 else ''} ({problems[0]}); run the sweep again to "
                "complete it (alliance verify lists them all), or pass --allow-incomplete"
            )
        return verified, problems

    def append_receipt(self, receipt: dict[str, Any]) -> None:
        """Append one receipt to the ledger and make it durable."""
        line = json.dumps(receipt, sort_keys=True) + "\n"
        with open(self.ledger_path, "a+b") as ledger:
            # A crash mid-append leaves a torn line: start ours on a fresh one.
            if ledger.tell() > 0:
                ledger.seek(-1, os.SEEK_END)
                if ledger.read(1) != b"\n":
                    line = "\n" + line
            ledger.write(line.encode("utf-8"))
            ledger.flush()
            os.fsync(ledger.fileno())
