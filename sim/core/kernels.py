"""The session kernels of the core model, and the clinic summary the Mesa reporters read.

The equations are in :mod:`sim.core.equations` (written once, as phases); the drivers that run them
over lanes of dyads are generated from them by :mod:`sim.core.codegen` and compiled once per process
(loaded from Numba's cache after the first run). These functions run the *core* model's
drivers; a model with extensions runs ``compose(extensions).kernels.run_session`` and so on.

* :func:`run_courses` / :func:`run_courses_parallel`: every active dyad to the end of its course
  (the batch path, sweeps);
* :func:`run_session` / :func:`run_session_parallel`: one session for every active dyad (the Mesa
  model, the per-session panel).

All four give the same numbers for the same seed, session after session (tests hold them
together), whatever the thread count.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.composition import CORE
from sim.core.fields import ACTIVE, CONFRONTATION, DROPPED_OUT, WITHDRAWAL
from sim.core.jit import jit
from sim.core.lanes import LANES, course_blocks  # noqa: F401  (re-exported for tests, benchmarks)


def run_session(dyads: np.ndarray, clinicians: np.ndarray, params: np.ndarray, session: int) -> int:
    """Advance every active dyad by one session, serially; return the number advanced."""
    return CORE.kernels.run_session(dyads, clinicians, params, session)


def run_session_parallel(
    dyads: np.ndarray, clinicians: np.ndarray, params: np.ndarray, session: int
) -> int:
    """:func:`run_session` with blocks of dyads shared among threads (same numbers)."""
    return CORE.kernels.run_session_parallel(dyads, clinicians, params, session)


def run_courses(dyads: np.ndarray, clinicians: np.ndarray, params: np.ndarray) -> int:
    """Run every active dyad to the end of its course; return the dyad-sessions run."""
    return CORE.kernels.run_courses(dyads, clinicians, params)


def run_courses_parallel(dyads: np.ndarray, clinicians: np.ndarray, params: np.ndarray) -> int:
    """:func:`run_courses` with blocks shared among threads (same numbers, any thread count)."""
    return CORE.kernels.run_courses_parallel(dyads, clinicians, params)


# Columns of :func:`clinic_summary`'s result.
SUMMARY_MEANS = ("alliance", "goal", "task", "bond", "wai_total", "symptom_score")
"""Fields averaged over the dyads in the latest session (columns 0-5)."""
SUMMARY_COUNTS = ("withdrawals", "confrontations", "detected", "repairs", "active", "dropouts")
"""Counts (columns 6-11): this session's ruptures by type, detections and repairs among the dyads
in it; dyads still active and dropped out so far, over the whole clinic."""


@jit
def clinic_summary(dyads, session):
    """Return the clinic's means and counts after ``session`` in one pass over the dyads.

    Means are over the dyads that attended ``session`` (everyone at session 0, the intake
    state); a NaN among them (an instrument not yet observed) makes the mean NaN, as
    ``numpy.mean`` would, and no dyad in the session gives NaN. See :data:`SUMMARY_MEANS` and
    :data:`SUMMARY_COUNTS` for the columns. This is what the Mesa model's reporters read, so
    data collection costs one pass instead of one strided scan per reporter.
    """
    out = np.zeros(len(SUMMARY_MEANS) + len(SUMMARY_COUNTS))
    attended = 0
    for i in range(dyads.shape[0]):
        d = dyads[i]
        if d.status == ACTIVE:
            out[10] += 1.0
        elif d.status == DROPPED_OUT:
            out[11] += 1.0
        if session == 0 or d.sessions == session:
            attended += 1
            out[0] += d.alliance
            out[1] += d.goal
            out[2] += d.task
            out[3] += d.bond
            out[4] += d.wai_total
            out[5] += d.symptom_score
            if d.rupture == WITHDRAWAL:
                out[6] += 1.0
            elif d.rupture == CONFRONTATION:
                out[7] += 1.0
            out[8] += d.rupture_detected
            out[9] += d.rupture_repaired
    for j in range(len(SUMMARY_MEANS)):
        out[j] = out[j] / attended if attended > 0 else math.nan
    return out
