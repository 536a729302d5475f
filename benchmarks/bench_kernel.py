"""Throughput of the session kernel against its peers, in one run on one machine.

Run ``make bench`` (or ``.venv/bin/python benchmarks/bench_kernel.py``; ``--quick`` for a short
run, ``--json PATH`` to keep the figures). The unit is the *dyad-session*: one active dyad taken
through one session (steps 1-12 of docs/MODEL.md). Every implementation runs whole courses of
treatment (session 1 to ``max_sessions``, or until nobody is active), so dyads that end early stop
costing work exactly as they do in real runs, and only active dyads are counted.

Measured, each the best of a few repetitions on a fresh copy of the clinic, after a warm-up:

a. ``sim.core.kernels.run_session``: the Numba session kernel, one thread;
b. ``sim.core.kernels.run_session_parallel`` with every Numba thread, and with one thread;
b'. ``sim.core.kernels.run_courses`` (one thread) and ``run_courses_parallel`` (every thread): the
   course kernel the batch path runs, whole courses in one call, vectorised across dyads;
c. :mod:`mesa_peer`: the model's own phases (``sim.core.equations``) run in plain Python by an
   idiomatic per-agent Mesa model;
d. ``sim.model.AllianceModel`` (Mesa model with its DataCollector) against the bare kernel on the
   same clinic;
e. the ``alliance run`` command, cold (empty Numba cache) and warm.

There is no NumPy reference any more (it was a second, hand-kept copy of the equations, and with
the equations written once as phases such a copy is no longer worth its upkeep): the plain-Python
peer, which runs the very phase functions the kernels are generated from, is now the reference
the kernels are compared with.

Targets are printed beside the figures; none is asserted (these are measurements, not tests).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numba
import numpy as np
from mesa_peer import PeerModel

from sim.core.kernels import run_courses, run_courses_parallel, run_session, run_session_parallel
from sim.core.params import ParameterError, check_value, resolve, to_row
from sim.core.state import Clinics, build

SEED = 20260101
PATIENTS_PER_CLINICIAN = 20

TARGET_KERNEL_RATE = 10e6
TARGET_PARALLEL_SPEEDUP = 1.8
TARGET_VS_MESA = 200.0
TARGET_MODEL_OVERHEAD = 2.0
TARGET_CLI_WARM_SECONDS = 5.0
BUSY_MACHINE_LOAD = 0.15
"""Average cores used by other processes above which the figures are flagged as disturbed."""

SessionFunction = Callable[[np.ndarray, np.ndarray, np.ndarray, int], int]
CourseRunner = Callable[[Clinics, np.ndarray], int]
"""Runs ``dyads`` (a copy of the clinic's) to the end of treatment; returns the dyad-sessions."""


@dataclass
class Sizes:
    """Clinic sizes and repetitions of one benchmark run."""

    kernel_patients: int = 200_000
    mesa_patients: int = 2_000
    model_patients: int = 10_000
    repeats: int = 5
    max_sessions: int | None = None


@dataclass
class Measurement:
    """Timings of repeated full courses of one implementation.

    Attributes
    ----------
    name : str
        What was run.
    patients : int
        Dyads in the clinic.
    dyad_sessions : int
        Active dyads advanced over one course (the same in every repetition).
    seconds : list of float
        Wall time of each repetition's course.
    other_load : float
        Cores kept busy by other processes meanwhile, on average (see :class:`CpuMeter`).
    """

    name: str
    patients: int
    dyad_sessions: int
    seconds: list[float] = field(default_factory=list)
    other_load: float = math.nan

    @property
    def best_rate(self) -> float:
        """Dyad-sessions per second of the fastest repetition."""
        return self.dyad_sessions / min(self.seconds)

    @property
    def median_rate(self) -> float:
        """Dyad-sessions per second of the median repetition."""
        return self.dyad_sessions / statistics.median(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        """Return the measurement as plain data for JSON."""
        return {
            "name": self.name,
            "patients": self.patients,
            "dyad_sessions": self.dyad_sessions,
            "seconds": self.seconds,
            "best_rate": self.best_rate,
            "median_rate": self.median_rate,
            "other_load": self.other_load,
        }


class CpuMeter:
    """How busy the rest of the machine was while something ran.

    Timings on a shared machine are only meaningful when nothing else competes for the cores
    (a parallel kernel with one thread descheduled waits at every barrier). The meter reads the
    system's busy time from ``/proc/stat`` and subtracts this process's own CPU time (and its
    finished children's), giving the average number of cores that *other* processes used.
    ``nan`` where ``/proc/stat`` does not exist.
    """

    def __init__(self) -> None:
        self.start = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float, float]:
        own = os.times()
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(x) for x in stat.readline().split()[1:]]
            # user nice system idle iowait irq softirq steal: busy excludes idle and iowait
            busy = (sum(ticks[:3]) + sum(ticks[5:8])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            busy = math.nan
        mine = own.user + own.system + own.children_user + own.children_system
        return time.perf_counter(), busy, mine

    def other_load(self) -> float:
        """Return the cores used by other processes since the meter started, on average."""
        wall0, busy0, mine0 = self.start
        wall1, busy1, mine1 = self._snapshot()
        return max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / max(wall1 - wall0, 1e-9))


# --- building clinics and timing courses ---------------------------------------------------------


def overrides_for(patients: int, max_sessions: int | None) -> dict[str, int]:
    """Return the parameter overrides of a clinic of about ``patients`` dyads."""
    values = {
        "n_clinicians": max(1, patients // PATIENTS_PER_CLINICIAN),
        "patients_per_clinician": PATIENTS_PER_CLINICIAN,
    }
    if max_sessions is not None:
        values["max_sessions"] = max_sessions
    return values


def build_clinic(patients: int, max_sessions: int | None) -> Clinics:
    """Build the default clinic of about ``patients`` dyads (multiple of the caseload)."""
    return build(to_row(resolve(overrides_for(patients, max_sessions))), SEED)


def run_course(step: SessionFunction, clinics: Clinics, dyads: np.ndarray) -> int:
    """Run sessions 1.. on ``dyads`` until nobody is active; return the dyad-sessions."""
    total = 0
    for session in range(1, clinics.max_sessions + 1):
        advanced = step(dyads, clinics.clinicians, clinics.params, session)
        if advanced == 0:
            break
        total += advanced
    return total


def by_sessions(step: SessionFunction) -> CourseRunner:
    """Return a runner that steps ``dyads`` session by session with ``step``."""
    return functools.partial(run_course, step)


def whole_courses(run: Callable[[np.ndarray, np.ndarray, np.ndarray], int]) -> CourseRunner:
    """Return a runner that hands ``dyads`` to a course kernel (whole courses in one call)."""
    return lambda clinics, dyads: int(run(dyads, clinics.clinicians, clinics.params))


def time_courses(name: str, run: CourseRunner, clinics: Clinics, repeats: int) -> Measurement:
    """Time ``repeats`` full courses of ``run``, each on a fresh copy of the clinic."""
    measurement = Measurement(name, len(clinics.dyads), 0)
    meter = CpuMeter()
    for _ in range(repeats):
        dyads = clinics.dyads.copy()
        start = time.perf_counter()
        total = run(clinics, dyads)
        measurement.seconds.append(time.perf_counter() - start)
        measurement.dyad_sessions = total
    measurement.other_load = meter.other_load()
    return measurement


def time_mesa_peer(patients: int, repeats: int, max_sessions: int | None) -> Measurement:
    """Time ``repeats`` full courses of the Mesa peer (construction not timed)."""
    overrides = overrides_for(patients, max_sessions)
    clinicians = overrides.pop("n_clinicians")
    caseload = overrides.pop("patients_per_clinician")
    measurement = Measurement("Mesa peer (per-agent Python)", clinicians * caseload, 0)
    meter = CpuMeter()
    for _ in range(repeats):
        model = PeerModel(clinicians, caseload, rng=SEED, overrides=overrides)
        total = 0
        start = time.perf_counter()
        while model.running:
            model.step()
            total += model.advanced
        measurement.seconds.append(time.perf_counter() - start)
        measurement.dyad_sessions = total
    measurement.other_load = meter.other_load()
    return measurement


def warm_up_kernels() -> None:
    """Compile (or load from cache) the session and course kernels."""
    small = build_clinic(200, None)
    runners = [
        *map(by_sessions, (run_session, run_session_parallel)),
        *map(whole_courses, (run_courses, run_courses_parallel)),
    ]
    for run in runners:
        run(small, small.dyads.copy())


# --- d. AllianceModel against the bare kernel ----------------------------------------------------


def bench_alliance_model(sizes: Sizes) -> dict[str, Any]:
    """Time stepping ``AllianceModel`` and the bare kernel on the same clinic.

    Returns
    -------
    dict
        ``available`` and, when it is, timings and the ratios model / bare kernel (serial model
        against ``run_session``; ``parallel=True`` against ``run_session_parallel``).
    """
    try:
        model_class = importlib.import_module("sim.model").AllianceModel
    except Exception as exc:  # a module being written may fail in any way; report, don't crash
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    overrides = overrides_for(sizes.model_patients, sizes.max_sessions)
    result: dict[str, Any] = {"available": True, "patients": 0, "variants": {}}
    try:
        warm = model_class(rng=SEED, **overrides_for(40, sizes.max_sessions))
        while warm.running:
            warm.step()
        for label, kwargs, kernel in (
            ("serial", {}, run_session),
            ("parallel", {"parallel": True}, run_session_parallel),
        ):
            variant = _time_model_variant(model_class, overrides, kwargs, kernel, sizes.repeats)
            if variant is not None:
                result["variants"][label] = variant
                result["patients"] = variant["patients"]
    except Exception as exc:
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return result


def _time_model_variant(
    model_class: type,
    overrides: dict[str, int],
    kwargs: dict[str, Any],
    kernel: SessionFunction,
    repeats: int,
) -> dict[str, Any] | None:
    model_seconds: list[float] = []
    build_seconds: list[float] = []
    kernel_seconds: list[float] = []
    dyad_sessions = 0
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            model = model_class(rng=SEED, **kwargs, **overrides)
        except TypeError:
            if kwargs:  # this AllianceModel has no such option
                return None
            raise
        build_seconds.append(time.perf_counter() - start)
        clinics = model.clinics
        initial = Clinics(clinics.dyads.copy(), clinics.clinicians.copy(), clinics.params.copy())
        steps_allowed = clinics.max_sessions + 1  # guard against a model that never stops
        start = time.perf_counter()
        while model.running and steps_allowed:
            model.step()
            steps_allowed -= 1
        model_seconds.append(time.perf_counter() - start)
        dyad_sessions = int(model.clinics.dyads["sessions"].sum())

        start = time.perf_counter()
        bare_total = run_course(kernel, initial, initial.dyads)
        kernel_seconds.append(time.perf_counter() - start)
        if bare_total != dyad_sessions:
            raise RuntimeError(
                f"AllianceModel ran {dyad_sessions} dyad-sessions, the bare "
                f"kernel {bare_total} on the same clinic"
            )
    return {
        "patients": len(initial.dyads),
        "dyad_sessions": dyad_sessions,
        "build_seconds": build_seconds,
        "model_seconds": model_seconds,
        "kernel_seconds": kernel_seconds,
        "kernel": kernel.__name__,
        "ratio": min(model_seconds) / min(kernel_seconds),
    }


# --- e. the command line, cold and warm ----------------------------------------------------------


def bench_cli() -> dict[str, Any]:
    """Time ``alliance run --out DIR`` with an empty Numba cache, then again with it filled."""
    executable = Path(sys.executable).with_name("alliance")
    command = str(executable) if executable.exists() else shutil.which("alliance")
    if command is None:
        return {"available": False, "reason": "no `alliance` console script found"}
    result: dict[str, Any] = {"available": True, "command": f"{command} run --out DIR"}
    with tempfile.TemporaryDirectory(prefix="alliance-bench-") as scratch:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(scratch) / "numba-cache"))
        for label in ("cold", "warm"):
            out = Path(scratch) / f"out-{label}"
            start = time.perf_counter()
            try:
                done = subprocess.run(
                    [command, "run", "--out", str(out)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return {**result, "available": False, "reason": f"{label} run timed out (900 s)"}
            result[f"{label}_seconds"] = time.perf_counter() - start
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                return {
                    **result,
                    "available": False,
                    "reason": f"{label} run exited {done.returncode}: {tail}",
                }
    return result


# --- reporting -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Return what the figures depend on: processor, cores, threads and versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
    }


def verdict(value: float, target: float, at_most: bool = False) -> str:
    """Return ``met`` or ``NOT met`` for a figure against its target."""
    ok = value <= target if at_most else value >= target
    return "met" if ok else "NOT met"


def print_table(measurements: Sequence[Measurement]) -> None:
    """Print the throughput table."""
    print(
        f"{'implementation':<44}{'dyads':>9}{'dyad-sessions':>15}{'best s':>10}"
        f"{'best /s':>13}{'median /s':>13}{'other load':>12}"
    )
    for m in measurements:
        print(
            f"{m.name:<44}{m.patients:>9,}{m.dyad_sessions:>15,}{min(m.seconds):>10.3f}"
            f"{m.best_rate:>13,.0f}{m.median_rate:>13,.0f}{m.other_load:>12.2f}"
        )
    print(
        "(dyad-sessions: active dyads advanced over one full course; other load: cores "
        "used by other processes meanwhile)"
    )


def print_ratio(label: str, value: float, target: str, status: str) -> None:
    """Print one ratio with its target."""
    print(f"  {label:<46}{value:>10.2f}   target {target:<14}{status}")


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Sizes]:
    """Parse the command line into options and clinic sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--patients", type=int, help="dyads in the kernels' clinic (default 200000; --quick 20000)"
    )
    parser.add_argument("--sessions", type=int, help="max_sessions (default: the parameter's)")
    parser.add_argument(
        "--repeats",
        type=int,
        help="repetitions of each course (default 5; --quick 2); the best is reported",
    )
    parser.add_argument("--quick", action="store_true", help="small clinics, few repetitions")
    parser.add_argument("--skip-cli", action="store_true", help="do not time `alliance run`")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    sizes = (
        Sizes(kernel_patients=20_000, mesa_patients=400, model_patients=2_000, repeats=2)
        if args.quick
        else Sizes()
    )
    if args.patients is not None:
        if args.patients < PATIENTS_PER_CLINICIAN:
            parser.error(f"--patients must be at least {PATIENTS_PER_CLINICIAN}")
        sizes.kernel_patients = args.patients
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        sizes.repeats = args.repeats
    if args.sessions is not None:
        try:
            check_value("max_sessions", args.sessions)
        except ParameterError as exc:
            parser.error(f"--sessions: {exc}")
        sizes.max_sessions = args.sessions
    return args, sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Run every benchmark, print the table and ratios, optionally write JSON."""
    args, sizes = parse_args(argv)
    run_meter = CpuMeter()
    info = machine()
    all_threads = numba.config.NUMBA_NUM_THREADS
    print(
        f"machine: {info['cpu']}; {info['cores']} cores ({info['cores_available']} available); "
        f"numba threads {all_threads}"
    )
    print(
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
        f"mesa {info['mesa']}"
    )
    print(
        f"sizes: kernels {sizes.kernel_patients:,} dyads, "
        f"Mesa peer {sizes.mesa_patients:,}, AllianceModel {sizes.model_patients:,}; "
        f"best of {sizes.repeats}; full courses (max_sessions "
        f"{sizes.max_sessions or int(resolve()['max_sessions'])})\n",
        flush=True,
    )

    warm_up_kernels()
    info["threading_layer"] = numba.threading_layer()
    clinic = build_clinic(sizes.kernel_patients, sizes.max_sessions)
    kernel = time_courses(
        "kernel run_session (1 thread)", by_sessions(run_session), clinic, sizes.repeats
    )
    numba.set_num_threads(1)
    parallel_one = time_courses(
        "kernel run_session_parallel (1 thread)",
        by_sessions(run_session_parallel),
        clinic,
        sizes.repeats,
    )
    numba.set_num_threads(all_threads)
    parallel_all = time_courses(
        f"kernel run_session_parallel ({all_threads} threads)",
        by_sessions(run_session_parallel),
        clinic,
        sizes.repeats,
    )
    courses = time_courses(
        "course kernel run_courses (1 thread)", whole_courses(run_courses), clinic, sizes.repeats
    )
    courses_all = time_courses(
        f"course kernel run_courses_parallel ({all_threads} thr.)",
        whole_courses(run_courses_parallel),
        clinic,
        sizes.repeats,
    )
    if courses.dyad_sessions != kernel.dyad_sessions:
        raise RuntimeError(
            "the course kernel ran another number of dyad-sessions than "
            "run_session: they must give the same numbers"
        )
    del clinic
    time_mesa_peer(40, 1, sizes.max_sessions)  # warm-up: imports, first-call caches
    peer = time_mesa_peer(sizes.mesa_patients, min(sizes.repeats, 3), sizes.max_sessions)
    measurements = [kernel, parallel_one, parallel_all, courses, courses_all, peer]
    print_table(measurements)

    ratios = {
        "kernel_vs_mesa_peer": kernel.best_rate / peer.best_rate,
        "all_cores_vs_one_core": parallel_all.best_rate / kernel.best_rate,
        "parallel_all_vs_parallel_one": parallel_all.best_rate / parallel_one.best_rate,
        "courses_vs_mesa_peer": courses.best_rate / peer.best_rate,
        "courses_all_cores_vs_one_core": courses_all.best_rate / courses.best_rate,
        "courses_vs_session_kernel": courses.best_rate / kernel.best_rate,
    }
    print("\nratios (best repetitions)")
    print_ratio(
        "kernel 1 thread, M dyad-sessions/s",
        kernel.best_rate / 1e6,
        ">= 10",
        verdict(kernel.best_rate, TARGET_KERNEL_RATE),
    )
    print_ratio(
        "kernel 1 thread / Mesa peer",
        ratios["kernel_vs_mesa_peer"],
        ">= 200x",
        verdict(ratios["kernel_vs_mesa_peer"], TARGET_VS_MESA),
    )
    print_ratio(
        f"parallel {all_threads} threads / serial kernel",
        ratios["all_cores_vs_one_core"],
        ">= 1.8x",
        verdict(ratios["all_cores_vs_one_core"], TARGET_PARALLEL_SPEEDUP),
    )
    print_ratio(
        f"parallel {all_threads} threads / parallel 1 thread",
        ratios["parallel_all_vs_parallel_one"],
        "(reference)",
        "",
    )
    print("  course kernel (the batch path without the per-session panel: simulate, sweeps):")
    print_ratio(
        "course kernel 1 thread, M dyad-sessions/s",
        courses.best_rate / 1e6,
        ">= 10",
        verdict(courses.best_rate, TARGET_KERNEL_RATE),
    )
    print_ratio(
        "course kernel 1 thread / Mesa peer",
        ratios["courses_vs_mesa_peer"],
        ">= 200x",
        verdict(ratios["courses_vs_mesa_peer"], TARGET_VS_MESA),
    )
    print_ratio(
        f"course kernel {all_threads} threads / 1 thread",
        ratios["courses_all_cores_vs_one_core"],
        ">= 1.8x",
        verdict(ratios["courses_all_cores_vs_one_core"], TARGET_PARALLEL_SPEEDUP),
    )
    print_ratio(
        "course kernel / session kernel (1 thread)",
        ratios["courses_vs_session_kernel"],
        "(reference)",
        "",
    )

    print(
        f"\nAllianceModel (with DataCollector) vs bare kernel, same clinic, "
        f"~{sizes.model_patients:,} dyads",
        flush=True,
    )
    model_result = bench_alliance_model(sizes)
    if not model_result["available"]:
        print(f"  AllianceModel not available ({model_result['reason']})")
    for label, variant in model_result.get("variants", {}).items():
        print(
            f"  {label}: model {min(variant['model_seconds']):.3f} s "
            f"(construction {min(variant['build_seconds']):.3f} s not counted), "
            f"bare {variant['kernel']} {min(variant['kernel_seconds']):.3f} s, "
            f"{variant['dyad_sessions']:,} dyad-sessions"
        )
        print_ratio(
            f"AllianceModel step ({label}) / bare kernel",
            variant["ratio"],
            "<= 2x",
            verdict(variant["ratio"], TARGET_MODEL_OVERHEAD, at_most=True),
        )

    print("\n`alliance run --out DIR` (fresh NUMBA_CACHE_DIR, then the same again)", flush=True)
    cli_result: dict[str, Any] = {"available": False, "skipped": True}
    if args.skip_cli:
        print("  skipped (--skip-cli)")
    else:
        cli_result = bench_cli()
    if "cold_seconds" in cli_result:
        print(f"  cold (everything compiles): {cli_result['cold_seconds']:.1f} s")
    if "warm_seconds" in cli_result:
        print_ratio(
            "warm (cache filled), seconds",
            cli_result["warm_seconds"],
            "<= 5 s",
            verdict(cli_result["warm_seconds"], TARGET_CLI_WARM_SECONDS, at_most=True),
        )
    if "reason" in cli_result:
        print(f"  CLI not available ({cli_result['reason']})")

    other_load = run_meter.other_load()
    print(f"\nother processes kept {other_load:.2f} cores busy on average during this run")
    if other_load > BUSY_MACHINE_LOAD:
        print(
            "WARNING: the machine was not quiet; figures (parallel ones most) are disturbed. "
            "Rerun when nothing else is running."
        )
    if args.json is not None:
        report = {
            "machine": info,
            "sizes": sizes.__dict__,
            "seed": SEED,
            "other_load": other_load,
            "measurements": {m.name: m.as_dict() for m in measurements},
            "ratios": ratios,
            "alliance_model": model_result,
            "cli": cli_result,
            "targets": {
                "kernel_rate": TARGET_KERNEL_RATE,
                "parallel_speedup": TARGET_PARALLEL_SPEEDUP,
                "kernel_vs_mesa_peer": TARGET_VS_MESA,
                "model_overhead": TARGET_MODEL_OVERHEAD,
                "cli_warm_seconds": TARGET_CLI_WARM_SECONDS,
            },
        }
        write_report(report, args.json)
    return 0


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write a benchmark's figures as JSON to ``path`` and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
