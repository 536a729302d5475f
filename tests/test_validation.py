"""Validation against P1–P9, the targets file, the calibration loss and the calibration procedure.

The headline test runs ``alliance validate`` at a size CI affords with the shipped defaults and
requires every pattern to pass by the same rule as the full-size run (only the intervals are
wider, because fewer patients are simulated).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from experiments.calibration import (
    DIMENSIONS,
    Dimension,
    calibrate,
    current,
    loss,
    split,
    standardised_distances,
)
from experiments.cli import main
from experiments.resampling import Estimate
from experiments.targets import PATTERN_IDS, TARGETS_FILE, TargetsError, load_targets
from experiments.validation import judge
from sim.params import PARAMS
from sim.scenarios import SCENARIOS

CI_PATIENTS = 8_000
"""Patients per population in the CI run: intervals about 1.6 times the full run's."""


# --- the headline: every pattern passes --------------------------------------------------------


@pytest.fixture(scope="module")
def validation(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    status = main(["validate", "--out", str(out), "--patients", str(CI_PATIENTS)])
    return status, out, pd.read_csv(out / "validation.csv").set_index("pattern")


@pytest.mark.slow
def test_alliance_validate_passes_every_pattern_and_writes_its_report(validation):
    status, out, table = validation
    assert list(table.index) == list(PATTERN_IDS)
    failing = table.index[~table["passed"]].tolist()
    assert status == 0, f"patterns not reproduced: {failing}"
    assert (table["model_low"] <= table["model"]).all()
    assert (table["model"] <= table["model_high"]).all()
    for name in ("validation.md", "forest.png", "distances.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("pattern", PATTERN_IDS)
def test_shipped_defaults_reproduce_the_pattern(validation, pattern):
    _, _, table = validation
    row = table.loc[pattern]
    assert row["passed"], f"{pattern}: {row['checks']}"


@pytest.mark.parametrize(("argv", "message"), [
    (["validate", "--patients", "10"], "--patients must be a whole number >= 40"),
    (["validate", "--seed", "-1"], "--seed must be a whole number >= 0"),
    (["calibrate", "--screen", "-2"], "--screen must be a whole number >= 0"),
    (["calibrate", "--workers", "0"], "--workers must be a whole number >= 1"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_validate_refuses_an_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["validate", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


# --- the targets file ---------------------------------------------------------------------------


def test_targets_file_is_complete_and_well_formed():
    targets = load_targets()
    assert tuple(targets) == PATTERN_IDS
    for pid, t in targets.items():
        assert t.id == pid
        assert t.name and t.statistic and t.source
        assert any(str(year) in t.source for year in range(2010, 2025)), f"{pid}: no year"
        assert t.scenario in SCENARIOS
        assert callable(t.function())
        assert t.kind in ("ci", "range")
        if isinstance(t.high, float):
            assert t.low <= t.centre <= t.high
            assert t.half_width > 0
        else:
            assert t.high in targets  # a bound set by another pattern (P6 < P5)
    assert targets["P6"].below == "P5" and targets["P6"].exclude_zero
    assert targets["P5"].exclude_zero
    assert targets["P8"].at_least == 0.15 and targets["P8"].indirect_positive
    assert set(targets["P8"].arms) == {"supportive", "controlling"}
    supportive, controlling = targets["P8"].arms["supportive"], targets["P8"].arms["controlling"]
    assert supportive["collaboration"] > controlling["collaboration"]
    assert supportive["pressure"] < controlling["pressure"]
    assert {t.scenario for t in targets.values()} == {"psychotherapy", "hypertension"}
    assert targets["P9"].scenario == targets["P8"].scenario == "hypertension"


def test_targets_file_matches_the_specification():
    """The published figures of shared/docs/MODEL.md, section 1, as written there."""
    targets = load_targets()
    expected = {"P1": (0.278, 0.256, 0.299), "P2": (0.197, 0.187, 0.207),
                "P4": (0.29, 0.10, 0.47), "P9": (0.485, 0.477, 0.492)}
    for pid, (value, low, high) in expected.items():
        assert (targets[pid].target, targets[pid].low, targets[pid].high) == (value, low, high)
    ranges = {"P3": (0.19, 0.42), "P5": (0.10, 0.21), "P7": (0.87, 0.96)}
    for pid, (low, high) in ranges.items():
        assert (targets[pid].low, targets[pid].high, targets[pid].kind) == (low, high, "range")
    assert targets["P8"].target == 0.23


def _rewrite(tmp_path: Path, edit) -> Path:
    data = TARGETS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "targets.toml"
    path.write_text(edit(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace("[patterns.P9]", "[patterns.P10]"), "lacks pattern"),
    (lambda s: s.replace("interval = [0.256, 0.299]", "interval = [0.299, 0.256]"),
     "low < high"),
    (lambda s: s.replace('kind = "ci"', 'kind = "guess"', 1), "kind must be one of"),
    (lambda s: s.replace('scenario = "psychotherapy"', 'scenario = "nowhere"', 1),
     "scenario 'nowhere' is unknown"),
    (lambda s: s.replace("alliance_outcome_r", "no_such_analysis"), "cannot be imported"),
    (lambda s: s.replace("collaboration = 0.67", "collaboration = 1.67"), "collaboration"),
    (lambda s: s.replace('below = "P5"', 'below = "P99"'), "unknown pattern 'P99'"),
    (lambda s: s.replace("target = 0.278", "target = 0.5"), "within its interval"),
    (lambda s: s.replace("target = 0.278\n", "target = 0.278\ncolour = 1\n"),
     "unknown key 'colour'"),
    (lambda s: s + "\n[broken", "not valid TOML"),
])
def test_malformed_targets_are_named(tmp_path, edit, message):
    with pytest.raises(TargetsError, match=message):
        load_targets(_rewrite(tmp_path, edit))


def test_missing_targets_file_is_named(tmp_path):
    with pytest.raises(TargetsError, match="cannot read targets file"):
        load_targets(tmp_path / "absent.toml")


# --- the pass rule ------------------------------------------------------------------------------


def _estimate(value: float, half: float) -> Estimate:
    return Estimate(value, value - half, value + half, 100, "synthetic")


def _results(**changes: Estimate | SimpleNamespace):
    """Analysis results as the analyses return them, at the targets unless changed."""
    targets = load_targets()
    estimates = {pid: _estimate(t.centre if t.centre is not None else 0.05, 0.01)
                 for pid, t in targets.items()}
    results: dict[str, object] = {}
    for pid, t in targets.items():
        results[pid] = SimpleNamespace(**{t.estimate: estimates[pid]}) if t.estimate \
            else estimates[pid]
    results["P8"] = SimpleNamespace(d=_estimate(0.23, 0.02), indirect=_estimate(0.1, 0.02))
    for pid, change in changes.items():
        t = targets[pid]
        results[pid] = SimpleNamespace(**{t.estimate: change}) \
            if t.estimate and isinstance(change, Estimate) else change
    return targets, results


def test_judge_passes_estimates_at_the_targets():
    targets, results = _results()
    assert all(v.passed for v in judge(targets, results))


@pytest.mark.parametrize(("pattern", "result", "failing"), [
    ("P2", _estimate(0.30, 0.01), "overlap"),
    ("P5", _estimate(0.05, 0.06), "non-zero"),  # overlaps [.10, .21] but includes 0
    ("P6", _estimate(0.14, 0.02), "below P5"),  # overlaps P5's interval [.145, .165]
    ("P6", _estimate(0.01, 0.02), "non-zero"),
    ("P8", SimpleNamespace(d=_estimate(0.14, 0.03), indirect=_estimate(0.1, 0.02)),
     "at least"),
    ("P8", SimpleNamespace(d=_estimate(0.23, 0.03), indirect=_estimate(0.01, 0.02)),
     "indirect > 0"),
])
def test_judge_fails_each_check(pattern, result, failing):
    targets, results = _results(**{pattern: result})
    verdict = {v.target.id: v for v in judge(targets, results)}[pattern]
    assert not verdict.passed
    assert [c.name for c in verdict.checks if not c.passed] == [failing]


# --- the calibration loss -----------------------------------------------------------------------


def _values_at_targets() -> dict[str, float]:
    targets = load_targets()
    values = {pid: t.centre for pid, t in targets.items() if t.centre is not None}
    values["P6"] = values["P5"] / 2
    return values


def test_loss_is_zero_at_the_targets():
    assert loss(_values_at_targets(), load_targets()) == 0.0


def test_loss_counts_half_widths_squared():
    targets = load_targets()
    values = _values_at_targets()
    values["P2"] = 0.197 + 0.010  # one half-width up
    values["P7"] = 0.915 - 2 * 0.045  # two half-widths down
    distances = standardised_distances(values, targets)
    assert distances["P2"] == pytest.approx(1.0)
    assert distances["P7"] == pytest.approx(-2.0)
    assert loss(values, targets) == pytest.approx(1.0 + 4.0)


def test_loss_measures_p6_within_the_span_below_p5():
    targets = load_targets()
    values = _values_at_targets() | {"P5": 0.2, "P6": 0.2}
    distances = standardised_distances(values, targets)
    assert distances["P6"] == pytest.approx(1.0)  # at P5: one half-width of [0, P5] above .1
    assert distances["P5"] == pytest.approx((0.2 - 0.155) / 0.055)
    values["P6"] = 0.0
    assert standardised_distances(values, targets)["P6"] == pytest.approx(-1.0)
    values["P5"] = -0.1  # an empty span still gives a finite, large distance
    assert math.isfinite(standardised_distances(values, targets)["P6"])


def test_loss_of_a_failed_statistic_is_infinite():
    values = _values_at_targets() | {"P1": math.nan}
    assert loss(values, load_targets()) == math.inf


# --- the calibration procedure ------------------------------------------------------------------


def test_dimensions_are_parameters_within_their_bounds():
    for dim in DIMENSIONS:
        p = PARAMS[dim.name]
        assert p.low <= dim.low < dim.high <= p.high, dim.name
        if dim.scenario:
            assert dim.scenario in SCENARIOS
    overrides, scenarios = split(current())
    assert "engagement_base" in scenarios["hypertension"]
    assert set(overrides) == {d.name for d in DIMENSIONS if d.scenario is None}


def test_parameter_table_says_which_defaults_the_calibration_fits():
    fitted = {d.name for d in DIMENSIONS if d.scenario is None}
    marked = {name for name, p in PARAMS.items() if "alliance calibrate" in p.source}
    assert marked == fitted


def test_calibration_smoke_writes_a_trace_and_never_ends_worse(tmp_path):
    dimensions = (Dimension("dropout_base", -9.0, -5.0),
                  Dimension("engagement_base", -3.0, 4.0, scenario="hypertension"))
    result = calibrate(tmp_path, screen_points=3, max_evaluations=8, starts=1, n_patients=400,
                       seed=3, dimensions=dimensions)
    trace = pd.read_csv(tmp_path / "trace.csv")
    assert len(trace) == len(result.trace) >= 1 + 3
    assert list(trace["stage"].unique()) == ["start", "screen", "refine 0"]
    assert {"dropout_base", "hypertension:engagement_base", "loss", "value:P1",
            "distance:P9"} <= set(trace.columns)
    assert trace["loss"].notna().all()
    assert result.loss <= result.start_loss
    assert result.loss == trace["loss"].min()
    chosen = tomllib.loads((tmp_path / "chosen.toml").read_text(encoding="utf-8"))
    assert chosen["defaults"]["dropout_base"] == pytest.approx(result.chosen["dropout_base"],
                                                               rel=1e-3)
    assert set(chosen["scenarios"]["hypertension"]) == {"engagement_base"}
