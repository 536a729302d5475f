"""The logistic function and chance decisions against it, for the session's events.

:func:`sigmoid_bounds` decides ``draw < sigmoid(x)`` without the exponential for most draws, so
that the drivers' loops over lanes stay vectorisable; :func:`below_sigmoid` is the same decision
for one draw. Small helpers the equations use (:func:`clip01`) live here too.
"""

from __future__ import annotations

import math

from sim.core.jit import jit, jit_inline


@jit_inline
def sigmoid(x):
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


@jit_inline
def sigmoid_bounds(draw, x):
    """Return 0 or 1 when bounds of the logistic decide ``draw < sigmoid(x)``, else 2.

    From ``exp(t) >= 1 + t``: ``1 - 1/(2 + x) <= sigmoid(x) <= 1/(2 - x)`` (where the
    denominators are positive). A draw clearly outside that band is decided by the bounds, with a
    margin of 1e-9 that dwarfs every rounding error involved, so the answer is always the one
    the exact comparison gives. Only draws inside the band (narrow when ``x`` is near 0) need
    the exponential. Branch-free, so that a loop over lanes stays vectorisable.
    """
    below = (x < 2.0) & (draw * (2.0 - x) >= 1.0 + 1e-9)
    above = (x > -2.0) & ((1.0 - draw) * (2.0 + x) >= 1.0 + 1e-9)
    return 0 if below else (1 if above else 2)


@jit
def below_sigmoid(draw, x):
    """Return ``draw < sigmoid(x)``, mostly decided by :func:`sigmoid_bounds` (no ``exp``)."""
    decided = sigmoid_bounds(draw, x)
    if decided == 2:
        return draw < sigmoid(x)
    return decided == 1


@jit_inline
def below(draw, chance):
    """Return ``draw < chance`` (an event decided by its probability, not its log-odds)."""
    return draw < chance


@jit_inline
def clip01(x):
    """Return ``x`` clipped to [0, 1]."""
    return min(1.0, max(0.0, x))
