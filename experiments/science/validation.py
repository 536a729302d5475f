"""Validation: whether the default model reproduces the published patterns P1–P14.

:func:`validate` simulates the scenarios the targets name (``experiments/science/targets.toml``:
psychotherapy for P1–P7 and P10–P14, hypertension for P8 and P9) at a size large enough for tight
intervals, computes every statistic with the analysis function the target names, exactly as
the analyses compute it, and judges it by the rule of experiments/science/targets.toml: the model's
95%
interval overlaps the published interval, plus the checks a pattern adds (clearly non-zero,
smaller than another pattern, at least a value, a positive indirect effect, conditions on
other fields of the same analysis). Nothing here changes how a statistic is computed.

One simulation per scenario: the scenario's own clinic is point 0; the arms of a contrast
(P8: autonomy-supportive and controlling clinicians) are further points of the same call, so
they hold different patients drawn from the same population. Every draw follows from the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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


def simulate_runs(
    targets: Mapping[str, Target],
    *,
    n_patients: int,
    seed: int,
    overrides: Overrides | None = None,
    scenario_overrides: Mapping[str, Overrides] | None = None,
) -> Runs:
    """Simulate every scenario (and contrast arm) the targets need.

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
    for scenario in dict.fromkeys(t.scenario for t in targets.values()):
        values = scenario_values(scenario, overrides, scenario_overrides)
        caseload = values["patients_per_clinician"]
        values["n_clinicians"] = float(max(2, round(n_patients / caseload)))
        runs.values[scenario] = values
        arms = [
            (t.id, arm, settings)
            for t in targets.values()
            if t.scenario == scenario
            for arm, settings in t.arms.items()
        ]
        rows = np.concatenate(
            [to_row(values)] + [to_row({**values, **settings}) for _, _, settings in arms]
        )
        panel = any(t.data == "panel" for t in targets.values() if t.scenario == scenario)
        result = simulate(rows, seed=seed, record_sessions=panel)
        dyads = result.dyads
        own = dyads["point_id"].to_numpy() == 0
        sessions = None
        if result.sessions is not None:
            sessions = result.sessions[result.sessions["point_id"].to_numpy() == 0]
            sessions = sessions.reset_index(drop=True)
        runs.results[scenario] = SimulationResult(
            dyads=dyads[own].reset_index(drop=True),
            sessions=sessions,
            dyad_sessions=int(dyads.loc[own, "sessions"].sum()),
        )
        for point, (pid, arm, _) in enumerate(arms, start=1):
            chosen = dyads["point_id"].to_numpy() == point
            runs.arms[pid, arm] = dyads[chosen].reset_index(drop=True)
    return runs


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
) -> Validation:
    """Simulate, compute and judge every pattern; return everything (see :func:`validate`)."""
    if n_patients < 40:
        raise ValueError(f"n_patients must be at least 40 (two clinicians), got {n_patients}")
    targets = load_targets() if targets is None else targets
    resampling = resampling or Resampling()
    runs = simulate_runs(
        targets,
        n_patients=n_patients,
        seed=seed,
        overrides=overrides,
        scenario_overrides=scenario_overrides,
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
