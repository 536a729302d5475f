"""Counter-based random numbers: every draw is a pure function of (key, counter).

A dyad's key is a 64-bit hash of (root seed, point id, replicate, clinician, patient); the counter
says which session and which draw within it (see :func:`counter`). Because nothing is carried from
one draw to the next, results cannot depend on how dyads are split into chunks, processes or
threads, or on the order they are visited.

Normals come from Marsaglia & Tsang's ziggurat (the method NumPy's ``Generator`` uses): exact
sampling, and 98.8% of draws cost one table lookup, a multiplication and a comparison.
The bit generator is the SplitMix64 output function (Steele, Lea & Flood 2014, with Stafford's
"Mix13" constants) applied to ``key ^ mix64(counter)``: a bijective 64-bit mixer with full
avalanche, the same that seeds NumPy's and Java's generators. Its statistical quality as used
here is tested in ``tests/test_rng.py`` (uniformity, normal moments, independence across
neighbouring keys and counters).

Each function exists twice: a Numba version for kernels and a NumPy version (suffix ``_np``) for
the reference implementation and for key derivation in Python. The integer functions and
:func:`uniform` agree bit for bit, and so do normals on the ziggurat's fast path; on its rare
paths (1.2% of draws) they agree to a few ulp, because NumPy's vectorised ``exp`` and ``log1p``
may differ from the C library's (which Numba calls) in the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.jit import jit, jit_inline

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_POW_M53 = 2.0**-53

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


@jit_inline
def uniform_at(key, mixed):
    """Return the uniform draw on [0, 1) of ``key`` on the stream ``mixed`` (53-bit resolution)."""
    return float(mix64(key ^ mixed) >> _S11) * _TWO_POW_M53


@jit
def uniform(key, counter):
    """Return a uniform draw on [0, 1) for ``(key, counter)`` (53-bit resolution)."""
    return uniform_at(key, stream(counter))


# Normals: Marsaglia & Tsang's ziggurat (2000) with 256 layers, laid out as in NumPy's Generator:
# 98.8% of draws take one table lookup, one multiplication and one comparison; the rest fall in a
# layer's wedge or in the tail beyond R and are decided by rejection, with further uniforms
# derived from the same draw's bits (so a normal is still a pure function of key and counter).
# Sampling is exact, not an approximation of the quantile function.
_ZIG_R = 3.6541528853610088
"""Start of the tail: the base layer's rectangle ends here."""
_ZIG_V = 0.00492867323399
"""Area of every layer (the base layer's includes the tail)."""


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the layers' accept thresholds, widths per unit and densities.

    Layer ``i`` (0 = base) has right edge ``x[i]`` (``x[0] = V / f(R)``, ``x[1] = R``, then
    decreasing, ``x[256] = 0``); a draw ``|z| = u x[i]`` is accepted at once when
    ``u < x[i+1] / x[i]`` (base layer: ``u < R / x[0]``). Returns ``(accept, width, density)``:
    those thresholds as 52-bit integers, ``x[i] / 2**52`` and ``f(x[i]) = exp(-x[i]**2 / 2)``
    for ``i`` in 0..256.
    """
    x = np.zeros(257)
    x[0] = _ZIG_V / math.exp(-0.5 * _ZIG_R * _ZIG_R)
    x[1] = _ZIG_R
    for i in range(1, 255):
        x[i + 1] = math.sqrt(-2.0 * math.log(_ZIG_V / x[i] + math.exp(-0.5 * x[i] * x[i])))
    scale = 2.0**52
    accept = np.array([int(x[i + 1] / x[i] * scale) for i in range(256)], dtype=np.uint64)
    accept[0] = np.uint64(int(_ZIG_R / x[0] * scale))
    width = x[:256] / scale
    density = np.exp(-0.5 * x * x)
    return accept, width, density


_ZIG_ACCEPT, _ZIG_WIDTH, _ZIG_DENSITY = _ziggurat_tables()
_ZIG_INV_R = 1.0 / _ZIG_R
_BYTE = np.uint64(0xFF)
_ONE = np.uint64(1)
_S8 = np.uint64(8)
_S9 = np.uint64(9)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)


@jit
def _derived_bits(bits, k):
    """Return the ``k``-th further 64 bits derived from a draw's ``bits`` (for rejections)."""
    return mix64(bits + np.uint64(k) * _GOLDEN)


@jit
def _extra_uniform(bits, k):
    """Return the ``k``-th further uniform on [0, 1) derived from a draw's ``bits``."""
    return float(_derived_bits(bits, k) >> _S11) * _TWO_POW_M53


@jit
def _ziggurat_slow(bits):
    """Finish a normal draw whose first try missed its layer's rectangle (1.2% of draws)."""
    b = bits
    k = 0
    while True:
        layer = b & _BYTE
        magnitude = (b >> _S9) & _MANTISSA
        negative = (b >> _S8) & _ONE
        x = float(magnitude) * _ZIG_WIDTH[layer]
        if negative:
            x = -x
        if magnitude < _ZIG_ACCEPT[layer]:
            return x
        if layer == 0:  # the tail beyond R, by Marsaglia's method
            while True:
                xx = -_ZIG_INV_R * math.log1p(-_extra_uniform(bits, k + 1))
                yy = -math.log1p(-_extra_uniform(bits, k + 2))
                k += 2
                if yy + yy > xx * xx:
                    return -(_ZIG_R + xx) if negative else _ZIG_R + xx
        y = _ZIG_DENSITY[layer] + _extra_uniform(bits, k + 1) * (
            _ZIG_DENSITY[layer + 1] - _ZIG_DENSITY[layer]
        )
        k += 1
        if y < math.exp(-0.5 * x * x):  # under the curve, in the layer's wedge
            return x
        k += 1
        b = _derived_bits(bits, k)


@jit
def normal_from_bits(bits):
    """Return the standard normal draw of 64 random ``bits`` (ziggurat)."""
    layer = bits & _BYTE
    magnitude = (bits >> _S9) & _MANTISSA
    if magnitude < _ZIG_ACCEPT[layer]:
        x = float(magnitude) * _ZIG_WIDTH[layer]
        return -x if (bits >> _S8) & _ONE else x
    return _ziggurat_slow(bits)


@jit
def normal(key, counter):
    """Return a standard normal draw for ``(key, counter)``."""
    return normal_from_bits(random_bits(key, counter))


@jit
def normal_at(key, mixed):
    """Return the standard normal draw of ``key`` on the stream ``mixed`` (see :func:`stream`)."""
    return normal_from_bits(mix64(key ^ mixed))


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


def _derived_bits_np(bits: np.ndarray, k: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`_derived_bits`."""
    with np.errstate(over="ignore"):
        return mix64_np(bits + k.astype(np.uint64) * _GOLDEN)


def _extra_uniform_np(bits: np.ndarray, k: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`_extra_uniform`."""
    return (_derived_bits_np(bits, k) >> _S11).astype(np.float64) * _TWO_POW_M53


def _ziggurat_slow_np(bits: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`_ziggurat_slow`: every pending draw advances one try per round."""
    out = np.empty(bits.shape)
    b = bits.copy()
    k = np.zeros(bits.shape, dtype=np.int64)
    tail = np.zeros(bits.shape, dtype=bool)
    pending = np.arange(bits.size)
    while pending.size:
        bp, kp = bits[pending], k[pending]
        negative = ((b[pending] >> _S8) & _ONE).astype(bool)
        in_tail = tail[pending]
        # Draws in the tail beyond R (Marsaglia's method).
        xx = -_ZIG_INV_R * np.log1p(-_extra_uniform_np(bp, kp + 1))
        yy = -np.log1p(-_extra_uniform_np(bp, kp + 2))
        tail_done = in_tail & (yy + yy > xx * xx)
        tail_value = np.where(negative, -(_ZIG_R + xx), _ZIG_R + xx)
        # Draws trying a layer.
        layer = (b[pending] & _BYTE).astype(np.intp)
        magnitude = (b[pending] >> _S9) & _MANTISSA
        x = magnitude.astype(np.float64) * _ZIG_WIDTH[layer]
        x = np.where(negative, -x, x)
        inside = ~in_tail & (magnitude < _ZIG_ACCEPT[layer])
        to_tail = ~in_tail & ~inside & (layer == 0)
        wedge = ~in_tail & ~inside & (layer != 0)
        y = _ZIG_DENSITY[layer] + _extra_uniform_np(bp, kp + 1) * (
            _ZIG_DENSITY[np.minimum(layer + 1, 256)] - _ZIG_DENSITY[layer]
        )
        under = wedge & (y < np.exp(-0.5 * x * x))
        # Settle what is decided; advance the rest as the scalar version does.
        done = tail_done | inside | under
        out[pending[done]] = np.where(tail_done, tail_value, x)[done]
        k[pending] = np.where(in_tail, kp + 2, np.where(wedge, kp + 2, kp))
        tail[pending] = in_tail | to_tail
        retry = wedge & ~under
        b[pending[retry]] = _derived_bits_np(bp[retry], kp[retry] + 2)
        pending = pending[~done]
    return out


def normal_from_bits_np(bits: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`normal_from_bits`."""
    bits = np.asarray(bits, dtype=np.uint64)
    layer = (bits & _BYTE).astype(np.intp)
    magnitude = (bits >> _S9) & _MANTISSA
    z = magnitude.astype(np.float64) * _ZIG_WIDTH[layer]
    z = np.where(((bits >> _S8) & _ONE).astype(bool), -z, z)
    slow = magnitude >= _ZIG_ACCEPT[layer]
    z[slow] = _ziggurat_slow_np(bits[slow])
    return z


def normal_np(key: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """NumPy version of :func:`normal`."""
    return normal_from_bits_np(random_bits_np(key, counter))


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


@jit
def normals_into(keys, stream, out, start, bits, m):
    """Set ``out[start + j]`` to the normal draw of ``keys[j]`` on ``stream``, for ``j < m``.

    The numbers :func:`normal_at` gives, computed for many keys at once: the ziggurat's first
    try is a loop without calls (vectorised), and the few draws it misses (1.2%) are finished
    from their random bits, kept in ``bits[:m]``, without hashing again.
    """
    missed = 0
    for j in range(m):
        b = mix64(keys[j] ^ stream)
        bits[j] = b
        layer = b & _BYTE
        magnitude = (b >> _S9) & _MANTISSA
        x = float(magnitude) * _ZIG_WIDTH[layer]
        out[start + j] = -x if (b >> _S8) & _ONE else x
        missed += magnitude >= _ZIG_ACCEPT[layer]
    if missed:
        for j in range(m):
            b = bits[j]
            if ((b >> _S9) & _MANTISSA) >= _ZIG_ACCEPT[b & _BYTE]:
                out[start + j] = _ziggurat_slow(b)


@jit
def uniforms_into(keys, stream, out, start, m):
    """Set ``out[start + j]`` to the uniform draw of ``keys[j]`` on ``stream``, for ``j < m``."""
    for j in range(m):
        out[start + j] = uniform_at(keys[j], stream)
