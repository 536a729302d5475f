"""Sweeps that record ``["clinics"]``: one row of outcomes per clinic, computed in the worker.

The same sweep recorded with per-dyad rows must summarise to identical numbers; the clinics
table must not depend on the executor, the worker count or the chunk size; a kill and a resume
must neither lose nor duplicate a clinic; the store's checks (damage, verify, the fingerprint)
apply to the clinics table as to the others.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.runner import chunks
from experiments.runner import sweep as runner
from experiments.runner.designs import build_design
from experiments.runner.executors import open_executor
from experiments.runner.spec import from_dict
from experiments.runner.store import Store, StoreError
from experiments.runner.sweep import plan_chunks, plan_layout, run_sweep
from experiments.science import outcomes
from experiments.science.outcomes import OUTCOMES, clinic_values
from experiments.science.summarize import summarize

CLINIC = ["point_id", "rep"]


def small_spec(record=("clinics",), replicates=3, **design):
    design = design or {
        "kind": "grid",
        "parameters": {
            "repair_skill": [0.2, 0.8],
            "attunement": {"low": 0.2, "high": 0.8, "num": 3},
        },
    }
    return from_dict(
        {
            "experiment": {"name": "c", "seed": 17, "replicates": replicates, "record": [*record]},
            "clinic": {"n_clinicians": 3, "patients_per_clinician": 5, "max_sessions": 12},
            "design": design,
        }
    )


def clinics_table(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "clinics").sort_values(CLINIC).reset_index(drop=True)


def alliance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli.experiments", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[Path, Path]:
    """The same sweep recorded with per-dyad rows and with clinics (serial, a clinic a chunk)."""
    dyads = tmp_path_factory.mktemp("dyads")
    clinics = tmp_path_factory.mktemp("clinics")
    assert not run_sweep(small_spec(("dyads",)), dyads, chunk_size=1).failed
    assert not run_sweep(small_spec(), clinics, chunk_size=1).failed
    return dyads, clinics


def test_summaries_of_dyads_and_of_clinics_are_identical(both):
    dyads, clinics = both
    by_dyads, by_clinics = summarize(dyads), summarize(clinics)
    assert len(by_clinics) == 6 and (by_clinics["replicates"] == 3).all()
    pd.testing.assert_frame_equal(by_clinics, by_dyads)  # bit for bit


def test_the_clinics_table_holds_every_outcome_of_each_clinic(both):
    dyads, clinics = both
    table = clinics_table(clinics)
    assert list(table.columns) == [
        *CLINIC,
        "repair_skill",
        "attunement",
        *OUTCOMES,
        "patients",
        "dyad_sessions",
    ]
    assert len(table) == 6 * 3 and not table.duplicated(CLINIC).any()
    assert not (clinics / "runs").exists()
    runs = pd.read_parquet(dyads / "runs")
    expected = clinic_values(runs)
    pd.testing.assert_frame_equal(table[expected.columns], expected)
    sessions = runs.groupby(CLINIC)["sessions"].sum().to_numpy()
    np.testing.assert_array_equal(table["dyad_sessions"], sessions)
    design = pd.read_parquet(clinics / "design.parquet").set_index("point_id")
    np.testing.assert_array_equal(
        table["repair_skill"], design.loc[table["point_id"], "repair_skill"]
    )
    receipts = Store(clinics).receipts()
    assert sum(r["dyad_sessions"] for r in receipts) == table["dyad_sessions"].sum()
    assert all(set(r["files"]) == {"clinics"} for r in receipts)


def test_the_manifest_names_the_reducer_and_its_fingerprint(both):
    _, clinics = both
    manifest = json.loads((clinics / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["spec"]["record"] == ["clinics"]
    assert manifest["clinic_reducer"] == {
        "reference": chunks.CLINIC_REDUCER,
        "fingerprint": chunks.reducer_fingerprint(chunks.CLINIC_REDUCER),
    }


def test_the_runners_reference_is_the_registrys_function():
    """The runner names the science layer's reducer without importing it (the layers)."""
    assert chunks.load_reducer(chunks.CLINIC_REDUCER) is outcomes.clinic_values


def test_clinic_values_does_not_depend_on_row_order(both):
    dyads, _ = both
    runs = pd.read_parquet(dyads / "runs")
    shuffled = runs.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(clinic_values(shuffled), clinic_values(runs))


@pytest.mark.slow
def test_clinics_are_bit_identical_across_executors_workers_and_chunk_sizes(both, tmp_path):
    _, reference = both
    expected = clinics_table(reference)
    with open_executor(workers=2) as pool:
        run_sweep(small_spec(), tmp_path / "pool", executor=pool, chunk_size=4)
    pd.testing.assert_frame_equal(clinics_table(tmp_path / "pool"), expected)
    run_sweep(small_spec(), tmp_path / "serial", chunk_size=5)
    assert len(list((tmp_path / "serial" / "clinics").glob("part-*.parquet"))) == 6
    pd.testing.assert_frame_equal(clinics_table(tmp_path / "serial"), expected)
    pytest.importorskip("dask.distributed")
    with open_executor(dask_local=2) as executor:
        run_sweep(small_spec(), tmp_path / "dask", executor=executor, chunk_size=3)
    pd.testing.assert_frame_equal(clinics_table(tmp_path / "dask"), expected)


def test_adding_replicates_and_rerunning_keep_what_was_done(both, tmp_path):
    _, reference = both
    run_sweep(small_spec(replicates=2), tmp_path, chunk_size=2)
    before = {p.name: p.read_bytes() for p in (tmp_path / "clinics").iterdir()}
    outcome = run_sweep(small_spec(replicates=3), tmp_path, chunk_size=2)
    assert outcome.skipped == 6 and outcome.done == 3
    after = {p.name: p.read_bytes() for p in (tmp_path / "clinics").iterdir()}
    assert all(after[name] == data for name, data in before.items())
    again = run_sweep(small_spec(replicates=3), tmp_path, chunk_size=2)
    assert again.done == 0 and again.skipped == again.planned == 9
    pd.testing.assert_frame_equal(clinics_table(tmp_path), clinics_table(reference))


def test_a_damaged_clinics_part_is_found_refused_and_computed_again(both, tmp_path):
    _, reference = both
    run_sweep(small_spec(), tmp_path, chunk_size=2)
    part = sorted((tmp_path / "clinics").glob("part-*.parquet"))[1]
    part.write_bytes(part.read_bytes()[:-40])
    found = alliance("verify", str(tmp_path))
    assert found.returncode == 1 and part.name in found.stderr
    with pytest.raises(StoreError, match="is not complete: 1 problem"):
        summarize(tmp_path)
    outcome = run_sweep(small_spec(), tmp_path, chunk_size=2)
    assert outcome.done == 1 and outcome.skipped == outcome.planned - 1
    pd.testing.assert_frame_equal(clinics_table(tmp_path), clinics_table(reference))
    assert alliance("verify", str(tmp_path)).returncode == 0


def test_clinics_of_other_outcome_definitions_are_refused(tmp_path, monkeypatch):
    with pytest.raises(StoreError, match="'nowhere:reduce' cannot be imported"):
        run_sweep(small_spec(replicates=1), tmp_path / "new", reducer="nowhere:reduce")
    out = tmp_path / "out"
    run_sweep(small_spec(replicates=1), out, chunk_size=3)
    monkeypatch.setattr(runner, "reducer_fingerprint", lambda reference: "0123456789abcdef")
    with pytest.raises(StoreError, match="computed by other definitions"):
        run_sweep(small_spec(replicates=2), out, chunk_size=3)


def test_a_worker_with_other_outcome_definitions_fails_its_chunk(tmp_path):
    spec = small_spec(replicates=1)
    design = build_design(spec)
    task = next(plan_chunks(spec, design, plan_layout(spec, design, 1), set(), tmp_path))
    assert task.reducer == chunks.CLINIC_REDUCER
    wrong = chunks.ChunkTask(**{**task.__dict__, "reducer_fingerprint": "0123456789abcdef"})
    with pytest.raises(RuntimeError, match=r"clinic reducer .* is not the sweep's"):
        chunks.run_chunk(wrong)
    assert not list(tmp_path.rglob("*.parquet"))


def test_a_bad_record_is_one_line_and_exit_2(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        '[experiment]\nname = "b"\nrecord = ["clinics", "sessions"]\n'
        '[design]\nkind = "list"\npoints = [{ repair_skill = 0.2 }]\n',
        encoding="utf-8",
    )
    result = alliance("sweep", str(spec), "--out", str(tmp_path / "out"), "--serial", "--quiet")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'alliance sweep: error: experiment.record must be ["dyads"], ["dyads", "sessions"] or '
        "[\"clinics\"], got ['clinics', 'sessions']"
    ]
    assert not (tmp_path / "out").exists()


SOBOL = """[experiment]
name = "s"
replicates = 2
record = ["clinics"]
[clinic]
n_clinicians = 2
patients_per_clinician = 3
max_sessions = 5
[design]
kind = "sobol"
samples = 2
[design.parameters]
repair_skill = { low = 0.1, high = 0.9 }
attunement = { low = 0.1, high = 0.9 }
"""


def test_summarize_and_sensitivity_commands_work_on_a_clinics_sweep(tmp_path):
    out = tmp_path / "out"
    run_sweep(from_dict(tomllib.loads(SOBOL)), out)
    summarized = alliance("summarize", str(out))
    assert summarized.returncode == 0, summarized.stderr
    assert len(pd.read_parquet(out / "summary.parquet")) == 8
    sensitivity = alliance("sensitivity", str(out), "--outcome", "dropout_rate")
    assert sensitivity.returncode == 0, sensitivity.stderr
    assert (out / "sensitivity-dropout_rate.csv").exists()


KILL_SPEC = """
[experiment]
name = "kill"
seed = 5
replicates = 30
record = ["clinics"]
[clinic]
n_clinicians = 10
patients_per_clinician = 60
[design]
kind = "grid"
[design.parameters]
repair_skill = [0.2, 0.5, 0.8]
"""


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_exactly_the_uninterrupted_clinics(tmp_path):
    spec_file = tmp_path / "kill.toml"
    spec_file.write_text(KILL_SPEC, encoding="utf-8")

    def command(out: Path) -> list[str]:
        return [
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

    out = tmp_path / "killed"
    process = subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = out / "ledger.jsonl"
    deadline = time.monotonic() + 600  # start-up may compile the kernels on a busy machine
    while time.monotonic() < deadline:
        if ledger.exists() and len(ledger.read_text().splitlines()) >= 10:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(Store(out).receipts())
    assert 10 <= done_before < 90, f"the kill should land mid-run ({done_before} chunks done)"
    subprocess.run(command(out), check=True, capture_output=True)
    receipts = Store(out).receipts()
    assert len({r["chunk"] for r in receipts}) == 90
    subprocess.run(command(tmp_path / "clean"), check=True, capture_output=True)
    killed = clinics_table(out)
    assert len(killed) == 90 and not killed.duplicated(CLINIC).any()
    pd.testing.assert_frame_equal(killed, clinics_table(tmp_path / "clean"))
    assert Store(out).verify()[1] == []
