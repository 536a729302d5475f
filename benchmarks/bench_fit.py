"""Benchmarks of issue 19: Morris screening of every free parameter, and ABC fits at full size.

Run from the repository root with the project's environment::

    .venv/bin/python benchmarks/bench_fit.py                  # both parts
    .venv/bin/python benchmarks/bench_fit.py --part morris    # r = 20, 10 replicates, 2 workers
    .venv/bin/python benchmarks/bench_fit.py --part fit       # 3 truths x 3 parameters

**morris**: a morris sweep of every free parameter (the default of a morris design) at r = 20
trajectories and 10 replicate clinics per point (default clinic: 10 clinicians x 20 patients),
on a local pool of 2 workers, then the screening of dropout_rate; prints the wall time of each.

**fit**: for each of three parameter sets, data from the model at 20 clinicians x 25 patients
(500 patients), then an ABC-SMC fit of dropout_base, responsiveness and alliance_initial on
every statistic the data allow, on pyabc's multicore sampler with 2 processes; prints the wall
time, whether each true value is inside its 90% credible interval, and the posterior predictive
check of dropout and pre-post d against the data's 95% intervals. The figures are in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from experiments.runner.executors import open_executor
from experiments.runner.spec import from_dict
from experiments.runner.sweep import run_sweep
from experiments.science import fitting, sensitivity
from experiments.science.clinic_data import OPTIONAL, REQUIRED, label

PRIORS = {
    "dropout_base": (-11.0, -5.0),
    "responsiveness": (0.05, 0.8),
    "alliance_initial": (0.2, 0.7),
}
TRUTHS = [
    {"dropout_base": -8.0, "responsiveness": 0.30, "alliance_initial": 0.41},
    {"dropout_base": -7.0, "responsiveness": 0.20, "alliance_initial": 0.55},
    {"dropout_base": -9.0, "responsiveness": 0.50, "alliance_initial": 0.30},
]


def bench_morris(root: Path, trajectories: int, replicates: int, workers: int) -> None:
    spec = from_dict(
        {
            "experiment": {"name": "morris_all", "seed": 19, "replicates": replicates},
            "design": {"kind": "morris", "samples": trajectories, "seed": 1},
        }
    )
    d = len(spec.parameters)
    print(f"morris: {d} free parameters, r = {trajectories}, {trajectories * (d + 1)} points x "
          f"{replicates} replicates, {workers} workers", flush=True)  # fmt: skip
    started = time.perf_counter()
    with open_executor(workers=workers) as executor:
        outcome = run_sweep(spec, root, executor=executor, progress=False)
    sweep = time.perf_counter() - started
    print(f"  sweep: {sweep / 60:.1f} min, {outcome.dyad_sessions:,} dyad-sessions "
          f"({outcome.rate / 1e6:.1f} M/s)", flush=True)  # fmt: skip
    started = time.perf_counter()
    result = sensitivity.morris_screening(root, "dropout_rate")
    analysis = time.perf_counter() - started
    print(f"  screening of dropout_rate: {analysis:.0f} s; {sensitivity.floor_words(result)}")
    print(result.table.head(10).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def bench_fit(root: Path, truths: list[dict], population: int, generations: int, workers: int):
    covered = 0
    for i, truth in enumerate(truths):
        setup = fitting.ClinicSetup(20, 25, 20, (*REQUIRED, *OPTIONAL))
        data = root / f"clinic{i}.csv"
        label(fitting.simulate_records(setup, truth, seed=500 + i)).to_csv(data, index=False)
        started = time.perf_counter()
        result = fitting.fit(data, list(truth), root / f"fit{i}", priors=PRIORS,
                             population=population, generations=generations, sampler="pool",
                             workers=workers, seed=i + 1)  # fmt: skip
        seconds = time.perf_counter() - started
        inside = fitting.coverage_ok(result.summary, truth)
        covered += sum(inside.values())
        sims = int(result.generations["samples"].sum())
        epsilon = result.generations["epsilon"].iloc[-1]
        print(f"fit {i}: {seconds / 60:.1f} min, {len(result.generations)} generations, "
              f"{sims:,} simulations, final epsilon {epsilon:.3g}")  # fmt: skip
        for row in result.summary.itertuples():
            print(f"  {row.parameter:<17} true {truth[row.parameter]:<6g} median "
                  f"{row.median:.3g} 90% [{row.low:.3g}, {row.high:.3g}] "
                  f"{'inside' if inside[row.parameter] else 'OUTSIDE'}")  # fmt: skip
        for row in result.ppc.itertuples():
            print(f"  ppc {row.statistic:<21} data {row.value:.3f} [{row.low:.3f}, {row.high:.3f}]"
                  f" model {row.predicted:.3f} [{row.predicted_low:.3f}, "
                  f"{row.predicted_high:.3f}] "
                  f"{'ok' if row.median_in_data_interval else 'MISS'}")  # fmt: skip
    print(f"recovery: {covered} of {3 * len(truths)} true values inside their 90% intervals")


def main() -> None:
    """Run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("morris", "fit", "all"), default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trajectories", type=int, default=20)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--truths", type=int, default=3, help="parameter sets fitted (1-3)")
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--generations", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fit-") as tmp:
        root = Path(tmp)
        if args.part in ("morris", "all"):
            bench_morris(root / "morris", args.trajectories, args.replicates, args.workers)
        if args.part in ("fit", "all"):
            bench_fit(root, TRUTHS[: args.truths], args.population, args.generations,
                      args.workers)  # fmt: skip


if __name__ == "__main__":
    main()
