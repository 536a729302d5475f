"""The batch path: schemas, determinism, independence from chunking."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim.core.batch import KEY_COLUMNS, parameter_rows, simulate
from sim.core.state import LATENT_FIELDS, OBSERVED_FIELDS

SMALL = {"n_clinicians": 4, "patients_per_clinician": 10}


def test_summary_and_panel_schemas():
    result = simulate(SMALL, seed=1, record_sessions=True)
    dyads, sessions = result.dyads, result.sessions
    assert len(dyads) == 40
    for column in (
        *KEY_COLUMNS,
        "symptom_score_intake",
        "symptom_score_post",
        "sessions",
        "status",
        "withdrawals",
        "confrontations",
        "detected",
        "repaired",
        "wai_early",
        "alliance_mean",
        "internalisation_final",
        "engagement_mean",
    ):
        assert column in dyads.columns
    assert set(dyads["status"].astype(str)) <= {"completed", "recovered", "dropped_out"}
    assert list(sessions.columns[:5]) == [*KEY_COLUMNS, "session"]
    for column in (
        *LATENT_FIELDS,
        *OBSERVED_FIELDS,
        "rupture",
        "rupture_detected",
        "rupture_repaired",
        "rupture_patient_reported",
        "status",
    ):
        assert column in sessions.columns
    # One panel row per attended session, nothing after a patient ends.
    assert len(sessions) == dyads["sessions"].sum() == result.dyad_sessions
    per = sessions.groupby(list(KEY_COLUMNS), observed=True)["session"].agg(["min", "max", "size"])
    assert (per["min"] == 1).all() and (per["max"] == per["size"]).all()
    last = sessions.groupby(list(KEY_COLUMNS), observed=True)["status"].last()
    assert (last.astype(str).to_numpy() == dyads["status"].astype(str).to_numpy()).all()
    # The first session's pre-session score is the intake score.
    first = sessions[sessions["session"] == 1]["symptom_score"].to_numpy()
    np.testing.assert_array_equal(first, dyads["symptom_score_intake"].to_numpy())


def test_same_seed_same_numbers_different_seed_different_numbers():
    a = simulate(SMALL, seed=7, record_sessions=True)
    b = simulate(SMALL, seed=7, record_sessions=True)
    c = simulate(SMALL, seed=8)
    pd.testing.assert_frame_equal(a.dyads, b.dyads)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert not a.dyads["symptom_score_post"].equals(c.dyads["symptom_score_post"])


def test_clinics_do_not_depend_on_what_else_is_in_the_batch():
    """A clinic's numbers depend on (seed, point, rep) only, not on its batch companions."""
    rows = parameter_rows([{**SMALL, "repair_skill": 0.3}, {**SMALL, "repair_skill": 0.9}])
    together = simulate(rows, seed=5, rows=[0, 1, 1], point_ids=[10, 11, 11], reps=[0, 0, 1])
    alone = simulate(rows, seed=5, rows=[1], point_ids=[11], reps=[1])
    mask = (together.dyads["point_id"] == 11) & (together.dyads["rep"] == 1)
    pd.testing.assert_frame_equal(together.dyads[mask].reset_index(drop=True), alone.dyads)


def test_parallel_batch_is_bit_identical():
    a = simulate(SMALL, seed=2, record_sessions=True)
    b = simulate(SMALL, seed=2, record_sessions=True, parallel=True)
    pd.testing.assert_frame_equal(a.dyads, b.dyads)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)


def test_sweeping_clinic_size_per_row():
    rows = parameter_rows(
        [
            {"n_clinicians": 2, "patients_per_clinician": 3},
            {"n_clinicians": 1, "patients_per_clinician": 5},
        ]
    )
    result = simulate(rows, seed=1)
    assert result.dyads.groupby("point_id").size().to_dict() == {0: 6, 1: 5}


def test_arrow_tables_hold_what_the_pandas_tables_hold():
    """``tables="arrow"`` (what sweeps write) converts to the very DataFrames of the default."""
    frames = simulate(SMALL, seed=3, record_sessions=True)
    arrow = simulate(SMALL, seed=3, record_sessions=True, tables="arrow")
    assert frames.dyads["wai_early"].isna().any()  # the comparison covers missing scores
    assert arrow.dyads.column("wai_early").null_count == frames.dyads["wai_early"].isna().sum()
    for name in ("dyads", "sessions"):
        expected = getattr(frames, name)
        pd.testing.assert_frame_equal(getattr(arrow, name).to_pandas(), expected)
        assert getattr(arrow, name).equals(
            pa.Table.from_pandas(expected, preserve_index=False), check_metadata=False
        )


def test_unknown_table_kind_is_refused():
    with pytest.raises(ValueError, match="tables must be one of pandas, arrow"):
        simulate(SMALL, tables="polars")


def test_unsorted_batches_come_back_in_key_order():
    """Clinics given out of key order still give tables sorted by keys (and session)."""
    rows = parameter_rows(SMALL)
    result = simulate(
        rows, seed=4, rows=[0, 0], point_ids=[9, 2], reps=[0, 0], record_sessions=True
    )
    dyads, sessions = result.dyads, result.sessions
    assert dyads["point_id"].is_monotonic_increasing
    assert dyads.equals(dyads.sort_values(list(KEY_COLUMNS), ignore_index=True))
    assert sessions.equals(sessions.sort_values([*KEY_COLUMNS, "session"], ignore_index=True))
    alone = simulate(rows, seed=4, point_ids=[2])
    pd.testing.assert_frame_equal(dyads[dyads["point_id"] == 2].reset_index(drop=True), alone.dyads)
