"""Counter-based random numbers: every draw is a pure function of (key, counter).

A dyad's key is a 64-bit hash of (root seed, point id, replicate, clinician, patient); the counter
says which session and which draw within it (see :func:`counter`). Because nothing is carried from
one draw to the next, results cannot depend on how dyads are split into chunks, processes or
threads, or on the order they are visited.

Normals come from the inverse normal CDF of one open-interval uniform (Acklam's approximation).
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
def stream(counter):
    """Return the mixed counter (the *stream*) that every key combines with for ``counter``.

    It does not depend on the key, so a kernel computes the streams of a session once (see
    :func:`session_streams`) and draws with :func:`uniform_at` and :func:`normal_at`; the numbers
    are the same as :func:`uniform` and :func:`normal` give.
    """
    return mix64(np.uint64(counter) * _GOLDEN + _GOLDEN)


@jit
def random_bits(key, counter):
    """Return 64 random bits for ``(key, counter)``."""
    return mix64(key ^ stream(counter))


@jit
def uniform_at(key, mixed):
    """Return the uniform draw on [0, 1) of ``key`` on the stream ``mixed`` (53-bit resolution)."""
    return float(mix64(key ^ mixed) >> _S11) * _TWO_POW_M53


@jit
def uniform(key, counter):
    """Return a uniform draw on [0, 1) for ``(key, counter)`` (53-bit resolution)."""
    return uniform_at(key, stream(counter))


# Acklam's rational approximation of the normal quantile function (relative error < 1.2e-9):
# one uniform per normal, and no transcendental call in the central 95%, several times cheaper
# than Box-Muller. Coefficients from P. J. Acklam, "An algorithm for computing the inverse
# normal cumulative distribution function" (2003).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_P_LOW = 0.02425


@jit
def open_uniform(key, counter):
    """Return a uniform draw on the open interval (0, 1) for ``(key, counter)``."""
    return (float(random_bits(key, counter) >> _S11) + 0.5) * _TWO_POW_M53


@jit
def _tail(t):
    """Return the normal quantile of a lower-tail probability ``t`` < 0.02425."""
    q = math.sqrt(-2.0 * math.log(t))
    return ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
            / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))


@jit
def normal(key, counter):
    """Return a standard normal draw for ``(key, counter)`` (inverse CDF of one uniform)."""
    return normal_at(key, stream(counter))


@jit
def normal_at(key, mixed):
    """Return the standard normal draw of ``key`` on the stream ``mixed`` (see :func:`stream`)."""
    p = (float(mix64(key ^ mixed) >> _S11) + 0.5) * _TWO_POW_M53
    if p < _P_LOW:
        return _tail(p)
    if p > 1.0 - _P_LOW:
        return -_tail(1.0 - p)
    q = p - 0.5
    r = q * q
    return ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))


@jit
def combine(key, value):
    """Return the hash of ``key`` extended by the integer ``value`` (order matters)."""
    return mix64((key ^ mix64(np.uint64(value) + _GOLDEN)) + _GOLDEN)


@jit
def counter(session, slot):
    """Return the counter of draw ``slot`` in ``session`` (session 0 is initialisation)."""
    return session * SLOTS_PER_SESSION + slot


@jit
def session_streams(session):
    """Return the streams of every draw slot of ``session`` (index = slot).

    For :func:`uniform_at` and :func:`normal_at`.
    """
    streams = np.empty(SLOTS_PER_SESSION, dtype=np.uint64)
    for slot in range(SLOTS_PER_SESSION):
        streams[slot] = stream(counter(session, slot))
    return streams


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


def open_uniform_np(key: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`open_uniform`."""
    return ((random_bits_np(key, counter) >> _S11).astype(np.float64) + 0.5) * _TWO_POW_M53


def _tail_np(t: np.ndarray) -> np.ndarray:
    q = np.sqrt(-2.0 * np.log(t))
    return ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
            / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))


def normal_np(key: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`normal`."""
    p = open_uniform_np(key, counter)
    q = p - 0.5
    r = q * q
    central = ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
               / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))
    upper = p > 1.0 - _P_LOW
    tail_p = np.where(upper, 1.0 - p, p)
    tail = _tail_np(np.where(tail_p < _P_LOW, tail_p, _P_LOW))  # log only where it is used
    tail = np.where(upper, -tail, tail)
    return np.where((p < _P_LOW) | upper, tail, central)


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
