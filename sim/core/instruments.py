"""Instruments: what a study would observe of the latent state, with measurement error.

* WAI-SR-like alliance (Hatcher & Gillaspy 2006): three subscales (goal, task, bond), each the
  mean of four items scored 1-5, so a subscale moves in steps of 0.25; the total is the mean of
  the subscales. Latent level 0 maps to 1, latent 1 to 5.
* PHQ-9-like symptom score (Kroenke et al. 2001): whole points 0-27, latent 1 maps to 27.
* Patient-reported rupture: a rupture is reported with a probability that depends on its type
  (withdrawals least); drawn in the session kernel, parameters ``report_*``.

Error standard deviations are parameters (``wai_noise``, ``symptom_score_noise``). These are
jitted scalar functions, inlined where the kernels call them; NumPy twins serve the reference.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.jit import jit_inline

PHQ9_MAX = 27.0
WAI_MIN, WAI_MAX = 1.0, 5.0


@jit_inline
def symptom_score(symptoms, error):
    """Return a PHQ-9-like score (whole points, 0-27) of latent ``symptoms`` plus ``error``."""
    return min(PHQ9_MAX, max(0.0, math.floor(PHQ9_MAX * symptoms + error + 0.5)))


@jit_inline
def wai_subscale(level, error):
    """Return a WAI-SR-like subscale score (1-5 in steps of 0.25) of a latent ``level``."""
    return min(WAI_MAX, max(WAI_MIN, math.floor(4.0 * (1.0 + 4.0 * level + error) + 0.5) / 4.0))


def symptom_score_np(symptoms: np.ndarray, error: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`symptom_score`."""
    return np.clip(np.floor(PHQ9_MAX * symptoms + error + 0.5), 0.0, PHQ9_MAX)


def wai_subscale_np(level: np.ndarray, error: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`wai_subscale`."""
    return np.clip(np.floor(4.0 * (1.0 + 4.0 * level + error) + 0.5) / 4.0, WAI_MIN, WAI_MAX)
