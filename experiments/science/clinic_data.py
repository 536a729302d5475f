"""A clinic's session-by-session records: the schema, its validation, and the model's output in it.

One row per attended session (CSV or Parquet; docs/FITTING.md documents the schema):

==================  ========  ===================================================================
column              required  meaning
==================  ========  ===================================================================
patient_id          yes       any label; one patient, seen by one clinician
clinician_id        yes       any label
session             yes       1, 2, ...: the patient's attended sessions, each once
phq9                yes       PHQ-9 total (0-27) completed before the session (session 1: intake);
                              may be empty where it was not collected
ending              yes       ``completed`` (planned end), ``recovered`` (ended early on
                              recovery), ``dropped_out`` (left unilaterally) or ``active``; on
                              every row of the patient, or only on some (it must agree)
wai                 no        WAI-SR total as the mean of its 12 items (1-5), end of the session
rupture_reported    no        0/1: the patient reported a rupture (tension, disagreement) this
                              session
phq9_end            no        the closing PHQ-9 after the last session (0-27), where one was taken
==================  ========  ===================================================================

Every problem is one :class:`DataError` sentence naming the column and the row (CSV: the line of
the file, the header being line 1; Parquet: the row, from 1), raised before anything is written.

:func:`patient_table` turns the records into the per-dyad table the outcome definitions read
(:mod:`experiments.science.outcomes`, the analyses), and :func:`from_simulation` writes the
model's output in the same schema, with the same columns as the data, so that the data and the
simulations go through one path to their statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("patient_id", "clinician_id", "session", "phq9", "ending")
OPTIONAL = ("wai", "rupture_reported", "phq9_end")
ENDINGS = ("completed", "recovered", "dropped_out", "active")
PHQ9_RANGE = (0.0, 27.0)
WAI_RANGE = (1.0, 5.0)
EARLY_SESSION = 3
"""Session whose WAI-SR is the early alliance (as the model's ``early_session``)."""


class DataError(ValueError):
    """Clinic data that cannot be used; the message names the column and the row."""


class _Rows:
    """How rows are named in messages: lines of a CSV file, or rows of a Parquet file."""

    def __init__(self, csv: bool) -> None:
        self.csv = csv

    def __call__(self, i: int) -> str:
        return f"line {i + 2}" if self.csv else f"row {i + 1}"


def read_clinic(path: str | Path) -> pd.DataFrame:
    """Read and validate a clinic's records; return them typed, in (patient, session) order.

    Returns
    -------
    pandas.DataFrame
        ``patient_id`` and ``clinician_id`` as strings, ``session`` as int, ``phq9`` (and the
        optional numeric columns present) as float, ``ending`` as string, ``rupture_reported``
        as float 0/1.

    Raises
    ------
    DataError
        One sentence naming the file, column and row of the first problem.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"'{path}' is neither .csv nor .parquet")
    try:
        if suffix == ".csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            raw = pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"'{path}' does not exist") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"'{path}' cannot be read ({exc})") from None
    return validate(raw, _Rows(suffix == ".csv"), str(path))


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)


def _numbers(raw: pd.DataFrame, column: str, rows: _Rows, name: str) -> np.ndarray:
    """Return a column as floats (empty cells NaN); raise on text that is not a number."""
    text = _text(raw[column]).astype(str).str.strip()
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(float)
    bad = np.flatnonzero(np.isnan(values) & (text != "").to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: column '{column}', {rows(i)}: {text.iloc[i]!r} is not a number")
    return values


def _in_range(
    values: np.ndarray, column: str, bounds: tuple[float, float], rows: _Rows, name: str
) -> None:
    low, high = bounds
    bad = np.flatnonzero(~np.isnan(values) & ((values < low) | (values > high)))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{name}: column '{column}', {rows(i)}: {values[i]:g} is outside {low:g}-{high:g}"
        )


def validate(raw: pd.DataFrame, rows: _Rows | None = None, name: str = "data") -> pd.DataFrame:
    """Validate records read as text (or typed, from Parquet); see :func:`read_clinic`."""
    rows = rows or _Rows(False)
    raw = raw.reset_index(drop=True)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(
            f"{name}: column '{missing[0]}' is missing (required: {', '.join(REQUIRED)}; "
            f"found: {', '.join(map(str, raw.columns)) or 'none'})"
        )
    if raw.empty:
        raise DataError(f"{name} has no rows")
    out = pd.DataFrame(index=raw.index)
    for column in ("patient_id", "clinician_id"):
        labels = _text(raw[column]).astype(str).str.strip()
        empty = np.flatnonzero((labels == "").to_numpy())
        if empty.size:
            raise DataError(f"{name}: column '{column}', {rows(int(empty[0]))}: empty")
        out[column] = labels
    session_text = _text(raw["session"]).astype(str).str.strip()
    no_session = np.flatnonzero((session_text == "").to_numpy())
    if no_session.size:
        i = int(no_session[0])
        raise DataError(
            f"{name}: column 'session', {rows(i)}: patient '{out['patient_id'].iloc[i]}' has no "
            "session (a patient with no sessions: give their sessions or leave them out)"
        )
    session = _numbers(raw, "session", rows, name)
    bad = np.flatnonzero((session < 1) | (session != np.round(session)))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{name}: column 'session', {rows(i)}: {session_text.iloc[i]!r} is not a whole "
            "number >= 1"
        )
    out["session"] = session.astype(np.int64)
    out["phq9"] = _numbers(raw, "phq9", rows, name)
    _in_range(out["phq9"].to_numpy(), "phq9", PHQ9_RANGE, rows, name)
    for column, bounds in (("wai", WAI_RANGE), ("phq9_end", PHQ9_RANGE)):
        if column in raw.columns:
            out[column] = _numbers(raw, column, rows, name)
            hint = "" if column != "wai" else " (the mean of the 12 items; a sum: divide by 12)"
            try:
                _in_range(out[column].to_numpy(), column, bounds, rows, name)
            except DataError as exc:
                raise DataError(f"{exc}{hint}") from None
    if "rupture_reported" in raw.columns:
        text = _text(raw["rupture_reported"]).astype(str).str.strip().str.lower()
        mapping = {"": np.nan, "0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0}
        mapping |= {"false": 0.0, "true": 1.0}
        unknown = np.flatnonzero(~text.isin(list(mapping)).to_numpy())
        if unknown.size:
            i = int(unknown[0])
            raise DataError(
                f"{name}: column 'rupture_reported', {rows(i)}: {text.iloc[i]!r} is not 0 or 1"
            )
        out["rupture_reported"] = text.map(mapping).to_numpy(float)
    ending = _text(raw["ending"]).astype(str).str.strip().str.lower()
    unknown = np.flatnonzero(~ending.isin([*ENDINGS, ""]).to_numpy())
    if unknown.size:
        i = int(unknown[0])
        raise DataError(
            f"{name}: column 'ending', {rows(i)}: {ending.iloc[i]!r} is not one of "
            f"{', '.join(ENDINGS)}"
        )
    out["ending"] = ending
    _check_patients(out, rows, name)
    return _per_patient_ending(out).sort_values(["patient_id", "session"]).reset_index(drop=True)


def _check_patients(out: pd.DataFrame, rows: _Rows, name: str) -> None:
    twice = np.flatnonzero(out.duplicated(["patient_id", "session"], keep="first").to_numpy())
    if twice.size:
        i = int(twice[0])
        first = int(
            np.flatnonzero(
                (out["patient_id"] == out["patient_id"].iloc[i]).to_numpy()
                & (out["session"] == out["session"].iloc[i]).to_numpy()
            )[0]
        )
        raise DataError(
            f"{name}: columns 'patient_id', 'session', {rows(i)}: patient "
            f"'{out['patient_id'].iloc[i]}' has session {out['session'].iloc[i]} again "
            f"(first at {rows(first)}); each (patient, session) once"
        )
    clinicians = out.groupby("patient_id")["clinician_id"].nunique()
    if (clinicians > 1).any():
        patient = clinicians[clinicians > 1].index[0]
        i = int(np.flatnonzero((out["patient_id"] == patient).to_numpy())[1])
        raise DataError(
            f"{name}: column 'clinician_id', {rows(i)}: patient '{patient}' has more than one "
            "clinician; the model gives each patient one"
        )
    given = out[out["ending"] != ""]
    endings = given.groupby("patient_id")["ending"].nunique()
    if (endings > 1).any():
        patient = endings[endings > 1].index[0]
        mine = given[given["patient_id"] == patient]
        i = int(mine.index[(mine["ending"] != mine["ending"].iloc[0]).to_numpy()][0])
        raise DataError(
            f"{name}: column 'ending', {rows(i)}: patient '{patient}' ends "
            f"'{out['ending'].iloc[i]}' here but '{mine['ending'].iloc[0]}' at "
            f"{rows(int(mine.index[0]))}"
        )
    without = sorted(set(out["patient_id"]) - set(given["patient_id"]))
    if without:
        i = int(np.flatnonzero((out["patient_id"] == without[0]).to_numpy())[0])
        raise DataError(
            f"{name}: column 'ending', {rows(i)}: patient '{without[0]}' has no ending on any "
            f"row; give one of {', '.join(ENDINGS)}"
        )
    scored = out.groupby("patient_id")["phq9"].count()
    if (scored == 0).any():
        patient = scored[scored == 0].index[0]
        i = int(np.flatnonzero((out["patient_id"] == patient).to_numpy())[0])
        raise DataError(
            f"{name}: column 'phq9', {rows(i)}: patient '{patient}' has no PHQ-9 score at any "
            "session"
        )


def _per_patient_ending(out: pd.DataFrame) -> pd.DataFrame:
    given = out[out["ending"] != ""].groupby("patient_id")["ending"].first()
    return out.assign(ending=out["patient_id"].map(given))


def patient_table(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the per-dyad table and the per-session panel the outcome definitions read.

    Per patient: ``symptom_score_intake`` (the first PHQ-9), ``symptom_score_post`` (the
    closing ``phq9_end`` where given, else the last PHQ-9 observed: a dropout's last
    observation), ``sessions`` (attended), ``status`` (the ending), ``wai_early`` (WAI-SR at
    session 3, if attended and rated), ``reported`` (sessions with a reported rupture), keyed by
    ``point_id = rep = 0`` and integer ``clinician_id``, ``patient_id``. The panel has the
    same keys, ``session`` and ``symptom_score``.
    """
    codes, _ = pd.factorize(records["patient_id"])
    session = records["session"].to_numpy(np.int64)
    order = np.lexsort((session, codes))
    codes, session = codes[order], session[order]
    clinician = pd.factorize(records["clinician_id"])[0][order]
    phq9 = records["phq9"].to_numpy(float)[order]
    n = int(codes.max()) + 1
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sessions = np.diff(np.r_[starts, len(codes)])
    scored = np.flatnonzero(~np.isnan(phq9))
    first = np.full(n, -1)
    last = np.full(n, -1)
    first[codes[scored[::-1]]] = scored[::-1]  # the earliest scored row wins
    last[codes[scored]] = scored  # the latest wins
    nan = np.full(n, np.nan)
    intake = np.where(first >= 0, phq9[np.maximum(first, 0)], nan)
    post = np.where(last >= 0, phq9[np.maximum(last, 0)], nan)
    if "phq9_end" in records.columns:
        closing = nan.copy()
        end = records["phq9_end"].to_numpy(float)[order]
        given = ~np.isnan(end)
        closing[codes[given]] = end[given]
        post = np.where(np.isnan(closing), post, closing)
    ending = records["ending"].to_numpy()[order][starts]
    dyads = pd.DataFrame(
        {
            "point_id": np.zeros(n, np.int64),
            "rep": np.zeros(n, np.int64),
            "clinician_id": clinician[starts],
            "patient_id": np.arange(n),
            "symptom_score_intake": intake,
            "symptom_score_post": post,
            "sessions": sessions.astype(np.int64),
            "status": pd.Categorical(ending, categories=ENDINGS),
            "wai_early": nan.copy(),
        }
    )
    if "wai" in records.columns:
        wai = records["wai"].to_numpy(float)[order]
        early = session == EARLY_SESSION
        dyads.loc[codes[early], "wai_early"] = wai[early]
    if "rupture_reported" in records.columns:
        reported = np.nan_to_num(records["rupture_reported"].to_numpy(float)[order])
        dyads["reported"] = np.bincount(codes, weights=reported, minlength=n)
    panel = pd.DataFrame(
        {
            "point_id": np.zeros(len(codes), np.int64),
            "rep": np.zeros(len(codes), np.int64),
            "clinician_id": clinician,
            "patient_id": codes,
            "session": session,
            "symptom_score": phq9,
        }
    )
    return dyads, panel


def from_simulation(
    dyads: pd.DataFrame, sessions: pd.DataFrame, columns: Sequence[str] = (*REQUIRED, *OPTIONAL)
) -> pd.DataFrame:
    """Return the model's output of one clinic as the clinic's records, with ``columns``.

    ``dyads`` and ``sessions`` are :func:`sim.core.batch.simulate`'s tables of one clinic
    (``record_sessions=True``). The optional columns a clinic lacks are left out, so that the
    model is observed as the clinic was: ``phq9_end`` is the closing score of those who completed
    or recovered (a dropout has none).
    """
    stride = int(max(dyads["patient_id"].max(), sessions["patient_id"].max())) + 1
    clinician = sessions["clinician_id"].to_numpy(np.int64)
    patient = clinician * stride + sessions["patient_id"].to_numpy(np.int64)
    row = pd.Index(
        dyads["clinician_id"].to_numpy(np.int64) * stride + dyads["patient_id"].to_numpy(np.int64)
    ).get_indexer(patient)  # each session's row of the per-dyad table
    status = dyads["status"].astype(str).to_numpy()
    records = pd.DataFrame(
        {
            "patient_id": patient,
            "clinician_id": clinician,
            "session": sessions["session"].to_numpy(np.int64),
            "phq9": sessions["symptom_score"].to_numpy(float),
            "ending": status[row],
        }
    )
    if "wai" in columns:
        records["wai"] = sessions["wai_total"].to_numpy(float)
    if "rupture_reported" in columns:
        records["rupture_reported"] = sessions["rupture_patient_reported"].to_numpy(float)
    if "phq9_end" in columns:
        closed = np.isin(status, ["completed", "recovered"])
        closing = np.where(closed, dyads["symptom_score_post"].to_numpy(float), np.nan)
        records["phq9_end"] = closing[row]
    return records


EXAMPLE_TRUTH = {"dropout_base": -7.5, "responsiveness": 0.35, "alliance_initial": 0.45}
"""The parameters the shipped example clinic was generated with (the rest: defaults)."""
EXAMPLE_SIZE = {"n_clinicians": 12, "patients_per_clinician": 20, "max_sessions": 20}
EXAMPLE_SEED = 2026


def example_path() -> Path:
    """Return the path of the shipped example clinic (``experiments/data/example_clinic.csv``).

    Synthetic: generated by the model (:func:`make_example`) from :data:`EXAMPLE_TRUTH`, 12
    clinicians with 20 patients each, every column of the schema.
    """
    from importlib.resources import files

    return Path(str(files("experiments.data") / "example_clinic.csv"))


def label(records: pd.DataFrame) -> pd.DataFrame:
    """Return simulated records with labels a clinic might use (``C01``, ``P0001``)."""
    clinicians = pd.factorize(records["clinician_id"], sort=True)[0]
    patients = pd.factorize(records["patient_id"], sort=True)[0]
    return records.assign(
        patient_id=[f"P{p + 1:04d}" for p in patients],
        clinician_id=[f"C{c + 1:02d}" for c in clinicians],
    )
