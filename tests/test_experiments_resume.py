"""Validation and calibration run through the runner: killed with SIGKILL, they resume.

Each test starts the command in its own process group, kills it (SIGKILL, no clean-up) once
some of its work is committed, runs it again to the end and checks that (1) nothing committed
before the kill was computed again (one receipt per chunk or evaluation in the ledgers) and
(2) the results equal those of a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from experiments.runner.evaluations import Evaluations
from experiments.science.calibration import Dimension, calibrate
from experiments.science.targets import load_targets
from experiments.science.validation import run_validation

ALLIANCE = [sys.executable, "-m", "sim.cli.experiments"]


def _receipts(ledger: Path) -> list[dict]:
    if not ledger.exists():
        return []
    return [json.loads(line) for line in ledger.read_text().splitlines() if line.strip()]


def _ok(ledger: Path) -> list[str]:
    return [r["chunk"] for r in _receipts(ledger) if r.get("status") == "ok"]


def _kill_when(command: list[str], ready, timeout: float = 240.0) -> None:
    """Start ``command``, SIGKILL its process group as soon as ``ready()``; fail if it ended."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail(f"the run ended (status {process.returncode}) before it was killed")
            if time.monotonic() > deadline:
                pytest.fail("the run never reached the point where it is killed")
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_validation_killed_mid_way_resumes_without_recomputing(tmp_path):
    out = tmp_path / "killed"
    command = [*ALLIANCE, "validate", "--out", str(out), "--patients", "1200", "--seed", "5"]
    command += ["--serial", "--quiet"]
    therapy = out / "runs" / "psychotherapy" / "ledger.jsonl"
    hypertension = out / "runs" / "hypertension" / "ledger.jsonl"
    _kill_when(command, lambda: len(_ok(therapy)) == 1)
    assert len(_ok(hypertension)) < 3  # killed before the last population was simulated
    assert not (out / "validation.csv").exists()

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr  # 1: some pattern fails at this size
    assert _ok(therapy) == ["r0000-p000000"]  # simulated once, before the kill
    assert sorted(_ok(hypertension)) == ["r0000-p000000", "r0000-p000001", "r0000-p000002"]
    assert len(_ok(hypertension)) == 3

    other_size = [*ALLIANCE, "validate", "--out", str(out), "--patients", "800", "--seed", "5"]
    refused = subprocess.run([*other_size, "--serial", "--quiet"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "different spec" in refused.stderr
    assert "or add --replace to move them aside" in refused.stderr

    resumed = pd.read_csv(out / "validation.csv")
    fresh = run_validation(1200, 5, out=tmp_path / "fresh").table
    pd.testing.assert_frame_equal(
        resumed[["pattern", "model", "model_low", "model_high", "passed"]],
        fresh[["pattern", "model", "model_low", "model_high", "passed"]],
        check_dtype=False,
    )

    # --replace: the old validation is moved aside whole, and the new one written in its place.
    before = pd.read_csv(out / "validation.csv")
    replaced = subprocess.run(
        [*other_size, "--serial", "--quiet", "--replace"], capture_output=True, text=True
    )
    assert replaced.returncode in (0, 1), replaced.stderr
    (aside,) = tmp_path.glob("killed.replaced-*")
    assert f"moved them to '{aside}'" in replaced.stderr
    pd.testing.assert_frame_equal(pd.read_csv(aside / "validation.csv"), before)
    assert _ok(out / "runs" / "psychotherapy" / "ledger.jsonl") == ["r0000-p000000"]
    assert not pd.read_csv(out / "validation.csv").equals(before)


def test_validation_through_the_runner_equals_the_in_memory_path(tmp_path):
    from experiments.science.validation import simulate_runs, sweep_runs

    targets = load_targets()
    memory = simulate_runs(targets, n_patients=800, seed=9)
    swept = sweep_runs(targets, tmp_path, n_patients=800, seed=9)
    for scenario, result in memory.results.items():
        pd.testing.assert_frame_equal(result.dyads, swept.results[scenario].dyads)
        if result.sessions is not None:
            pd.testing.assert_frame_equal(result.sessions, swept.results[scenario].sessions)
    for key, arm in memory.arms.items():
        pd.testing.assert_frame_equal(arm, swept.arms[key])


SMALL = ["--screen", "6", "--evaluations", "0", "--patients", "400"]
SMALL += ["--seed", "3", "--serial", "--quiet"]


def test_a_calibration_killed_mid_way_resumes_without_recomputing(tmp_path):
    out = tmp_path / "killed"
    ledger = out / "evaluations" / "ledger.jsonl"
    command = [*ALLIANCE, "calibrate", "--out", str(out), *SMALL]
    _kill_when(command, lambda: len(_ok(ledger)) >= 3)
    before = set(_ok(ledger))
    assert not (out / "chosen.toml").exists()

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    done = _ok(ledger)
    assert len(done) == len(set(done))  # no evaluation computed twice
    assert before <= set(done)
    assert "read from" in result.stdout  # it says it reused the earlier run's evaluations

    fresh = subprocess.run(
        [*ALLIANCE, "calibrate", "--out", str(tmp_path / "fresh"), *SMALL],
        capture_output=True,
        text=True,
    )
    assert fresh.returncode == 0, fresh.stderr
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "trace.csv"), pd.read_csv(tmp_path / "fresh" / "trace.csv")
    )
    chosen = [tomllib.loads((d / "chosen.toml").read_text()) for d in (out, tmp_path / "fresh")]
    assert chosen[0] == chosen[1]  # the comment lines differ only by the time taken


def test_a_calibration_run_again_computes_nothing(tmp_path):
    dimensions = (Dimension("dropout_base", -9.0, -5.0),)
    targets = {pid: t for pid, t in load_targets().items() if pid in ("P2", "P7")}
    settings = dict(
        screen_points=3,
        max_evaluations=4,
        starts=1,
        n_patients=200,
        seed=3,
        dimensions=dimensions,
        targets=targets,
    )
    first = calibrate(tmp_path, **settings)
    lines: list[str] = []
    again = calibrate(tmp_path, **settings, log=lines.append)
    pd.testing.assert_frame_equal(first.trace, again.trace)
    assert any(" 0 computed" in line for line in lines), lines
    manifest = json.loads((tmp_path / "evaluations" / "manifest.json").read_text())
    assert manifest["kind"] == "evaluations" and manifest["last_run"]["computed"] == 0
    assert manifest["model_fingerprint"] and manifest["git_commit"] is not None


def test_evaluations_refuse_a_sweep_directory_and_another_model(tmp_path):
    from experiments.runner.store import StoreError

    (tmp_path / "manifest.json").write_text(json.dumps({"spec": {}, "spec_hash": "x"}))
    with pytest.raises(StoreError, match="holds a sweep, not evaluations"):
        with Evaluations(tmp_path, {"name": "t"}).open():
            pass
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(
        json.dumps({"kind": "evaluations", "model_fingerprint": "0123456789abcdef"})
    )
    with pytest.raises(StoreError, match="another version of the model"):
        with Evaluations(other, {"name": "t"}).open():
            pass
