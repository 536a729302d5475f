"""The results store under interruption, concurrency and sharing (issue: results you can trust).

Each case is a defect an audit found: a kill between writing the design and the manifest, two
runs on one directory, workers whose part files are not where the driver looks, result files
unreadable by others.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from concurrent.futures import Executor, Future
from pathlib import Path

import pandas as pd
import pytest

from experiments.runner import store as store_module
from experiments.runner.spec import from_dict
from experiments.runner.store import Store, StoreError
from experiments.runner.sweep import run_sweep

KEYS = ["point_id", "rep", "clinician_id", "patient_id"]


def spec(replicates: int = 2):
    return from_dict(
        {
            "experiment": {"name": "r", "seed": 5, "replicates": replicates},
            "clinic": {"n_clinicians": 2, "patients_per_clinician": 4, "max_sessions": 6},
            "design": {"kind": "grid", "parameters": {"repair_skill": [0.2, 0.8]}},
        }
    )


def runs(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "runs").sort_values(KEYS).reset_index(drop=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("whole")
    run_sweep(spec(), root, chunk_size=1)
    return runs(root)


def test_a_run_killed_before_its_design_is_written_resumes(tmp_path, monkeypatch, uninterrupted):
    """The manifest is written first; a directory holding it (and nothing else) resumes."""

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing design.parquet")

    monkeypatch.setattr(store_module, "write_parquet", killed)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec(), tmp_path, chunk_size=1)
    assert (tmp_path / "manifest.json").exists() and not (tmp_path / "design.parquet").exists()
    monkeypatch.undo()
    outcome = run_sweep(spec(), tmp_path, chunk_size=1)
    assert outcome.done == outcome.planned and not outcome.failed
    pd.testing.assert_frame_equal(runs(tmp_path), uninterrupted)


def test_a_run_killed_while_writing_its_first_manifest_resumes(tmp_path, uninterrupted):
    (tmp_path / ".manifest.json.x1y2.tmp").write_text("{", encoding="utf-8")
    run_sweep(spec(), tmp_path, chunk_size=1)
    pd.testing.assert_frame_equal(runs(tmp_path), uninterrupted)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_second_run_on_a_directory_in_use_is_refused_with_its_holder(tmp_path):
    holder = Store(tmp_path)
    with holder.lock():
        holder.claim()
        with pytest.raises(StoreError, match=rf"in use by another run \(process {os.getpid()}"):
            run_sweep(spec(), tmp_path, chunk_size=1)
        before = sorted(p.name for p in tmp_path.iterdir())
        spec_file = tmp_path.parent / f"{tmp_path.name}.toml"
        spec_file.write_text(
            '[experiment]\nname = "r"\n[design]\nkind = "list"\n'
            "points = [{ repair_skill = 0.5 }]\n",
            encoding="utf-8",
        )
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "sim.cli.experiments",
                "sweep",
                str(spec_file),
                "--out",
                str(tmp_path),
                "--serial",
                "--quiet",
            ],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 2
        assert "in use by another run" in cli.stderr and "Traceback" not in cli.stderr
        assert len(cli.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    run_sweep(spec(), tmp_path, chunk_size=1)  # released: the directory is usable again


class LostPartsExecutor(Executor):
    """Runs nothing and reports every chunk done: a worker writing where the driver cannot see."""

    def submit(self, fn, task):
        future: Future = Future()
        future.set_result(
            {
                "chunk": task.chunk,
                "status": "ok",
                "rows": 8,
                "dyad_sessions": 40,
                "seconds": 0.0,
                "finished": "now",
                "worker": 0,
            }
        )
        return future


def test_chunks_whose_parts_are_missing_count_as_failed(tmp_path):
    outcome = run_sweep(spec(replicates=1), tmp_path, executor=LostPartsExecutor(), chunk_size=1)
    assert outcome.done == 0 and len(outcome.failed) == 2
    assert "does not exist" in outcome.failed[0][1] and "same path" in outcome.failed[0][1]
    assert Store(tmp_path).committed(("runs",)) == set()


def test_a_relative_out_is_resolved_where_the_sweep_starts(tmp_path, monkeypatch, uninterrupted):
    monkeypatch.chdir(tmp_path)
    store = Store("relative/out")
    assert store.root == tmp_path / "relative" / "out"
    run_sweep(spec(), "relative/out", chunk_size=1)
    pd.testing.assert_frame_equal(runs(tmp_path / "relative" / "out"), uninterrupted)


def test_result_files_get_the_mode_the_umask_gives(tmp_path):
    previous = os.umask(0o022)
    try:
        run_sweep(spec(replicates=1), tmp_path, chunk_size=1)
    finally:
        os.umask(previous)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"]
    assert len(files) >= 4  # manifest, design, ledger, parts
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
    assert set(modes.values()) == {0o644}, modes


def test_a_refused_sweep_leaves_no_directory_behind(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(
        '[experiment]\nname = "r"\n[design]\nkind = "list"\npoints = [{ repair_skill = 0.5 }]\n',
        encoding="utf-8",
    )
    out = tmp_path / "new" / "out"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli.experiments",
            "sweep",
            str(spec_file),
            "--out",
            str(out),
            "--serial",
            "--workers",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "choose one of" in cli.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("repair_skill", 1.5, r"'repair_skill' of row 1 must be a number from 0 to 1, got 1.5"),
        ("bond_rate", float("nan"), r"'bond_rate' of row 1 must be .*got nan"),
        ("max_sessions", 0, r"'max_sessions' of row 1 must be a whole number from 1"),
        ("n_clinicians", 2.5, r"'n_clinicians' of row 1 must be a whole number"),
    ],
)
def test_ready_made_rows_are_checked_like_overrides(name, value, message):
    from sim.core.batch import parameter_rows, simulate
    from sim.core.params import ParameterError

    rows = parameter_rows([{"n_clinicians": 2, "patients_per_clinician": 3}] * 2)
    rows[name][1] = value
    with pytest.raises(ParameterError, match=message):
        simulate(rows)
    assert issubclass(ParameterError, ValueError)


def test_one_rule_for_seeds(tmp_path):
    from sim.core.batch import simulate
    from sim.core.params import ParameterError
    from sim.model import AllianceModel

    with pytest.raises(ParameterError, match="seed must be a whole number from 0, got -1"):
        simulate({"n_clinicians": 1, "patients_per_clinician": 2}, seed=-1)
    with pytest.raises(ParameterError, match="must be a whole number from 0"):
        AllianceModel(rng=-3, n_clinicians=1, patients_per_clinician=2)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli.model",
            "run",
            "--seed",
            "-1",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "--seed must be a whole number from 0, got -1" in cli.stderr
    assert not (tmp_path / "run").exists()


def test_a_sweep_stops_after_a_run_of_failing_chunks(tmp_path, monkeypatch):
    from experiments.runner import chunks
    from experiments.runner.sweep import FAILURES_IN_A_ROW

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(chunks, "simulate", broken)
    outcome = run_sweep(spec(replicates=20), tmp_path, chunk_size=1)  # 40 chunks
    assert outcome.planned == 40 and outcome.done == 0
    assert FAILURES_IN_A_ROW <= len(outcome.failed) < 40
    assert "in a row failed" in outcome.stopped


def test_a_run_too_large_for_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    from sim.core import batch
    from sim.core.batch import ClinicTooLarge, simulate

    monkeypatch.setattr(batch, "available_memory", lambda: 2**30)  # a 1 GiB machine
    with pytest.raises(
        ClinicTooLarge,
        match=r"200,000 patients with the per-session panel "
        r"would need about 2.0 GiB",
    ):
        simulate({"n_clinicians": 2000, "patients_per_clinician": 100}, record_sessions=True)
    big = from_dict(
        {
            "experiment": {"name": "big", "record": ["dyads", "sessions"]},
            "clinic": {"n_clinicians": 2000, "patients_per_clinician": 100},
            "design": {"kind": "list", "points": [{"repair_skill": 0.5}]},
        }
    )
    with pytest.raises(StoreError, match=r"a chunk of this sweep .* would need about"):
        run_sweep(big, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


def damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def verify(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli.experiments", "verify", str(root)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("damage", [damage_truncate, damage_empty, damage_flip])
def test_a_damaged_part_is_found_and_computed_again(tmp_path, damage, uninterrupted):
    run_sweep(spec(), tmp_path, chunk_size=1)
    assert verify(tmp_path).returncode == 0
    part = sorted((tmp_path / "runs").glob("part-*.parquet"))[1]
    damage(part)
    found = verify(tmp_path)
    assert found.returncode == 1 and part.name in found.stderr, found.stderr
    outcome = run_sweep(spec(), tmp_path, chunk_size=1)
    assert outcome.done == 1 and outcome.skipped == outcome.planned - 1
    pd.testing.assert_frame_equal(runs(tmp_path), uninterrupted)
    assert verify(tmp_path).returncode == 0


def test_a_damaged_design_is_written_again(tmp_path):
    run_sweep(spec(), tmp_path, chunk_size=1)
    design = (tmp_path / "design.parquet").read_bytes()
    damage_flip(tmp_path / "design.parquet")
    assert "design.parquet does not have the checksum" in verify(tmp_path).stderr
    outcome = run_sweep(spec(), tmp_path, chunk_size=1)
    assert outcome.done == 0
    assert (tmp_path / "design.parquet").read_bytes() == design
    pd.read_parquet(tmp_path / "design.parquet")


def test_an_edited_chunk_layout_is_refused(tmp_path):
    run_sweep(spec(), tmp_path, chunk_size=2)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["layout"]["points_per_chunk"] = 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(
        StoreError,
        match=r"says 1 points per chunk but chunk .* was written "
        r"with 2; the manifest was edited",
    ):
        run_sweep(spec(), tmp_path)
    manifest["layout"]["points_per_chunk"] = "two"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(StoreError, match=r"no valid layout.points_per_chunk"):
        run_sweep(spec(), tmp_path)
    assert verify(tmp_path).returncode == 1


def test_receipts_carry_the_workers_model_and_versions(tmp_path):
    from sim.core.composition import CORE

    run_sweep(spec(replicates=1), tmp_path, chunk_size=1)
    receipts = Store(tmp_path).receipts()
    assert receipts and all(r["model_fingerprint"] == CORE.fingerprint[:16] for r in receipts)
    assert all(set(r["versions"]) >= {"project", "numpy", "numba"} for r in receipts)
    assert all(r["files"]["runs"]["size"] > 0 for r in receipts)


SOBOL = """[experiment]
name = "g"
replicates = 2
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


@pytest.fixture(scope="module")
def sobol_sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sobol")
    (root / "spec.toml").write_text(SOBOL, encoding="utf-8")
    run_sweep(from_dict(tomllib.loads(SOBOL)), root / "out")
    return root


def alliance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli.experiments", *args], capture_output=True, text=True
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def copy_of(sweep: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sweep / "out", tmp_path / "out"))


def edit_manifest(root: Path, change) -> None:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    (root / "manifest.json").write_text(json.dumps(change(manifest)), encoding="utf-8")


@pytest.mark.parametrize(
    ("case", "command", "message"),
    [
        ("manifest_list", "sweep", "is not a sweep's manifest"),
        ("manifest_null", "sweep", "is not a sweep's manifest"),
        ("manifest_per_chunk_0", "sweep", "no valid layout.points_per_chunk"),
        ("manifest_per_chunk_text", "sweep", "no valid layout.points_per_chunk"),
        ("ledger_junk", "sweep", None),
        ("part_truncated", "summarize", "is not complete: 1 problem"),
        ("part_missing", "sensitivity", "is not complete: 1 problem"),
        ("no_spec", "sensitivity", "holds no sweep spec"),
    ],
)
def test_the_catalogue_of_damaged_directories(sobol_sweep, tmp_path, case, command, message):
    """One line and exit 2 (or, for junk ledger lines, a clean resume); nothing changed."""
    out = copy_of(sobol_sweep, tmp_path)
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    if case == "manifest_list":
        (out / "manifest.json").write_text("[]", encoding="utf-8")
    elif case == "manifest_null":
        (out / "manifest.json").write_text("null", encoding="utf-8")
    elif case == "manifest_per_chunk_0":
        edit_manifest(out, lambda m: m | {"layout": m["layout"] | {"points_per_chunk": 0}})
    elif case == "manifest_per_chunk_text":
        edit_manifest(out, lambda m: m | {"layout": m["layout"] | {"points_per_chunk": "1"}})
    elif case == "ledger_junk":
        with (out / "ledger.jsonl").open("a", encoding="utf-8") as ledger:
            ledger.write('42\nnull\n{"status": "ok"}\n"x"\n[1]\n')
    elif case == "part_truncated":
        damage_truncate(part)
    elif case == "part_missing":
        part.unlink()
    elif case == "no_spec":
        edit_manifest(out, lambda m: {k: v for k, v in m.items() if k != "spec"})
    before = snapshot(out)
    args = {
        "sweep": [
            "sweep",
            str(sobol_sweep / "spec.toml"),
            "--out",
            str(out),
            "--serial",
            "--quiet",
        ],
        "summarize": ["summarize", str(out)],
        "sensitivity": ["sensitivity", str(out), "--outcome", "dropout_rate"],
    }[command]
    result = alliance(*args)
    if message is None:
        assert result.returncode == 0 and "0 chunks run, 2 already done" in result.stdout
        return
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(out) == before


def test_an_incomplete_sweep_is_analysed_only_when_asked_and_said_so(sobol_sweep, tmp_path):
    out = copy_of(sobol_sweep, tmp_path)
    sorted((out / "runs").glob("part-*.parquet"))[1].unlink()
    result = alliance("summarize", str(out), "--allow-incomplete")
    assert result.returncode == 0
    assert "warning:" in result.stderr and "--allow-incomplete" in result.stderr


@pytest.mark.parametrize("command", ["summarize", "sensitivity", "discover"])
@pytest.mark.parametrize("where", ["missing", "file", "empty"])
@pytest.mark.parametrize("incomplete", [False, True])
def test_analyses_of_a_directory_without_a_sweep_say_so(tmp_path, command, where, incomplete):
    """Not a directory, or one holding no sweep: one line, exit 2, with or without
    --allow-incomplete (which once led summarize to a KeyError)."""
    target = tmp_path / where
    if where == "file":
        target.write_text("not a sweep", encoding="utf-8")
    elif where == "empty":
        target.mkdir()
    options = {
        "summarize": [],
        "sensitivity": ["--outcome", "dropout_rate"],
        "discover": ["--outcome", "dropout_rate", "--above", "0.2"],
    }[command]
    args = [command, str(target), *options, *(["--allow-incomplete"] if incomplete else [])]
    result = alliance(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    expected = "holds no sweep" if where == "empty" else "is not a directory"
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    left = sorted(p.name for p in tmp_path.iterdir())  # nothing created, nothing removed
    assert left == ([] if where == "missing" else [where])


def test_a_spec_that_is_not_utf8_and_a_scheduler_that_is_no_address(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[experiment]\nname = "\xff\xfe"\n')
    result = alliance("sweep", str(bad), "--out", str(tmp_path / "o1"), "--serial")
    assert result.returncode == 2 and "is not UTF-8 text" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text(SOBOL, encoding="utf-8")
    result = alliance(
        "sweep",
        str(good),
        "--out",
        str(tmp_path / "o2"),
        "--dask-scheduler",
        "notanaddress",
        "--quiet",
    )
    assert result.returncode == 2 and "is not a scheduler address" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_a_worker_with_another_model_fails_its_chunk(tmp_path):
    from experiments.runner import chunks
    from experiments.runner.designs import build_design
    from experiments.runner.sweep import plan_chunks, plan_layout

    sweep = spec(replicates=1)
    design = build_design(sweep)
    task = next(plan_chunks(sweep, design, plan_layout(sweep, design, 1), set(), tmp_path))
    wrong = chunks.ChunkTask(**{**task.__dict__, "model_fingerprint": "0123456789abcdef"})
    with pytest.raises(
        RuntimeError,
        match=r"this worker's model \(fingerprint .*\) is not the "
        r"sweep's \(0123456789abcdef\)",
    ):
        chunks.run_chunk(wrong)
    assert not list(tmp_path.rglob("*.parquet"))


def test_runs_being_a_file_and_an_unwritable_out_are_refused(tmp_path, monkeypatch):
    (tmp_path / "runs").write_text("not a folder", encoding="utf-8")
    with pytest.raises(StoreError, match="is not empty and holds no sweep"):
        run_sweep(spec(), tmp_path)
    assert (tmp_path / "runs").read_text(encoding="utf-8") == "not a folder"

    import tempfile

    from sim.cli.common import UsageError, writable_dir

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(UsageError, match="is not a writable directory"):
        writable_dir(tmp_path)


def test_a_parts_digest_is_the_written_files(tmp_path):
    """A receipt's size and CRC-32 come from the bytes written, not from reading the file back:
    they must be what a resume computes from the file, and the table must read back whole."""
    import numpy as np
    import pyarrow as pa

    from experiments.runner.io import file_digest, write_part

    rng = np.random.default_rng(3)
    values = rng.normal(size=5_000)
    values[::7] = np.nan
    table = pa.table(
        {
            "point_id": np.arange(5_000),
            "score": pa.array(values, from_pandas=True),
            "status": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 3, 5_000).astype(np.int8)),
                pa.array(["active", "completed", "dropped_out"]),
            ),
        }
    )
    path = tmp_path / "part-x.parquet"
    digest = write_part(table, path, statistics=["point_id"])
    assert digest == file_digest(path)
    assert digest["size"] == path.stat().st_size
    assert pd.read_parquet(path).equals(table.to_pandas())
    assert [p.name for p in tmp_path.iterdir()] == ["part-x.parquet"]  # no temporary left
