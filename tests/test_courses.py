"""The course driver gives the single-session driver's numbers, bit for bit.

Both are generated from the phases by sim/core/codegen.py.

Every comparison is of whole record arrays as bytes: every field of every dyad, the state, the
observations, the counts, the status, the last session's events.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from strategies import parameter_values, seeds

from sim.core.batch import parameter_rows
from sim.core.kernels import LANES, course_blocks, run_courses, run_courses_parallel, run_session
from sim.core.params import defaults, to_row
from sim.core.state import ACTIVE, Clinics, build


def by_sessions(clinics: Clinics, start: int = 0) -> np.ndarray:
    """Run a copy of the clinic session by session with run_session; return its dyads."""
    dyads = clinics.dyads.copy()
    for session in range(start + 1, clinics.max_sessions + 1):
        if run_session(dyads, clinics.clinicians, clinics.params, session) == 0:
            break
    return dyads


def by_courses(clinics: Clinics, parallel: bool = False) -> tuple[np.ndarray, int]:
    """Run a copy of the clinic with the course kernel; return its dyads and dyad-sessions."""
    dyads = clinics.dyads.copy()
    run = run_courses_parallel if parallel else run_courses
    return dyads, int(run(dyads, clinics.clinicians, clinics.params))


def assert_same(expected: np.ndarray, got: np.ndarray) -> None:
    """Every byte of every record equal, with a readable message naming the fields that differ."""
    if expected.tobytes() == got.tobytes():
        return
    differ = [
        name for name in expected.dtype.names if expected[name].tobytes() != got[name].tobytes()
    ]
    raise AssertionError(f"course kernel differs from run_session in {differ}")


@given(values=parameter_values(), seed=seeds)
def test_courses_match_sessions_for_any_parameters(values, seed):
    clinics = build(to_row(values), seed=seed)
    expected = by_sessions(clinics)
    got, run = by_courses(clinics)
    assert_same(expected, got)
    assert run == int(expected["sessions"].sum())
    assert not (got["status"] == ACTIVE).any()


@pytest.mark.parametrize("seed", [0, 1])
def test_courses_match_sessions_across_rows_and_course_lengths(seed):
    """Clinics of several parameter rows (lengths of course, training, a trial arm) at once."""
    rows = parameter_rows(
        [
            {"n_clinicians": 3, "patients_per_clinician": 50},  # blocks of 64 across clinicians
            {"n_clinicians": 2, "patients_per_clinician": 7, "max_sessions": 5},
            {
                "n_clinicians": 4,
                "patients_per_clinician": 30,
                "training_session": 4,
                "technique_b_share": 0.5,
                "max_sessions": 30,
            },
            {"n_clinicians": 1, "patients_per_clinician": 1, "max_sessions": 1},
        ]
    )
    clinics = build(rows, seed=seed, rows=[0, 1, 2, 3, 2], point_ids=[0, 1, 2, 3, 4])
    got, run = by_courses(clinics)
    expected = by_sessions(clinics)
    assert_same(expected, got)
    assert run == int(expected["sessions"].sum())


def test_courses_continue_a_clinic_stepped_part_way():
    """Started after some sessions (some dyads ended already), the course kernel goes on."""
    clinics = build(to_row(defaults() | {"n_clinicians": 5, "patients_per_clinician": 40}), 3)
    for session in range(1, 6):
        run_session(clinics.dyads, clinics.clinicians, clinics.params, session)
    assert (clinics.dyads["status"] != ACTIVE).any() and (clinics.dyads["status"] == ACTIVE).any()
    before = clinics.dyads.copy()
    expected = by_sessions(clinics, start=5)
    got, run = by_courses(clinics)
    assert_same(expected, got)
    assert run == int(got["sessions"].sum() - before["sessions"].sum())


def test_parallel_courses_match_at_any_thread_count():
    clinics = build(to_row(defaults() | {"n_clinicians": 20, "patients_per_clinician": 30}), 4)
    expected, _ = by_courses(clinics)
    threads = numba.get_num_threads()
    try:
        for count in sorted({1, threads}):
            numba.set_num_threads(count)
            got, _ = by_courses(clinics, parallel=True)
            assert_same(expected, got)
    finally:
        numba.set_num_threads(threads)


def test_blocks_hold_at_most_a_lane_buffer_of_one_row_and_session():
    clinics = build(
        parameter_rows(
            [
                {"n_clinicians": 3, "patients_per_clinician": 50},
                {"n_clinicians": 1, "patients_per_clinician": 10},
            ]
        ),
        5,
    )
    dyads = clinics.dyads
    dyads["status"][::7] = 2  # some ended already: skipped, not counted against a block
    blocks = course_blocks(dyads)
    covered = np.concatenate([np.arange(a, b) for a, b in blocks])
    active = np.flatnonzero(dyads["status"] == ACTIVE)
    assert set(active) <= set(covered) and len(covered) == len(set(covered))
    for a, b in blocks:
        inside = dyads[a:b][dyads["status"][a:b] == ACTIVE]
        assert 1 <= len(inside) <= LANES
        assert len(set(inside["row"])) == 1 and len(set(inside["sessions"])) == 1


def test_nothing_to_run_changes_nothing():
    clinics = build(to_row(defaults() | {"n_clinicians": 2, "patients_per_clinician": 3}), 6)
    clinics.dyads["status"] = 1
    before = clinics.dyads.copy()
    assert run_courses(clinics.dyads, clinics.clinicians, clinics.params) == 0
    assert_same(before, clinics.dyads)


def test_a_course_shortened_mid_way_ends_at_the_next_session():
    """A parameter row's ``max_sessions`` lowered below sessions already attended (as a Mesa
    user may do between steps): every dyad ends at its next session, as run_session has it."""
    clinics = build(to_row(defaults() | {"n_clinicians": 3, "patients_per_clinician": 30}), 8)
    for session in range(1, 9):
        run_session(clinics.dyads, clinics.clinicians, clinics.params, session)
    clinics.params["max_sessions"] = 4
    expected = clinics.dyads.copy()
    run_session(expected, clinics.clinicians, clinics.params, 9)
    got, _ = by_courses(clinics)
    assert_same(expected, got)
    assert not (got["status"] == ACTIVE).any()
