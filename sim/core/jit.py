"""The project-wide Numba decorator: one place that holds the compilation options.

Every kernel uses :func:`jit` (serial) or :func:`jit_parallel` (``prange`` loops), small helpers
of vectorised loops :func:`jit_inline`. Options:

* ``cache=True`` so that a second process or run loads compiled code from ``__pycache__``;
* ``error_model="numpy"``: a division by zero gives inf/nan instead of raising, as in NumPy, so
  kernels and the NumPy reference agree and no exception machinery sits in hot loops;
* no ``fastmath``: it would let LLVM reorder floating-point operations, and kernel and reference
  must agree to 1e-12 and runs must be bit-identical across machines with the same build.

Numba checks a cached function against its *own* source file only: after an edit of
``sim/core/rng.py`` (or a ``git pull`` that changes it) the kernels in ``sim/core/kernels.py`` would
load stale machine code that still inlines the old generator. So the first decoration in a process
compares the fingerprint of the model's sources (:mod:`sim.core.fingerprint`) with the one stored
beside the cache, and drops the cache when they differ (the next call recompiles, once).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba

from sim.core.fingerprint import core_fingerprint

_STAMP = "alliance-sources.sha256"
_checked: set[str] = set()


def sources_fingerprint() -> str:
    """Return the model's fingerprint (:func:`~sim.core.fingerprint.core_fingerprint`)."""
    return core_fingerprint()


def _drop_stale_cache(dispatcher: Any) -> None:
    """Delete the cache directory's compiled files if they come from other sources."""
    cache = getattr(dispatcher, "_cache", None)
    directory = getattr(cache, "_cache_path", None)  # Numba's cache locator's directory
    if directory is None or directory in _checked:
        return
    _checked.add(directory)
    stamp = Path(directory) / _STAMP
    fingerprint = sources_fingerprint()
    try:
        if stamp.read_text(encoding="ascii") == fingerprint:
            return
    except OSError:
        pass
    try:
        for compiled in Path(directory).glob("*.nb[ic]"):
            compiled.unlink(missing_ok=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        temporary = stamp.with_name(f"{_STAMP}.{os.getpid()}")
        temporary.write_text(fingerprint, encoding="ascii")
        os.replace(temporary, stamp)
    except OSError:  # a read-only cache is Numba's problem to report, not ours
        pass


def _cached(decorator: Callable[[Callable[..., Any]], Any]) -> Callable[[Callable[..., Any]], Any]:
    def decorate(function: Callable[..., Any]) -> Any:
        dispatcher = decorator(function)
        _drop_stale_cache(dispatcher)
        return dispatcher

    return decorate


jit = _cached(numba.njit(cache=True, error_model="numpy"))
"""Decorate a serial kernel or helper."""

jit_inline = _cached(numba.njit(cache=True, error_model="numpy", inline="always"))
"""Decorate a small helper that is inlined into its callers (Numba IR), so that a loop calling it
can still be vectorised: LLVM does not inline calls between Numba functions by itself."""

jit_parallel = _cached(numba.njit(cache=True, error_model="numpy", parallel=True))
"""Decorate a kernel whose outer loop is a ``prange`` over dyads (one result per dyad, so the
thread count never changes a number)."""
