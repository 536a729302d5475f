"""Every outcome has one definition: the registry agrees with plain pandas written here.

The tables come from a real run stopped part-way (patients still active, dropouts, recoveries,
patients with no rupture and no session-3 rating yet), so every "who counts" rule is exercised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.science import analysis
from experiments.science.outcomes import OUTCOMES, REGISTRY, UnknownOutcome, clinic_values, get
from experiments.science.resampling import Resampling
from experiments.science.summarize import per_point
from sim.core.batch import dyad_summary, simulate
from sim.model import AllianceModel


def _plain(d: pd.DataFrame) -> dict[str, float]:
    """Each outcome as a reader of its definition would compute it with pandas."""
    status = d["status"].astype(str)
    ended = d[status != "active"]
    scored = d.dropna(subset=["symptom_score_intake", "symptom_score_post"])
    attended = d[d["sessions"] > 0]
    ruptured = d[d["ruptures"] > 0]
    change = scored["symptom_score_intake"] - scored["symptom_score_post"]
    return {
        "dropout_rate": (ended["status"].astype(str) == "dropped_out").mean(),
        "recovered_rate": (ended["status"].astype(str) == "recovered").mean(),
        "symptom_change": change.mean(),
        "pre_post_d": change.mean() / scored["symptom_score_intake"].std(ddof=1),
        "wai_early": d["wai_early"].mean(),  # pandas skips the missing ratings
        "alliance_mean": d["alliance_mean"].mean(),
        "ruptures_per_session": attended["ruptures"].sum() / attended["sessions"].sum(),
        "detected_share": ruptured["detected"].sum() / ruptured["ruptures"].sum(),
        "repaired_share": ruptured["repaired"].sum() / ruptured["ruptures"].sum(),
        "engagement_mean": d["engagement_mean"].mean(),
        "internalisation_final": d["internalisation_final"].mean(),
        "sessions_mean": d["sessions"].mean(),
    }


@pytest.fixture(scope="module")
def part_way() -> pd.DataFrame:
    """A clinic of 400 patients after 6 of 20 sessions: every kind of patient is there."""
    model = AllianceModel(11, n_clinicians=20, patients_per_clinician=20)
    for _ in range(6):
        model.step()
    dyads = dyad_summary(model.clinics)
    status = dyads["status"].astype(str)
    assert {"active", "dropped_out", "recovered"} <= set(status)
    assert dyads["wai_early"].isna().any() and dyads["wai_early"].notna().any()
    assert (dyads["ruptures"] == 0).any()
    return dyads


@pytest.fixture(scope="module")
def sweep_like() -> pd.DataFrame:
    """Three points × two replicates run to the end, as a sweep's part file holds them."""
    rows = [{"pressure": p, "n_clinicians": 6, "patients_per_clinician": 10} for p in (0.1, 0.5)]
    result = simulate(rows * 2, seed=5, point_ids=[0, 1, 0, 1], reps=[0, 0, 1, 1])
    return result.dyads


_NAMES = (
    "dropout_rate recovered_rate symptom_change pre_post_d wai_early alliance_mean "
    "ruptures_per_session detected_share repaired_share engagement_mean internalisation_final "
    "sessions_mean"
).split()


def test_the_registry_lists_every_outcome_once_and_this_file_checks_each():
    assert len(OUTCOMES) == len(REGISTRY)
    assert list(OUTCOMES) == _NAMES


@pytest.mark.parametrize("name", _NAMES)
def test_an_outcome_of_a_part_way_clinic_equals_its_plain_definition(part_way, name):
    assert OUTCOMES[name].value(part_way) == pytest.approx(_plain(part_way)[name], rel=1e-12)


@pytest.mark.parametrize("name", _NAMES)
def test_clinic_values_equal_the_plain_definition_per_clinic(sweep_like, name):
    values = clinic_values(sweep_like).set_index(["point_id", "rep"])[name]
    for (point, rep), clinic in sweep_like.groupby(["point_id", "rep"]):
        assert values[(point, rep)] == pytest.approx(_plain(clinic)[name], rel=1e-12)


def test_clinic_values_count_patients(sweep_like):
    clinics = clinic_values(sweep_like)
    assert clinics["patients"].tolist() == [60, 60, 60, 60]


def test_per_point_averages_replicate_clinics(sweep_like):
    clinics = clinic_values(sweep_like)
    design = pd.DataFrame({"point_id": [0, 1], "pressure": [0.1, 0.5]})
    summary = per_point(clinics, design).set_index("point_id")
    for point, group in clinics.groupby("point_id"):
        assert summary.loc[point, "dropout_rate"] == pytest.approx(group["dropout_rate"].mean())
        assert summary.loc[point, "replicates"] == 2


def test_the_pooled_estimate_is_the_value_with_an_interval(part_way):
    for outcome in REGISTRY:
        estimate = outcome.estimate(part_way, resampling=Resampling(n_resamples=200, seed=1))
        assert estimate.value == pytest.approx(outcome.value(part_way), rel=1e-12)
        assert estimate.low <= estimate.value <= estimate.high


def test_validation_and_summaries_use_the_same_definitions(part_way):
    assert analysis.dropout_rate(part_way).value == OUTCOMES["dropout_rate"].value(part_way)
    assert analysis.pre_post_d(part_way).value == OUTCOMES["pre_post_d"].value(part_way)
    wilson = analysis.dropout_rate(part_way, interval="wilson")
    assert wilson.value == pytest.approx(OUTCOMES["dropout_rate"].value(part_way))
    assert wilson.n == int((part_way["status"].astype(str) != "active").sum())


def test_status_read_as_strings_gives_the_same_values(part_way):
    as_strings = part_way.assign(status=part_way["status"].astype(str))
    for outcome in REGISTRY:
        assert np.isclose(
            outcome.value(as_strings), outcome.value(part_way), equal_nan=True, rtol=0
        )


def test_nobody_counting_gives_nan_not_an_error(part_way):
    active = part_way[part_way["status"].astype(str) == "active"]
    assert np.isnan(OUTCOMES["dropout_rate"].value(active))
    assert np.isnan(OUTCOMES["pre_post_d"].value(part_way.iloc[:1]))


def test_an_unknown_outcome_is_named_with_the_known_ones():
    with pytest.raises(UnknownOutcome, match="'dropout' is unknown; choose one of: dropout_rate"):
        get("dropout")


def test_a_missing_column_is_named(part_way):
    with pytest.raises(ValueError, match="wai_early"):
        OUTCOMES["wai_early"].value(part_way.drop(columns="wai_early"))
