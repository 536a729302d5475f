"""Validation: whether the default model reproduces the published patterns P1–P14.

:func:`validate` simulates the scenarios the targets name (``experiments/science/targets.toml``:
psychotherapy for P1–P7 and P10–P14, hypertension for P8 and P9) at a size large enough for tight
intervals, computes every statistic with the analysis function the target names, exactly as the
analyses compute it, and judges it by the rule of experiments/science/targets.toml: the model's 95%
interval overlaps the published interval, plus the checks a pattern adds (clearly non-zero, smaller
than another pattern, at least a value, a positive indirect effect, conditions on other fields of
the same analysis). Nothing here changes how a statistic is computed.

One simulation per scenario: the scenario's own clinic is point 0; the arms of a contrast
(P8: autonomy-supportive and controlling clinicians) are further points of the same call, so
they hold different patients drawn from the same population. Every draw follows from the seed.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.runner.spec import SweepSpec, from_dict
from experiments.runner.store import Store
from experiments.runner.sweep import run_sweep
from experiments.science.resampling import Estimate, Resampling
from experiments.science.targets import Target, load_targets
from sim.core.batch import SimulationResult, simulate
from sim.core.params import to_row
from sim.core.scenarios import get as get_scenario

DEFAULT_PATIENTS = 20_000
"""Patients per simulated clinic population (per scenario and per arm of a contrast)."""
DEFAULT_SEED = 2026
"""Root seed of the validation run (the calibration uses another, see calibration.py)."""

Overrides = Mapping[str, float]


@dataclass
class Runs:
    """The simulations a validation needs.

    Attributes
    ----------
    results : dict
        :class:`~sim.core.batch.SimulationResult` of each scenario's own clinic population.
    arms : dict
        Per-dyad summaries of the arms of contrasts, by ``(pattern id, arm)``.
    values : dict
        The complete parameter values of each scenario's population, by scenario.
    """

    results: dict[str, SimulationResult] = field(default_factory=dict)
    arms: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One condition of a pattern's pass rule, with the figures it was judged on."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    """A pattern, the model's estimate of it, and the checks of its pass rule.

    ``shown`` holds the further estimates the pattern's conditions and report name, by name.
    """

    target: Target
    estimate: Estimate
    checks: tuple[Check, ...]
    shown: tuple[tuple[str, Estimate], ...] = ()

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)


@dataclass
class Validation:
    """Everything a validation run produced (``table`` is what :func:`validate` returns)."""

    table: pd.DataFrame
    verdicts: list[Verdict]
    results: dict[str, Any]
    runs: Runs
    n_patients: int
    seed: int
    resampling: Resampling

    @property
    def passed(self) -> bool:
        """Whether every pattern passed."""
        return all(v.passed for v in self.verdicts)


def scenario_values(
    scenario: str,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
) -> dict[str, float]:
    """Return a scenario's complete parameter values under candidate defaults.

    Parameters
    ----------
    scenario : str
        Scenario name.
    overrides : mapping, optional
        Candidate *defaults* of the parameter table (as the calibration tries them). As with
        the table's defaults, a scenario's own values take precedence over them.
    scenario_overrides : mapping, optional
        Candidate values of a scenario's own entries, by scenario name.

    Returns
    -------
    dict
        Every parameter by name, validated.
    """
    base = get_scenario(scenario)
    general = {k: v for k, v in (overrides or {}).items() if k not in base.overrides}
    return base.parameters({**general, **(scenario_overrides or {}).get(scenario, {})})


@dataclass(frozen=True)
class Population:
    """One scenario's simulated population and the arms of its contrasts (points 1, 2, ...)."""

    scenario: str
    values: dict[str, float]
    arms: tuple[tuple[str, str, dict[str, float]], ...]
    panel: bool

    def points(self) -> list[dict[str, float]]:
        """Return the varied values of point 0 (the scenario's own) and of each arm."""
        varied = sorted({k for _, _, settings in self.arms for k in settings})
        own = {k: self.values[k] for k in varied}
        return [own, *({**own, **settings} for _, _, settings in self.arms)]


def populations(
    targets: Mapping[str, Target],
    *,
    n_patients: int,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
) -> list[Population]:
    """Return the populations the targets need, one per scenario (see :func:`simulate_runs`)."""
    found = []
    for scenario in dict.fromkeys(t.scenario for t in targets.values()):
        values = scenario_values(scenario, overrides, scenario_overrides)
        caseload = values["patients_per_clinician"]
        values["n_clinicians"] = float(max(2, round(n_patients / caseload)))
        arms = tuple(
            (t.id, arm, dict(settings))
            for t in targets.values()
            if t.scenario == scenario
            for arm, settings in t.arms.items()
        )
        panel = any(t.data in ("panel", "both") for t in targets.values() if t.scenario == scenario)
        found.append(Population(scenario, values, arms, panel))
    return found


def _add(runs: Runs, population: Population, dyads: pd.DataFrame, sessions: pd.DataFrame | None):
    """Put a population's tables (points 0, 1, ...) into ``runs``."""
    point = dyads["point_id"].to_numpy()
    own = point == 0
    if sessions is not None:
        sessions = sessions[sessions["point_id"].to_numpy() == 0].reset_index(drop=True)
    runs.values[population.scenario] = population.values
    runs.results[population.scenario] = SimulationResult(
        dyads=dyads[own].reset_index(drop=True),
        sessions=sessions,
        dyad_sessions=int(dyads.loc[own, "sessions"].sum()),
    )
    for k, (pid, arm, _) in enumerate(population.arms, start=1):
        runs.arms[pid, arm] = dyads[point == k].reset_index(drop=True)


def simulate_runs(
    targets: Mapping[str, Target],
    *,
    n_patients: int,
    seed: int,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
) -> Runs:
    """Simulate every scenario (and contrast arm) the targets need, in this process.

    What a calibration's worker does for each candidate (the tables stay in memory); the
    validation runs the same populations as sweeps (:func:`sweep_runs`), with the same numbers.

    Parameters
    ----------
    targets : mapping
        Targets by id (:func:`~experiments.science.targets.load_targets`).
    n_patients : int
        Patients of each population: clinicians = n_patients / caseload, rounded, at least 2.
    seed : int
        Root seed.
    overrides, scenario_overrides : mapping, optional
        Candidate defaults and scenario values (see :func:`scenario_values`).

    Returns
    -------
    Runs
    """
    runs = Runs()
    for population in populations(
        targets,
        n_patients=n_patients,
        overrides=overrides,
        scenario_overrides=scenario_overrides,
    ):
        rows = np.concatenate(
            [to_row({**population.values, **point}) for point in population.points()]
        )
        result = simulate(rows, seed=seed, record_sessions=population.panel)
        _add(runs, population, result.dyads, result.sessions)
    return runs


def sweep_spec(population: Population, seed: int) -> SweepSpec:
    """Return the sweep that simulates ``population``: one list point per clinic population."""
    points = population.points()
    varied = set(points[0])
    return from_dict(
        {
            "experiment": {
                "name": f"validation-{population.scenario}",
                "scenario": population.scenario,
                "seed": seed,
                "record": ["dyads", "sessions"] if population.panel else ["dyads"],
            },
            "fixed": {k: v for k, v in population.values.items() if k not in varied},
            "design": {"kind": "list", "points": points},
        }
    )


def sweep_runs(
    targets: Mapping[str, Target],
    out: str | Path,
    *,
    n_patients: int,
    seed: int,
    executor: Executor | None = None,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
    progress: bool = False,
) -> Runs:
    """Run every population the targets need as a sweep into ``out/runs/<scenario>``.

    Each clinic population is a chunk of its own, committed as it finishes: running the same
    validation into the same directory again (after a kill, say) reads what is there and
    simulates only the rest. The tables are those of :func:`simulate_runs`, number for number.

    Raises
    ------
    experiments.runner.sweep.SweepFailed
        If a population's simulation failed.
    """
    runs = Runs()
    for population in populations(
        targets,
        n_patients=n_patients,
        overrides=overrides,
        scenario_overrides=scenario_overrides,
    ):
        spec = sweep_spec(population, seed)
        root = Path(out) / "runs" / population.scenario
        run_sweep(
            spec, root, executor=executor, chunk_size=1, progress=progress, raise_on_failure=True
        )
        dyads = _read(Store(root), "runs", spec.varied)
        sessions = _read(Store(root), "sessions", spec.varied) if population.panel else None
        _add(runs, population, dyads, sessions)
    return runs


def _read(store: Store, table: str, varied: Sequence[str]) -> pd.DataFrame:
    """Read a sweep's table (parts in point order) without the varied parameters' columns."""
    frame = pd.concat(store.committed_parts(table), ignore_index=True)
    return frame.drop(columns=[c for c in varied if c in frame.columns and table == "runs"])


def compute(targets: Mapping[str, Target], runs: Runs, resampling: Resampling) -> dict[str, Any]:
    """Return each pattern's analysis result (an Estimate or the analysis's dataclass), by id.

    An analysis that serves several patterns on the same data (the lagged effects: P5, P6) is
    computed once.
    """
    cache: dict[tuple[str, ...], Any] = {}
    results: dict[str, Any] = {}
    for t in targets.values():
        if t.arms:
            key: tuple[str, ...] = (t.analysis, t.id)
            args = tuple(runs.arms[t.id, arm] for arm in ("supportive", "controlling"))
        else:
            key = (t.analysis, t.scenario, t.data, repr(sorted(t.options.items())))
            run = runs.results[t.scenario]
            args = {
                "dyads": (run.dyads,),
                "panel": (run.sessions,),
                "both": (run.dyads, run.sessions),
            }[t.data]
        if key not in cache:
            cache[key] = t.function()(*args, **t.options, resampling=resampling)
        results[t.id] = cache[key]
    return results


def estimate_of(target: Target, result: Any) -> Estimate:
    """Return the :class:`Estimate` that is the target's statistic in an analysis result."""
    return getattr(result, target.estimate) if target.estimate else result


def judge(targets: Mapping[str, Target], results: Mapping[str, Any]) -> list[Verdict]:
    """Apply each pattern's pass rule to the model's estimates."""
    estimates = {pid: estimate_of(t, results[pid]) for pid, t in targets.items()}
    verdicts = []
    for pid, t in targets.items():
        est = estimates[pid]
        high = estimates[t.high].value if isinstance(t.high, str) else t.high
        span = f"[{t.low:.3f}, {high:g}]" + (
            f" (upper end: model {t.high})" if isinstance(t.high, str) else ""
        )
        checks = _bound_checks(est, t.low, high, span, t.at_least, t.exclude_zero)
        if t.below:
            other = estimates[t.below]
            checks.append(
                Check(
                    f"below {t.below}",
                    bool(est.high < other.low),
                    f"upper bound {est.high:.3f} < {t.below}'s lower bound {other.low:.3f}",
                )
            )
        if t.indirect_positive:
            indirect = results[pid].indirect
            checks.append(
                Check(
                    "indirect > 0",
                    bool(indirect.low > 0),
                    f"indirect effect {indirect.value:.3f} [{indirect.low:.3f}, "
                    f"{indirect.high:.3f}] above 0",
                )
            )
        shown = []
        for condition in t.also:
            other = getattr(results[pid], condition.estimate)
            shown.append((condition.name, other))
            span = None if condition.low is None else f"[{condition.low:g}, {condition.high:g}]"
            checks.extend(
                _bound_checks(
                    other,
                    condition.low,
                    condition.high,
                    span,
                    condition.at_least,
                    condition.exclude_zero,
                    label=condition.name,
                )
            )
        shown.extend((name, getattr(results[pid], name)) for name in t.report)
        verdicts.append(Verdict(t, est, tuple(checks), tuple(shown)))
    return verdicts


def _bound_checks(
    est: Estimate,
    low: float | None,
    high: float | None,
    span: str | None,
    at_least: float | None,
    exclude_zero: bool,
    label: str = "",
) -> list[Check]:
    """Return the overlap, non-zero and at-least checks of a pattern or a further condition.

    ``low``/``high`` None: no overlap check; ``label`` prefixes a condition's check names.
    """
    prefix = f"{label}: " if label else ""
    checks = []
    if low is not None:
        checks.append(
            Check(
                f"{prefix}overlap",
                bool(est.low <= high and est.high >= low),
                f"model 95% interval [{est.low:.3f}, {est.high:.3f}] against published {span}",
            )
        )
    if exclude_zero:
        checks.append(
            Check(
                f"{prefix}non-zero",
                bool(est.low > 0),
                f"interval above 0 (lower bound {est.low:.3f})",
            )
        )
    if at_least is not None:
        checks.append(
            Check(
                f"{prefix}at least", bool(est.value >= at_least), f"{est.value:.3f} >= {at_least:g}"
            )
        )
    return checks


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Return the validation table: one row per pattern."""
    rows = []
    for v in verdicts:
        t, est = v.target, v.estimate
        target = f"{t.target:.3f}" if isinstance(t.target, float) else t.target
        high = f"{t.high:.3f}" if isinstance(t.high, float) else t.high
        shown = "; ".join(
            f"{name} {e.value:.3f} [{e.low:.3f}, {e.high:.3f}]" for name, e in v.shown
        )
        rows.append(
            {
                "pattern": t.id,
                "name": t.name,
                "target": target,
                "interval": f"[{t.low:.3f}, {high}]" + (" (range)" if t.kind == "range" else ""),
                "model": est.value,
                "model_low": est.low,
                "model_high": est.high,
                "n": est.n,
                "passed": v.passed,
                "checks": "; ".join(
                    f"{c.name} {'ok' if c.passed else 'FAILED'}: {c.detail}" for c in v.checks
                ),
                "also": shown,
                "scenario": t.scenario,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


def run_validation(
    n_patients: int = DEFAULT_PATIENTS,
    seed: int = DEFAULT_SEED,
    *,
    targets: Mapping[str, Target] | None = None,
    resampling: Resampling | None = None,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
    out: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = False,
) -> Validation:
    """Simulate, compute and judge every pattern; return everything (see :func:`validate`).

    The populations run as sweeps (:func:`sweep_runs`) into ``out/runs`` (a temporary directory
    when ``out`` is None), through ``executor`` (this process by default); a validation run
    again into the same ``out`` resumes.
    """
    if n_patients < 40:
        raise ValueError(f"n_patients must be at least 40 (two clinicians), got {n_patients}")
    targets = load_targets() if targets is None else targets
    resampling = resampling or Resampling()
    with contextlib.ExitStack() as stack:
        root = out if out is not None else stack.enter_context(tempfile.TemporaryDirectory())
        runs = sweep_runs(
            targets,
            root,
            n_patients=n_patients,
            seed=seed,
            executor=executor,
            overrides=overrides,
            scenario_overrides=scenario_overrides,
            progress=progress,
        )
    results = compute(targets, runs, resampling)
    verdicts = judge(targets, results)
    return Validation(table(verdicts), verdicts, results, runs, n_patients, seed, resampling)


def validate(
    n_patients: int = DEFAULT_PATIENTS,
    seed: int = DEFAULT_SEED,
    *,
    targets: Mapping[str, Target] | None = None,
    resampling: Resampling | None = None,
) -> pd.DataFrame:
    """Validate the default model against the published patterns P1–P14.

    Parameters
    ----------
    n_patients : int
        Patients per simulated population (each scenario, each arm of a contrast).
    seed : int
        Root seed.
    targets : mapping, optional
        Targets by id; the shipped ``experiments/science/targets.toml`` by default.
    resampling : Resampling, optional
        Bootstrap settings (default: 1000 cluster-bootstrap resamples, seed 0).

    Returns
    -------
    pandas.DataFrame
        One row per pattern: target and interval, the model's value and 95% interval,
        ``passed`` and the ``checks`` it was judged by, scenario and source.
    """
    return run_validation(n_patients, seed, targets=targets, resampling=resampling).table
