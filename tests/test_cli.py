"""The `alliance` command: outputs, determinism, and one-line errors for bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli.model import main

SMALL = ["--clinicians", "3", "--patients-per-clinician", "6", "--seed", "5"]


def test_run_prints_summary_and_writes_outputs(tmp_path, capsys):
    assert main(["run", *SMALL, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for words in (
        "patients",
        "dropped out",
        "ruptures per session",
        "repaired",
        "session 3",
        "pre-post d",
    ):
        assert words in out
    dyads = pd.read_parquet(tmp_path / "dyads.parquet")
    sessions = pd.read_parquet(tmp_path / "sessions.parquet")
    assert len(dyads) == 18
    assert len(sessions) == dyads["sessions"].sum()
    assert (tmp_path / "trajectories.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_set_and_sessions_options_take_effect(tmp_path):
    assert (
        main(
            ["run", *SMALL, "--sessions", "4", "--set", "dropout_base=-15", "--out", str(tmp_path)]
        )
        == 0
    )
    dyads = pd.read_parquet(tmp_path / "dyads.parquet")
    assert dyads["sessions"].max() <= 4
    assert (dyads["status"] != "dropped_out").all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "unknown=1"], "unknown parameter 'unknown'"),
        (["--set", "repair_skill=abc"], "'repair_skill' must be a number from 0 to 1, got 'abc'"),
        (["--set", "repair_skill=1.5"], "'repair_skill' must be a number from 0 to 1"),
        (["--set", "repair_skill=nan"], "got NaN"),
        (["--set", "repair_skill"], "--set takes NAME=VALUE"),
        (["--set", "max_sessions=2.5"], "'max_sessions' must be a whole number"),
        (["--clinicians", "0"], "--clinicians: parameter 'n_clinicians' must be a whole number"),
        (["--scenario", "mars"], "unknown scenario 'mars'; choose one of: psychotherapy"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["--set", "max_sessions=10", "--sessions", "12"], "--sessions and --set max_sessions"),
        (["--sessions", "12", "--set", "max_sessions=12"], "give one of them"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    status = exit_status(["run", *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "dyads.parquet").exists()


def exit_status(argv):
    """Exit status of the command, whether main returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_unwritable_out_is_refused_and_existing_results_untouched(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["run", *SMALL, "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "not a writable directory" in err and err.count("\n") == 1
    # A bad parameter leaves an earlier run's results byte for byte as they were.
    good = tmp_path / "good"
    assert main(["run", *SMALL, "--out", str(good)]) == 0
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    assert main(["run", *SMALL, "--set", "warmth=7", "--out", str(good)]) == 2
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_version_and_unknown_options_of_a_command(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.startswith("alliance ")
    with pytest.raises(SystemExit) as caught:
        main(["params", "--quiet"])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "unrecognized arguments: --quiet (see 'alliance params --help')" in err


def test_help_explains_every_command(capsys):
    for argv in (["--help"], ["run", "--help"], ["params", "--help"], ["scenarios", "--help"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "--patients-per-clinician" in text and "NAME=VALUE" in text


def test_params_and_scenarios_listings(capsys):
    assert main(["params", "--group", "clinician"]) == 0
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "repair_skill" in out and "psychotherapy" in out


def _run_cli(out: Path, threads: int) -> None:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    subprocess.run(
        [sys.executable, "-m", "sim.cli.model", "run", *SMALL, "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
    )


def test_outputs_are_bit_identical_whatever_the_thread_count(tmp_path):
    _run_cli(tmp_path / "one", 1)
    _run_cli(tmp_path / "two", 2)
    for name in ("dyads.parquet", "sessions.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
