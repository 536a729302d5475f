"""The counter-based generator (sim/core/rng.py): uniformity, normal moments, independence of
neighbouring keys and counters, Numba/NumPy agreement, use from other jitted code, key derivation.

Every sample comes from fixed keys, so each statistical test gives the same p-value on every run;
the thresholds (p > 1e-3, moments within 5 standard errors, |r| < 4/sqrt(n)) would be crossed by a
sound generator with probability below 1e-3 for a fresh key, and a defect of the size that matters
to the model (a bias or correlation of a few per mille) crosses them at these sample sizes.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from sim.core import rng

SEED = 20_240_601
N_KEYS = 1_000
N_COUNTERS = 200  # N_KEYS x N_COUNTERS = 200k uniform draws
N_PAIRS = 100_000  # sample size of each correlation
MAX_UINT64 = 2**64 - 1


def hashed_keys(n: int, seed: int = SEED) -> np.ndarray:
    """Return ``n`` dyad-like keys, derived from a root seed as sim.core.state derives them."""
    return rng.combine_np(rng.root_key(seed), np.arange(n))


def consecutive_keys(n: int) -> np.ndarray:
    """Return the keys 0, 1, ..., n - 1: the most structured input a caller could give."""
    return np.arange(n, dtype=np.uint64)


KEY_FAMILIES = {"hashed": hashed_keys, "consecutive": consecutive_keys}


# --- jitted callers: the generator used from inside other Numba code, as kernels use it --------


@numba.njit
def uniform_grid(keys, counters):
    out = np.empty((keys.size, counters.size))
    for i in range(keys.size):
        for j in range(counters.size):
            out[i, j] = rng.uniform(keys[i], counters[j])
    return out


@numba.njit
def normal_grid(keys, counters):
    """Return the normal at each (key, counter), shape (keys, counters)."""
    out = np.empty((keys.size, counters.size))
    for i in range(keys.size):
        for j in range(counters.size):
            out[i, j] = rng.normal(keys[i], counters[j])
    return out


@numba.njit
def uniform_neighbours(keys, counters, key_step, counter_step):
    """Return uniforms at (key, counter) and at (key + key_step, counter + counter_step)."""
    first = np.empty(keys.size)
    second = np.empty(keys.size)
    for i in range(keys.size):
        first[i] = rng.uniform(keys[i], counters[i])
        second[i] = rng.uniform(keys[i] + key_step, counters[i] + counter_step)
    return first, second


@numba.njit
def normal_neighbours(keys, counters, key_step, counter_step):
    """Return the normal at (key, counter) and at the shifted position."""
    first = np.empty(keys.size)
    second = np.empty(keys.size)
    for i in range(keys.size):
        first[i] = rng.normal(keys[i], counters[i])
        second[i] = rng.normal(keys[i] + key_step, counters[i] + counter_step)
    return first, second


@numba.njit
def all_outputs(keys, counters, values):
    """Return every rng function's output, elementwise, for comparison with the NumPy twins."""
    n = keys.size
    mixed = np.empty(n, dtype=np.uint64)
    bits = np.empty(n, dtype=np.uint64)
    uniforms = np.empty(n)
    normals = np.empty(n)
    combined = np.empty(n, dtype=np.uint64)
    for i in range(n):
        mixed[i] = rng.mix64(keys[i])
        bits[i] = rng.random_bits(keys[i], counters[i])
        uniforms[i] = rng.uniform(keys[i], counters[i])
        normals[i] = rng.normal(keys[i], counters[i])
        combined[i] = rng.combine(keys[i], values[i])
    return mixed, bits, uniforms, normals, combined


@numba.njit
def session_draws(key, session):
    """Use counter() and the generator together, as the session kernel does."""
    u = rng.uniform(key, rng.counter(session, 0))
    z = rng.normal(key, rng.counter(session, 8))
    return u, z, rng.combine(key, session)


# --- (a) uniformity ------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(KEY_FAMILIES))
def test_uniform_draws_are_uniform(family):
    draws = uniform_grid(KEY_FAMILIES[family](N_KEYS), np.arange(N_COUNTERS)).ravel()
    assert draws.min() >= 0.0
    assert draws.max() < 1.0
    result = stats.kstest(draws, "uniform")
    assert result.pvalue > 1e-3, f"KS vs U(0, 1): D = {result.statistic:.5f}, p = {result.pvalue}"
    # Equal-width bins as well: KS is weak in the tails, a chi-square test is not.
    counts = np.bincount((draws * 64).astype(np.int64), minlength=64)
    chi2 = stats.chisquare(counts)
    assert chi2.pvalue > 1e-3, f"chi-square over 64 bins: p = {chi2.pvalue}"


# --- (b) normals ---------------------------------------------------------------------------


def test_normal_moments_and_shape():
    grid = normal_grid(hashed_keys(N_KEYS), np.arange(N_COUNTERS))
    z = grid.ravel()
    n = z.size
    assert np.isfinite(z).all()
    # Tolerances are five standard errors of each estimator under N(0, 1):
    # mean 1/sqrt(n), variance sqrt(2/n), skewness sqrt(6/n), kurtosis sqrt(24/n).
    assert abs(z.mean()) < 5 * math.sqrt(1 / n)
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z, fisher=False) - 3.0) < 5 * math.sqrt(24 / n)
    result = stats.kstest(z, "norm")
    assert result.pvalue > 1e-3, f"KS vs N(0, 1): D = {result.statistic:.5f}, p = {result.pvalue}"
    # Adjacent counters of one key are independent of each other.
    first, second = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    assert abs(np.corrcoef(first, second)[0, 1]) < 4 / math.sqrt(first.size)
    # The sampler must reach the tails: expected beyond 4 sd is n * 6.3e-5.
    expected = n * 2 * stats.norm.sf(4.0)
    assert 0.4 * expected <= np.count_nonzero(np.abs(z) > 4.0) <= 2.0 * expected


def ziggurat_paths(keys, counter):
    """Return each draw's bits, ziggurat layer and whether it misses the layer's rectangle."""
    bits = rng.random_bits_np(keys, counter)
    layer = (bits & np.uint64(0xFF)).astype(np.intp)
    magnitude = (bits >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)
    return bits, layer, magnitude >= rng._ZIG_ACCEPT[layer]


def test_ziggurat_tables_are_equal_area_layers_under_the_density():
    """Every layer has area V, the layers' edges decrease to 0, and the base covers the tail."""
    accept, width, density = rng._ZIG_ACCEPT, rng._ZIG_WIDTH, rng._ZIG_DENSITY
    x = np.append(width * 2.0**52, 0.0)  # layer edges x[0..256]
    assert x[1] == rng._ZIG_R and np.all(np.diff(x[1:]) < 0)
    np.testing.assert_allclose(density, np.exp(-0.5 * x * x))
    areas = x[1:256] * (density[2:257] - density[1:256])  # layers 1..255 (rectangles)
    np.testing.assert_allclose(areas, rng._ZIG_V, rtol=1e-9)
    tail = x[1] * density[1] + math.sqrt(math.pi / 2) * math.erfc(x[1] / math.sqrt(2))
    assert tail == pytest.approx(rng._ZIG_V, rel=1e-9)  # base rectangle up to R plus the tail
    assert accept[255] == 0 and np.all(accept[1:255] > 0)


def test_ziggurat_rare_paths_are_exercised_and_distributed_correctly():
    """Wedge and tail draws (1.2% and 0.03%) follow the normal density where they land."""
    keys = hashed_keys(2_000_000)
    _, _, slow = ziggurat_paths(keys, 9)
    assert 0.008 < slow.mean() < 0.018
    z = rng.normal_np(keys, 9)
    beyond = np.abs(z) > rng._ZIG_R  # only the tail algorithm produces these
    expected = keys.size * 2 * stats.norm.sf(rng._ZIG_R)
    assert abs(np.count_nonzero(beyond) - expected) < 5 * math.sqrt(expected)
    tail = np.abs(z[beyond]) - rng._ZIG_R  # conditional on |z| > R, compare with the exact law
    result = stats.kstest(
        tail, lambda t: 1 - stats.norm.sf(rng._ZIG_R + t) / stats.norm.sf(rng._ZIG_R)
    )
    assert result.pvalue > 1e-3


# --- (c) independence of neighbouring keys and counters -------------------------------------

NEIGHBOURS = {
    # (key step, counter step): draws at (key, c) against (key + 1, c), and (key, c) against
    # (key, c + 1). Keys and counters advance by 2 so that the pairs are disjoint.
    "key+1, same counter": (1, 0),
    "same key, counter+1": (0, 1),
}


def _positions(family: str, key_step: int) -> tuple[np.ndarray, np.ndarray]:
    if key_step:  # many keys, one counter
        keys = KEY_FAMILIES[family](2 * N_PAIRS)[::2].copy()
        counters = np.full(N_PAIRS, 7, dtype=np.int64)
    else:  # one key, many counters
        keys = np.full(N_PAIRS, KEY_FAMILIES[family](3)[2], dtype=np.uint64)
        counters = np.arange(0, 2 * N_PAIRS, 2, dtype=np.int64)
    return keys, counters


@pytest.mark.parametrize("family", sorted(KEY_FAMILIES))
@pytest.mark.parametrize("neighbour", sorted(NEIGHBOURS))
def test_no_correlation_between_neighbours(family, neighbour):
    key_step, counter_step = NEIGHBOURS[neighbour]
    keys, counters = _positions(family, key_step)
    limit = 4 / math.sqrt(N_PAIRS)
    for name, draw in (("uniform", uniform_neighbours), ("normal", normal_neighbours)):
        first, second = draw(keys, counters, np.uint64(key_step), counter_step)
        r = np.corrcoef(first, second)[0, 1]
        assert abs(r) < limit, f"{name}, {family} keys, {neighbour}: r = {r:.5f}"


# --- (d) Numba and NumPy twins agree (bit for bit; normals' rare paths to a few ulp) -----


def _comparison_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    edge_keys = np.array([0, 1, 2, 2**32 - 1, 2**32, 2**63 - 1, 2**63, MAX_UINT64], dtype=np.uint64)
    keys = np.concatenate([edge_keys, hashed_keys(20_000)])
    generator = np.random.default_rng(SEED)
    counters = generator.integers(0, 2**40, size=keys.size)
    counters[: edge_keys.size] = [0, 1, 31, 32, 2**31, 2**40, 2**53, 2**62]
    values = generator.integers(0, 2**62, size=keys.size)
    return keys, counters, values


def test_numba_and_numpy_twins_agree_bit_for_bit():
    keys, counters, values = _comparison_inputs()
    mixed, bits, uniforms, normals, combined = all_outputs(keys, counters, values)
    np.testing.assert_array_equal(mixed, rng.mix64_np(keys))
    np.testing.assert_array_equal(bits, rng.random_bits_np(keys, counters))
    np.testing.assert_array_equal(combined, rng.combine_np(keys, values))
    # Floats compared through their bit patterns: equal means identical, not merely close.
    np.testing.assert_array_equal(
        uniforms.view(np.uint64), rng.uniform_np(keys, counters).view(np.uint64)
    )
    # Normals: the ziggurat's fast path is exact arithmetic; its rare paths call exp and log1p,
    # where NumPy's vectorised versions may differ from the C library's in the last place.
    np.testing.assert_array_max_ulp(normals, rng.normal_np(keys, counters), maxulp=4)


def test_numba_and_numpy_normals_agree_on_the_rare_paths():
    """Draws that miss their layer's rectangle (wedges, the tail, retries), both twins."""
    bits, layer, slow = ziggurat_paths(hashed_keys(400_000), 4)
    assert np.count_nonzero(slow & (layer == 0)) > 10  # some start in the base layer
    numba_values = np.array([rng.normal_from_bits(b) for b in bits[slow]])
    np.testing.assert_array_max_ulp(numba_values, rng.normal_from_bits_np(bits[slow]), maxulp=4)


@pytest.mark.parametrize("key", [0, 12_345, 2**63 + 5, MAX_UINT64])
@pytest.mark.parametrize("count", [0, 1, 33, 2**40])
def test_scalar_calls_from_python_match_twins(key, count):
    key = np.uint64(key)
    assert rng.mix64(key) == rng.mix64_np(key)
    assert rng.random_bits(key, count) == rng.random_bits_np(key, count)
    assert rng.uniform(key, count) == rng.uniform_np(key, count)
    assert rng.combine(key, count) == rng.combine_np(key, count)
    np.testing.assert_array_max_ulp(
        np.array(rng.normal(key, count)), np.array(rng.normal_np(key, count)), maxulp=4
    )


# --- (e) callable from other jitted code ------------------------------------------------------


def test_callable_from_another_jitted_function():
    key = hashed_keys(1)[0]
    session = 4
    u, z, combined = session_draws(key, session)
    base = session * rng.SLOTS_PER_SESSION
    assert rng.counter(session, 8) == base + 8
    assert u == rng.uniform_np(key, base)
    assert z == rng.normal(key, base + 8)
    assert combined == rng.combine_np(key, session)
    assert 0.0 <= u < 1.0


# --- (f) key derivation ------------------------------------------------------------------------


def test_root_key_is_deterministic():
    for seed in (0, 1, 42, -7, 2**70):
        first, second = rng.root_key(seed), rng.root_key(seed)
        assert isinstance(first, np.uint64)
        assert first == second
    assert rng.root_key(np.int64(42)) == rng.root_key(42)


def test_distinct_seeds_give_distinct_keys():
    seeds = [*range(-2_000, 2_000), 2**31, 2**32, 2**63, 2**64, 2**64 + 1, 2**100, -(2**100)]
    keys = [rng.root_key(s) for s in seeds]
    assert len(set(keys)) == len(seeds)


@pytest.mark.parametrize("seed", [1.0, "1", None])
def test_root_key_rejects_non_integers(seed):
    with pytest.raises(TypeError, match="seed must be an integer"):
        rng.root_key(seed)


def test_combine_is_order_sensitive():
    key = rng.root_key(SEED)
    generator = np.random.default_rng(SEED)
    first = generator.integers(0, 2**62, size=10_000)
    second = first + generator.integers(1, 1_000, size=first.size)  # never equal to first
    forward = rng.combine_np(rng.combine_np(key, first), second)
    backward = rng.combine_np(rng.combine_np(key, second), first)
    assert not np.any(forward == backward)
    # Small ids, as used for (point, replicate, clinician, patient), most of all.
    small = np.arange(1, 1_000)
    assert not np.any(
        rng.combine_np(rng.combine_np(key, 0), small)
        == rng.combine_np(rng.combine_np(key, small), 0)
    )
    # Extending a key is deterministic and distinct values give distinct keys.
    np.testing.assert_array_equal(rng.combine_np(key, small), rng.combine_np(key, small))
    assert np.unique(rng.combine_np(key, small)).size == small.size
