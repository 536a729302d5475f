"""Hypothesis strategies shared by the property tests: complete parameter sets within bounds."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from sim.core.params import PARAMS, Param

SMALL_CLINIC: dict[str, tuple[int, int]] = {
    "n_clinicians": (1, 3),
    "patients_per_clinician": (1, 30),
    "max_sessions": (1, 30),
    # Narrower than their bounds (1-200) so that they straddle max_sessions: otherwise recovery
    # and the early-alliance reading would almost never happen within a course.
    "min_sessions": (1, 40),
    "early_session": (1, 40),
}
"""Tighter ranges, still within bounds, that keep every example to a few thousand
dyad-sessions."""


def _value(param: Param) -> st.SearchStrategy[float]:
    if param.name in SMALL_CLINIC:
        return st.integers(*SMALL_CLINIC[param.name]).map(float)
    if param.integer:
        drawn = st.integers(int(param.low), int(param.high)).map(float)
    else:
        drawn = st.floats(param.low, param.high, allow_nan=False, allow_infinity=False)
    # The default is one of the options so that examples mix calibrated and extreme values;
    # with every coefficient extreme at once, most dyads end in their first session and the
    # dynamics of a long course would go unexercised.
    return st.one_of(st.just(float(param.default)), drawn)


def parameter_values() -> st.SearchStrategy[dict[str, Any]]:
    """Return a strategy for a complete parameter set, every value within its bounds."""
    return st.fixed_dictionaries({name: _value(p) for name, p in PARAMS.items()})


seeds = st.integers(min_value=0, max_value=2**63 - 1)
"""Root seeds (hypothesis draws them deterministically under the derandomised profile)."""
