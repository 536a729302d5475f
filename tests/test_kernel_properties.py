"""Properties of the session kernel (sim/core/kernels.py) that hold for every admissible parameter
set.

Hypothesis draws whole parameter sets within bounds (tests/strategies.py), builds a small clinic
and runs it session by session to the end of the course, checking after every session that the
latent state stays in range, observations are on their instruments' scales, counters are
consistent, ended dyads stay untouched and every course has ended after ``max_sessions``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from strategies import parameter_values, seeds

from sim.core.kernels import run_session, run_session_parallel
from sim.core.params import defaults, to_row
from sim.core.state import (
    ACTIVE,
    COMPLETED,
    CONFRONTATION,
    COUNT_FIELDS,
    DROPPED_OUT,
    LATENT_FIELDS,
    NO_RUPTURE,
    RECOVERED,
    WITHDRAWAL,
    Clinics,
    build,
)

SUBSCALES = ("wai_goal", "wai_task", "wai_bond")


def small_defaults(**changes: float) -> dict[str, float]:
    values = defaults() | {"n_clinicians": 2, "patients_per_clinician": 5, "max_sessions": 4}
    return values | changes


@pytest.fixture(scope="module", autouse=True)
def warm_kernels():
    """Compile (or load from the Numba cache) both kernels once, before any timed example."""
    clinics = build(to_row(small_defaults()), seed=0)
    run_session(clinics.dyads, clinics.clinicians, clinics.params, 1)
    run_session_parallel(clinics.dyads, clinics.clinicians, clinics.params, 2)


def check_latent(dyads: np.ndarray, when: str) -> None:
    for name in LATENT_FIELDS:
        values = dyads[name]
        assert np.isfinite(values).all(), f"{name} not finite {when}: {values}"
        assert (values >= 0.0).all(), f"{name} below 0 {when}: {values.min()}"
        if name != "strain":
            assert (values <= 1.0).all(), f"{name} above 1 {when}: {values.max()}"


def check_session(
    before: np.ndarray, after: np.ndarray, values: dict[str, float], session: int
) -> None:
    """Check one session's changes; ``before`` is a copy of the dyads taken before it ran."""
    when = f"after session {session}"
    check_latent(after, when)
    attended = before["status"] == ACTIVE
    ended = ~attended
    now = after[attended]

    # Dyads that had already ended are untouched: status, session count and everything else.
    for name in after.dtype.names:
        np.testing.assert_array_equal(
            after[name][ended],
            before[name][ended],
            err_msg=f"ended dyad's {name} changed in session {session}",
        )

    # Observations of this session are on their instruments' scales.
    for name in SUBSCALES:
        scores = now[name]
        assert ((scores >= 1.0) & (scores <= 5.0)).all(), f"{name} off 1-5 {when}: {scores}"
        assert (scores * 4 == np.round(scores * 4)).all(), f"{name} off the 0.25 grid {when}"
    total = now["wai_total"]
    assert ((total >= 1.0) & (total <= 5.0)).all(), f"wai_total off 1-5 {when}: {total}"
    np.testing.assert_allclose(
        total, (now["wai_goal"] + now["wai_task"] + now["wai_bond"]) / 3, rtol=0, atol=1e-12
    )
    score = now["symptom_score"]
    assert ((score >= 0) & (score <= 27) & (score == np.round(score))).all(), (
        f"symptom_score not a whole number in 0-27 {when}: {score}"
    )

    # This session's events are consistent with each other and with the running counts.
    ruptured = now["rupture"] != NO_RUPTURE
    assert np.isin(now["rupture"], (NO_RUPTURE, WITHDRAWAL, CONFRONTATION)).all()
    assert (now["rupture_detected"] <= ruptured).all()
    assert (now["rupture_repaired"] <= now["rupture_detected"]).all()
    assert (now["rupture_patient_reported"] <= ruptured).all()
    was = before[attended]
    np.testing.assert_array_equal(now["sessions"], was["sessions"] + 1)
    np.testing.assert_array_equal(
        now["withdrawals"] - was["withdrawals"], now["rupture"] == WITHDRAWAL
    )
    np.testing.assert_array_equal(
        now["confrontations"] - was["confrontations"], now["rupture"] == CONFRONTATION
    )
    for count, event in (
        ("detected", "rupture_detected"),
        ("repaired", "rupture_repaired"),
        ("reported", "rupture_patient_reported"),
    ):
        np.testing.assert_array_equal(now[count] - was[count], now[event])
    ruptures = after["withdrawals"] + after["confrontations"]
    assert (after["repaired"] <= after["detected"]).all(), when
    assert (after["detected"] <= ruptures).all(), when
    assert (after["reported"] <= ruptures).all(), when
    for name in COUNT_FIELDS:
        assert (after[name] >= 0).all(), f"{name} negative {when}"

    # Endings follow the rules of step 11.
    status = now["status"]
    assert np.isin(status, (ACTIVE, COMPLETED, RECOVERED, DROPPED_OUT)).all()
    if session >= values["max_sessions"]:
        assert (status == COMPLETED).all(), f"a course outlived max_sessions {when}"
    else:
        assert (status != COMPLETED).all(), f"completed before max_sessions {when}"
    recovered = status == RECOVERED
    assert session >= values["min_sessions"] or not recovered.any(), f"early recovery {when}"
    assert (now["symptoms"][recovered] < values["recovery_threshold"]).all()
    ending = status != ACTIVE
    assert np.isfinite(now["symptom_score_post"][ending]).all(), f"no post score {when}"
    if session == 1:
        np.testing.assert_array_equal(now["symptom_score_intake"], now["symptom_score"])


def run_course(clinics: Clinics, values: dict[str, float]) -> None:
    """Run every session of the course, checking the properties after each one."""
    dyads = clinics.dyads
    check_latent(dyads, "at intake")
    assert (dyads["status"] == ACTIVE).all()
    max_sessions = int(values["max_sessions"])
    for session in range(1, max_sessions + 1):
        before = dyads.copy()
        advanced = run_session(dyads, clinics.clinicians, clinics.params, session)
        assert advanced == np.count_nonzero(before["status"] == ACTIVE)
        check_session(before, dyads, values, session)
    assert (dyads["status"] != ACTIVE).all(), "a dyad is still active after max_sessions"
    assert (dyads["sessions"] >= 1).all()
    assert (dyads["sessions"] <= max_sessions).all()
    np.testing.assert_array_equal(dyads["sessions"] == max_sessions, dyads["status"] == COMPLETED)
    assert np.isfinite(dyads["symptom_score_post"]).all()
    assert np.isfinite(dyads["symptom_score_intake"]).all()
    # A session after the end advances nobody and changes nothing.
    after = dyads.copy()
    assert run_session(dyads, clinics.clinicians, clinics.params, max_sessions + 1) == 0
    assert dyads.tobytes() == after.tobytes()


@given(values=parameter_values(), seed=seeds)
def test_session_invariants_hold_for_any_parameters(values, seed):
    clinics = build(to_row(values), seed)
    assert len(clinics.dyads) == values["n_clinicians"] * values["patients_per_clinician"]
    run_course(clinics, values)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_session_invariants_hold_at_defaults(seed):
    values = defaults() | {"n_clinicians": 4, "patients_per_clinician": 25}
    clinics = build(to_row(values), seed)
    run_course(clinics, values)
    # At the calibrated defaults all three endings and both rupture types occur in 100 dyads.
    assert set(np.unique(clinics.dyads["status"])) == {COMPLETED, RECOVERED, DROPPED_OUT}
    assert clinics.dyads["withdrawals"].sum() > 0
    assert clinics.dyads["confrontations"].sum() > 0
    assert clinics.dyads["repaired"].sum() > 0


# --- the parallel kernel -------------------------------------------------------------------------


def assert_bit_identical(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    for name in expected.dtype.names:
        assert actual[name].tobytes() == expected[name].tobytes(), f"{what}: {name} differs"


def run_all(values: dict[str, float], seed: int, kernel) -> np.ndarray:
    clinics = build(to_row(values), seed)
    for session in range(1, int(values["max_sessions"]) + 1):
        kernel(clinics.dyads, clinics.clinicians, clinics.params, session)
    return clinics.dyads


def run_parallel_with_threads(values: dict[str, float], seed: int, threads: int) -> np.ndarray:
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return run_all(values, seed, run_session_parallel)
    finally:
        numba.set_num_threads(previous)


@settings(max_examples=10)
@given(values=parameter_values(), seed=seeds)
def test_parallel_kernel_matches_serial(values, seed):
    serial = run_all(values, seed, run_session)
    assert_bit_identical(run_all(values, seed, run_session_parallel), serial, "parallel")


def test_thread_count_does_not_change_results():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    values = defaults() | {"n_clinicians": 8, "patients_per_clinician": 25}
    previous = numba.get_num_threads()
    serial = run_all(values, 11, run_session)
    one = run_parallel_with_threads(values, 11, 1)
    two = run_parallel_with_threads(values, 11, 2)
    assert numba.get_num_threads() == previous
    assert_bit_identical(one, serial, "1 thread vs serial")
    assert_bit_identical(two, serial, "2 threads vs serial")
    assert_bit_identical(two, one, "2 threads vs 1 thread")
    assert (serial["status"] != ACTIVE).all()
