"""Calibration: choose the mechanism coefficients so that the default model meets P1–P14.

The procedure (``alliance calibrate`` reruns it; docs/MODEL.md, "Calibration", reports it):

1. **Loss.** For a candidate, simulate the validation's populations
   (:mod:`experiments.science.validation`, the batch path) with ``CALIBRATION_PATIENTS``
   patients each and a fixed seed, compute every pattern's statistic with the same analysis
   functions, and sum the squared standardised
   distances ``(value - target) / half-width of the published interval``. A range counts from
   its midpoint; P6, bounded by the model's own P5, counts from P5 / 2 with half-width P5 / 2.
   A pattern's further conditions count the same way; a one-sided pattern or condition counts
   its shortfall in ``scale`` units from one scale inside its bound (0 beyond).
   Only point estimates enter (one bootstrap resample, whose interval is ignored).
2. **Common random numbers.** Every candidate is simulated with the same seed, so candidates
   differ by their parameters only and the loss changes smoothly enough for a local search.
   The seed differs from the validation's; the validation still judges the same patterns the
   calibration fitted, so it checks the fit on new draws, not a prediction. The held-out check
   (:func:`holdout`, ``alliance calibrate --holdout``) is one: calibrate on two folds of the
   patterns, judge the third.
3. **Screen.** A Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`, seeded) over the
   box of :data:`DIMENSIONS`, plus the current defaults, evaluated in parallel through any
   :class:`concurrent.futures.Executor`.
4. **Refine.** From each of the few best screened points (multi-start), a bounded nonlinear
   least-squares search on the vector of standardised distances (the loss is their sum of
   squares): :func:`scipy.optimize.least_squares`, trust-region reflective, in the unit cube of
   the box, with a forward-difference Jacobian (step 2% of each range, above the granularity of
   the common-random-number loss) whose columns are evaluated in parallel. A first version used
   Nelder–Mead; in 20-odd dimensions it stalled in narrow valleys where two coefficients must
   move together (e.g. more ruptures with a lower dropout baseline), which the Jacobian sees.
5. **Choose** the evaluated point with the least loss (never worse than the start). Every
   evaluated point and its loss is written to ``trace.csv``; the choice to ``chosen.toml``.

Parameters outside :data:`DIMENSIONS` keep their assumed or literature-based values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.stats import qmc

from experiments.runner.evaluations import Evaluations
from experiments.runner.io import write_text
from experiments.runner.sweep import SerialExecutor
from experiments.science.resampling import Resampling
from experiments.science.targets import Target, load_targets
from experiments.science.validation import compute, estimate_of, simulate_runs
from sim.core.params import defaults
from sim.core.scenarios import get as get_scenario

CALIBRATION_PATIENTS = 12_000
"""Patients per population in each evaluation of the loss."""
CALIBRATION_SEED = 1
"""Seed of every evaluation (common random numbers); validation uses another."""
POINT_ONLY = Resampling(n_resamples=1)
"""Point estimates are all the loss needs; one resample keeps the analyses' code path."""


@dataclass(frozen=True)
class Dimension:
    """A coefficient the calibration chooses, and the box it searches.

    Attributes
    ----------
    name : str
        Parameter name.
    low, high : float
        Search bounds (inside the parameter's admissible bounds).
    scenario : str or None
        None for a default of the parameter table (``sim/core/params.py``); a scenario's name for
        that scenario's own value (``sim/core/scenarios.py``).
    """

    name: str
    low: float
    high: float
    scenario: str | None = None

    @property
    def key(self) -> str:
        """Column name in traces: ``name`` or ``scenario:name``."""
        return f"{self.scenario}:{self.name}" if self.scenario else self.name


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("dropout_base", -11.0, -5.0),  # P2
    Dimension("alliance_initial", 0.2, 0.85),  # P5, P6: how far the alliance still grows
    Dimension("task_rate", 0.02, 0.6),  # P5, P6 (growth of the alliance)
    Dimension("bond_rate", 0.05, 0.9),
    Dimension("expectancy_spread", 0.2, 2.0),  # P1: between-patient differences in alliance
    Dimension("autonomy_spread", 0.3, 3.0),  # P8, P9: how much patients differ in it
    Dimension("alliance_effect", 0.0, 0.08),  # P1, P7
    Dimension("alliance_state_sd", 0.0, 0.3),  # P5: how much sessions differ
    Dimension("alliance_state_effect", 0.0, 1.5),  # P5: a good session helps the next week
    Dimension("felt_improvement_state", 0.0, 1.5),  # P6: feeling better lifts the alliance
    # P7. Specific techniques must matter (at least 0.02: a third of the weekly relief at
    # typical engagement), or technique efficacy and the technique-trial scenario lose meaning.
    Dimension("technique_gain", 0.02, 0.15),
    Dimension("symptom_noise", 0.005, 0.08),  # P5, P6, P1
    # P3. At most sigma(-1) = 27% of sessions rupture with a full bond, no strain and no
    # sensitivity: ruptures follow strain and weak bonds, they are not the default state.
    Dimension("rupture_base", -4.0, -1.0),
    Dimension("repair_base", -4.0, 0.0),  # P4
    Dimension("strain_wear", 0.05, 0.9),  # P1, P8
    # P8, P9. At most 40% of a week's tasks or doses lost to an unrepaired withdrawal.
    Dimension("withdrawal_engagement_loss", 0.0, 0.4),
    Dimension("engagement_internalisation", 0.5, 8.0),  # P8
    Dimension("engagement_task", 0.0, 4.0),  # P8
    Dimension("engagement_bond", 0.0, 4.0),  # P8
    Dimension("engagement_noise", 0.2, 2.0),  # P8, P9
    Dimension("internalisation_rate", 0.02, 0.4),  # P8
    Dimension("internalisation_pressure", 0.0, 0.3),  # P8
    # P9. Taking a pill is easier than between-session homework; the upper bound keeps
    # adherence responsive to motivation rather than near 1 for everyone.
    Dimension("engagement_base", -3.0, 2.0, scenario="hypertension"),
    # The shape of change (P10-P14, docs/MODEL.md section 10).
    Dimension("remoralisation", 0.0, 1.0),  # P10: early change (times warmth)
    Dimension("remoralisation_fade", 0.3, 0.95),  # P10: how fast it slows
    Dimension("responsiveness", 0.1, 0.9),  # P7, P10, P14
    Dimension("responsiveness_spread", 0.2, 5.0),  # P10, P14: responders and non-responders
    Dimension("recovery_threshold", 0.15, 0.3),  # P14: where good-enough endings fall
    Dimension("severity_spread", 0.3, 1.2),  # P14: intake SD; P7, P10 (room to improve)
    Dimension("technique_efficacy_spread", 0.2, 3.0),  # P11: therapist effects
    Dimension("clinician_common_skill", 0.0, 0.9),  # P11, P12
    Dimension("wai_rating_style", 0.0, 1.0),  # P12, P1
    Dimension("attunement", 0.3, 0.95),  # P13, P4
    Dimension("withdrawal_visibility", 0.3, 1.0),  # P13
    Dimension("report_withdrawal", 0.05, 0.9),  # P3, P13
)
"""What is calibrated, to which patterns it matters most, and the box searched."""


@dataclass
class Calibration:
    """What :func:`calibrate` did.

    Attributes
    ----------
    trace : pandas.DataFrame
        Every evaluated point: stage, values of the dimensions, pattern values, loss.
    chosen : dict
        Values of the dimensions at the least loss, by key.
    start_loss, loss : float
        Loss at the current defaults and at the chosen point.
    seconds : float
        Wall time.
    """

    trace: pd.DataFrame
    chosen: dict[str, float]
    start_loss: float
    loss: float
    seconds: float
    files: list[Path] = field(default_factory=list)


def standardised_distances(
    values: Mapping[str, float], targets: Mapping[str, Target]
) -> dict[str, float]:
    """Return ``(value - target) / half-width`` of each pattern and each further condition.

    Parameters
    ----------
    values : mapping
        The model's point value of each pattern by id, and of each condition by
        ``id.estimate`` (:func:`pattern_values`).
    targets : mapping
        Targets by id.

    Returns
    -------
    dict
        Signed standardised distance by pattern id (and ``id.estimate`` for conditions). A
        pattern whose interval ends at another pattern's value (P6: from 0 to P5) is measured
        from the middle of that span; if the span is empty or negative its half-width is taken
        as 0.01. A one-sided pattern or condition (above a bound, at least a value) counts 0
        from one ``scale`` inside its bound on, and its shortfall in scales short of that.
    """
    distances = {}
    for pid, t in targets.items():
        value = values[pid]
        if isinstance(t.high, str):
            high = values[t.high]
            centre, half = (t.low + high) / 2.0, max((high - t.low) / 2.0, 0.01)
            distances[pid] = _distance(value, centre, half)
        elif math.isinf(t.high):
            distances[pid] = _shortfall(value, t.low, t.scale or 1.0)
        else:
            distances[pid] = _distance(value, float(t.target), (t.high - t.low) / 2.0)
        for c in t.also:
            key = f"{pid}.{c.estimate}"
            other = values[key]
            if c.low is not None:
                distances[key] = _distance(other, (c.low + c.high) / 2.0, (c.high - c.low) / 2.0)
            elif c.at_least is not None or c.exclude_zero:
                bound = c.at_least if c.at_least is not None else 0.0
                distances[key] = _shortfall(other, bound, c.scale or 1.0)
    return distances


def pattern_values(targets: Mapping[str, Target], results: Mapping[str, Any]) -> dict[str, float]:
    """Return what :func:`standardised_distances` measures, read off the analysis results.

    Each pattern's point value by id, and each further condition's by ``id.estimate``.
    """
    values = {pid: estimate_of(t, results[pid]).value for pid, t in targets.items()}
    values |= {
        f"{pid}.{c.estimate}": getattr(results[pid], c.estimate).value
        for pid, t in targets.items()
        for c in t.also
    }
    return values


def _distance(value: float, centre: float, half: float) -> float:
    return (value - centre) / half if math.isfinite(value) else math.inf


def _shortfall(value: float, bound: float, scale: float) -> float:
    if not math.isfinite(value):
        return math.inf
    return max(0.0, (bound + scale - value) / scale)


def loss(values: Mapping[str, float], targets: Mapping[str, Target]) -> float:
    """Return the sum of squared standardised distances (:func:`standardised_distances`)."""
    return float(sum(d * d for d in standardised_distances(values, targets).values()))


def split(
    x: Mapping[str, float], dimensions: Sequence[Dimension] = DIMENSIONS
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return (candidate defaults, candidate scenario values) of a point keyed by dimension."""
    overrides: dict[str, float] = {}
    scenarios: dict[str, dict[str, float]] = {}
    for dim in dimensions:
        if dim.scenario is None:
            overrides[dim.name] = float(x[dim.key])
        else:
            scenarios.setdefault(dim.scenario, {})[dim.name] = float(x[dim.key])
    return overrides, scenarios


def current(dimensions: Sequence[Dimension] = DIMENSIONS) -> dict[str, float]:
    """Return the shipped values of the dimensions (the defaults and scenario entries)."""
    table = defaults()
    return {
        d.key: float(
            get_scenario(d.scenario).overrides.get(d.name, table[d.name])
            if d.scenario
            else table[d.name]
        )
        for d in dimensions
    }


def evaluate(
    x: Mapping[str, float],
    targets: Mapping[str, Target],
    *,
    n_patients: int = CALIBRATION_PATIENTS,
    seed: int = CALIBRATION_SEED,
    dimensions: Sequence[Dimension] = DIMENSIONS,
) -> dict[str, float]:
    """Simulate one candidate and return its pattern values, distances and loss.

    Returns
    -------
    dict
        The candidate's values, ``value:Pn`` and ``distance:Pn`` of each pattern,
        ``value:P8.indirect`` and ``loss``.
    """
    overrides, scenarios = split(x, dimensions)
    runs = simulate_runs(
        targets, n_patients=n_patients, seed=seed, overrides=overrides, scenario_overrides=scenarios
    )
    results = compute(targets, runs, POINT_ONLY)
    values = pattern_values(targets, results)
    row = {key: float(x[key]) for key in (d.key for d in dimensions)}
    row |= {f"value:{pid}": v for pid, v in values.items()}
    for pid, t in targets.items():
        if t.indirect_positive:
            row[f"value:{pid}.indirect"] = results[pid].indirect.value
    row |= {f"distance:{pid}": d for pid, d in standardised_distances(values, targets).items()}
    row["loss"] = loss(values, targets)
    return row


def _calls(
    points: Sequence[Mapping[str, float]],
    targets: Mapping[str, Target],
    n_patients: int,
    seed: int,
    dimensions: Sequence[Dimension],
) -> list[dict[str, Any]]:
    """Return the keyword arguments of :func:`evaluate` for each candidate."""
    return [
        {
            "x": dict(x),
            "targets": dict(targets),
            "n_patients": n_patients,
            "seed": seed,
            "dimensions": tuple(dimensions),
        }
        for x in points
    ]


def _to_unit(x: Mapping[str, float], dimensions: Sequence[Dimension]) -> np.ndarray:
    return np.array([(x[d.key] - d.low) / (d.high - d.low) for d in dimensions]).clip(0, 1)


def _from_unit(u: np.ndarray, dimensions: Sequence[Dimension]) -> dict[str, float]:
    u = np.clip(u, 0.0, 1.0)
    return {
        d.key: float(d.low + ui * (d.high - d.low)) for d, ui in zip(dimensions, u, strict=True)
    }


def screen(
    n_points: int,
    targets: Mapping[str, Target],
    *,
    evaluations: Evaluations,
    executor: Executor,
    n_patients: int,
    seed: int,
    design_seed: int = 0,
    dimensions: Sequence[Dimension] = DIMENSIONS,
) -> list[dict[str, float]]:
    """Evaluate a Latin hypercube of ``n_points`` candidates through ``executor``."""
    if n_points < 1:
        return []
    unit = qmc.LatinHypercube(d=len(dimensions), rng=design_seed).random(n_points)
    points = [_from_unit(u, dimensions) for u in unit]
    return evaluations.run(
        evaluate, _calls(points, targets, n_patients, seed, dimensions), executor
    )


def refine(
    start: Mapping[str, float],
    targets: Mapping[str, Target],
    *,
    max_evaluations: int,
    n_patients: int,
    seed: int,
    evaluations: Evaluations,
    executor: Executor | None = None,
    dimensions: Sequence[Dimension] = DIMENSIONS,
    step: float = 0.02,
    record: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Minimise the loss from ``start`` by bounded nonlinear least squares; return every evaluation.

    The loss is a sum of squared standardised distances, so the search works on the vector of
    distances (:func:`scipy.optimize.least_squares`, trust-region reflective, in the unit cube
    of the box). Its Jacobian is a forward difference with a step of ``step`` of each range,
    well above the granularity of the common-random-number loss, and its columns are evaluated
    in parallel through ``executor``.
    """
    executor = executor or SerialExecutor()
    rows: list[dict[str, float]] = []
    seen: dict[bytes, np.ndarray] = {}

    def run(units: list[np.ndarray]) -> list[np.ndarray]:
        points = [_from_unit(u, dimensions) for u in units]
        found = evaluations.run(
            evaluate, _calls(points, targets, n_patients, seed, dimensions), executor
        )
        for u, row in zip(units, found, strict=True):
            rows.append(row)
            if record is not None:
                record(row)
            d = np.array([v for k, v in row.items() if k.startswith("distance:")], dtype=float)
            seen[u.tobytes()] = np.nan_to_num(d, nan=1e3, posinf=1e3, neginf=-1e3)
        return [seen[u.tobytes()] for u in units]

    def residuals(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        return seen[u.tobytes()] if u.tobytes() in seen else run([u])[0]

    def jacobian(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        base = residuals(u)
        steps = np.where(u + step <= 1.0, step, -step)
        shifted = [u + steps[i] * np.eye(len(u))[i] for i in range(len(u))]
        return np.column_stack([(r - base) / h for r, h in zip(run(shifted), steps, strict=True)])

    iterations = max(1, max_evaluations // (len(dimensions) + 2))
    optimize.least_squares(
        residuals,
        _to_unit(start, dimensions),
        jac=jacobian,
        bounds=(0.0, 1.0),
        method="trf",
        max_nfev=iterations,
        x_scale=1.0,
        ftol=1e-3,
        xtol=1e-4,
        gtol=1e-6,
    )
    return rows


def calibrate(
    out: str | Path,
    *,
    screen_points: int = 768,
    max_evaluations: int = 2400,
    starts: int = 4,
    n_patients: int = CALIBRATION_PATIENTS,
    seed: int = CALIBRATION_SEED,
    executor: Executor | None = None,
    targets: Mapping[str, Target] | None = None,
    dimensions: Sequence[Dimension] = DIMENSIONS,
    start: Mapping[str, float] | None = None,
    log: Callable[[str], None] | None = None,
) -> Calibration:
    """Run the calibration procedure (module docstring) and write its trace and choice.

    Parameters
    ----------
    out : str or Path
        Directory for ``trace.csv``, ``chosen.toml`` and ``evaluations/`` (every evaluation,
        committed as it finishes: running the same calibration again into the same directory,
        after a kill for instance, reads them and computes only the rest).
    screen_points : int
        Latin-hypercube points of the screen (0 skips it).
    max_evaluations : int
        Evaluations of the local searches together (0 skips them), spent in whole steps of a
        search: a step costs about one evaluation per dimension (see :func:`refine`),
        and every search takes at least one, so a small budget is exceeded.
    starts : int
        Local searches, one from each of the best screened points, run in parallel.
    n_patients, seed : int
        Size and seed of every evaluation.
    executor : concurrent.futures.Executor, optional
        Where the screen and the local searches run (serially in this process if omitted).
    targets : mapping, optional
        Targets by id; the shipped file by default.
    dimensions : sequence of Dimension
        What is calibrated and the box searched.
    start : mapping, optional
        The first point, by dimension key (default: the shipped values, :func:`current`).
    log : callable, optional
        Receives a line of progress now and then.

    Returns
    -------
    Calibration
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = load_targets() if targets is None else targets
    executor = executor or SerialExecutor()
    say = log or (lambda line: None)
    rows: list[dict[str, Any]] = []
    evaluations = Evaluations(
        out / "evaluations",
        {
            "name": "calibration",
            "patterns": list(targets),
            "dimensions": [d.key for d in dimensions],
            "n_patients": n_patients,
            "seed": seed,
        },
    )

    def add(stage: str, new: list[dict[str, float]]) -> None:
        rows.extend({"stage": stage, "evaluation": len(rows) + i, **r} for i, r in enumerate(new))
        _write_trace(rows, out)

    first = (
        current(dimensions) if start is None else {d.key: float(start[d.key]) for d in dimensions}
    )
    with evaluations.open():
        add(
            "start",
            evaluations.run(
                evaluate, _calls([first], targets, n_patients, seed, dimensions), executor
            ),
        )
        say(f"{'current defaults' if start is None else 'start'}: loss {rows[0]['loss']:.2f}")
        add(
            "screen",
            screen(
                screen_points,
                targets,
                evaluations=evaluations,
                executor=executor,
                n_patients=n_patients,
                seed=seed,
                dimensions=dimensions,
            ),
        )
        say(f"screen of {screen_points} points: best loss {min(r['loss'] for r in rows):.2f}")
        if max_evaluations > 0 and starts > 0:
            best = sorted(rows, key=lambda r: r["loss"])[:starts]
            for i, r in enumerate(best):
                found = refine(
                    {d.key: r[d.key] for d in dimensions},
                    targets,
                    max_evaluations=max_evaluations // len(best),
                    n_patients=n_patients,
                    seed=seed,
                    evaluations=evaluations,
                    executor=executor,
                    dimensions=dimensions,
                )
                add(f"refine {i}", found)
                say(
                    f"local search {i} from loss {r['loss']:.2f}: {len(found)} evaluations, "
                    f"best {min(f['loss'] for f in found):.2f}"
                )
    if evaluations.reused:
        say(
            f"{evaluations.reused} evaluations read from {evaluations.store.root} (an earlier "
            f"run), {evaluations.computed} computed"
        )
    trace = pd.DataFrame(rows)
    chosen_row = trace.loc[trace["loss"].idxmin()]
    chosen = {d.key: float(chosen_row[d.key]) for d in dimensions}
    result = Calibration(
        trace,
        chosen,
        float(rows[0]["loss"]),
        float(chosen_row["loss"]),
        time.perf_counter() - started,
    )
    result.files = [out / "trace.csv", _write_chosen(result, dimensions, out, n_patients, seed)]
    say(
        f"chosen: loss {result.loss:.2f} (start {result.start_loss:.2f}), "
        f"{len(trace)} evaluations in {result.seconds:.0f} s"
    )
    return result


def _write_trace(rows: list[dict[str, Any]], out: Path) -> Path:
    return write_text(pd.DataFrame(rows).to_csv(index=False), out / "trace.csv")


def _write_chosen(
    result: Calibration, dimensions: Sequence[Dimension], out: Path, n_patients: int, seed: int
) -> Path:
    best = result.trace.loc[result.trace["loss"].idxmin()]
    lines = [
        "# Chosen by `alliance calibrate`: the evaluated point with the least loss.",
        f"# loss {result.loss:.3f} (current defaults: {result.start_loss:.3f}); "
        f"{len(result.trace)} evaluations of {n_patients} patients per population, "
        f"seed {seed}, {result.seconds:.0f} s.",
        "",
        "[defaults]  # sim/core/params.py",
    ]
    lines += [f"{d.name} = {result.chosen[d.key]:.4g}" for d in dimensions if not d.scenario]
    for scenario in dict.fromkeys(d.scenario for d in dimensions if d.scenario):
        lines += ["", f"[scenarios.{scenario}]  # sim/core/scenarios.py"]
        lines += [
            f"{d.name} = {result.chosen[d.key]:.4g}" for d in dimensions if d.scenario == scenario
        ]
    lines += ["", "[values]  # the patterns at the chosen point (point estimates)"]
    lines += [
        f'"{c.removeprefix("value:")}" = {best[c]:.4f}'
        for c in result.trace.columns
        if c.startswith("value:")
    ]
    return write_text("\n".join(lines) + "\n", out / "chosen.toml")


FOLDS: tuple[tuple[str, ...], ...] = (
    ("P1", "P4", "P7", "P11", "P14"),
    ("P2", "P5", "P6", "P10"),
    ("P3", "P8", "P9", "P12", "P13"),
)
"""The held-out check's three folds of the targets (P6 is bounded by P5: one fold holds both)."""


def box_centre(dimensions: Sequence[Dimension] = DIMENSIONS) -> dict[str, float]:
    """Return the middle of the calibration box: a start that knows none of the targets."""
    return {d.key: (d.low + d.high) / 2.0 for d in dimensions}


def holdout(
    out: str | Path,
    *,
    folds: Sequence[Sequence[str]] = FOLDS,
    max_evaluations: int = 720,
    n_patients: int = CALIBRATION_PATIENTS,
    seed: int = CALIBRATION_SEED,
    validation_patients: int | None = None,
    validation_seed: int | None = None,
    executor: Executor | None = None,
    dimensions: Sequence[Dimension] = DIMENSIONS,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Calibrate on two folds of the targets and judge the third, for each fold in turn.

    Each fold's calibration starts from the middle of the box (:func:`box_centre`), not from
    the shipped defaults (which were fitted to every target), and runs the local search of
    :func:`calibrate` on the other folds' patterns only. The chosen point is then validated
    at full size (:func:`experiments.science.validation.run_validation`) and the held-out patterns
    are judged by their usual pass rule.

    Parameters
    ----------
    out : str or Path
        Directory: one calibration folder per fold and ``holdout.csv``.
    folds : sequence of sequences of str
        Pattern ids held out together.
    max_evaluations : int
        Evaluations of each fold's local search.
    n_patients, seed : int
        Size and seed of the calibration's evaluations.
    validation_patients, validation_seed : int, optional
        Size and seed of the held-out judgement (the validation's by default).
    executor : concurrent.futures.Executor, optional
        Where the evaluations run.
    dimensions : sequence of Dimension
        What is calibrated.
    log : callable, optional
        Receives a line of progress now and then.

    Returns
    -------
    pandas.DataFrame
        One row per held-out pattern: the fold, the pattern's row of the validation table
        (:func:`experiments.science.validation.table`: value, 95% interval, pass, checks, ...),
        and the calibration loss on the training folds.
    """
    from experiments.science.validation import DEFAULT_PATIENTS, DEFAULT_SEED, run_validation

    out = Path(out)
    targets = load_targets()
    rows = []
    for k, fold in enumerate(folds):
        training = {pid: t for pid, t in targets.items() if pid not in fold}
        result = calibrate(
            out / f"fold_{k + 1}",
            screen_points=0,
            max_evaluations=max_evaluations,
            starts=1,
            n_patients=n_patients,
            seed=seed,
            executor=executor,
            targets=training,
            dimensions=dimensions,
            start=box_centre(dimensions),
            log=log,
        )
        overrides, scenarios = split(result.chosen, dimensions)
        validation = run_validation(
            validation_patients or DEFAULT_PATIENTS,
            DEFAULT_SEED if validation_seed is None else validation_seed,
            targets=targets,
            overrides=overrides,
            scenario_overrides=scenarios,
            out=out / f"fold_{k + 1}" / "validation",
            executor=executor,
        )
        held = validation.table[validation.table["pattern"].isin(fold)]
        rows.append(
            held.assign(
                fold=k + 1, training_loss=result.loss, training_start_loss=result.start_loss
            )
        )
        if log:
            log(
                f"fold {k + 1} ({', '.join(fold)}): {int(held['passed'].sum())} of "
                f"{len(held)} held-out patterns pass"
            )
    table = pd.concat(rows, ignore_index=True)
    table = table[["fold", *(c for c in table.columns if c != "fold")]]
    write_text(table.to_csv(index=False), out / "holdout.csv")
    return table
