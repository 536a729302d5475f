"""One fingerprint of the sources that decide the model's numbers.

:func:`core_fingerprint` hashes :data:`MODEL_SOURCES`; the Numba cache check (:mod:`sim.core.jit`)
drops compiled kernels when it changes, the generated drivers are named by it (with any
extensions' sources, :mod:`sim.core.composition`), and the results store refuses to mix results of
two fingerprints. Editing the CLI or the dashboard changes no number and no fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

SIM = Path(__file__).resolve().parent

MODEL_SOURCES = tuple(sorted(path.name for path in SIM.glob("*.py")))
"""The files of the numeric core (``sim/core/``): every one of them can change a simulation's
numbers, and nothing outside it can (the import contracts keep the core from importing the rest
of the project)."""


@functools.cache
def core_fingerprint() -> str:
    """Return the SHA-256 of :data:`MODEL_SOURCES` (names and contents, in this order).

    Computed once per process: a process keeps the code it imported.
    """
    digest = hashlib.sha256()
    for name in MODEL_SOURCES:
        digest.update(name.encode())
        digest.update((SIM / name).read_bytes())
    return digest.hexdigest()
