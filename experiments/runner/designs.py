"""Designs: the points of a sweep, each with a stable ``point_id``.

``list`` and ``grid`` designs enumerate their points in a fixed order; ``lhs`` uses SciPy's
Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`), ``sobol`` SALib's Saltelli scheme
(:func:`SALib.sample.sobol.sample`, first- and total-order indices) and ``morris`` SALib's
trajectories of elementary effects (:func:`SALib.sample.morris.sample`, Morris 1991 with the
spread of starting points of Campolongo et al. 2007, :data:`MORRIS_LEVELS` levels), all seeded
by the spec's design seed. ``point_id`` is the row number of this order, so the same spec
always gives the same ids, and the seeds of a point's clinics follow from its id.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from SALib.sample import morris
from SALib.sample import sobol as saltelli
from scipy.stats import qmc

from experiments.runner.spec import SweepSpec
from sim.core.params import PARAMS

MORRIS_LEVELS = 4
"""Levels of a morris design's grid (SALib's default); a step is 2/3 of a parameter's range."""


def build_design(spec: SweepSpec) -> pd.DataFrame:
    """Return the design: one row per point, ``point_id`` then the varied parameters.

    Parameters
    ----------
    spec : SweepSpec
        A validated spec.

    Returns
    -------
    pandas.DataFrame
        Columns ``point_id`` and one per varied parameter (float).
    """
    names = spec.varied
    if spec.kind == "list":
        rows = [[point.get(n, np.nan) for n in names] for point in spec.points]
        values = np.array(rows, dtype=float).reshape(len(rows), len(names))
    elif spec.kind == "grid":
        values = np.array(list(itertools.product(*spec.parameters.values())), dtype=float)
    elif spec.kind == "lhs":
        unit = qmc.LatinHypercube(d=len(names), rng=spec.design_seed).random(spec.samples)
        values = _scale(unit, spec)
    elif spec.kind == "morris":
        # Trajectory t is rows t (D + 1) to t (D + 1) + D; each step moves one parameter.
        values = morris.sample(
            sobol_problem(spec), spec.samples, num_levels=MORRIS_LEVELS, seed=spec.design_seed
        )
    else:
        values = saltelli.sample(
            sobol_problem(spec), spec.samples, calc_second_order=False, seed=spec.design_seed
        )
        values = _round_integers(values, names)
    design = pd.DataFrame(values, columns=names)
    design.insert(0, "point_id", np.arange(len(design), dtype=np.int64))
    return design


def sobol_problem(spec: SweepSpec) -> dict:
    """Return the SALib problem definition of a ``sobol``, ``morris`` (or ``lhs``) spec."""
    return {
        "num_vars": len(spec.parameters),
        "names": list(spec.parameters),
        "bounds": [list(b) for b in spec.parameters.values()],
    }


def _scale(unit: np.ndarray, spec: SweepSpec) -> np.ndarray:
    bounds = np.array(list(spec.parameters.values()), dtype=float)
    values = qmc.scale(unit, bounds[:, 0], bounds[:, 1])
    return _round_integers(values, list(spec.parameters))


def _round_integers(values: np.ndarray, names: list[str]) -> np.ndarray:
    for j, name in enumerate(names):
        if PARAMS[name].integer:
            values[:, j] = np.round(values[:, j])
    return values
