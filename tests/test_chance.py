"""``below_sigmoid`` decides ``draw < sigmoid(x)`` from bounds where it can: it must always give
the exact comparison's answer, including for draws a hair away from the threshold."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.chance import below_sigmoid, sigmoid

LOGITS = np.concatenate([np.linspace(-40, 40, 801), [-2.0, 2.0, -1e-12, 0.0, 1e-12, 1e6, -1e6]])


def test_agrees_with_the_exact_comparison_next_to_every_threshold():
    for x in LOGITS:
        threshold = sigmoid(x)
        near = [
            threshold,
            np.nextafter(threshold, 0.0),
            np.nextafter(threshold, 1.0),
            threshold - 1e-9,
            threshold + 1e-9,
            0.0,
            1.0 - 2.0**-53,
        ]
        bounds = [1.0 / (2.0 - x) if x < 2 else 1.0, 1.0 - 1.0 / (2.0 + x) if x > -2 else 0.0]
        near += [b + d for b in bounds for d in (-1e-9, -1e-12, 0.0, 1e-12, 1e-9)]
        for draw in near:
            if 0.0 <= draw < 1.0:
                assert below_sigmoid(draw, x) == (draw < threshold), (draw, x)


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(draw=st.floats(0.0, 1.0, exclude_max=True), x=st.floats(-60.0, 60.0))
def test_agrees_with_the_exact_comparison_anywhere(draw, x):
    assert below_sigmoid(draw, x) == (draw < sigmoid(x))


def test_nan_logit_never_fires():
    assert below_sigmoid(0.3, math.nan) == (0.3 < sigmoid(math.nan))
