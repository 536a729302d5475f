"""Evaluations: experiments whose every run a worker reduces to one row of figures.

A calibration asks, candidate after candidate, "how far is the model from the published
patterns with these coefficients?": each candidate is simulated and analysed in a worker and
only its figures come back (EMA Workbench's experiments and outcomes). :class:`Evaluations`
runs such calls through any executor into a results directory with a sweep's guarantees:

- each evaluation's row is a part file written atomically (``evaluations/part-<key>.parquet``)
  and receipted in the ledger (``ledger.jsonl``);
- an evaluation is named by the content of its call (:func:`call_key`), so a procedure that is
  run again (after a kill, or with more points) reads what was done and computes only the rest,
  and the same call is never computed twice;
- the manifest records what the directory holds, the model's fingerprint, versions and git
  commit; results of another version of the model are refused.

The function a worker calls is passed by reference (a module-level function), with its keyword
arguments (picklable: they travel to a process pool or a Dask cluster).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.runner.io import write_part
from experiments.runner.store import OtherResults, Store, StoreError, git_commit, now, versions
from sim.core.composition import compose

TABLE = "evaluations"
"""The table (folder) of an evaluations directory's part files."""

KIND = "evaluations"


def canonical(value: Any) -> Any:
    """Return a plain, order-independent form of ``value`` whose ``repr`` names its content.

    Floats exactly (``float.hex``), mappings sorted by key, dataclasses field by field with
    their type's name, arrays by dtype, shape and a hash of their bytes.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (
            type(value).__qualname__,
            tuple((f.name, canonical(getattr(value, f.name))) for f in fields),
        )
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value.hex()
    return value


def call_key(function: Callable[..., Any], arguments: Mapping[str, Any]) -> str:
    """Return the name of an evaluation: a hash of the function's reference and its arguments."""
    reference = f"{function.__module__}:{function.__qualname__}"
    payload = repr((reference, canonical(arguments))).encode()
    return hashlib.sha256(payload).hexdigest()[:24]


@dataclass(frozen=True)
class EvaluationTask:
    """What a worker needs to run one evaluation (picklable)."""

    key: str
    root: str
    function: Callable[..., Mapping[str, Any]]
    arguments: Mapping[str, Any]
    model_fingerprint: str


def run_evaluation(task: EvaluationTask) -> dict[str, Any]:
    """Run one evaluation, write its row atomically, return its receipt."""
    started = time.perf_counter()
    fingerprint = compose().fingerprint[:16]
    if fingerprint != task.model_fingerprint:
        raise RuntimeError(
            f"this worker's model (fingerprint {fingerprint}) is not the driver's "
            f"({task.model_fingerprint}): install the same version of the project on every worker"
        )
    row = dict(task.function(**task.arguments))
    store = Store(task.root)
    digest = write_part(pd.DataFrame([row]), store.part(TABLE, task.key))
    return {
        "chunk": task.key,
        "status": "ok",
        "seconds": round(time.perf_counter() - started, 4),
        "finished": now(),
        "worker": os.getpid(),
        "files": {TABLE: digest},
        "model_fingerprint": fingerprint,
    }


class Evaluations:
    """An evaluations directory, open for one procedure (a calibration) at a time.

    Parameters
    ----------
    root : str or Path
        The directory; created if needed.
    experiment : mapping
        What the procedure is (name, settings): recorded in the manifest.

    Use :meth:`open` around the whole procedure; it holds the directory's lock.
    """

    def __init__(self, root: str | Path, experiment: Mapping[str, Any]) -> None:
        self.store = Store(root)
        self.experiment = dict(experiment)
        self.fingerprint = compose().fingerprint[:16]
        self.computed = 0
        self.reused = 0

    @contextlib.contextmanager
    def open(self) -> Iterator[Evaluations]:
        """Lock the directory, check it, write the manifest; yield; mark it finished.

        Raises
        ------
        StoreError
            If the directory is in use, holds something else, or holds evaluations of another
            version of the model.
        """
        store = self.store
        with store.lock():
            previous = self._check()
            store.claim()
            store.remove_temporary_files()
            (store.root / TABLE).mkdir(exist_ok=True)
            manifest = {
                "kind": KIND,
                "experiment": self.experiment,
                "model_fingerprint": self.fingerprint,
                "versions": versions(),
                "git_commit": git_commit(),
                "created": (previous or {}).get("created", now()),
                "started": now(),
                "finished": None,
            }
            store.write_manifest(manifest)
            yield self
            manifest["finished"] = now()
            manifest["last_run"] = {"computed": self.computed, "reused": self.reused}
            store.write_manifest(manifest)

    def _check(self) -> dict[str, Any] | None:
        store = self.store
        manifest = store.read_manifest()
        if manifest is None:
            store.require_empty("evaluations")
            return None
        if manifest.get("kind") != KIND:
            raise StoreError(
                f"--out '{store.root}' holds a sweep, not evaluations; choose another --out"
            )
        if manifest.get("model_fingerprint") != self.fingerprint:
            raise OtherResults(
                store.root,
                f"results of another version of the model (model fingerprint "
                f"{manifest.get('model_fingerprint')}, now {self.fingerprint})",
            )
        return manifest

    def _done(self) -> dict[str, dict[str, Any]]:
        receipts = self.store.latest_receipts()
        return {
            key: r
            for key, r in receipts.items()
            if r.get("status") == "ok" and self.store.damage(key, r, (TABLE,)) is None
        }

    def run(
        self,
        function: Callable[..., Mapping[str, Any]],
        calls: Sequence[Mapping[str, Any]],
        executor: Executor,
    ) -> list[dict[str, Any]]:
        """Evaluate ``function(**call)`` for each call; return the rows in the calls' order.

        Calls already evaluated in this directory are read, not computed; the others run
        through ``executor`` at once, and each row is committed as soon as it arrives.

        Raises
        ------
        RuntimeError
            If an evaluation fails (the ones that finished are kept).
        """
        keys = [call_key(function, call) for call in calls]
        done = self._done()
        futures = {}
        for key, call in zip(keys, calls, strict=True):
            if key in done or key in futures:
                continue
            task = EvaluationTask(key, str(self.store.root), function, call, self.fingerprint)
            futures[key] = executor.submit(run_evaluation, task)
        failure = None
        for key, future in futures.items():
            try:
                receipt = future.result()
            except Exception as exc:  # keep the others; report the first
                receipt = {"chunk": key, "status": "failed", "error": repr(exc), "finished": now()}
                failure = failure or exc
            self.store.append_receipt(receipt)
        if failure is not None:
            raise RuntimeError(f"an evaluation failed: {failure!r}") from failure
        self.computed += len(futures)
        self.reused += len(set(keys) - set(futures))
        return [self.row(key) for key in keys]

    def row(self, key: str) -> dict[str, Any]:
        """Return the committed row of evaluation ``key``."""
        frame = pd.read_parquet(self.store.part(TABLE, key))
        return {k: v.item() if hasattr(v, "item") else v for k, v in frame.iloc[0].items()}
