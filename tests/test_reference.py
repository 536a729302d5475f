"""The Numba session kernel against the plain-NumPy reference (sim/reference.py).

Two clinics built identically from the same seed are run side by side, one with each
implementation; after every session every field must agree: floats to 1e-12 (NaN in the same
places), integers exactly. The two share only the generator and the instruments' scales, so this
holds two independent readings of docs/MODEL.md together.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import parameter_values, seeds

from sim.kernels import run_session
from sim.params import defaults, to_row
from sim.reference import run_session_reference
from sim.state import ACTIVE, Clinics, build

ATOL = 1e-12


@pytest.fixture(scope="module", autouse=True)
def warm_kernel():
    """Compile (or load from the Numba cache) the kernel once, before any timed example."""
    values = defaults() | {"n_clinicians": 1, "patients_per_clinician": 3, "max_sessions": 2}
    clinics = build(to_row(values), seed=0)
    run_session(clinics.dyads, clinics.clinicians, clinics.params, 1)


def assert_same_state(kernel: np.ndarray, reference: np.ndarray, when: str) -> None:
    assert kernel.dtype == reference.dtype
    for name in kernel.dtype.names:
        actual, expected = kernel[name], reference[name]
        if np.issubdtype(actual.dtype, np.floating):
            np.testing.assert_allclose(
                actual,
                expected,
                rtol=0,
                atol=ATOL,
                equal_nan=True,
                err_msg=f"{name} differs {when}",
            )
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=f"{name} differs {when}")


def run_side_by_side(values: dict[str, float], seed: int) -> Clinics:
    kernel = build(to_row(values), seed)
    reference = build(to_row(values), seed)
    assert kernel.dyads.tobytes() == reference.dyads.tobytes()
    clinicians, params = reference.clinicians.copy(), reference.params.copy()
    for session in range(1, int(values["max_sessions"]) + 1):
        advanced = run_session(kernel.dyads, kernel.clinicians, kernel.params, session)
        advanced_ref = run_session_reference(
            reference.dyads, reference.clinicians, reference.params, session
        )
        assert advanced == advanced_ref, f"dyads advanced differ in session {session}"
        assert_same_state(kernel.dyads, reference.dyads, f"after session {session}")
    # Neither implementation writes to the clinician or parameter tables.
    assert reference.clinicians.tobytes() == clinicians.tobytes()
    assert reference.params.tobytes() == params.tobytes()
    assert kernel.clinicians.tobytes() == clinicians.tobytes()
    assert (kernel.dyads["status"] != ACTIVE).all()
    return kernel


@given(values=parameter_values(), seed=seeds)
def test_reference_matches_kernel(values, seed):
    run_side_by_side(values, seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_matches_kernel_at_defaults(seed):
    values = defaults() | {"n_clinicians": 5, "patients_per_clinician": 20}
    kernel = run_side_by_side(values, seed)
    # The comparison covered ruptures, repairs and every kind of ending.
    assert kernel.dyads["repaired"].sum() > 0
    assert len(np.unique(kernel.dyads["status"])) == 3


def test_reference_with_no_active_dyads_does_nothing():
    values = defaults() | {"n_clinicians": 1, "patients_per_clinician": 4, "max_sessions": 1}
    clinics = build(to_row(values), seed=3)
    assert run_session_reference(clinics.dyads, clinics.clinicians, clinics.params, 1) == 4
    ended = clinics.dyads.copy()
    assert run_session_reference(clinics.dyads, clinics.clinicians, clinics.params, 2) == 0
    assert clinics.dyads.tobytes() == ended.tobytes()
