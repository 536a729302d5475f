"""Throughput and memory of the experiment runner against the raw kernel, in one run.

Run ``.venv/bin/python benchmarks/bench_runner.py`` (``--quick`` for a short run, ``--json PATH``
to keep the figures). The unit is the *dyad-session*, as in :mod:`bench_kernel`. Three targets of
the runner are measured:

1. A sweep of >= 20 million dyad-sessions on two workers with ``record = ["clinics"]`` (one row of
   outcomes per clinic, computed in the workers) reaches >= 85% of two cores' raw kernel
   throughput (runner, outcomes, I/O and process overhead <= 15%).

   *Raw* is two processes, started together, each running ``sim.core.kernels.run_courses`` (the
   serial course kernel, which a sweep's chunks run) over the sweep's own chunks (the same
   parameter rows, seeds and 200,000-dyad size that :func:`experiments.runner.sweep.run_chunk`
   builds), each course on a freshly built clinic, only the kernel calls timed (building is
   timed apart, for information). That is the fair peer: a sweep's workers each run the serial
   kernel in their own process, so the only difference is the runner (building clinics,
   summary tables, Parquet, pickling, process start-up, the driver). For information: two
   processes of the session kernel ``sim.core.kernels.run_session`` (what sweeps ran before the
   course kernel), and ``run_courses_parallel`` with two threads in one process.

   The sweep is :func:`experiments.runner.sweep.run_sweep` through
   :func:`experiments.runner.executors.open_executor` (``workers=2``, default chunk size) into a
   temporary directory, timed from opening the executor to its shutdown (worker start-up,
   imports and Numba cache loading included). A clinics sweep five times as long shows the
   ratio once start-up is amortised; the same sweep with per-dyad rows and with the per-session
   panel is printed beside it.

2. With per-dyad rows (``record = ["dyads"]``), >= 15 M dyad-sessions/s on two workers, or, as
   overhead, <= 0.7 us per dyad written per worker: the workers' time (workers x wall) not spent
   in the kernel (as each worker timed its chunks' kernel calls, recorded in their receipts),
   over the dyads written. Printed both all-in and counting only the time inside chunks.

3. Peak memory does not grow with the number of runs: a sweep with 10x the replicates peaks
   within 1.2x the memory of the smaller one. Peak RSS (``VmHWM``) of the driver and of each pool
   worker (read from ``/proc`` before the pool shuts down), and ``RUSAGE_CHILDREN``'s
   ``ru_maxrss`` (the largest child) after it has.

This machine's speed drifts by 10-20% from minute to minute, so the targets' four sweeps run
in ``--repeats`` rounds (default 3), each round after its own raw measurement and judged against
it, and each target is judged on the median over rounds (best and every round printed beside).

Every sweep runs in a fresh driver process (``python -c``, so pool workers import only what a
real sweep's workers import), so peaks never carry over. Targets are printed beside the figures;
none is asserted.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.forkserver
import os
import platform
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow

from experiments.runner.designs import build_design
from experiments.runner.executors import open_executor
from experiments.runner.spec import SweepSpec, from_dict
from experiments.runner.store import Store
from experiments.runner.sweep import ChunkTask, plan_chunks, plan_layout, run_sweep
from sim.core.batch import simulate
from sim.core.kernels import run_courses, run_courses_parallel, run_session, run_session_parallel
from sim.core.state import Clinics, build

HERE = Path(__file__).resolve().parent
SEED = 20260101
WORKERS = 2
CLINIC = {"n_clinicians": 10, "patients_per_clinician": 20, "max_sessions": 20}
VARIED = ("repair_skill", "attunement", "pressure")
"""Parameters of the Latin hypercube design (each over [0.2, 0.8])."""

TARGET_SWEEP_DYAD_SESSIONS = 20e6
TARGET_SWEEP_VS_RAW = 0.85
TARGET_ROWS_RATE = 15e6
"""Dyad-sessions per second of a sweep writing per-dyad rows on two workers."""
TARGET_ROWS_OVERHEAD_US = 0.7
"""Or: microseconds per dyad written per worker outside the kernel."""
LONG_FACTOR = 5
"""The long clinics sweep: this many times the main sweep's replicates."""
TARGET_MEMORY_GROWTH = 1.2
MEMORY_FACTOR = 10
RESULT_MARK = "BENCH-RUNNER-RESULT "


def kernel_runners() -> dict[str, Callable[[Clinics, np.ndarray], int]]:
    """Return the kernels a raw process can run, by name, as :mod:`bench_kernel` runners."""
    kb = kernel_bench()
    return {
        "run_courses": kb.whole_courses(run_courses),
        "run_courses_parallel": kb.whole_courses(run_courses_parallel),
        "run_session": kb.by_sessions(run_session),
        "run_session_parallel": kb.by_sessions(run_session_parallel),
    }


SERIAL_KERNELS = ("run_courses", "run_session")


@dataclass
class Sizes:
    """Sizes of one benchmark run."""

    points: int = 2_000
    courses: int = 5
    sweep_dyad_sessions: float = TARGET_SWEEP_DYAD_SESSIONS
    panel_dyad_sessions: float = 4e6
    memory_replicates: int = 2


RECORDS = {"dyads": ["dyads"], "sessions": ["dyads", "sessions"], "clinics": ["clinics"]}
"""What a benchmark sweep records, by short name."""


def spec_for(points: int, replicates: int, record: str = "dyads") -> SweepSpec:
    """Return the benchmark's sweep: an LHS design over three clinician traits."""
    return from_dict(
        {
            "experiment": {
                "name": "bench_runner",
                "seed": SEED,
                "replicates": replicates,
                "record": RECORDS[record],
            },
            "clinic": dict(CLINIC),
            "design": {
                "kind": "lhs",
                "samples": points,
                "seed": 1,
                "parameters": {name: {"low": 0.2, "high": 0.8} for name in VARIED},
            },
        }
    )


def chunk_task(spec: SweepSpec, index: int) -> ChunkTask:
    """Return the sweep's ``index``-th chunk as the runner plans it."""
    design = build_design(spec)
    layout = plan_layout(spec, design, None)
    return next(itertools.islice(plan_chunks(spec, design, layout, set(), Path(".")), index, None))


def chunk_clinic(task: ChunkTask) -> Clinics:
    """Build a chunk's clinics exactly as ``run_chunk`` (through ``simulate``) does."""
    n = len(task.point_ids)
    return build(
        task.params,
        task.seed,
        point_ids=task.point_ids,
        reps=np.full(n, task.rep),
        rows=np.arange(n),
    )


def chunks_per_replicate(points: int) -> int:
    """Return the chunks of one replicate of the benchmark's design (default chunk size)."""
    spec = spec_for(points, 1)
    layout = plan_layout(spec, build_design(spec), None)
    return -(-points // layout["points_per_chunk"])


def kernel_bench() -> ModuleType:
    """Return :mod:`bench_kernel` (its ``CpuMeter``, ``machine``, ``run_course``, ``verdict``).

    Imported on first use, not at the top: it imports Mesa, and every sweep's driver process
    imports this module, whereas ``alliance sweep`` imports Mesa inside ``run_sweep`` (for the
    manifest's versions), a cost the measured sweep must include.
    """
    return importlib.import_module("bench_kernel")


# --- reading memory from /proc -------------------------------------------------------------------


def status_mib(pid: int, name: str) -> float:
    """Return a ``/proc/<pid>/status`` memory field (``VmHWM``, ``VmRSS``) in MiB, or nan."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return math.nan


def pool_workers() -> list[int]:
    """Return the pids of this process's pool workers.

    Spawned workers are this process's children (``spawn_main`` in their command line); workers
    forked by the fork server are the server's children (it is this process's child, with
    ``forkserver`` in its command line, which its forks share).
    """
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
    me = os.getpid()
    servers = {
        pid for pid, parent in parents.items() if parent == me and b"forkserver" in commands[pid]
    }
    return sorted(
        pid
        for pid, parent in parents.items()
        if (parent == me and b"spawn_main" in commands[pid]) or parent in servers
    )


def directory_bytes(root: Path) -> int:
    """Return the total size of the files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# --- a. raw kernel: processes running the serial kernel over the sweep's chunks ------------------


def _kernel_process(
    spec: SweepSpec, index: int, kernel: str, courses: int, barrier: Any, results: Any
) -> None:
    """Warm up, wait for the others, then run ``courses`` full courses of chunk ``index``.

    Each course runs on a freshly built clinic, as each chunk of a sweep does; building and the
    kernel are timed apart.
    """
    try:
        run_course = kernel_runners()[kernel]
        task = chunk_task(spec, index)
        warm = chunk_clinic(task)
        run_course(warm, warm.dyads[:1_000].copy())  # compile or load from the cache
        del warm
        barrier.wait(timeout=600)
        seconds, build_seconds = [], []
        total = dyads = 0
        start = time.monotonic()
        for _ in range(courses):
            tick = time.perf_counter()
            clinic = chunk_clinic(task)
            tock = time.perf_counter()
            total = run_course(clinic, clinic.dyads)
            seconds.append(time.perf_counter() - tock)
            build_seconds.append(tock - tick)
            dyads = len(clinic.dyads)
            del clinic
        results.put(
            {
                "index": index,
                "dyads": dyads,
                "dyad_sessions": total,
                "seconds": seconds,
                "build_seconds": build_seconds,
                "span": [start, time.monotonic()],
                "threads": numba.get_num_threads(),
            }
        )
    except Exception:
        barrier.abort()
        results.put({"index": index, "error": traceback.format_exc()})


def raw_kernel(spec: SweepSpec, kernel: str, processes: int, courses: int) -> dict[str, Any]:
    """Run ``kernel`` in ``processes`` spawned processes at once, chunk ``i`` in process ``i``.

    Returns
    -------
    dict
        Per-process figures and the aggregates: ``sustained_rate`` (sum over processes of all
        their dyad-sessions over all their kernel time), ``best_rate`` (sum of each process's
        fastest course), ``with_build_rate`` (as sustained, building the clinics counted too),
        ``build_dyads_rate`` (dyads built per second and process), ``overlap`` (the share of the
        longest span during which all processes were running courses) and ``other_load``.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=_kernel_process, args=(spec, i, kernel, courses, barrier, results))
        for i in range(processes)
    ]
    meter = kernel_bench().CpuMeter()
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=1_800) for _ in workers]
    except queue.Empty:
        raise RuntimeError(f"raw kernel ({kernel}) processes did not report in 30 min") from None
    finally:
        for worker in workers:
            worker.join(timeout=60)
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise RuntimeError(f"raw kernel ({kernel}) process failed:\n{errors[0]}")
    reports.sort(key=lambda r: r["index"])
    spans = [r["span"] for r in reports]
    common = min(s[1] for s in spans) - max(s[0] for s in spans)
    longest = max(s[1] - s[0] for s in spans)
    for r in reports:
        done = r["dyad_sessions"] * len(r["seconds"])
        r["sustained_rate"] = done / sum(r["seconds"])
        r["best_rate"] = r["dyad_sessions"] / min(r["seconds"])
        r["with_build_rate"] = done / (sum(r["seconds"]) + sum(r["build_seconds"]))
        r["build_dyads_rate"] = r["dyads"] * len(r["seconds"]) / sum(r["build_seconds"])
    return {
        "kernel": kernel,
        "processes": processes,
        "threads": reports[0]["threads"],
        "courses": courses,
        "dyads": reports[0]["dyads"],
        "dyad_sessions": [r["dyad_sessions"] for r in reports],
        "seconds": [r["seconds"] for r in reports],
        "build_seconds": [r["build_seconds"] for r in reports],
        "sustained_rate": sum(r["sustained_rate"] for r in reports),
        "best_rate": sum(r["best_rate"] for r in reports),
        "with_build_rate": sum(r["with_build_rate"] for r in reports),
        "per_process_sustained_rate": [r["sustained_rate"] for r in reports],
        "build_dyads_rate": float(np.mean([r["build_dyads_rate"] for r in reports])),
        "overlap": max(0.0, common) / longest if longest > 0 else math.nan,
        "other_load": meter.other_load(),
    }


# --- b. sweeps, each in a fresh driver process ---------------------------------------------------


def sweep_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep in this (fresh) process and return its timings and memory peaks."""
    spec = spec_for(job["points"], job["replicates"], job["record"])
    out = Path(job["out"])
    driver_before = status_mib(os.getpid(), "VmRSS")
    start = time.perf_counter()
    with open_executor(workers=job["workers"]) as executor:
        outcome = run_sweep(spec, out, executor=executor)
        worker_peaks = {pid: status_mib(pid, "VmHWM") for pid in pool_workers()}
    wall = time.perf_counter() - start
    stop_fork_server()
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    receipts = [r for r in Store(out).receipts() if r.get("status") == "ok"]
    return {
        "replicates": spec.replicates,
        "record": job["record"],
        "workers": job["workers"],
        "chunks": outcome.planned,
        "done": outcome.done,
        "failed": len(outcome.failed),
        "first_error": outcome.failed[0][1] if outcome.failed else None,
        "dyad_sessions": outcome.dyad_sessions,
        "dyads": sum(r.get("dyads", r["rows"]) for r in receipts),
        "rows": sum(r["rows"] for r in receipts),
        "wall_seconds": wall,
        "run_sweep_seconds": outcome.seconds,
        "chunk_seconds": [r["seconds"] for r in receipts],
        "chunk_workers": [r["worker"] for r in receipts],
        "chunk_timings": [r["timings"] for r in receipts],
        "bytes_written": directory_bytes(out),
        "driver_rss_before_mib": driver_before,
        "driver_peak_mib": status_mib(os.getpid(), "VmHWM"),
        "worker_peaks_mib": list(worker_peaks.values()),
        "children_maxrss_mib": children_peak,
    }


def stop_fork_server() -> None:
    """Stop the workers' fork server and reap it, if there is one.

    Its workers are its children, not this process's: only once it has been reaped do their CPU
    time and peak memory count among this process's children (and so, in turn, among the
    benchmark's, whose other-load meter would otherwise see the sweep itself as other load).
    Uses the standard library's private ``_stop``; without it the figures say so.
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        stop()


def child_entry() -> None:
    """Entry point of a fresh driver process: a job on stdin, the result on stdout."""
    job = json.loads(sys.stdin.read())
    print(RESULT_MARK + json.dumps(sweep_job(job)), flush=True)


def measure_sweep(
    label: str, points: int, replicates: int, record: str, scratch: Path
) -> dict[str, Any]:
    """Run one sweep in a fresh ``python -c`` driver process; delete its output afterwards."""
    out = scratch / label.replace(" ", "-")
    job = {
        "points": points,
        "replicates": replicates,
        "record": record,
        "workers": WORKERS,
        "out": str(out),
    }
    # As `alliance sweep` does: start the workers' fork server first, then import the rest.
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); "
        "from experiments.runner.pool import start_pool_server; start_pool_server(); "
        "from bench_runner import child_entry; child_entry()"
    )
    meter = kernel_bench().CpuMeter()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=3_600,
        check=False,
    )
    process_seconds = time.perf_counter() - start
    other_load = meter.other_load()
    shutil.rmtree(out, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:]) or "(no output)"
        raise RuntimeError(f"sweep '{label}' exited {done.returncode}:\n{tail}")
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    result.update(
        label=label,
        points=points,
        process_seconds=process_seconds,
        other_load=other_load,
        rate=result["dyad_sessions"] / result["wall_seconds"],
        run_sweep_rate=result["dyad_sessions"] / result["run_sweep_seconds"],
    )
    if result["failed"]:
        raise RuntimeError(
            f"sweep '{label}': {result['failed']} chunks failed, first: {result['first_error']}"
        )
    return result


def time_budget(sweep: dict[str, Any]) -> dict[str, Any]:
    """Split the workers' time (workers x wall) into kernel, building, rest of chunks, outside.

    Kernel and building times are what the workers timed in each chunk (the receipts'
    ``timings``), so a machine whose speed drifts between the raw measurement and the sweep does
    not move the overhead. The rest of a chunk's time is its summary table, Parquet file and
    receipt. Outside chunks is everything else: process start-up (spawn, imports, Numba cache
    loading), waiting for work, idle workers at the end and shutdown, in seconds per worker too.
    """
    workers = sweep["workers"]
    available = workers * sweep["wall_seconds"]
    in_chunks = sum(sweep["chunk_seconds"])
    kernel = sum(t["kernel"] for t in sweep["chunk_timings"])
    building = sum(t["build"] for t in sweep["chunk_timings"])
    per_worker = [
        sweep["wall_seconds"]
        - sum(
            s
            for s, w in zip(sweep["chunk_seconds"], sweep["chunk_workers"], strict=True)
            if w == pid
        )
        for pid in sorted(set(sweep["chunk_workers"]))
    ]
    per_worker += [sweep["wall_seconds"]] * (workers - len(per_worker))  # workers without work
    return {
        "overhead_us_per_dyad": (available - kernel) / sweep["dyads"] * 1e6,
        "chunk_overhead_us_per_dyad": (in_chunks - kernel) / sweep["dyads"] * 1e6,
        "kernel": kernel / available,
        "build": building / available,
        "chunk_other": (in_chunks - kernel - building) / available,
        "outside_chunks": 1.0 - in_chunks / available,
        "outside_seconds_per_worker": per_worker,
        "chunk_seconds_median": float(np.median(sweep["chunk_seconds"])),
        "first_chunk_seconds": sweep["chunk_seconds"][0] if sweep["chunk_seconds"] else 0.0,
    }


def round_figures(one: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """Return one round's time budgets and ratios, each sweep against the round's raw figure."""
    raw, sweeps = one["raw"], one["sweeps"]
    rate, with_build = raw["sustained_rate"], raw["with_build_rate"]
    budgets = {label: time_budget(sweep) for label, sweep in sweeps.items()}
    clinics, clinics_long = sweeps["clinics"], sweeps["clinics long"]
    rows, rows_long = sweeps["dyads"], sweeps["dyads long"]
    return budgets, {
        "clinics_vs_raw": clinics["rate"] / rate,
        "clinics_long_vs_raw": clinics_long["rate"] / rate,
        "clinics_run_sweep_vs_raw": clinics["run_sweep_rate"] / rate,
        "clinics_long_run_sweep_vs_raw": clinics_long["run_sweep_rate"] / rate,
        "clinics_vs_raw_with_build": clinics["rate"] / with_build,
        "clinics_long_vs_raw_with_build": clinics_long["rate"] / with_build,
        "clinics_chunk_kernel_share": (
            budgets["clinics long"]["kernel"] / (1.0 - budgets["clinics long"]["outside_chunks"])
        ),
        "sweep_vs_raw": rows["rate"] / rate,
        "sweep_vs_raw_with_build": rows["rate"] / with_build,
        "rows_rate": rows["rate"],
        "rows_long_rate": rows_long["rate"],
        "rows_overhead_us_per_dyad": budgets["dyads"]["overhead_us_per_dyad"],
        "rows_chunk_overhead_us_per_dyad": budgets["dyads"]["chunk_overhead_us_per_dyad"],
        "rows_long_overhead_us_per_dyad": budgets["dyads long"]["overhead_us_per_dyad"],
    }


def wait_for_quiet(limit: float, quiet_seconds: int = 3) -> float:
    """Wait until other processes use under ``BUSY_MACHINE_LOAD`` cores for ``quiet_seconds`` s.

    Gives up after ``limit`` seconds (0: do not wait). Returns the seconds waited.
    """
    kb = kernel_bench()
    start = time.perf_counter()
    quiet = 0
    while quiet < quiet_seconds and time.perf_counter() - start < limit:
        meter = kb.CpuMeter()
        time.sleep(1.0)
        quiet = quiet + 1 if meter.other_load() < kb.BUSY_MACHINE_LOAD else 0
    waited = time.perf_counter() - start
    if limit > 0 and quiet < quiet_seconds:
        print(f"  (machine still busy after waiting {waited:.0f} s; measuring anyway)", flush=True)
    return waited


def when_quiet(
    limit: float, measure: Callable[..., dict[str, Any]], *args: Any, attempts: int = 3
) -> dict[str, Any]:
    """Return ``measure(*args)``, taken when the machine is quiet if ``limit`` > 0.

    With ``limit`` > 0, waits up to ``limit`` seconds for quiet before each attempt and measures
    again (up to ``attempts`` times in all) while the result's ``other_load`` shows a disturbance.
    """
    busy = kernel_bench().BUSY_MACHINE_LOAD
    for attempt in range(1, attempts + 1):
        wait_for_quiet(limit)
        result = measure(*args)
        if limit <= 0 or result["other_load"] <= busy or attempt == attempts:
            return result
        print(
            f"  (disturbed: other load {result['other_load']:.2f} cores; measuring again)",
            flush=True,
        )
    raise AssertionError("unreachable")


# --- reporting -----------------------------------------------------------------------------------


def print_kernel_table(rows: Sequence[dict[str, Any]]) -> None:
    """Print the raw kernel table."""
    print(
        f"{"raw kernel on the sweep's chunks":<46}{'dyads/proc':>11}{'dyad-sessions':>15}"
        f"{'kernel s':>10}{'sustained /s':>14}{'best /s':>13}{'+ build /s':>13}{'overlap':>9}"
        f"{'other load':>12}"
    )
    for r in rows:
        threads = 1 if r["kernel"] in SERIAL_KERNELS else r["threads"]
        name = (
            f"{r['processes']} process{'es' if r['processes'] > 1 else ''} x "
            f"{r['kernel']} ({threads} thread{'s' if threads > 1 else ''})"
        )
        total = sum(d * len(s) for d, s in zip(r["dyad_sessions"], r["seconds"], strict=True))
        seconds = max(sum(s) for s in r["seconds"])
        print(
            f"{name:<46}{r['dyads']:>11,}{total:>15,}{seconds:>10.2f}"
            f"{r['sustained_rate']:>14,.0f}{r['best_rate']:>13,.0f}{r['with_build_rate']:>13,.0f}"
            f"{r['overlap']:>9.2f}{r['other_load']:>12.2f}"
        )
    print(
        "(sustained: all courses' dyad-sessions over their kernel time, summed over processes; "
        "+ build: building each\n course's fresh clinic counted too; overlap: share of the span "
        "all processes were running courses at once)"
    )


def print_sweep_table(sweeps: Sequence[dict[str, Any]], raw_rate: float) -> None:
    """Print the sweep table."""
    print(
        f"{'sweep (2 workers)':<22}{'reps':>5}{'chunks':>7}{'dyad-sessions':>15}{'wall s':>8}"
        f"{'rate /s':>13}{'/ raw':>7}{'command s':>10}{'MB out':>8}{'driver MiB':>11}"
        f"{'worker MiB':>11}{'other load':>11}"
    )
    for s in sweeps:
        worker = max(s["worker_peaks_mib"], default=math.nan)
        print(
            f"{s['label']:<22}{s['replicates']:>5}{s['chunks']:>7}{s['dyad_sessions']:>15,}"
            f"{s['wall_seconds']:>8.2f}{s['rate']:>13,.0f}{s['rate'] / raw_rate:>7.2f}"
            f"{s['process_seconds']:>10.2f}{s['bytes_written'] / 1e6:>8.0f}"
            f"{s['driver_peak_mib']:>11.0f}{worker:>11.0f}{s['other_load']:>11.2f}"
        )
    print(
        "(wall: opening the executor to its shutdown, worker start-up included, as far as the\n"
        " fork server, started first as `alliance sweep` does, has not finished warming up;\n"
        " command: the whole driver process, interpreter start and imports included;\n"
        " MiB: peak RSS, VmHWM; worker: the larger of the two)"
    )


def print_ratio(label: str, value: float, target: str, status: str) -> None:
    """Print one ratio with its target."""
    print(f"  {label:<52}{value:>8.2f}   target {target:<10}{status}")


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Sizes]:
    """Parse the command line into options and sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sweeps for a smoke run (the targets' sizes are not reached)",
    )
    parser.add_argument(
        "--dyad-sessions",
        type=float,
        metavar="N",
        help="at least this many dyad-sessions in the main sweep (default 20e6; --quick 5e6)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measurement, wait up to SECONDS for other processes "
        f"to use under {kernel_bench().BUSY_MACHINE_LOAD} cores for 3 s, "
        "and measure again (twice at most) if they did not stay quiet "
        "(default 0: no wait)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="K",
        help="rounds of the targets' sweeps, each after its own raw kernel measurement; the "
        "targets are judged on the median over rounds (default 3; --quick 1)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    sizes = (
        Sizes(
            points=1_000,
            courses=2,
            sweep_dyad_sessions=5e6,
            panel_dyad_sessions=1e6,
            memory_replicates=1,
        )
        if args.quick
        else Sizes()
    )
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.dyad_sessions is not None:
        if args.dyad_sessions <= 0:
            parser.error("--dyad-sessions must be positive")
        sizes.sweep_dyad_sessions = args.dyad_sessions
    return args, sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the raw kernel and the sweeps, print the tables and targets, optionally JSON."""
    args, sizes = parse_args(argv)
    kb = kernel_bench()
    run_meter = kb.CpuMeter()
    info = kb.machine() | {"pandas": pd.__version__, "pyarrow": pyarrow.__version__}
    print(
        f"machine: {info['cpu']}; {info['cores']} cores ({info['cores_available']} available); "
        f"{WORKERS} workers"
    )
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
        f"pandas {info['pandas']}, pyarrow {info['pyarrow']}"
    )
    probe = kb.CpuMeter()
    time.sleep(1.0)
    load_before = probe.other_load()
    print(
        f"other load before starting: {load_before:.2f} cores (1 s sample)"
        + ("  -- WARNING: machine busy" if load_before > kb.BUSY_MACHINE_LOAD else "")
    )
    per_rep = chunks_per_replicate(sizes.points)
    print(
        f"workload: LHS design of {sizes.points:,} points ({', '.join(VARIED)} in [0.2, 0.8]), "
        f"clinics of {CLINIC['n_clinicians']} x {CLINIC['patients_per_clinician']} dyads, "
        f"max_sessions {CLINIC['max_sessions']}; default chunk size, {per_rep} chunk(s) of "
        f"dyads per replicate\n",
        flush=True,
    )

    # Fill the Numba cache first so no measured process compiles.
    small = chunk_clinic(chunk_task(spec_for(5, 1), 0))
    for run_course in kernel_runners().values():
        run_course(small, small.dyads.copy())
    simulate(small.params, seed=SEED, record_sessions=True)

    kernel_spec = spec_for(sizes.points, WORKERS)
    raw = when_quiet(
        args.wait_quiet, raw_kernel, kernel_spec, "run_courses", WORKERS, sizes.courses
    )
    single = when_quiet(args.wait_quiet, raw_kernel, kernel_spec, "run_courses", 1, sizes.courses)
    session_kernel = when_quiet(
        args.wait_quiet, raw_kernel, kernel_spec, "run_session", WORKERS, sizes.courses
    )
    threaded = when_quiet(
        args.wait_quiet, raw_kernel, kernel_spec, "run_courses_parallel", 1, sizes.courses
    )
    print_kernel_table([raw, single, session_kernel, threaded])
    raw_rate = raw["sustained_rate"]
    per_chunk = float(np.mean(raw["dyad_sessions"]))
    print(
        f"two processes / one process: {raw_rate / single['sustained_rate']:.2f}x; "
        f"two processes / two threads: {raw_rate / threaded['sustained_rate']:.2f}x; "
        f"course kernel / session kernel: {raw_rate / session_kernel['sustained_rate']:.2f}x\n",
        flush=True,
    )

    def replicates_for(target: float, chunks: int) -> int:
        return max(1, math.ceil(target / (per_chunk * chunks)))

    main_replicates = replicates_for(sizes.sweep_dyad_sessions, per_rep)
    timed = [  # the targets' sweeps: run once per round, each round against its own raw figure
        ("clinics", main_replicates, "clinics"),
        ("clinics long", main_replicates * LONG_FACTOR, "clinics"),
        ("dyads", main_replicates, "dyads"),
        ("dyads long", main_replicates * LONG_FACTOR, "dyads"),
    ]
    once = [
        ("dyads + sessions", replicates_for(sizes.panel_dyad_sessions, per_rep), "sessions"),
        ("memory small", sizes.memory_replicates, "dyads"),
        ("memory large", sizes.memory_replicates * MEMORY_FACTOR, "dyads"),
    ]
    rounds: list[dict[str, Any]] = []
    others: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        scratch = Path(tmp)
        for k in range(args.repeats):
            if k:
                print(f"  round {k + 1}: raw kernel again ...", flush=True)
            round_raw = (
                raw
                if k == 0
                else when_quiet(
                    args.wait_quiet, raw_kernel, kernel_spec, "run_courses", WORKERS, sizes.courses
                )
            )
            round_sweeps = {}
            for label, replicates, record in timed:
                print(f"  running sweep '{label}' ({replicates} replicates) ...", flush=True)
                round_sweeps[label] = when_quiet(
                    args.wait_quiet, measure_sweep, label, sizes.points, replicates, record, scratch
                )
            rounds.append({"raw": round_raw, "sweeps": round_sweeps})
        for label, replicates, record in once:
            print(f"  running sweep '{label}' ({replicates} replicates) ...", flush=True)
            others[label] = when_quiet(
                args.wait_quiet, measure_sweep, label, sizes.points, replicates, record, scratch
            )
    last_raw = rounds[-1]["raw"]
    for k, one in enumerate(rounds):
        rate = one["raw"]["sustained_rate"]
        print(f"\nround {k + 1} of {len(rounds)}: raw 2 x run_courses {rate:,.0f} dyad-sessions/s")
        print_sweep_table(list(one["sweeps"].values()), rate)
        one["budgets"], one["ratios"] = round_figures(one)
    print(
        f"\nonce, against the last round's raw figure ({last_raw['sustained_rate']:,.0f} "
        "dyad-sessions/s)"
    )
    print_sweep_table(list(others.values()), last_raw["sustained_rate"])

    print(
        "\nwhere the workers' time went (share of workers x wall; kernel and building as the "
        "workers timed them in each chunk)"
    )
    print(
        f"  {'sweep':<20}{'kernel':>8}{'build':>8}{'rest of chunk':>15}{'outside':>9}"
        f"{'outside s/worker':>18}{'chunk s (1st, median)':>23}{'us/dyad (all, chunks)':>23}"
    )
    budgets = {label: time_budget(sweep) for label, sweep in others.items()}
    rows = [
        (f"{label} #{k + 1}" if len(rounds) > 1 else label, budget)
        for k, one in enumerate(rounds)
        for label, budget in one["budgets"].items()
    ] + list(budgets.items())
    for label, budget in rows:
        outside = ", ".join(f"{x:.2f}" for x in budget["outside_seconds_per_worker"])
        chunk_s = f"{budget['first_chunk_seconds']:.2f}, {budget['chunk_seconds_median']:.2f}"
        per_dyad = (
            f"{budget['overhead_us_per_dyad']:.2f}, {budget['chunk_overhead_us_per_dyad']:.2f}"
        )
        print(
            f"  {label:<20}{budget['kernel']:>8.1%}{budget['build']:>8.1%}"
            f"{budget['chunk_other']:>15.1%}{budget['outside_chunks']:>9.1%}"
            f"{outside:>18}{chunk_s:>23}{per_dyad:>23}"
        )
    print(
        "  (build: sim.core.state.build of each chunk's clinics; rest of chunk: summary table "
        "or clinic outcomes, Parquet,\n   receipt; outside: worker start-up (spawn, imports, "
        "Numba cache), waiting on the driver, idle at the end,\n   shutdown; us/dyad: workers' "
        "time outside the kernel per dyad simulated, all of it and inside chunks only)"
    )

    per_round = {key: [one["ratios"][key] for one in rounds] for key in rounds[0]["ratios"]}
    ratios: dict[str, float] = {key: float(np.median(v)) for key, v in per_round.items()}
    small_sweep, large_sweep = others["memory small"], others["memory large"]
    clinics = rounds[0]["sweeps"]["clinics"]
    clinics_long = rounds[0]["sweeps"]["clinics long"]
    main_sweep, rows_long = rounds[0]["sweeps"]["dyads"], rounds[0]["sweeps"]["dyads long"]
    ratios |= {
        "sweep_with_sessions_vs_raw": others["dyads + sessions"]["rate"]
        / last_raw["sustained_rate"],
        "large_sweep_vs_raw": large_sweep["rate"] / last_raw["sustained_rate"],
        "chunk_kernel_share": (
            budgets["memory large"]["kernel"] / (1.0 - budgets["memory large"]["outside_chunks"])
        ),
        "memory_driver": large_sweep["driver_peak_mib"] / small_sweep["driver_peak_mib"],
        "memory_worker": (
            max(large_sweep["worker_peaks_mib"], default=math.nan)
            / max(small_sweep["worker_peaks_mib"], default=math.nan)
        ),
        "memory_children_maxrss": (
            large_sweep["children_maxrss_mib"] / small_sweep["children_maxrss_mib"]
            if small_sweep["children_maxrss_mib"]
            else math.nan
        ),
        "memory_clinics_worker": max(
            max(one["sweeps"]["clinics long"]["worker_peaks_mib"], default=math.nan)
            / max(one["sweeps"]["clinics"]["worker_peaks_mib"], default=math.nan)
            for one in rounds
        ),
    }

    def print_rounds(
        label: str,
        key: str,
        target: str,
        at_least: float | None = None,
        at_most: float | None = None,
        scale: float = 1.0,
    ) -> None:
        """Print a per-round figure: the median over rounds (judged), then best and each round."""
        values = [v * scale for v in per_round[key]]
        median = ratios[key] * scale
        if at_least is not None:
            status = kb.verdict(median, at_least * scale)
        elif at_most is not None:
            status = kb.verdict(median, at_most * scale, at_most=True)
        else:
            status = ""
        print_ratio(label, median, target, status)
        if len(values) > 1:
            best = min(values) if at_most is not None else max(values)
            each = ", ".join(f"{v:.2f}" for v in values)
            print(f"      (median of {len(values)} rounds; best {best:.2f}; rounds: {each})")

    print(f"\ntargets (each judged on the median of its {len(rounds)} round(s))")
    for sweep, key in ((clinics, "clinics_vs_raw"), (clinics_long, "clinics_long_vs_raw")):
        big_enough = sweep["dyad_sessions"] >= TARGET_SWEEP_DYAD_SESSIONS
        print_rounds(
            f"clinics sweep of {sweep['dyad_sessions'] / 1e6:.1f} M / raw 2 x run_courses"
            + ("" if big_enough else " (below 20 M)"),
            key,
            ">= 0.85",
            at_least=TARGET_SWEEP_VS_RAW,
        )
        print_rounds(
            "  same, timed by run_sweep itself (pool already open)",
            key.replace("_vs_raw", "_run_sweep_vs_raw"),
            "(info)",
        )
        print_rounds(
            "  same, against raw kernel + building the clinics", f"{key}_with_build", "(info)"
        )
    print_rounds(
        "kernel share of a clinics chunk's time (their ceiling)",
        "clinics_chunk_kernel_share",
        "(info)",
    )
    for sweep, key in ((main_sweep, "rows_rate"), (rows_long, "rows_long_rate")):
        print_rounds(
            f"per-dyad rows, {sweep['dyad_sessions'] / 1e6:.1f} M sweep: M dyad-sessions/s",
            key,
            ">= 15",
            at_least=TARGET_ROWS_RATE,
            scale=1e-6,
        )
    for key, label in (
        ("rows_overhead_us_per_dyad", f"{main_sweep['dyad_sessions'] / 1e6:.1f} M, all-in"),
        ("rows_chunk_overhead_us_per_dyad", f"{main_sweep['dyad_sessions'] / 1e6:.1f} M, chunks"),
        ("rows_long_overhead_us_per_dyad", f"{rows_long['dyad_sessions'] / 1e6:.1f} M, all-in"),
    ):
        print_rounds(
            f"  or us per dyad written per worker ({label})",
            key,
            "<= 0.7",
            at_most=TARGET_ROWS_OVERHEAD_US,
        )
    print_rounds("per-dyad rows sweep / raw 2 x run_courses", "sweep_vs_raw", "(info)")
    print_ratio(
        "sweep with per-session panel / raw", ratios["sweep_with_sessions_vs_raw"], "(info)", ""
    )
    print_ratio(
        f"memory-large sweep ({large_sweep['dyad_sessions'] / 1e6:.0f} M) / raw",
        ratios["large_sweep_vs_raw"],
        "(info)",
        "",
    )
    print_ratio(
        f"peak RSS, clinics {LONG_FACTOR}x replicates / 1x: largest worker",
        ratios["memory_clinics_worker"],
        "(info)",
        "",
    )
    for key, label in (
        ("memory_driver", "driver"),
        ("memory_worker", "largest worker"),
        ("memory_children_maxrss", "RUSAGE_CHILDREN maxrss"),
    ):
        if key == "memory_children_maxrss" and not small_sweep["children_maxrss_mib"]:
            print(
                "  (RUSAGE_CHILDREN: workers forked by the fork server are not this process's "
                "children)"
            )
            continue
        print_ratio(
            f"peak RSS, {MEMORY_FACTOR}x replicates / 1x: {label}",
            ratios[key],
            "<= 1.2",
            kb.verdict(ratios[key], TARGET_MEMORY_GROWTH, at_most=True),
        )
    print(
        f"  (driver {small_sweep['driver_peak_mib']:.0f} -> {large_sweep['driver_peak_mib']:.0f}"
        f" MiB, of which {small_sweep['driver_rss_before_mib']:.0f} / "
        f"{large_sweep['driver_rss_before_mib']:.0f} MiB before the sweep; workers "
        f"{', '.join(f'{m:.0f}' for m in small_sweep['worker_peaks_mib'])} -> "
        f"{', '.join(f'{m:.0f}' for m in large_sweep['worker_peaks_mib'])} MiB)"
    )

    other_load = run_meter.other_load()
    measurements = [single, session_kernel, threaded, *others.values()]
    for one in rounds:
        measurements += [one["raw"], *one["sweeps"].values()]
    worst = max(r["other_load"] for r in measurements)
    print(
        f"\nother processes kept {other_load:.2f} cores busy on average during this run"
        + (" (waits for quiet included)" if args.wait_quiet > 0 else "")
        + f"; {worst:.2f} at most during a measurement"
    )
    if worst > kb.BUSY_MACHINE_LOAD:
        print(
            "WARNING: the machine was not quiet; figures are disturbed. Rerun when nothing "
            "else is running."
        )
    if args.json is not None:
        report = {
            "machine": info,
            "sizes": sizes.__dict__,
            "seed": SEED,
            "workers": WORKERS,
            "clinic": CLINIC,
            "varied": VARIED,
            "platform": platform.platform(),
            "other_load_before": load_before,
            "other_load": other_load,
            "other_load_worst_measurement": worst,
            "raw_kernel": {
                "two_processes": raw,
                "one_process": single,
                "two_processes_session_kernel": session_kernel,
                "parallel_one_process": threaded,
            },
            "rounds": rounds,
            "sweeps_once": others,
            "time_budgets_once": budgets,
            "ratios": ratios,
            "ratios_per_round": per_round,
            "targets": {
                "sweep_dyad_sessions": TARGET_SWEEP_DYAD_SESSIONS,
                "clinics_vs_raw": TARGET_SWEEP_VS_RAW,
                "rows_rate": TARGET_ROWS_RATE,
                "rows_overhead_us_per_dyad": TARGET_ROWS_OVERHEAD_US,
                "memory_growth": TARGET_MEMORY_GROWTH,
                "memory_factor": MEMORY_FACTOR,
            },
        }
        kernel_bench().write_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
