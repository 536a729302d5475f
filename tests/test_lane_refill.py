"""Lanes emptied by an early end are refilled, and no number changes for it.

The course driver runs a block of up to ``PAGES * LANES`` dyads of one parameter row in pages of
``LANES`` lanes; a dyad that ends leaves its lane and the block's last dyad moves in, so every
page but the last stays full. These tests hold the course driver to the single-session driver,
bit for bit, where the refilling is busiest: blocks of every size around a page, a lane refilled
many times (many early ends), every dyad ending at session 1, any thread count, a clinic
continued part way, and a model with an extension's phases and field.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from sim.core.batch import parameter_rows
from sim.core.composition import compose
from sim.core.extension import Extension
from sim.core.fields import Field
from sim.core.lanes import LANES, PAGES, course_blocks
from sim.core.params import Param, defaults, to_row
from sim.core.phase import phase
from sim.core.state import ACTIVE, Clinics, build

EARLY_ENDS = {"min_sessions": 1, "dropout_base": -3.0, "recovery_threshold": 0.2}
"""Parameters under which many courses end early (dropout and recovery from session 1)."""


def by_sessions(clinics: Clinics, kernels, start: int = 0) -> np.ndarray:
    """Run a copy of the clinic session by session; return its dyads."""
    dyads = clinics.dyads.copy()
    for session in range(start + 1, clinics.max_sessions + 1):
        if kernels.run_session(dyads, clinics.clinicians, clinics.params, session) == 0:
            break
    return dyads


def by_courses(clinics: Clinics, kernels, parallel: bool = False) -> tuple[np.ndarray, int]:
    """Run a copy of the clinic with the course driver; return its dyads and dyad-sessions."""
    dyads = clinics.dyads.copy()
    run = kernels.run_courses_parallel if parallel else kernels.run_courses
    return dyads, int(run(dyads, clinics.clinicians, clinics.params))


def assert_same(expected: np.ndarray, got: np.ndarray) -> None:
    """Every byte of every record equal; the message names the fields that differ."""
    if expected.tobytes() == got.tobytes():
        return
    differ = [n for n in expected.dtype.names if expected[n].tobytes() != got[n].tobytes()]
    raise AssertionError(f"course driver differs from run_session in {differ}")


def clinic(patients: int, seed: int = 0, **values: float) -> Clinics:
    """One clinician with ``patients`` patients (one block of that size), early ends likely."""
    row = defaults() | EARLY_ENDS | {"n_clinicians": 1, "patients_per_clinician": patients}
    return build(to_row(row | values), seed)


def check(clinics: Clinics, kernels=None) -> np.ndarray:
    """Course driver (serial and threaded) against run_session; return the dyads."""
    kernels = kernels or compose().kernels
    expected = by_sessions(clinics, kernels)
    for parallel in (False, True):
        got, run = by_courses(clinics, kernels, parallel)
        assert_same(expected, got)
        assert run == int(expected["sessions"].sum())
        assert not (got["status"] == ACTIVE).any()
    return expected


def test_a_block_holds_several_pages():
    clinics = clinic(PAGES * LANES + 7)
    blocks = course_blocks(clinics.dyads, PAGES * LANES)
    assert [b - a for a, b in blocks] == [PAGES * LANES, 7]


@pytest.mark.parametrize(
    "patients",
    [1, 3, 4, 5, LANES - 1, LANES, LANES + 1, 2 * LANES + 3, PAGES * LANES, PAGES * LANES + 1],
)
def test_blocks_of_any_size_around_a_page(patients):
    check(clinic(patients, seed=patients))


def test_lanes_refilled_many_times():
    """A block of several pages whose courses end at every session: most lanes are refilled
    again and again (every end but those in the last lanes moves a dyad)."""
    dyads = check(clinic(3 * PAGES * LANES, seed=11))
    lengths = np.bincount(dyads["sessions"])
    assert (lengths[1:] > 0).sum() >= 10  # ends spread over at least ten sessions
    assert lengths[1] > LANES  # more than a page gone after the first session


def test_every_dyad_ends_at_session_1():
    dyads = check(clinic(2 * LANES + 5, seed=3, max_sessions=1))
    assert (dyads["sessions"] == 1).all()


def test_rows_and_sessions_split_blocks():
    rows = parameter_rows(
        [
            defaults() | EARLY_ENDS | {"n_clinicians": 3, "patients_per_clinician": 250},
            {"n_clinicians": 2, "patients_per_clinician": 9, "max_sessions": 4},
            defaults() | EARLY_ENDS | {"n_clinicians": 1, "patients_per_clinician": 70},
        ]
    )
    check(build(rows, seed=5, rows=[0, 1, 2, 0], point_ids=[0, 1, 2, 3]))


def test_a_clinic_continued_part_way():
    """After three sessions (many dyads ended, skipped by the blocks) the rest go on."""
    kernels = compose().kernels
    clinics = clinic(PAGES * LANES + 100, seed=8)
    for session in range(1, 4):
        kernels.run_session(clinics.dyads, clinics.clinicians, clinics.params, session)
    assert (clinics.dyads["status"] != ACTIVE).sum() > LANES
    expected = by_sessions(clinics, kernels, start=3)
    got, _ = by_courses(clinics, kernels)
    assert_same(expected, got)


def test_any_thread_count():
    kernels = compose().kernels
    clinics = clinic(5 * PAGES * LANES, seed=2)
    expected, _ = by_courses(clinics, kernels)
    threads = numba.get_num_threads()
    try:
        for count in sorted({1, 2, threads}):
            if count > numba.config.NUMBA_NUM_THREADS:
                continue
            numba.set_num_threads(count)
            got, _ = by_courses(clinics, kernels, parallel=True)
            assert_same(expected, got)
    finally:
        numba.set_num_threads(threads)


@phase(writes=("spark",), after="alliance_growth")
def spark_follows_alliance(spark, alliance, spark_rate):
    return spark + spark_rate * (alliance - spark)


@phase(writes=("engagement",), after="engagement_in_week")
def spark_lifts_engagement(engagement, spark, spark_lift):
    return min(1.0, engagement + spark_lift * spark)


SPARK = Extension(
    "spark",
    fields=(Field("spark", "f8", "state", "a toy state", 0.0, 1.0, panel=False, initial=0.1),),
    params=(
        Param("spark_rate", 0.3, 0.0, 1.0, "per session", "pace", "toy", "mechanism"),
        Param("spark_lift", 0.2, 0.0, 1.0, "share", "lift", "toy", "mechanism"),
    ),
    phases=(spark_follows_alliance, spark_lifts_engagement),
)


def test_extension_phases_and_fields_move_with_their_lane():
    model = compose([SPARK])
    row = model.defaults() | EARLY_ENDS | {"n_clinicians": 2, "patients_per_clinician": 300}
    clinics = build(model.to_row(row), 4, composition=model)
    dyads = check(clinics, model.kernels)
    assert not np.allclose(dyads["spark"], 0.1)
