"""Kill a sweep with SIGKILL at random instants and check that resuming loses and repeats nothing.

Each trial starts ``alliance sweep`` on a fresh directory, kills it (``kill -9``) after a random
delay within the last part of an uninterrupted run's length (the initialisation of the directory
and the chunks; the start-up before it writes nothing), runs the same command again to the end,
and compares the rows with an uninterrupted run: same rows, no duplicate keys, identical values.
``tests/test_kill_resume.py`` runs a few trials in ``make test``; the full check is::

    .venv/bin/python tests/kill_resume.py --trials 20

It exits 1 if any trial differs.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

KEYS = ["point_id", "rep", "clinician_id", "patient_id"]
SPEC = textwrap.dedent("""
    [experiment]
    name = "kill"
    seed = 4
    replicates = 3
    record = ["dyads", "sessions"]
    [clinic]
    n_clinicians = 4
    patients_per_clinician = 10
    max_sessions = 12
    [design]
    kind = "grid"
    [design.parameters]
    repair_skill = [0.2, 0.5, 0.8]
    attunement = [0.3, 0.7]
""")


def command(spec: Path, out: Path) -> list[str]:
    """Return the sweep command (serial, a chunk per clinic: many chunks, many instants)."""
    return [
        sys.executable,
        "-m",
        "sim.cli.experiments",
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--serial",
        "--chunk-size",
        "1",
        "--quiet",
    ]


def table(out: Path, name: str) -> pd.DataFrame:
    """Return a results table, sorted by its keys."""
    keys = KEYS + (["session"] if name == "sessions" else [])
    return pd.read_parquet(out / name).sort_values(keys).reset_index(drop=True)


def trial(spec: Path, out: Path, delay: float, reference: Path) -> tuple[str, str | None]:
    """Kill one run after ``delay`` seconds, resume it; return its state when killed and what
    differs after resuming (None if nothing)."""
    process = subprocess.Popen(
        command(spec, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    ledger = out / "ledger.jsonl"
    state = (
        "nothing written"
        if not out.exists()
        else f"manifest {'written' if (out / 'manifest.json').exists() else 'not written'}, "
        f"{len(ledger.read_text().splitlines()) if ledger.exists() else 0} chunks ledgered"
    )
    resumed = subprocess.run(command(spec, out), capture_output=True, text=True)
    if resumed.returncode != 0:
        return state, f"the resumed run failed: {resumed.stderr.strip()[-500:]}"
    for name in ("runs", "sessions"):
        got, expected = table(out, name), table(reference, name)
        keys = KEYS + (["session"] if name == "sessions" else [])
        if got.duplicated(keys).any():
            return state, f"{name}: duplicate keys after resuming"
        if not got.equals(expected):
            return state, f"{name}: {len(got)} rows, {len(expected)} expected, or values differ"
    return state, None


def run(trials: int, seed: int = 1) -> int:
    """Run ``trials`` kills; print one line each; return the number that failed."""
    work = Path(tempfile.mkdtemp(prefix="kill-resume-"))
    try:
        spec = work / "spec.toml"
        spec.write_text(SPEC, encoding="utf-8")
        reference = work / "reference"
        started = time.perf_counter()
        printed = subprocess.run(
            command(spec, reference), check=True, capture_output=True, text=True
        ).stdout
        length = time.perf_counter() - started
        # Most of a run is start-up (imports, compiled code loaded); kills there find nothing
        # to damage. Aim at the last part: the directory's initialisation and the chunks.
        chunks = float(re.search(r"dyad-sessions in ([0-9.]+) s", printed).group(1))
        earliest = max(0.0, length - chunks - 0.3)
        draws = random.Random(seed)
        failed = 0
        for k in range(trials):
            delay = draws.uniform(earliest, length)
            state, problem = trial(spec, work / f"trial-{k}", delay, reference)
            failed += problem is not None
            print(
                f"trial {k + 1}: killed after {delay:.2f} s of a {length:.2f} s run ({state}):"
                f" {problem or 'resumed to the same rows'}"
            )
        return failed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the trials the command line asks for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill instants")
    args = parser.parse_args(argv)
    failed = run(args.trials, args.seed)
    print(f"{args.trials - failed} of {args.trials} trials resumed to the uninterrupted rows")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
