"""The project-wide Numba decorator: one place that holds the compilation options.

Every kernel uses :func:`jit` (serial) or :func:`jit_parallel` (``prange`` loops). Options:

* ``cache=True`` so that a second process or run loads compiled code from ``__pycache__``;
* ``error_model="numpy"``: a division by zero gives inf/nan instead of raising, as in NumPy, so
  kernels and the NumPy reference agree and no exception machinery sits in hot loops;
* no ``fastmath``: it would let LLVM reorder floating-point operations, and kernel and reference
  must agree to 1e-12 and runs must be bit-identical across machines with the same build.
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, error_model="numpy")
"""Decorate a serial kernel or helper."""

jit_parallel = numba.njit(cache=True, error_model="numpy", parallel=True)
"""Decorate a kernel whose outer loop is a ``prange`` over dyads (one result per dyad, so the
thread count never changes a number)."""
