"""A sweep on an external Dask cluster, as on SLURM: a scheduler and two worker processes
started by hand on 127.0.0.1, a relative --out given from another working directory than the
workers'. Results are bit-identical to a serial run. And the README's SLURM example builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

KEYS = ["point_id", "rep", "clinician_id", "patient_id"]
SPEC = textwrap.dedent("""
    [experiment]
    name = "cluster"
    seed = 9
    replicates = 2
    [clinic]
    n_clinicians = 3
    patients_per_clinician = 5
    max_sessions = 10
    [design]
    kind = "grid"
    [design.parameters]
    repair_skill = [0.2, 0.8]
    attunement = [0.3, 0.7]
""")
DASK = str(Path(sys.executable).with_name("dask"))


def sweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli.experiments", "sweep", *args, "--quiet"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_an_external_cluster_with_a_relative_out_matches_serial(tmp_path):
    driver, workers = tmp_path / "driver", tmp_path / "workers"
    driver.mkdir()
    workers.mkdir()
    (driver / "spec.toml").write_text(SPEC, encoding="utf-8")
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ)
    processes = [
        subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            cwd=workers,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), "the scheduler did not start"
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    cwd=workers,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
        result = sweep(
            "spec.toml",
            "--out",
            "results/cluster",
            "--dask-scheduler",
            address,
            "--chunk-size",
            "1",
            cwd=driver,
        )
        assert result.returncode == 0, result.stderr
        assert "8 chunks run" in result.stdout and "0 failed" in result.stdout
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert not (workers / "results").exists(), "a worker wrote relative to its own directory"
    serial = sweep(
        str(driver / "spec.toml"), "--out", str(tmp_path / "serial"), "--serial", cwd=tmp_path
    )
    assert serial.returncode == 0, serial.stderr

    def table(root: Path) -> pd.DataFrame:
        return pd.read_parquet(root / "runs").sort_values(KEYS).reset_index(drop=True)

    pd.testing.assert_frame_equal(table(driver / "results" / "cluster"), table(tmp_path / "serial"))


def test_the_readmes_slurm_example_builds_a_cluster_of_this_python():
    pytest.importorskip("dask_jobqueue")
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(
        cores=1, processes=1, memory="4GB", walltime="02:00:00", python=sys.executable
    )
    try:
        script = cluster.job_script()
        assert "#SBATCH" in script and sys.executable in script
        assert cluster.scheduler_address.startswith("tcp://")
    finally:
        cluster.close()
