"""Validation against P1–P14, the targets file, the calibration loss and the calibration procedure.

The headline test runs ``alliance validate`` at a size CI affords with the shipped defaults and
requires every pattern to pass by the same rule as the full-size run (only the intervals are
wider, because fewer patients are simulated).
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from experiments.science.calibration import (
    DIMENSIONS,
    Dimension,
    calibrate,
    current,
    loss,
    split,
    standardised_distances,
)
from experiments.science.resampling import Estimate
from experiments.science.targets import PATTERN_IDS, TARGETS_FILE, TargetsError, load_targets
from experiments.science.validation import judge
from sim.cli.experiments import main
from sim.core.params import PARAMS
from sim.core.scenarios import SCENARIOS

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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "--patients", "10"], "--patients must be a whole number >= 40"),
        (["validate", "--seed", "-1"], "--seed must be a whole number >= 0"),
        (["calibrate", "--screen", "-2"], "--screen must be a whole number >= 0"),
        (["calibrate", "--workers", "0"], "--workers must be a whole number >= 1"),
    ],
)
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
        # a year, or a repository's manuscript id where the authors are not named
        assert re.search(r"\b(19[89]\d|20[0-2]\d|EMS\d+)\b", t.source), f"{pid}: no year"
        assert t.scenario in SCENARIOS
        assert callable(t.function())
        assert t.kind in ("ci", "range")
        if isinstance(t.high, float) and math.isfinite(t.high):
            assert t.low <= t.centre <= t.high
            assert t.half_width > 0
        elif isinstance(t.high, float):  # one-sided: above a bound, with the calibration's unit
            assert t.centre is None and t.half_width is None and t.scale > 0
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
    for t in targets.values():
        result_fields = [c.estimate for c in t.also] + list(t.report)
        assert len(set(result_fields)) == len(result_fields), t.id
        for c in t.also:
            assert c.low is not None or c.at_least is not None or c.exclude_zero


def test_new_targets_hold_what_the_issue_asks():
    """P5 in both windows; P9 pooled over follow-up; P10-P14 with their bands."""
    targets = load_targets()
    early = {c.estimate: c for c in targets["P5"].also}["forward_early"]
    assert (early.low, early.high, early.exclude_zero) == (0.10, 0.21, True)
    assert "forward_latent" in targets["P5"].report
    assert targets["P9"].options == {"column": "engagement_mean"}
    p10 = targets["P10"]
    assert (p10.low, p10.high) == (0.35, 0.65)
    assert {c.estimate: c.at_least for c in p10.also} == {"early_excess": 0.0}
    assert p10.options.get("ratio", 1.5) == 1.5 and "acceleration" in p10.report
    assert (targets["P11"].low, targets["P11"].high) == (0.02, 0.12)
    assert targets["P12"].exclude_zero and targets["P12"].low == 0.0
    assert {c.estimate: c.at_least for c in targets["P12"].also} == {"excess": 0.0}
    assert targets["P13"].exclude_zero and targets["P13"].estimate == "difference"
    p14 = {c.estimate: (c.low, c.high) for c in targets["P14"].also}
    assert (targets["P14"].low, targets["P14"].high) == (1.2, 2.0)
    assert p14 == {"intake_mean": (14.0, 17.0), "intake_sd": (3.5, 6.5)}


def test_targets_file_matches_the_specification():
    """The published figures of shared/docs/MODEL.md, section 1, as written there."""
    targets = load_targets()
    expected = {
        "P1": (0.278, 0.256, 0.299),
        "P2": (0.197, 0.187, 0.207),
        "P4": (0.29, 0.10, 0.47),
        "P9": (0.485, 0.477, 0.492),
    }
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


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("[patterns.P9]", "[patterns.P15]"), "lacks pattern"),
        (
            lambda s: s.replace("scale = 0.05\n", "scale = 0.05\ncolour = 2\n"),
            "unknown key 'colour' in patterns.P10.also",
        ),
        (
            lambda s: s.replace('9-16"\nat_least = 0.0\nscale = 0.05\n', '9-16"\n'),
            "needs interval, at_least",
        ),
        (lambda s: s.replace("scale = 0.02", "scale = -1"), "scale must be a number above 0"),
        (
            lambda s: s.replace("interval = [0.256, 0.299]", "interval = [0.299, 0.256]"),
            "low < high",
        ),
        (lambda s: s.replace('kind = "ci"', 'kind = "guess"', 1), "kind must be one of"),
        (
            lambda s: s.replace('scenario = "psychotherapy"', 'scenario = "nowhere"', 1),
            "scenario 'nowhere' is unknown",
        ),
        (lambda s: s.replace("alliance_outcome_r", "no_such_analysis"), "cannot be imported"),
        (lambda s: s.replace("collaboration = 0.67", "collaboration = 1.67"), "collaboration"),
        (lambda s: s.replace('below = "P5"', 'below = "P99"'), "unknown pattern 'P99'"),
        (lambda s: s.replace("target = 0.278", "target = 0.5"), "within its interval"),
        (
            lambda s: s.replace("target = 0.278\n", "target = 0.278\ncolour = 1\n"),
            "unknown key 'colour'",
        ),
        (lambda s: s + "\n[broken", "not valid TOML"),
    ],
)
def test_malformed_targets_are_named(tmp_path, edit, message):
    with pytest.raises(TargetsError, match=message):
        load_targets(_rewrite(tmp_path, edit))


def test_missing_targets_file_is_named(tmp_path):
    with pytest.raises(TargetsError, match="cannot read targets file"):
        load_targets(tmp_path / "absent.toml")


# --- the pass rule ------------------------------------------------------------------------------


def _estimate(value: float, half: float) -> Estimate:
    return Estimate(value, value - half, value + half, 100, "synthetic")


def _passing(condition) -> Estimate:
    if condition.low is not None:
        return _estimate((condition.low + condition.high) / 2, 0.01)
    return _estimate((condition.at_least or 0.0) + 0.5, 0.01)


def _results(**changes: Estimate | SimpleNamespace):
    """Analysis results as the analyses return them, at the targets unless changed."""
    targets = load_targets()
    estimates = {
        pid: _estimate(t.centre if t.centre is not None else 0.05, 0.01)
        for pid, t in targets.items()
    }
    results: dict[str, object] = {}
    for pid, t in targets.items():
        fields = {c.estimate: _passing(c) for c in t.also}
        fields |= {name: _estimate(0.3, 0.01) for name in t.report}
        results[pid] = (
            SimpleNamespace(**{t.estimate: estimates[pid]}, **fields)
            if t.estimate
            else estimates[pid]
        )
    results["P8"] = SimpleNamespace(d=_estimate(0.23, 0.02), indirect=_estimate(0.1, 0.02))
    for pid, change in changes.items():
        t = targets[pid]
        if t.estimate and isinstance(change, Estimate):
            results[pid] = SimpleNamespace(**{**vars(results[pid]), t.estimate: change})
        elif isinstance(change, dict):  # further fields of the same result
            results[pid] = SimpleNamespace(**{**vars(results[pid]), **change})
        else:
            results[pid] = change
    return targets, results


def test_judge_passes_estimates_at_the_targets():
    targets, results = _results()
    assert all(v.passed for v in judge(targets, results))


@pytest.mark.parametrize(
    ("pattern", "result", "failing"),
    [
        ("P2", _estimate(0.30, 0.01), "overlap"),
        ("P5", _estimate(0.05, 0.06), "non-zero"),  # overlaps [.10, .21] but includes 0
        ("P6", _estimate(0.14, 0.02), "below P5"),  # overlaps P5's interval [.145, .165]
        ("P6", _estimate(0.01, 0.02), "non-zero"),
        ("P8", SimpleNamespace(d=_estimate(0.14, 0.03), indirect=_estimate(0.1, 0.02)), "at least"),
        (
            "P8",
            SimpleNamespace(d=_estimate(0.23, 0.03), indirect=_estimate(0.01, 0.02)),
            "indirect > 0",
        ),
        ("P5", {"forward_early": _estimate(0.05, 0.01)}, "sessions 1-7: overlap"),
        ("P10", {"early_excess": _estimate(-0.1, 0.3)}, "improvement 1-8 - 1.5 x 9-16: at least"),
        ("P12", {"excess": _estimate(-0.1, 0.3)}, "clinician slope - 2 x patient slope: at least"),
        ("P12", _estimate(0.05, 0.1), "non-zero"),
        ("P13", _estimate(0.005, 0.01), "non-zero"),
        ("P14", {"intake_mean": _estimate(12.0, 0.5)}, "intake mean: overlap"),
    ],
)
def test_judge_fails_each_check(pattern, result, failing):
    targets, results = _results(**{pattern: result})
    verdict = {v.target.id: v for v in judge(targets, results)}[pattern]
    assert not verdict.passed
    assert [c.name for c in verdict.checks if not c.passed] == [failing]


# --- the calibration loss -----------------------------------------------------------------------


def _values_at_targets() -> dict[str, float]:
    """Values where every distance is 0: centres, and one scale inside one-sided bounds."""
    targets = load_targets()
    values = {pid: t.centre for pid, t in targets.items() if t.centre is not None}
    values["P6"] = values["P5"] / 2
    for pid, t in targets.items():
        if t.centre is None and isinstance(t.high, float):
            values[pid] = t.low + t.scale
        for c in t.also:
            values[f"{pid}.{c.estimate}"] = (
                (c.low + c.high) / 2 if c.low is not None else (c.at_least or 0.0) + c.scale
            )
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


def test_loss_counts_one_sided_shortfalls_in_scales():
    targets = load_targets()
    values = _values_at_targets()
    values["P13"] = 0.0  # on the bound: one scale short of the aim
    values["P10.early_excess"] = 0.05 + 1.0  # beyond the aim: no distance
    values["P14.intake_sd"] = 6.5  # a condition's interval counts like a pattern's
    distances = standardised_distances(values, targets)
    assert distances["P13"] == pytest.approx(1.0)
    assert distances["P10.early_excess"] == 0.0
    assert distances["P14.intake_sd"] == pytest.approx(1.0)
    assert loss(values, targets) == pytest.approx(2.0)


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


def test_calibration_moves_a_bad_start_towards_the_target(tmp_path):
    """From a dropout baseline far too high, the search brings P2 near its interval."""
    targets = {"P2": load_targets()["P2"]}
    dimensions = (Dimension("dropout_base", -12.0, -3.0),)
    result = calibrate(
        tmp_path,
        screen_points=0,
        max_evaluations=24,
        starts=1,
        n_patients=1000,
        seed=3,
        dimensions=dimensions,
        targets=targets,
        start={"dropout_base": -3.5},
    )
    start = result.trace.iloc[0]
    assert start["distance:P2"] > 10  # most patients drop out
    assert result.chosen["dropout_base"] < -5.0
    assert abs(result.trace.loc[result.trace["loss"].idxmin(), "distance:P2"]) < 1.0


def test_calibration_smoke_writes_a_trace_and_never_ends_worse(tmp_path):
    dimensions = (
        Dimension("dropout_base", -9.0, -5.0),
        Dimension("engagement_base", -3.0, 4.0, scenario="hypertension"),
    )
    result = calibrate(
        tmp_path,
        screen_points=3,
        max_evaluations=8,
        starts=1,
        n_patients=400,
        seed=3,
        dimensions=dimensions,
    )
    trace = pd.read_csv(tmp_path / "trace.csv")
    assert len(trace) == len(result.trace) >= 1 + 3
    assert list(trace["stage"].unique()) == ["start", "screen", "refine 0"]
    assert {
        "dropout_base",
        "hypertension:engagement_base",
        "loss",
        "value:P1",
        "distance:P9",
    } <= set(trace.columns)
    assert trace["loss"].notna().all()
    assert result.loss <= result.start_loss
    assert result.loss == trace["loss"].min()
    chosen = tomllib.loads((tmp_path / "chosen.toml").read_text(encoding="utf-8"))
    assert chosen["defaults"]["dropout_base"] == pytest.approx(
        result.chosen["dropout_base"], rel=1e-3
    )
    assert set(chosen["scenarios"]["hypertension"]) == {"engagement_base"}


def test_holdout_calibrates_without_the_fold_and_judges_it_at_full_rule(tmp_path):
    from experiments.science.calibration import holdout

    dimensions = (Dimension("dropout_base", -9.0, -6.0),)
    table = holdout(
        tmp_path,
        folds=(("P2",), ("P7", "P14")),
        max_evaluations=4,
        n_patients=400,
        seed=3,
        validation_patients=400,
        validation_seed=5,
        dimensions=dimensions,
    )
    assert table[["fold", "pattern"]].values.tolist() == [[1, "P2"], [2, "P7"], [2, "P14"]]
    assert {"model", "model_low", "model_high", "passed", "checks"} <= set(table.columns)
    assert (table["model_low"] <= table["model"]).all()
    first = pd.read_csv(tmp_path / "fold_1" / "trace.csv")
    assert "value:P2" not in first.columns and "value:P7" in first.columns
    assert first["dropout_base"].iloc[0] == pytest.approx(-7.5)  # the box's middle
    second = pd.read_csv(tmp_path / "fold_2" / "trace.csv")
    assert "value:P2" in second.columns and "value:P14" not in second.columns
    assert pd.read_csv(tmp_path / "holdout.csv").shape == table.shape


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 7, 11, 99])
def test_every_pattern_passes_at_other_seeds_at_full_size(seed):
    """Issue 15: one parameter set passes P1-P14 at five seeds with 20,000 patients each.

    Seed 2026 is the documented run (docs/MODEL.md, section 10); these are the other four,
    with 300 bootstrap resamples instead of 1000 to keep the suite short.
    """
    from experiments.science.resampling import Resampling
    from experiments.science.validation import run_validation

    validation = run_validation(20_000, seed, resampling=Resampling(n_resamples=300))
    failing = {
        v.target.id: "; ".join(c.detail for c in v.checks if not c.passed)
        for v in validation.verdicts
        if not v.passed
    }
    assert not failing, f"seed {seed}: {failing}"
