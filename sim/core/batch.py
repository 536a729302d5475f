"""The batch path: whole clinics simulated without agent objects.

:func:`simulate` builds the arrays of one clinic per (parameter row, point, replicate), runs the
session kernel over all of them at once until every dyad has ended, and returns the per-dyad
summary and, on request, the per-session panel (schemas in the README). A sweep's chunk is one
call. For the same seed, point id, replicate and parameters it gives exactly the numbers of
:class:`sim.model.AllianceModel`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.composition import CORE, Composition, compose
from sim.core.fields import DYAD_FIELDS
from sim.core.jit import jit
from sim.core.params import CLINICIAN_TRAITS, ParameterError, check_rows, check_seed
from sim.core.scenarios import get as get_scenario
from sim.core.state import (
    DYAD_DTYPE,
    RUPTURE_NAMES,
    STATUS_NAMES,
    Clinics,
    build,
    record_columns,
)

KEY_COLUMNS = ("point_id", "rep", "clinician_id", "patient_id")
PANEL_FIELDS = (
    *KEY_COLUMNS,
    *(
        f.name
        for role in ("state", "observed", "event", "code")
        for f in DYAD_FIELDS
        if f.role == role and f.panel
    ),
)
"""The per-session panel's fields (:data:`sim.core.fields.DYAD_FIELDS` marked ``panel``)."""
PANEL_SOURCES = {"symptoms": "symptoms_session"}
"""Panel columns read from another record field: the panel's latent ``symptoms`` are those at
the session's start, the level its ``symptom_score`` measures."""
PANEL_DTYPE = np.dtype([("session", np.int32)] + [(f, DYAD_DTYPE[f]) for f in PANEL_FIELDS])
"""Compact record dtype of the core model's panel rows, before they become a table."""


def panel_fields(composition: Composition) -> tuple[str, ...]:
    """Return the panel's fields: the core's, then the extensions' fields marked ``panel``."""
    return PANEL_FIELDS + tuple(f.name for f in composition.extension_fields if f.panel)


@dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    dyads : pandas.DataFrame or pyarrow.Table
        Per-dyad summary, one row per patient per clinic.
    sessions : pandas.DataFrame, pyarrow.Table or None
        Per-session panel (one row per attended session), if asked for.
    dyad_sessions : int
        Dyad-sessions simulated (the unit of throughput).
    seconds : dict
        Where the call's time went (wall-clock seconds): ``build`` (the clinics' intake),
        ``kernel`` (running the courses) and ``tables`` (the output tables). Not part of the
        results: what a sweep's receipt records, so that overhead is measured, not estimated.
    """

    dyads: pd.DataFrame | pa.Table
    sessions: pd.DataFrame | pa.Table | None
    dyad_sessions: int
    seconds: dict[str, float] = field(default_factory=dict)


def parameter_rows(
    params: Any = None, scenario: str = "psychotherapy", composition: Composition = CORE
) -> np.ndarray:
    """Return parameter rows (the composition's ``param_dtype``) from overrides or rows.

    Parameters
    ----------
    params : None, mapping, sequence of mappings, or numpy.ndarray
        Overrides of one point, of several points, or ready rows.
    scenario : str
        Scenario whose values the overrides apply to.
    composition : sim.core.composition.Composition
        The model whose parameters the rows hold (the core's by default).
    """
    if isinstance(params, np.ndarray) and params.dtype == composition.param_dtype:
        check_rows(params, composition.params)  # ready-made rows: the checks overrides get
        return params
    points = [params or {}] if params is None or isinstance(params, Mapping) else list(params)
    base = get_scenario(scenario)
    return np.concatenate(
        [composition.to_row(base.parameters(dict(p), table=composition.params)) for p in points]
    )


BYTES_PER_DYAD = 1_000
"""Peak memory per dyad of a run without the panel (measured about 600: records, columns,
the table)."""
BYTES_PER_DYAD_SESSION = 500
"""Peak memory per dyad and planned session of the panel (measured about 440)."""


class ClinicTooLarge(ParameterError):
    """A run that would need more memory than the machine has available."""


def available_memory() -> int | None:
    """Return the memory available to a new allocation, in bytes (None if unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(rows: np.ndarray, clinic_rows: np.ndarray, record_sessions: bool) -> int:
    """Refuse, before allocating anything, a run that would not fit in memory.

    Parameters
    ----------
    rows : numpy.ndarray
        Parameter rows.
    clinic_rows : numpy.ndarray
        The parameter row of each clinic to build.
    record_sessions : bool
        Whether the per-session panel is kept.

    Returns
    -------
    int
        The estimated peak, in bytes.

    Raises
    ------
    ClinicTooLarge
        Saying how many patients, what they would need and what to do instead.
    """
    sizes = rows["n_clinicians"][clinic_rows] * rows["patients_per_clinician"][clinic_rows]
    patients = float(sizes.sum())
    per_dyad = BYTES_PER_DYAD + (
        BYTES_PER_DYAD_SESSION * float(rows["max_sessions"].max()) if record_sessions else 0.0
    )
    need = patients * per_dyad
    available = available_memory()
    if available is not None and need > 0.8 * available:
        raise ClinicTooLarge(
            f"{patients:,.0f} patients{' with the per-session panel' if record_sessions else ''}"
            f" would need about {need / 2**30:,.1f} GiB, more than this machine has available "
            f"({available / 2**30:,.1f} GiB); use fewer clinicians or patients per clinician, "
            "or run many clinics as a sweep (alliance sweep), which streams them to disk"
        )
    return int(need)


def simulate(
    params: Any = None,
    *,
    seed: int = 0,
    scenario: str = "psychotherapy",
    point_ids: Sequence[int] | np.ndarray | None = None,
    reps: Sequence[int] | np.ndarray | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
    record_sessions: bool = False,
    parallel: bool = False,
    tables: str = "pandas",
    extensions: Sequence[Any] = (),
    columns: Collection[str] | None = None,
) -> SimulationResult:
    """Simulate clinics to the end of treatment.

    Parameters
    ----------
    params : None, mapping, sequence of mappings, or numpy.ndarray
        Parameter overrides of one point, of several points, or ready parameter rows.
    seed : int
        Root seed. Draws depend only on (seed, point id, replicate, clinician, patient, session).
    scenario : str
        Scenario the overrides apply to.
    point_ids, reps, rows : array-like, optional
        One entry per clinic: its point id, replicate and parameter row. By default one clinic
        per parameter row, with point id = row index and replicate 0.
    record_sessions : bool
        Also return the per-session panel.
    parallel : bool
        Use the multi-threaded kernel (same numbers, more cores).
    tables : {"pandas", "arrow"}
        Return the tables as pandas DataFrames, or as pyarrow Tables (what the experiment
        runner writes to Parquet: no pandas conversion, missing values as nulls). Same columns
        and numbers either way.
    extensions : sequence of Extension or str
        Mechanisms added to the model (:mod:`sim.core.extension`), or their import references
        (``"module"`` or ``"module:name"``). Their fields appear in the tables.
    columns : collection of str, optional
        Only these columns of the per-dyad table (besides the keys), e.g. what an outcome reads;
        the table is built faster. All of them by default.

    Returns
    -------
    SimulationResult

    Raises
    ------
    sim.core.params.ParameterError
        A ``ValueError`` naming the parameter (and row) out of bounds, or a negative seed.
    """
    if tables not in TABLE_MAKERS:
        raise ValueError(f"tables must be one of {', '.join(TABLE_MAKERS)}, not {tables!r}")
    make_table = TABLE_MAKERS[tables]
    seed = check_seed(seed)
    composition = compose(extensions)
    parameters = parameter_rows(params, scenario, composition)
    check_size(
        parameters,
        np.arange(len(parameters)) if rows is None else np.asarray(rows, dtype=np.int64),
        record_sessions,
    )
    started = time.perf_counter()
    clinics = build(
        parameters, seed, point_ids=point_ids, reps=reps, rows=rows, composition=composition
    )
    built = time.perf_counter()
    panel = run_to_end(clinics, record_sessions=record_sessions, parallel=parallel)
    ran = time.perf_counter()
    dyads = make_table(summary_columns(clinics, columns))
    sessions = make_table(panel_columns(panel)) if record_sessions else None
    return SimulationResult(
        dyads=dyads,
        sessions=sessions,
        dyad_sessions=int(clinics.dyads["sessions"].sum()),
        seconds={
            "build": built - started,
            "kernel": ran - built,
            "tables": time.perf_counter() - ran,
        },
    )


def run_to_end(
    clinics: Clinics, *, record_sessions: bool = False, parallel: bool = False
) -> list[dict[str, np.ndarray]]:
    """Run sessions until every dyad has ended; return each session's panel columns if asked.

    Without the panel, each block of dyads runs its whole course at once
    (``run_courses``, vectorised across dyads); with it, the clinic steps session by session
    (``run_session``) so that each session's rows can be
    read. The numbers are the same either way. ``clinics.session`` ends at the last session
    anyone attended.
    """
    dyads = clinics.dyads
    kernels = clinics.composition.kernels
    if not record_sessions:
        run = kernels.run_courses_parallel if parallel else kernels.run_courses
        run(dyads, clinics.clinicians, clinics.params)
        clinics.session = max(clinics.session, int(dyads["sessions"].max(initial=0)))
        return []
    step = kernels.run_session_parallel if parallel else kernels.run_session
    blocks: list[dict[str, np.ndarray]] = []
    while clinics.session < clinics.max_sessions:
        if step(dyads, clinics.clinicians, clinics.params, clinics.session + 1) == 0:
            break
        clinics.session += 1
        blocks.append(session_columns(clinics))
    return blocks


def session_columns(clinics: Clinics) -> dict[str, np.ndarray]:
    """Return this session's panel rows (dyads that attended it) as columns.

    Besides :data:`PANEL_FIELDS` and ``session``, ``dyad`` holds each row's index in
    ``clinics.dyads`` (for ordering; not a panel column).
    """
    dyads = clinics.dyads
    attended = np.flatnonzero(dyads["sessions"] == clinics.session)
    names = panel_fields(clinics.composition)
    sources = [PANEL_SOURCES.get(name, name) for name in names]
    gathered = record_columns(dyads, sources, where=attended)
    columns = {name: gathered[source] for name, source in zip(names, sources, strict=True)}
    columns["session"] = np.full(len(attended), clinics.session, dtype=np.int32)
    columns["dyad"] = attended
    return columns


def session_block(clinics: Clinics) -> np.ndarray:
    """Return this session's panel rows (dyads that attended it) as a compact record array."""
    columns = session_columns(clinics)
    dtype = np.dtype(
        [("session", np.int32)]
        + [(f, clinics.dyads.dtype[f]) for f in panel_fields(clinics.composition)]
    )
    block = np.empty(len(columns["dyad"]), dtype=dtype)
    for name in dtype.names:
        block[name] = columns[name]
    return block


def panel_columns(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Return sessions' panel columns as the per-session table's columns, in key order.

    Categorical columns hold their codes (:data:`CATEGORIES`); see :func:`as_frame` and
    :func:`as_arrow`.
    """
    if not blocks:
        empty = np.empty(0, dtype=PANEL_DTYPE)
        blocks = [
            {name: empty[name] for name in PANEL_DTYPE.names} | {"dyad": np.empty(0, np.int64)}
        ]
    extra = [n for n in blocks[0] if n not in PANEL_DTYPE.names and n != "dyad"]
    names = [*KEY_COLUMNS, "session", *PANEL_FIELDS[len(KEY_COLUMNS) :], *extra]
    # Blocks come session by session, each in dyad order; a stable sort by dyad gives every
    # dyad's sessions in order (dyads are stored in key order, checked below).
    order = np.argsort(np.concatenate([b["dyad"] for b in blocks]), kind="stable")
    columns = {name: np.concatenate([b[name] for b in blocks])[order] for name in names}
    for name in ("rupture_detected", "rupture_repaired", "rupture_patient_reported"):
        columns[name] = columns[name].astype(bool)
    return in_key_order(columns, (*KEY_COLUMNS, "session"))


CATEGORIES: dict[str, tuple[str, ...]] = {
    "technique": ("A", "B"),
    "status": STATUS_NAMES,
    "rupture": RUPTURE_NAMES,
}
"""Categorical columns of the output tables and their categories (a column holds codes)."""


def as_frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Return output columns as a DataFrame (codes of :data:`CATEGORIES` as Categoricals)."""
    data = {
        name: pd.Categorical.from_codes(values, CATEGORIES[name]) if name in CATEGORIES else values
        for name, values in columns.items()
    }
    return pd.DataFrame(data, copy=False)  # the columns are fresh: no second copy


def as_arrow(columns: Mapping[str, np.ndarray]) -> pa.Table:
    """Return output columns as a pyarrow Table, as :func:`as_frame`'s would convert.

    Numeric columns are wrapped without a copy; NaN (a score not measured) becomes a null, as
    ``pyarrow.Table.from_pandas`` does; codes of :data:`CATEGORIES` become dictionary arrays.
    Only a float column holding a NaN is converted with a validity mask (a tenth of the cost
    of converting every column that way).
    """
    arrays = {}
    for name, values in columns.items():
        if name in CATEGORIES:
            arrays[name] = pa.DictionaryArray.from_arrays(
                pa.array(values.astype(np.int8, copy=False)),
                pa.array(CATEGORIES[name], type=pa.large_string()),
            )
        else:
            masked = values.dtype.kind == "f" and bool(np.isnan(values).any())
            arrays[name] = pa.array(values, from_pandas=masked)
    return pa.table(arrays)


TABLE_MAKERS = {"pandas": as_frame, "arrow": as_arrow}


def in_key_order(columns: dict[str, np.ndarray], keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Return ``columns`` with rows stably sorted by ``keys``, or as they are when in key order.

    Rows come in key order as built (clinics, clinicians, patients; a panel's sessions follow
    each other within a dyad), so the check is all it costs.
    """
    if keys_sorted(*(columns[k] for k in KEY_COLUMNS)):
        return columns
    order = np.lexsort([columns[k] for k in reversed(keys)])
    return {name: values[order] for name, values in columns.items()}


def summary_fields(composition: Composition) -> dict[str, str]:
    """Return ``column -> field`` of the per-dyad table's final values, in registry order.

    A field marked with a ``summary`` column (:class:`sim.core.fields.Field`) appears under that
    name; an extension's field under its own name unless it says otherwise.
    """
    extension = {f.name for f in composition.extension_fields}
    return {
        f.summary or f.name: f.name
        for f in composition.dyad_fields
        if f.summary or f.name in extension
    }


def dyad_summary(clinics: Clinics) -> pd.DataFrame:
    """Return the per-dyad summary table of clinics run (fully or partly)."""
    return as_frame(summary_columns(clinics))


def summary_columns(
    clinics: Clinics, columns: Collection[str] | None = None
) -> dict[str, np.ndarray]:
    """Return the per-dyad summary's columns, in key order (categoricals as codes).

    Keys; the clinician's and the patient's traits (prefixed: a sweep may vary a trait's
    population median under the plain parameter name beside each agent's drawn value); every
    field's final value named in the registry (:func:`summary_fields`); and three derived
    columns: ``ruptures`` (withdrawals + confrontations), ``alliance_mean`` and
    ``engagement_mean`` (over attended sessions; NaN for a patient who attended none). With
    ``columns``, only those (and the keys), read from the records and nothing else.
    """
    finals = summary_fields(clinics.composition)
    traits = [f.name for f in clinics.composition.dyad_fields if f.role == "trait"]

    def wanted(column: str) -> bool:
        return columns is None or column in columns

    derived = {
        "ruptures": ("withdrawals", "confrontations"),
        "alliance_mean": ("sessions", "alliance_sum"),
        "engagement_mean": ("sessions", "engagement_sum"),
    }
    chosen = [t for t in CLINICIAN_TRAITS if wanted(f"clinician_{t}")]
    needed = [*KEY_COLUMNS, *(["clinician"] if chosen else [])]
    needed += [s for column, sources in derived.items() if wanted(column) for s in sources]
    needed += [t for t in traits if wanted(f"patient_{t}")]
    needed += [field for column, field in finals.items() if wanted(column)]
    d = record_columns(clinics.dyads, list(dict.fromkeys(needed)))
    out: dict[str, np.ndarray] = {name: d[name] for name in KEY_COLUMNS}
    if chosen:
        clinician = record_columns(clinics.clinicians, chosen)
        out |= {f"clinician_{t}": clinician[t][d["clinician"]] for t in chosen}
    out |= {f"patient_{t}": d[t] for t in traits if wanted(f"patient_{t}")}
    out |= {column: d[field] for column, field in finals.items() if wanted(column)}
    if wanted("alliance_mean") or wanted("engagement_mean"):
        attended = np.maximum(d["sessions"], 1)
    if wanted("ruptures"):
        out["ruptures"] = d["withdrawals"] + d["confrontations"]
    for column, total in (("alliance_mean", "alliance_sum"), ("engagement_mean", "engagement_sum")):
        if wanted(column):
            out[column] = np.where(d["sessions"] > 0, d[total] / attended, np.nan)
    return in_key_order(out, KEY_COLUMNS)  # as built: clinics, clinicians, patients


@jit
def keys_sorted(point_id, rep, clinician_id, patient_id):
    """Return whether rows are in ascending (point, replicate, clinician, patient) order."""
    for i in range(1, point_id.shape[0]):
        a = (point_id[i - 1], rep[i - 1], clinician_id[i - 1], patient_id[i - 1])
        b = (point_id[i], rep[i], clinician_id[i], patient_id[i])
        if b < a:
            return False
    return True
