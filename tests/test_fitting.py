"""Fitting to a clinic's data: the schema, bad data, resuming, and parameter recovery.

Parameter recovery runs at the issue's clinic size (20 clinicians x 25 patients) but with a
small ABC (50 particles, 3 generations, the four cheapest statistics) to stay within the test
budget; ``benchmarks/bench_fit.py`` runs the full-size check and reports its figures.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from experiments.science import fitting
from experiments.science.clinic_data import (
    OPTIONAL,
    REQUIRED,
    DataError,
    example_path,
    label,
    patient_table,
    read_clinic,
)
from sim.cli.experiments import main
from sim.core.batch import simulate

PRIORS = {
    "dropout_base": (-11.0, -5.0),
    "responsiveness": (0.05, 0.8),
    "alliance_initial": (0.2, 0.7),
}
CHEAP = ["dropout_rate", "pre_post_d", "wai_early", "sessions_mean"]


def clinic_csv(path, truth, seed, size=(20, 25), columns=(*REQUIRED, "wai")):
    setup = fitting.ClinicSetup(*size, 20, tuple(columns))
    label(fitting.simulate_records(setup, truth, seed)).to_csv(path, index=False)
    return path


def test_schema_round_trip_gives_the_models_own_table():
    result = simulate({"n_clinicians": 4, "patients_per_clinician": 10}, seed=3,
                      record_sessions=True)  # fmt: skip
    from experiments.science.clinic_data import from_simulation

    records = from_simulation(result.dyads, result.sessions)
    dyads, panel = patient_table(records)
    model = result.dyads.sort_values(["clinician_id", "patient_id"]).reset_index(drop=True)
    for column in ("symptom_score_intake", "symptom_score_post", "sessions", "wai_early",
                   "reported"):  # fmt: skip
        np.testing.assert_allclose(dyads[column].to_numpy(float), model[column].to_numpy(float))
    assert (dyads["status"].astype(str) == model["status"].astype(str)).all()
    assert len(panel) == len(result.sessions)


def test_the_shipped_example_is_valid():
    records = read_clinic(example_path())
    assert set(records.columns) == {*REQUIRED, *OPTIONAL}
    assert records["patient_id"].nunique() == 240 and records["clinician_id"].nunique() == 12
    observed = fitting.statistics_of(records, list(fitting.STATISTICS))
    assert all(np.isfinite(v) for v in observed.values())


GOOD = (
    "patient_id,clinician_id,session,phq9,ending\n"
    "a,c1,1,15,completed\na,c1,2,12,completed\nb,c1,1,20,dropped_out\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patient_id,clinician_id,session,ending\na,c1,1,completed\n",
         "column 'phq9' is missing"),
        (GOOD.replace("12,completed", "twelve,completed"),
         "column 'phq9', line 3: 'twelve' is not a number"),
        (GOOD.replace("1,20,", "1,31,"), "column 'phq9', line 4: 31 is outside 0-27"),
        (GOOD.replace("a,c1,2,12", "a,c1,1,12"),
         "columns 'patient_id', 'session', line 3: patient 'a' has session 1 again (first at "
         "line 2)"),
        (GOOD + "d,c1,,,dropped_out\n",
         "column 'session', line 5: patient 'd' has no session"),
        (GOOD.replace("b,c1,1,20,dropped_out", "b,c1,1,20,left"),
         "column 'ending', line 4: 'left' is not one of"),
    ],
    ids=["missing_column", "non_numeric", "out_of_range", "duplicate", "no_sessions",
         "bad_ending"],
)  # fmt: skip
def test_bad_data_is_one_line_exit_2_nothing_written(tmp_path, capsys, text, message):
    data = tmp_path / "clinic.csv"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "fit"
    status = main(["fit", str(data), "--params", "dropout_base", "--out", str(out), "--serial"])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_parquet_rows_are_named_from_one(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(GOOD), dtype=str)
    frame.loc[2, "phq9"] = "40"
    frame.to_parquet(tmp_path / "c.parquet")
    with pytest.raises(DataError, match=r"column 'phq9', row 3: 40 is outside 0-27"):
        read_clinic(tmp_path / "c.parquet")


def test_bad_options(tmp_path):
    data = clinic_csv(tmp_path / "c.csv", {}, 1, size=(2, 5))
    with pytest.raises(fitting.FitError, match="--statistics: 'nonsense' is unknown"):
        fitting.prepare(data, ["dropout_base"], statistics=["nonsense"])
    with pytest.raises(fitting.FitError, match="needs the data's column 'rupture_reported'"):
        fitting.prepare(data, ["dropout_base"], statistics=["rupture_report_share"])
    with pytest.raises(fitting.FitError, match="--prior dropout_base"):
        fitting.prepare(data, ["dropout_base"], priors={"dropout_base": (-3.0, -4.0)})
    with pytest.raises(fitting.FitError, match="--params: "):
        fitting.prepare(data, ["no_such_parameter"])


def test_fit_resumes_from_its_history_and_refuses_another(tmp_path):
    data = clinic_csv(tmp_path / "c.csv", {}, 1, size=(4, 6))
    out = tmp_path / "fit"
    options = dict(priors={"dropout_base": (-11.0, -5.0)}, statistics=["dropout_rate"],
                   population=10, sampler="serial", ppc_draws=3)  # fmt: skip
    first = fitting.fit(data, ["dropout_base"], out, generations=1, **options)
    assert len(first.generations) == 1
    second = fitting.fit(data, ["dropout_base"], out, generations=2, **options)
    assert list(second.generations["t"]) == [0, 1]
    pd.testing.assert_frame_equal(second.generations.iloc[:1], first.generations)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "fit" and len(manifest["runs"]) == 2
    assert manifest["versions"]["pyabc"] and manifest["model_fingerprint"]
    for name in ("posterior.parquet", "marginals.png", "ppc.png", "ppc.csv", "abc.db"):
        assert (out / name).stat().st_size > 0
    with pytest.raises(fitting.FitError, match="holds a fit of other data or settings"):
        fitting.fit(data, ["dropout_base"], out, generations=2, **(options | {"population": 11}))


TRUTHS = [
    {"dropout_base": -8.0, "responsiveness": 0.30, "alliance_initial": 0.41},
    {"dropout_base": -7.0, "responsiveness": 0.20, "alliance_initial": 0.55},
    {"dropout_base": -9.0, "responsiveness": 0.50, "alliance_initial": 0.30},
]


@pytest.mark.slow
def test_parameter_recovery_eight_of_nine(tmp_path):
    covered = {}
    for i, truth in enumerate(TRUTHS):
        data = clinic_csv(tmp_path / f"clinic{i}.csv", truth, seed=100 + i)
        result = fitting.fit(
            data,
            list(truth),
            tmp_path / f"fit{i}",
            priors=PRIORS,
            statistics=CHEAP,
            population=50,
            generations=3,
            sampler="serial",
            ppc_draws=5,
            seed=i + 1,
        )
        for name, ok in fitting.coverage_ok(result.summary, truth).items():
            covered[(i, name)] = ok
    assert sum(covered.values()) >= 8, covered
