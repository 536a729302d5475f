"""Fitting chosen parameters to a clinic's own data: ABC-SMC with pyabc.

The model has no likelihood one could write down, so the fit is likelihood-free: approximate
Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al. 2009), as
pyabc implements it (Schälte et al. 2022): particles drawn from the prior are simulated, and
those whose **summary statistics** lie close to the data's are kept, generation after
generation with a shrinking threshold (the median of the last distances), the distance
re-weighting each statistic by its spread among the simulations (pyabc's
``AdaptivePNormDistance``, Prangle 2017), so that statistics on different scales count alike.

The summary statistics (:data:`STATISTICS`) are the project's outcome definitions, computed by the
same functions on the data and on every simulation, after the simulation has been written in the
clinic's schema with the clinic's columns (:mod:`experiments.science.clinic_data`): what the
clinic did not record, the simulation does not show. Each is justified in docs/FITTING.md.

A simulated clinic has the data's number of clinicians, its mean caseload and its longest course
as the planned length (``max_sessions``), unless ``fixed`` says otherwise; every other parameter
keeps the scenario's value. Each simulation has its own random seed, so an ABC run is not
reproducible bit for bit (pyabc's parallel samplers never are); everything that decides it is in
the manifest.

Outputs in the fit's directory: ``abc.db`` (pyabc's history: the run resumes from it),
``posterior.parquet`` (the last generation's particles and weights), ``posterior-summary.csv``
(weighted mean, median and 90% credible interval), ``data-statistics.csv`` (the data's
statistics with cluster-bootstrap 95% intervals), ``ppc.csv`` and ``ppc.png`` (the posterior
predictive check), ``marginals.png``, and ``manifest.json`` (what was fitted to what, with
versions, git commit, model fingerprint and times, as a sweep's).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.runner.io import write_parquet, write_text, write_with
from experiments.runner.store import git_commit, model_fingerprint, now, versions
from experiments.science import analysis, change, multilevel
from experiments.science.clinic_data import (
    OPTIONAL,
    REQUIRED,
    from_simulation,
    patient_table,
    read_clinic,
)
from experiments.science.outcomes import OUTCOMES
from experiments.science.resampling import Estimate, Resampling
from sim.core.batch import simulate
from sim.core.params import PARAMS, ParameterError, check_value

ONCE = Resampling(n_resamples=1, clusters=None)
"""What a simulation's statistics need: the point value (one resample, never read)."""
CREDIBLE = 0.90
"""Coverage of the credible intervals reported."""
DOSE = 8
"""Sessions of the dose-response statistic (as pattern P10)."""


class FitError(ValueError):
    """A fit that cannot be done as asked; the message names the option."""


@dataclass(frozen=True)
class Statistic:
    """One summary statistic: an outcome the project defines, and what it needs.

    Attributes
    ----------
    name : str
        Its name in tables and in ``--statistics``.
    needs : tuple of str
        Optional columns of the clinic's data it needs.
    compute : callable
        ``compute(dyads, panel, resampling) -> Estimate``.
    why : str
        What it tells the fit.
    """

    name: str
    needs: tuple[str, ...]
    compute: Callable[[pd.DataFrame, pd.DataFrame, Resampling], Estimate]
    why: str

    def value(self, dyads: pd.DataFrame, panel: pd.DataFrame) -> float:
        """Return the point value alone (for a simulation: no interval)."""
        if self.name in OUTCOMES:  # the registry computes it without resampling
            return OUTCOMES[self.name].value(dyads)
        return self.compute(dyads, panel, ONCE).value


def _outcome(name: str) -> Callable[[pd.DataFrame, pd.DataFrame, Resampling], Estimate]:
    return lambda dyads, panel, resampling: OUTCOMES[name].estimate(dyads, resampling=resampling)


STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        Statistic("dropout_rate", (), _outcome("dropout_rate"), "how many leave unilaterally (P2)"),
        Statistic(
            "recovered_rate", (), _outcome("recovered_rate"), "how many end early on recovery"
        ),
        Statistic("pre_post_d", (), _outcome("pre_post_d"), "how much symptoms change (P7)"),
        Statistic("sessions_mean", (), _outcome("sessions_mean"), "how long courses last"),
        Statistic(
            "improved_share",
            (),
            lambda d, p, r: (
                change.dose_response(
                    d, p[p["session"].isin((DOSE + 1, 2 * DOSE + 1))], after=DOSE, resampling=r
                ).improved_share
            ),  # dose_response reads only the scores after DOSE, 2 DOSE sessions
            f"how fast change comes: reliably improved after {DOSE} sessions (P10)",
        ),
        Statistic(
            "therapist_icc",
            (),
            lambda d, p, r: multilevel.therapist_effects(d, resampling=r).icc,
            "how much outcomes differ between clinicians (P11)",
        ),
        Statistic("wai_early", ("wai",), _outcome("wai_early"), "the early alliance's level"),
        Statistic(
            "alliance_outcome_r",
            ("wai",),
            lambda d, p, r: analysis.alliance_outcome_r(d, resampling=r),
            "how much the early alliance predicts outcome (P1)",
        ),
        Statistic(
            "rupture_report_share",
            ("rupture_reported",),
            lambda d, p, r: analysis.rupture_session_share(d, resampling=r),
            "how often patients report ruptures (P3)",
        ),
    )
}
"""Every summary statistic a fit can use, by name."""


@dataclass(frozen=True)
class ClinicSetup:
    """The simulated clinic: its size and course length, and what the data recorded.

    Attributes
    ----------
    n_clinicians, patients_per_clinician, max_sessions : int
        From the data: its clinicians, mean caseload (rounded) and longest course.
    columns : tuple of str
        The data's columns (required and the optional ones it has).
    scenario : str
        Scenario the parameters start from.
    fixed : dict
        Other parameter values held fixed (also overriding the three sizes).
    """

    n_clinicians: int
    patients_per_clinician: int
    max_sessions: int
    columns: tuple[str, ...]
    scenario: str = "psychotherapy"
    fixed: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls, records: pd.DataFrame, scenario: str = "psychotherapy", fixed=None
    ) -> ClinicSetup:
        """Return the setup that mirrors a clinic's records."""
        clinicians = records["clinician_id"].nunique()
        patients = records["patient_id"].nunique()
        return cls(
            n_clinicians=int(clinicians),
            patients_per_clinician=max(1, round(patients / clinicians)),
            max_sessions=int(records["session"].max()),
            columns=tuple(c for c in (*REQUIRED, *OPTIONAL) if c in records.columns),
            scenario=scenario,
            fixed=dict(fixed or {}),
        )

    def overrides(self, theta: Mapping[str, float]) -> dict[str, float]:
        """Return the parameter overrides of one simulation at ``theta``."""
        return {
            "n_clinicians": self.n_clinicians,
            "patients_per_clinician": self.patients_per_clinician,
            "max_sessions": self.max_sessions,
            **self.fixed,
            **{k: float(v) for k, v in theta.items()},
        }


def usable_statistics(columns: Sequence[str], names: Sequence[str] | None = None) -> list[str]:
    """Return the statistics a fit uses: ``names``, or every one the data's columns allow."""
    if names is None:
        return [s.name for s in STATISTICS.values() if set(s.needs) <= set(columns)]
    for name in names:
        if name not in STATISTICS:
            raise FitError(
                f"--statistics: '{name}' is unknown; choose from {', '.join(STATISTICS)}"
            )
        lacking = [c for c in STATISTICS[name].needs if c not in columns]
        if lacking:
            raise FitError(f"--statistics: '{name}' needs the data's column '{lacking[0]}'")
    return list(names)


def statistics_of(
    records: pd.DataFrame, names: Sequence[str], resampling: Resampling | None = None
) -> dict[str, Estimate] | dict[str, float]:
    """Return the statistics of clinic records: Estimates, or point values if no resampling."""
    dyads, panel = patient_table(records)
    found: dict[str, Any] = {}
    for name in names:
        statistic = STATISTICS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a statistic undefined: NaN
            try:
                if resampling is None:
                    found[name] = statistic.value(dyads, panel)
                else:
                    found[name] = statistic.compute(dyads, panel, resampling)
            except ValueError:  # too few patients for it
                undefined = Estimate(np.nan, np.nan, np.nan, 0, "undefined")
                found[name] = undefined if resampling is not None else np.nan
    return found


def simulate_records(setup: ClinicSetup, theta: Mapping[str, float], seed: int) -> pd.DataFrame:
    """Simulate the clinic at ``theta``; return its records in the clinic's schema."""
    result = simulate(
        setup.overrides(theta), seed=seed, scenario=setup.scenario, record_sessions=True
    )
    return from_simulation(result.dyads, result.sessions, setup.columns)


class ClinicModel:
    """The model as pyabc calls it: parameters in, summary statistics out (picklable)."""

    def __init__(self, setup: ClinicSetup, names: Sequence[str]) -> None:
        self.setup = setup
        self.names = list(names)

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        """Simulate once with a seed from NumPy's global generator; return the statistics.

        pyabc draws its particles from the same generator and reseeds it in each worker, so a
        serial fit is reproducible from its seed and parallel workers never share seeds.
        """
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc's generator)
        return self.statistics(parameters, seed)

    def statistics(self, parameters: Mapping[str, float], seed: int) -> dict[str, float]:
        """Simulate once with ``seed``; return the statistics."""
        theta = {k: float(parameters[k]) for k in parameters}
        return statistics_of(simulate_records(self.setup, theta, seed), self.names)


def parse_priors(
    params: Sequence[str], priors: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, tuple[float, float]]:
    """Return uniform prior bounds per parameter: ``priors`` where given, else the registry's."""
    priors = dict(priors or {})
    unknown = [p for p in priors if p not in params]
    if unknown:
        raise FitError(f"--prior names '{unknown[0]}', which is not in --params")
    if not params:
        raise FitError("--params is empty; name at least one parameter to fit")
    if len(set(params)) != len(params):
        raise FitError("--params names a parameter twice")
    bounds = {}
    for name in params:
        if name not in PARAMS:
            try:
                check_value(name, 0.0)
            except ParameterError as exc:
                raise FitError(f"--params: {exc}") from None
        p = PARAMS[name]
        if p.integer or p.group == "clinic":
            raise FitError(
                f"--params: '{name}' is whole-numbered or the clinic's size; fit continuous "
                "parameters"
            )
        low, high = priors.get(name, (p.low, p.high))
        for value in (low, high):
            try:
                check_value(name, value)
            except ParameterError as exc:
                raise FitError(f"--prior {name}: {exc}") from None
        if not low < high:
            raise FitError(f"--prior {name}: the low end {low:g} must be below the high {high:g}")
        bounds[name] = (float(low), float(high))
    return bounds


@dataclass(frozen=True)
class FitSpec:
    """Everything that decides a fit (its hash guards a directory against mixing fits)."""

    data_sha256: str
    params: dict[str, tuple[float, float]]
    statistics: tuple[str, ...]
    setup: ClinicSetup
    population: int

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-able data."""
        return json.loads(json.dumps(asdict(self)))

    def content_hash(self) -> str:
        """Return a short hash of the spec."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class FitResult:
    """A finished (or stopped) fit.

    Attributes
    ----------
    posterior : pandas.DataFrame
        The last generation's particles (one column per parameter) and ``weight``.
    summary : pandas.DataFrame
        Per parameter: weighted ``mean``, ``median``, ``low``, ``high`` (90% credible).
    data : pandas.DataFrame
        The data's statistics: ``statistic``, ``value``, ``low``, ``high`` (95% cluster
        bootstrap).
    ppc : pandas.DataFrame
        The posterior predictive check: per statistic, the data's value and interval, the
        predictive median and 95% range, and the verdicts.
    generations : pandas.DataFrame
        Per generation: ``t``, ``epsilon``, ``samples`` (simulations), ``particles``.
    files : list of Path
        What was written.
    """

    posterior: pd.DataFrame
    summary: pd.DataFrame
    data: pd.DataFrame
    ppc: pd.DataFrame
    generations: pd.DataFrame
    files: list[Path]


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare(
    data: str | Path,
    params: Sequence[str],
    *,
    priors: Mapping[str, tuple[float, float]] | None = None,
    statistics: Sequence[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    population: int = 200,
) -> tuple[pd.DataFrame, FitSpec]:
    """Read and check the data and the options; return the records and the spec.

    Nothing is written; every problem is a :class:`FitError` or
    :class:`~experiments.science.clinic_data.DataError` sentence.
    """
    bounds = parse_priors(params, priors)
    if population < 10:
        raise FitError(f"--population must be a whole number >= 10, got {population}")
    checked = {}
    for name, value in (fixed or {}).items():
        try:
            checked[name] = check_value(name, value)
        except ParameterError as exc:
            raise FitError(f"--set {name}: {exc}") from None
        if name in bounds:
            raise FitError(f"--set {name}: it is also in --params; fix it or fit it")
    records = read_clinic(data)
    setup = ClinicSetup.from_records(records, fixed=checked)
    names = usable_statistics(setup.columns, statistics)
    spec = FitSpec(sha256_of(Path(data)), bounds, tuple(names), setup, population)
    return records, spec


def _sampler(kind: str, workers: int | None, dask_address: str | None):
    import pyabc

    if kind == "serial":
        return pyabc.sampler.SingleCoreSampler(), lambda: None
    if kind == "pool":
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers), lambda: None
    from dask.distributed import Client

    from experiments.runner.executors import local_cluster

    if dask_address is not None:
        client = Client(dask_address, timeout="10s")
        return pyabc.sampler.DaskDistributedSampler(dask_client=client), client.close

    cluster = local_cluster(workers)
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return pyabc.sampler.DaskDistributedSampler(dask_client=client), close


def _quiet_pyabc() -> None:
    for name in ("ABC", "pyabc", "Sampler", "Distance", "Epsilon", "History", "Acceptor"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("ABC").setLevel(logging.WARNING)


def fit(
    data: str | Path,
    params: Sequence[str],
    out: str | Path,
    *,
    priors: Mapping[str, tuple[float, float]] | None = None,
    statistics: Sequence[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    population: int = 200,
    generations: int = 8,
    min_epsilon: float = 0.0,
    max_minutes: float | None = None,
    sampler: str = "serial",
    workers: int | None = None,
    dask_address: str | None = None,
    ppc_draws: int = 50,
    seed: int = 1,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit ``params`` to a clinic's data by ABC-SMC; write the results into ``out``.

    Parameters
    ----------
    data : str or Path
        The clinic's records (CSV or Parquet, :mod:`experiments.science.clinic_data`).
    params : sequence of str
        Parameters to fit; uniform priors over their registry bounds unless ``priors`` says.
    out : str or Path
        The fit's directory. Running again with the same data and settings resumes the run
        (pyabc's history, ``abc.db``) up to ``generations`` generations in all.
    priors : mapping, optional
        ``{name: (low, high)}`` uniform prior bounds.
    statistics : sequence of str, optional
        Summary statistics (default: every one the data's columns allow).
    fixed : mapping, optional
        Other parameters held at these values.
    population : int
        Particles per generation.
    generations : int
        Generations in all (including those of earlier runs into ``out``).
    min_epsilon : float
        Stop when the threshold falls below this.
    max_minutes : float, optional
        Stop after this much time (the generation running then is finished first by pyabc).
    sampler : {"serial", "pool", "dask"}
        pyabc's single-core sampler, its multicore sampler (``workers`` processes), or its
        Dask sampler (a local cluster of ``workers``, or the scheduler at ``dask_address``).
    ppc_draws : int
        Posterior draws simulated for the predictive check.
    seed : int
        Seed of the predictive check's draws and of the data's bootstrap.
    log : callable, optional
        Called with a line after each step.
    """
    import pyabc

    say = log or (lambda line: None)
    records, spec = prepare(
        data, params, priors=priors, statistics=statistics, fixed=fixed, population=population
    )
    if generations < 1:
        raise FitError(f"--generations must be a whole number >= 1, got {generations}")
    if ppc_draws < 2:
        raise FitError(f"--ppc-draws must be a whole number >= 2, got {ppc_draws}")
    out = Path(out)
    manifest_path = out / "manifest.json"
    manifest = _manifest(manifest_path, spec, Path(data))
    names = list(spec.statistics)
    observed = statistics_of(records, names, Resampling(seed=seed))
    data_table = pd.DataFrame(
        [
            {"statistic": n, "value": e.value, "low": e.low, "high": e.high, "n": e.n}
            for n, e in observed.items()
        ]
    )
    undefined = data_table.loc[~np.isfinite(data_table["value"]), "statistic"].tolist()
    if undefined:
        raise FitError(
            f"the data's {undefined[0]} is undefined (too few patients with what it needs); "
            "leave it out with --statistics"
        )
    out.mkdir(parents=True, exist_ok=True)  # everything checked: now write
    _quiet_pyabc()
    model = ClinicModel(spec.setup, names)
    prior = pyabc.Distribution(
        **{k: pyabc.RV("uniform", low, high - low) for k, (low, high) in spec.params.items()}
    )
    np.random.seed(seed)  # noqa: NPY002 (pyabc draws from the global generator)
    chosen, close = _sampler(sampler, workers, dask_address)
    db = f"sqlite:///{(out / 'abc.db').resolve()}"
    started = time.perf_counter()
    try:
        abc = pyabc.ABCSMC(
            model,
            prior,
            pyabc.AdaptivePNormDistance(p=2),
            population_size=spec.population,
            sampler=chosen,
        )
        if manifest.get("run_id") is not None and (out / "abc.db").exists():
            history = abc.load(db, manifest["run_id"])
            done = history.max_t + 1
            say(f"resuming run {manifest['run_id']}: {done} generations already done")
        else:
            history = abc.new(db, {n: float(observed[n].value) for n in names})
            manifest["run_id"] = history.id
            done = 0
        _write_manifest(manifest_path, manifest)
        remaining = generations - done
        if remaining > 0:
            abc.run(
                minimum_epsilon=min_epsilon,
                max_nr_populations=remaining,
                max_walltime=None if max_minutes is None else timedelta(minutes=max_minutes),
            )
    finally:
        close()
    history = pyabc.History(db, _id=manifest["run_id"])
    seconds = time.perf_counter() - started
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    generations_table = pd.DataFrame(
        {
            "t": populations["t"].to_numpy(int),
            "epsilon": populations["epsilon"].to_numpy(float),
            "samples": populations["samples"].to_numpy(int),
            "particles": populations["particles"].to_numpy(int),
        }
    )
    particles, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = particles[list(spec.params)].reset_index(drop=True)
    posterior["weight"] = weights / weights.sum()
    posterior["generation"] = history.max_t
    summary = posterior_summary(posterior, list(spec.params))
    say(
        f"{len(generations_table)} generations, {int(generations_table['samples'].sum()):,} "
        f"simulations, final epsilon {generations_table['epsilon'].iloc[-1]:.4g} "
        f"({seconds:.0f} s this run)"
    )
    ppc = predictive_check(model, posterior, list(spec.params), data_table, ppc_draws, seed)
    files = [
        write_parquet(posterior, out / "posterior.parquet"),
        write_text(summary.to_csv(index=False), out / "posterior-summary.csv"),
        write_text(data_table.to_csv(index=False), out / "data-statistics.csv"),
        write_text(ppc.to_csv(index=False), out / "ppc.csv"),
        write_text(generations_table.to_csv(index=False), out / "generations.csv"),
        write_with(lambda p: marginal_plot(posterior, spec.params, p), out / "marginals.png"),
        write_with(lambda p: ppc_plot(ppc, p), out / "ppc.png"),
    ]
    manifest["runs"].append(
        {
            "finished": now(),
            "seconds": round(seconds, 1),
            "sampler": sampler,
            "workers": workers,
            "generations": int(history.max_t + 1),
            "simulations": int(generations_table["samples"].sum()),
        }
    )
    manifest["updated"] = now()
    _write_manifest(manifest_path, manifest)
    return FitResult(posterior, summary, data_table, ppc, generations_table, files)


def _manifest(path: Path, spec: FitSpec, data: Path) -> dict[str, Any]:
    """Return the directory's manifest (new, or the existing one if it is this fit's)."""
    if path.exists():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FitError(f"'{path}' cannot be read ({exc}); use another --out") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != "fit":
            raise FitError(f"'{path.parent}' holds something other than a fit; use another --out")
        if manifest.get("spec_hash") != spec.content_hash():
            raise FitError(
                f"'{path.parent}' holds a fit of other data or settings (spec "
                f"{manifest.get('spec_hash')}, this one {spec.content_hash()}); use another --out"
            )
        return manifest
    if path.parent.exists() and any(path.parent.iterdir()):
        raise FitError(f"--out '{path.parent}' is not empty and holds no fit; use another --out")
    return {
        "kind": "fit",
        "data": str(data.resolve()),
        "spec": spec.to_dict(),
        "spec_hash": spec.content_hash(),
        "model_fingerprint": model_fingerprint(),
        "method": "ABC-SMC (pyabc): uniform priors, AdaptivePNormDistance(p=2), median epsilon",
        "versions": {**versions(), "pyabc": _version("pyabc")},
        "git_commit": git_commit(),
        "created": now(),
        "updated": now(),
        "run_id": None,
        "runs": [],
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    write_text(json.dumps(manifest, indent=2) + "\n", path)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Return the ``q`` quantile of weighted values (inverse of the weighted CDF, midpoints)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, v))


def posterior_summary(posterior: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Return weighted mean, median and the 90% credible interval of each parameter."""
    w = posterior["weight"].to_numpy(float)
    tail = (1 - CREDIBLE) / 2
    rows = []
    for name in params:
        v = posterior[name].to_numpy(float)
        rows.append(
            {
                "parameter": name,
                "mean": float(np.average(v, weights=w)),
                "median": weighted_quantile(v, w, 0.5),
                "low": weighted_quantile(v, w, tail),
                "high": weighted_quantile(v, w, 1 - tail),
            }
        )
    return pd.DataFrame(rows)


def predictive_check(
    model: ClinicModel,
    posterior: pd.DataFrame,
    params: Sequence[str],
    data: pd.DataFrame,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Simulate ``draws`` posterior particles; compare their statistics with the data's.

    Returns one row per statistic: the data's ``value``, ``low``, ``high``, the predictive
    ``predicted`` median and 95% range ``predicted_low``, ``predicted_high``, and two verdicts:
    ``median_in_data_interval`` (the model's typical clinic is within the data's sampling
    error) and ``data_in_predicted_range``.
    """
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(float)
    picks = rng.choice(len(posterior), size=draws, p=w / w.sum())
    seeds = rng.integers(0, 2**62, size=draws)
    simulated = pd.DataFrame(
        [
            model.statistics({k: posterior[k].iloc[i] for k in params}, int(s))
            for i, s in zip(picks, seeds, strict=True)
        ]
    )
    rows = []
    for r in data.itertuples(index=False):
        values = simulated[r.statistic].to_numpy(float)
        values = values[np.isfinite(values)]
        low, mid, high = np.quantile(values, [0.025, 0.5, 0.975]) if values.size else [np.nan] * 3
        rows.append(
            {
                "statistic": r.statistic,
                "value": r.value,
                "low": r.low,
                "high": r.high,
                "predicted": mid,
                "predicted_low": low,
                "predicted_high": high,
                "median_in_data_interval": bool(r.low <= mid <= r.high),
                "data_in_predicted_range": bool(low <= r.value <= high),
                "draws": int(values.size),
            }
        )
    return pd.DataFrame(rows)


def marginal_plot(
    posterior: pd.DataFrame,
    bounds: Mapping[str, tuple[float, float]],
    path: Path,
    truth: Mapping[str, float] | None = None,
) -> None:
    """Draw each parameter's weighted posterior histogram over its prior range."""
    names = list(bounds)
    fig = Figure(figsize=(4 * len(names), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    w = posterior["weight"].to_numpy(float)
    summary = posterior_summary(posterior, names).set_index("parameter")
    for ax, name in zip(axes, names, strict=True):
        low, high = bounds[name]
        ax.hist(posterior[name], bins=30, range=(low, high), weights=w, density=True,
                color="tab:blue", alpha=0.7)  # fmt: skip
        ax.axhline(1 / (high - low), color="0.5", ls=":", label="prior")
        ax.axvspan(summary.loc[name, "low"], summary.loc[name, "high"], color="tab:blue",
                   alpha=0.12, label=f"{CREDIBLE:.0%} credible")  # fmt: skip
        ax.axvline(summary.loc[name, "median"], color="tab:blue", lw=1.5, label="median")
        if truth and name in truth:
            ax.axvline(truth[name], color="tab:red", lw=1.5, ls="--", label="true value")
        ax.set_xlim(low, high)
        ax.set_xlabel(name)
        ax.set_yticks([])
    axes[0].set_ylabel("posterior density")
    axes[0].legend(fontsize="small")
    fig.savefig(path, format="png", dpi=110)


def ppc_plot(ppc: pd.DataFrame, path: Path) -> None:
    """Draw the data's statistics (with 95% intervals) against the posterior predictive range."""
    fig = Figure(figsize=(8, 0.6 * len(ppc) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(ppc))[::-1]
    # Each statistic on its own scale: positions relative to the data's interval width.
    scale = np.maximum((ppc["high"] - ppc["low"]).to_numpy(float), 1e-9)
    centre = ppc["value"].to_numpy(float)

    def rel(column: str) -> np.ndarray:
        return (ppc[column].to_numpy(float) - centre) / scale

    ax.hlines(y + 0.12, rel("low"), rel("high"), color="black", lw=3, label="data, 95% interval")
    ax.plot(np.zeros(len(y)), y + 0.12, "ko")
    ax.hlines(y - 0.12, rel("predicted_low"), rel("predicted_high"), color="tab:orange", lw=3,
              label="posterior predictive, 95% range")  # fmt: skip
    ax.plot(rel("predicted"), y - 0.12, "o", color="tab:orange")
    labels = [
        f"{r.statistic}: data {r.value:.3g}, model {r.predicted:.3g}" for r in ppc.itertuples()
    ]
    ax.set_yticks(y, labels)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_xlabel("distance from the data's value, in widths of its 95% interval")
    ax.set_title("posterior predictive check", pad=30)
    ax.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2)
    fig.savefig(path, format="png", dpi=110)


def coverage_ok(summary: pd.DataFrame, truth: Mapping[str, float]) -> dict[str, bool]:
    """Return, per parameter, whether its credible interval holds the true value."""
    table = summary.set_index("parameter")
    return {k: bool(table.loc[k, "low"] <= v <= table.loc[k, "high"]) for k, v in truth.items()}


def make_example(path: str | Path) -> Path:
    """Write the example clinic: the model at ``EXAMPLE_TRUTH`` in the clinic's schema (CSV)."""
    from experiments.science.clinic_data import (
        EXAMPLE_SEED,
        EXAMPLE_SIZE,
        EXAMPLE_TRUTH,
        label,
    )

    setup = ClinicSetup(**EXAMPLE_SIZE, columns=(*REQUIRED, *OPTIONAL))
    records = label(simulate_records(setup, EXAMPLE_TRUTH, EXAMPLE_SEED))
    text = records.to_csv(index=False, float_format="%.4g", na_rep="")
    return write_text(text, path)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--make-example"]:
        from experiments.science.clinic_data import example_path

        print(f"wrote {make_example(example_path())}")
