"""The experiment runner: identical results across executors and chunkings, resume, failures."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.runner import chunks
from experiments.runner import sweep as runner
from experiments.runner.executors import open_executor
from experiments.runner.spec import from_dict
from experiments.runner.store import Store, StoreError
from experiments.runner.sweep import run_sweep
from experiments.science.summarize import summarize

KEYS = ["point_id", "rep", "clinician_id", "patient_id"]


def small_spec(replicates=2, kind="grid", record=("dyads",), **design):
    design = design or {
        "parameters": {
            "repair_skill": [0.2, 0.8],
            "attunement": {"low": 0.2, "high": 0.8, "num": 3},
        }
    }
    return from_dict(
        {
            "experiment": {
                "name": "t",
                "seed": 11,
                "replicates": replicates,
                "record": list(record),
            },
            "clinic": {"n_clinicians": 2, "patients_per_clinician": 6, "max_sessions": 12},
            "design": {"kind": kind, **design},
        }
    )


def table(root, name="runs"):
    return (
        pd.read_parquet(Path(root) / name)
        .sort_values(KEYS + (["session"] if name == "sessions" else []))
        .reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("serial")
    outcome = run_sweep(small_spec(record=("dyads", "sessions")), root, chunk_size=1)
    assert outcome.done == outcome.planned == 12 and not outcome.failed
    return root


def test_results_table_reads_whole(reference):
    runs = table(reference)
    assert len(runs) == 6 * 2 * 12
    assert list(runs.columns[:6]) == [*KEYS, "repair_skill", "attunement"]
    assert not runs.duplicated(KEYS).any()
    design = pd.read_parquet(reference / "design.parquet")
    assert list(design["point_id"]) == list(range(6))
    manifest = json.loads((reference / "manifest.json").read_text())
    for field in ("spec", "spec_hash", "seed", "versions", "created", "finished", "layout"):
        assert field in manifest
    assert {"python", "numpy", "numba", "mesa", "project"} <= set(manifest["versions"])


def test_two_processes_give_bit_identical_results(reference, tmp_path):
    with open_executor(workers=2) as pool:
        run_sweep(small_spec(record=("dyads", "sessions")), tmp_path, executor=pool, chunk_size=4)
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))
    pd.testing.assert_frame_equal(table(tmp_path, "sessions"), table(reference, "sessions"))


@pytest.mark.slow
def test_dask_local_cluster_gives_bit_identical_results(reference, tmp_path):
    pytest.importorskip("dask.distributed")
    with open_executor(dask_local=2) as executor:
        run_sweep(
            small_spec(record=("dyads", "sessions")), tmp_path, executor=executor, chunk_size=3
        )
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))
    pd.testing.assert_frame_equal(table(tmp_path, "sessions"), table(reference, "sessions"))


def test_chunk_size_does_not_change_results(reference, tmp_path):
    run_sweep(small_spec(record=("dyads", "sessions")), tmp_path, chunk_size=5)
    assert len(list((tmp_path / "runs").glob("part-*.parquet"))) == 4
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))


def test_adding_replicates_leaves_existing_ones_unchanged(reference, tmp_path):
    run_sweep(small_spec(replicates=2), tmp_path, chunk_size=2)
    before = {p.name: p.read_bytes() for p in (tmp_path / "runs").iterdir()}
    outcome = run_sweep(small_spec(replicates=3), tmp_path, chunk_size=2)
    assert outcome.skipped == 6 and outcome.done == 3
    after = {p.name: p.read_bytes() for p in (tmp_path / "runs").iterdir()}
    assert all(after[name] == data for name, data in before.items())
    runs = table(tmp_path)
    first_two = runs[runs["rep"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(first_two, table(reference))
    assert set(runs["rep"]) == {0, 1, 2}


def test_fewer_replicates_than_the_directory_holds_are_refused(tmp_path):
    """Lowering replicates used to print '0 chunks run' while the store kept the old count
    (and summaries used it): now refused, with the directory left as it was."""
    run_sweep(small_spec(replicates=3), tmp_path, chunk_size=2)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(StoreError, match="holds 3 replicates of this spec, more than the 2"):
        run_sweep(small_spec(replicates=2), tmp_path, chunk_size=2)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_rerun_resumes_without_recomputing(reference, tmp_path):
    run_sweep(small_spec(), tmp_path, chunk_size=2)
    again = run_sweep(small_spec(), tmp_path, chunk_size=2)
    assert again.done == 0 and again.skipped == again.planned
    receipts = Store(tmp_path).receipts()
    assert len(receipts) == again.planned


def test_a_different_spec_is_refused(reference, tmp_path):
    run_sweep(small_spec(), tmp_path)
    other = small_spec(parameters={"repair_skill": [0.3]})
    with pytest.raises(StoreError, match="different spec"):
        run_sweep(other, tmp_path)


def test_a_failing_chunk_is_recorded_and_does_not_lose_the_others(tmp_path, monkeypatch):
    real = chunks.simulate

    def flaky(params, **kwargs):
        if 3 in list(kwargs["point_ids"]) and kwargs["reps"][0] == 1:
            raise RuntimeError("simulated worker failure")
        return real(params, **kwargs)

    monkeypatch.setattr(chunks, "simulate", flaky)
    outcome = run_sweep(small_spec(), tmp_path, chunk_size=1)
    assert [chunk for chunk, _ in outcome.failed] == ["r0001-p000003"]
    assert "simulated worker failure" in outcome.failed[0][1]
    assert outcome.done == 11
    failed = [r for r in Store(tmp_path).receipts() if r["status"] == "failed"]
    assert failed[0]["chunk"] == "r0001-p000003"
    monkeypatch.setattr(chunks, "simulate", real)
    retry = run_sweep(small_spec(), tmp_path, chunk_size=1)
    assert retry.done == 1 and not retry.failed
    assert len(table(tmp_path)) == 6 * 2 * 12


SIGKILL_SPEC = """
[experiment]
name = "kill"
seed = 5
replicates = 30
[clinic]
n_clinicians = 10
patients_per_clinician = 60
[design]
kind = "grid"
[design.parameters]
repair_skill = [0.2, 0.5, 0.8]
"""


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_exactly_the_uninterrupted_rows(tmp_path):
    spec_file = tmp_path / "kill.toml"
    spec_file.write_text(SIGKILL_SPEC)
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "sim.cli.experiments",
        "sweep",
        str(spec_file),
        "--out",
        str(out),
        "--serial",
        "--chunk-size",
        "1",
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = out / "ledger.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ledger.exists() and len(ledger.read_text().splitlines()) >= 10:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(Store(out).receipts())
    assert 10 <= done_before < 90, "the kill should land mid-run"
    subprocess.run(command, check=True, capture_output=True)
    receipts = Store(out).receipts()
    assert len({r["chunk"] for r in receipts}) == 90
    clean = tmp_path / "clean"
    subprocess.run([*command[:6], str(clean), *command[7:]], check=True, capture_output=True)
    pd.testing.assert_frame_equal(table(out), table(clean))
    assert not table(out).duplicated(KEYS).any()


def test_summary_has_means_and_intervals_per_point(reference):
    summary = summarize(reference)
    assert len(summary) == 6
    assert (summary["replicates"] == 2).all()
    for outcome in ("dropout_rate", "pre_post_d", "repaired_share"):
        assert (summary[f"{outcome}_low"] <= summary[outcome]).all()
        assert (summary[outcome] <= summary[f"{outcome}_high"]).all()
    assert (reference / "summary.csv").exists()


def test_sensitivity_on_a_sobol_sweep(tmp_path):
    from experiments.science.sensitivity import sobol_indices

    spec = small_spec(
        replicates=1,
        kind="sobol",
        samples=8,
        seed=3,
        parameters={
            "repair_skill": {"low": 0.1, "high": 0.9},
            "pressure": {"low": 0.1, "high": 0.6},
        },
    )
    run_sweep(spec, tmp_path, chunk_size=40)
    indices = sobol_indices(tmp_path, "dropout_rate")
    assert list(indices["parameter"]) == ["repair_skill", "pressure"]
    assert indices[["S1", "ST"]].notna().all().all()
    assert (tmp_path / "sensitivity-dropout_rate.png").stat().st_size > 0


def test_designs_have_stable_point_ids():
    from experiments.runner.designs import build_design

    lhs = small_spec(
        kind="lhs", samples=7, seed=2, parameters={"warmth": {"low": 0.2, "high": 0.9}}
    )
    a, b = build_design(lhs), build_design(lhs)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["point_id"]) == list(range(7))
    assert a["warmth"].between(0.2, 0.9).all()
    sobol = small_spec(
        kind="sobol",
        samples=4,
        seed=0,
        parameters={"warmth": {"low": 0.2, "high": 0.9}, "min_sessions": {"low": 2, "high": 9}},
    )
    design = build_design(sobol)
    assert len(design) == 4 * (2 + 2)
    assert (design["min_sessions"] == design["min_sessions"].round()).all()


def test_cli_sweep_exit_codes(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(SIGKILL_SPEC.replace("replicates = 30", "replicates = 1"))
    env = {**os.environ}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli.experiments",
            "sweep",
            str(spec_file),
            "--out",
            str(tmp_path / "o"),
            "--serial",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "chunks run" in done.stdout


def test_raise_on_failure_names_the_failed_chunks(tmp_path, monkeypatch):
    def broken(params, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(chunks, "simulate", broken)
    with pytest.raises(runner.SweepFailed, match=r"12 chunks failed .*boom"):
        run_sweep(small_spec(), tmp_path, chunk_size=1, raise_on_failure=True)


def test_results_of_another_model_version_are_refused(tmp_path, monkeypatch):
    from experiments.runner import store

    run_sweep(small_spec(), tmp_path)
    monkeypatch.setattr(store, "model_fingerprint", lambda extensions=(): "0123456789abcdef")
    with pytest.raises(StoreError, match="another version of the model"):
        run_sweep(small_spec(), tmp_path)


@pytest.mark.parametrize("record", [("dyads",), ("clinics",)])
def test_varied_values_come_from_the_points_rows_and_unset_ones_stay_nan(tmp_path, record):
    """A worker reads the varied values off the parameter rows it runs (they reach it once);
    a list point that leaves a parameter at its base value shows NaN there, as its design does."""
    points = [{"repair_skill": 0.25, "attunement": 0.7}, {"repair_skill": 0.9}, {"attunement": 0.1}]
    spec = small_spec(replicates=1, kind="list", record=record, points=points)
    design = runner.build_design(spec)
    rows = runner.point_rows(spec, design)
    layout = runner.plan_layout(spec, design, chunk_size=2)
    tasks = list(runner.plan_chunks(spec, design, layout, set(), tmp_path, rows=rows))
    assert [t.varied for t in tasks] == [("repair_skill", "attunement")] * 2
    assert not any(isinstance(v, pd.DataFrame) for t in tasks for v in t.__dict__.values())
    outcome = run_sweep(spec, tmp_path / "out", chunk_size=2)
    assert outcome.done == outcome.planned == 2 and not outcome.failed
    name = "clinics" if record == ("clinics",) else "runs"
    written = pd.read_parquet(tmp_path / "out" / name).drop_duplicates("point_id")
    written = written.set_index("point_id").sort_index()[["repair_skill", "attunement"]]
    expected = pd.DataFrame(points, columns=["repair_skill", "attunement"]).astype(float)
    pd.testing.assert_frame_equal(written, expected, check_names=False, check_index_type=False)


def test_receipts_say_where_a_chunks_time_went(reference):
    """Each receipt carries the worker's own timing of building, kernel and tables (what the
    runner benchmark measures overhead from), within the chunk's own time."""
    receipts = [r for r in Store(reference).receipts() if r["status"] == "ok"]
    assert receipts
    for receipt in receipts:
        timings = receipt["timings"]
        assert set(timings) == {"build", "kernel", "tables"}
        assert all(value >= 0 for value in timings.values())
        assert sum(timings.values()) <= receipt["seconds"] + 1e-3
