"""Counter-based random numbers: every draw is a pure function of (key, counter).

A dyad's key is a 64-bit hash of (root seed, point id, replicate, clinician, patient); the counter
says which session and which draw within it (see :func:`counter`). Because nothing is carried from
one draw to the next, results cannot depend on how dyads are split into chunks, processes or
threads, or on the order they are visited.

The bit generator is the SplitMix64 output function (Steele, Lea & Flood 2014, with Stafford's
"Mix13" constants) applied to ``key ^ mix64(counter)``: a bijective 64-bit mixer with full
avalanche, the same that seeds NumPy's and Java's generators. Its statistical quality as used
here is tested in ``tests/test_rng.py`` (uniformity, normal moments, independence across
neighbouring keys and counters).

Each function exists twice: a Numba version for kernels and a NumPy version (suffix ``_np``) for
the reference implementation and for key derivation in Python. The integer functions and
:func:`uniform` agree bit for bit; normals agree to a few ulp, because NumPy's vectorised ``log``
may differ from the C library's (which Numba calls) in the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from sim.jit import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_POW_M53 = 2.0**-53
_TWO_PI = 2.0 * math.pi

SLOTS_PER_SESSION = 32
"""Draw slots reserved per session in a dyad's counter space."""

CLINICIAN_TAG = 0xC11
"""Distinguishes a clinician's key from its patients' keys."""


@jit
def mix64(z):
    """Return the SplitMix64 finaliser of a ``uint64``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def random_bits(key, counter):
    """Return 64 random bits for ``(key, counter)``."""
    return mix64(key ^ mix64(np.uint64(counter) * _GOLDEN + _GOLDEN))


@jit
def uniform(key, counter):
    """Return a uniform draw on [0, 1) for ``(key, counter)`` (53-bit resolution)."""
    return float(random_bits(key, counter) >> _S11) * _TWO_POW_M53


@jit
def normal_pair(key, counter):
    """Return two independent standard normals from counters ``counter`` and ``counter + 1``.

    Box-Muller transform; ``1 - u`` keeps the logarithm's argument in (0, 1].
    """
    radius = math.sqrt(-2.0 * math.log(1.0 - uniform(key, counter)))
    angle = _TWO_PI * uniform(key, counter + 1)
    return radius * math.cos(angle), radius * math.sin(angle)


@jit
def combine(key, value):
    """Return the hash of ``key`` extended by the integer ``value`` (order matters)."""
    return mix64((key ^ mix64(np.uint64(value) + _GOLDEN)) + _GOLDEN)


@jit
def counter(session, slot):
    """Return the counter of draw ``slot`` in ``session`` (session 0 is initialisation)."""
    return session * SLOTS_PER_SESSION + slot


# --- NumPy twins (vectorised, for the reference implementation and Python-side keys) -----------


def mix64_np(z: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`mix64` (uint64 arithmetic wraps, as in C)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrapping multiplication is the point
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def random_bits_np(key: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`random_bits`."""
    c = np.asarray(counter, dtype=np.uint64)
    with np.errstate(over="ignore"):
        c = c * _GOLDEN + _GOLDEN
    return mix64_np(np.asarray(key, dtype=np.uint64) ^ mix64_np(c))


def uniform_np(key: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`uniform`."""
    return (random_bits_np(key, counter) >> _S11).astype(np.float64) * _TWO_POW_M53


def normal_pair_np(key: np.ndarray, counter: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy version of :func:`normal_pair`."""
    radius = np.sqrt(-2.0 * np.log(1.0 - uniform_np(key, counter)))
    angle = _TWO_PI * uniform_np(key, np.asarray(counter) + 1)
    return radius * np.cos(angle), radius * np.sin(angle)


def combine_np(key: np.ndarray | int, value: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`combine`."""
    k = np.asarray(key, dtype=np.uint64)
    v = np.asarray(value, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64_np((k ^ mix64_np(v + _GOLDEN)) + _GOLDEN)


def root_key(seed: int) -> np.uint64:
    """Return the 64-bit root key of an integer seed (any size; negative seeds allowed)."""
    if not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    # SeedSequence spreads any integer's entropy over the state; we keep 64 bits of it.
    state = np.random.SeedSequence(abs(int(seed)) * 2 + (seed < 0)).generate_state(2, np.uint64)
    return np.uint64(mix64_np(state[0] ^ state[1]))
