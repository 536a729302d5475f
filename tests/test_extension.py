"""A mechanism added from outside the package runs on every path: the Mesa model, the batch
path and a two-worker ``alliance sweep``; a model that does not fit is refused in one sentence.

The toy mechanism, written to a temporary module as a researcher would: *hope*, a new state
that follows the alliance, and lifts the week's engagement by ``hope_lift`` times its level.
With ``hope_lift = 0`` it changes nothing the core computes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.core.batch import simulate
from sim.core.composition import CORE, compose
from sim.core.extension import Extension, ExtensionError
from sim.core.phase import phase
from sim.model import AllianceModel

TOY = textwrap.dedent('''
    """Hope: a toy mechanism for the tests."""
    from sim.core.extension import Extension
    from sim.core.fields import Field
    from sim.core.params import Param
    from sim.core.phase import phase

    @phase(writes=("hope",), after="alliance_growth")
    def hope_follows_alliance(hope, alliance, hope_rate):
        return hope + hope_rate * (alliance - hope)

    @phase(writes=("engagement",), after="engagement_in_week")
    def hope_lifts_engagement(engagement, hope, hope_lift):
        return min(1.0, engagement + hope_lift * hope)

    EXTENSION = Extension(
        "hope",
        fields=(Field("hope", "f8", "state", "hope that treatment will help", 0.0, 1.0,
                      panel=True, initial=0.2),),
        params=(Param("hope_rate", 0.3, 0.0, 1.0, "per session", "pace of hope", "toy",
                      "mechanism"),
                Param("hope_lift", 0.0, 0.0, 1.0, "share", "engagement hope adds", "toy",
                      "mechanism")),
        phases=(hope_follows_alliance, hope_lifts_engagement),
    )
''')

CLINIC = {"n_clinicians": 4, "patients_per_clinician": 15}


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("toy")
    (directory / "toy_hope.py").write_text(TOY, encoding="utf-8")
    sys.path.insert(0, str(directory))
    yield directory
    sys.path.remove(str(directory))


def test_mesa_model_runs_the_mechanism(toy_dir):
    model = AllianceModel(rng=4, extensions=["toy_hope"], hope_rate=0.5, **CLINIC)
    assert model.patients[0].hope == pytest.approx(0.2)
    while model.running:
        model.step()
    hopes = [p.hope for p in model.patients]
    assert all(0.0 <= h <= 1.0 for h in hopes) and np.std(hopes) > 0


def test_batch_path_shows_the_field_and_a_neutral_mechanism_changes_nothing(toy_dir):
    core = simulate(CLINIC, seed=5, record_sessions=True)
    neutral = simulate(CLINIC, seed=5, record_sessions=True, extensions=["toy_hope"])
    assert "hope" in neutral.dyads and "hope" in neutral.sessions
    pd.testing.assert_frame_equal(neutral.dyads.drop(columns="hope"), core.dyads)
    pd.testing.assert_frame_equal(neutral.sessions.drop(columns="hope"), core.sessions)
    # the panel's hope follows the alliance, by the toy's equation, from its initial 0.2
    first = neutral.sessions[neutral.sessions["session"] == 1]
    np.testing.assert_allclose(first["hope"], 0.2 + 0.3 * (first["alliance"] - 0.2), rtol=1e-15)


def test_the_mechanism_has_its_effect_on_both_paths(toy_dir):
    params = [CLINIC | {"hope_lift": 0.0}, CLINIC | {"hope_lift": 0.3}]
    by_courses = simulate(params, seed=6, extensions=["toy_hope"])
    by_sessions = simulate(params, seed=6, extensions=["toy_hope"], record_sessions=True)
    pd.testing.assert_frame_equal(by_courses.dyads, by_sessions.dyads)
    means = by_courses.dyads.groupby("point_id")["engagement_mean"].mean()
    assert means.loc[1] > means.loc[0] + 0.05


def test_a_two_worker_sweep_imports_the_mechanism(toy_dir, tmp_path):
    spec = tmp_path / "hope.toml"
    spec.write_text(
        textwrap.dedent("""
        [experiment]
        name = "hope"
        seed = 3
        replicates = 2
        record = ["dyads", "sessions"]
        extensions = ["toy_hope"]
        [clinic]
        n_clinicians = 3
        patients_per_clinician = 10
        [design]
        kind = "grid"
        [design.parameters]
        hope_lift = [0.0, 0.4]
    """),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(toy_dir), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli.experiments",
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--workers",
            "2",
            "--chunk-size",
            "1",
            "--quiet",
        ],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    runs = pd.read_parquet(out / "runs").sort_values(
        ["point_id", "rep", "clinician_id", "patient_id"]
    )
    sessions = pd.read_parquet(out / "sessions")
    assert "hope" in runs and "hope" in sessions and "hope_lift" in runs
    by_lift = runs.groupby("hope_lift")["engagement_mean"].mean()
    assert by_lift[0.4] > by_lift[0.0]
    # the same numbers as the batch path in this process
    expected = simulate(
        [{"n_clinicians": 3, "patients_per_clinician": 10, "hope_lift": v} for v in (0.0, 0.4)],
        seed=3,
        extensions=["toy_hope"],
        point_ids=[0, 1, 0, 1],
        reps=[0, 0, 1, 1],
        rows=[0, 1, 0, 1],
    ).dyads
    expected = expected.sort_values(["point_id", "rep", "clinician_id", "patient_id"])
    np.testing.assert_array_equal(runs["hope"].to_numpy(), expected["hope"].to_numpy())
    np.testing.assert_array_equal(
        runs["symptoms_final"].to_numpy(), expected["symptoms_final"].to_numpy()
    )
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert compose(["toy_hope"]).fingerprint[:16] in manifest
    assert CORE.fingerprint[:16] not in manifest


@phase(writes=("bond",), after="no_such_step")
def _misplaced(bond):
    return bond


@phase(writes=("bond",), after="alliance_growth")
def _reads_nothing_known(bond, no_such_value):
    return bond


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        (Extension("a", phases=(_misplaced,)), "not a step of the session"),
        (Extension("b", phases=(_reads_nothing_known,)), "reads 'no_such_value'"),
    ],
)
def test_an_extension_that_does_not_fit_is_refused_in_one_sentence(extension, message):
    with pytest.raises(ExtensionError, match=message):
        compose([extension])


def test_an_unimportable_extension_names_itself():
    with pytest.raises(ExtensionError, match="cannot import module 'no_such_module'"):
        compose(["no_such_module"])


def test_a_resumed_sweep_refuses_results_of_an_edited_model(tmp_path):
    """One fingerprint: editing an equation in a copy of the package changes it, and the copy
    will not add results to a store the original wrote (an unedited copy may)."""
    spec = tmp_path / "small.toml"
    spec.write_text(
        textwrap.dedent("""
        [experiment]
        name = "small"
        [clinic]
        n_clinicians = 2
        patients_per_clinician = 3
        max_sessions = 3
        [design]
        kind = "list"
        points = [{ repair_skill = 0.5 }]
    """),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[1]

    def sweep(package_root: Path) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(package_root)}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "sim.cli.experiments",
                "sweep",
                str(spec),
                "--out",
                str(out),
                "--serial",
                "--quiet",
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )

    assert sweep(root).returncode == 0
    for name, edit in (("same", ""), ("edited", "\n# a changed equation\n")):
        copy = tmp_path / name
        for package in ("sim", "agents", "experiments"):
            shutil.copytree(
                root / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        with (copy / "sim" / "core" / "equations.py").open("a", encoding="utf-8") as stream:
            stream.write(edit)
        result = sweep(copy)
        if name == "same":
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 2
            assert "another version of the model" in result.stderr
            assert "Traceback" not in result.stderr


@phase(writes=("mood",), after="pre_session_score")
def _mood_of_the_week(mood, mood_sd, z_mood):
    return 0.5 * mood + mood_sd * z_mood


@phase(writes=("closing_mood",), when="ended", after="closing_score")
def _closing_mood(mood):
    return mood


def test_an_extension_with_its_own_draw_and_a_closing_step():
    from sim.core.fields import Field
    from sim.core.params import Param
    from sim.core.phase import Draw

    mood = Extension(
        "mood",
        fields=(
            Field("mood", "f8", "state", "mood", panel=True),
            Field(
                "closing_mood", "f8", "summary", "mood when the course ended", initial=float("nan")
            ),
        ),
        params=(Param("mood_sd", 0.1, 0.0, 1.0, "sd", "week-to-week mood", "test", "mechanism"),),
        draws=(Draw("mood", "normal", 15),),
        phases=(_mood_of_the_week, _closing_mood),
    )
    by_courses = simulate(CLINIC, seed=8, extensions=[mood]).dyads
    panel = simulate(CLINIC, seed=8, extensions=[mood], record_sessions=True)
    pd.testing.assert_frame_equal(by_courses, panel.dyads)
    assert by_courses["mood"].std() > 0 and by_courses["closing_mood"].notna().all()
    np.testing.assert_array_equal(by_courses["closing_mood"], by_courses["mood"])
    # the core's numbers are untouched by a mechanism that only reads and draws on its own slot
    core = simulate(CLINIC, seed=8).dyads
    pd.testing.assert_frame_equal(by_courses.drop(columns=["mood", "closing_mood"]), core)
    with pytest.raises(ExtensionError, match="two draw slots"):
        compose([Extension("clash", draws=(Draw("other", "normal", 14),))])


@phase(writes=("repair_glow",), after="rupture_consequences", only_if="rupture_occurs")
def _glow_after_ruptures(repair_glow, bond):
    return repair_glow + bond


def test_a_step_that_runs_only_where_a_flag_holds_agrees_on_every_path():
    from sim.core.fields import Field

    glow = Extension(
        "glow",
        fields=(Field("repair_glow", "f8", "state", "sum of bonds at ruptures", panel=True),),
        phases=(_glow_after_ruptures,),
    )
    courses = simulate(CLINIC, seed=2, extensions=[glow]).dyads
    panel = simulate(CLINIC, seed=2, extensions=[glow], record_sessions=True)
    pd.testing.assert_frame_equal(courses, panel.dyads)
    sessions = panel.sessions.sort_values(["patient_id", "clinician_id", "session"])
    step = (
        sessions.groupby(["clinician_id", "patient_id"])["repair_glow"]
        .diff()
        .fillna(sessions["repair_glow"])
    )
    ruptured = sessions["rupture"] != "none"
    assert (step[~ruptured] == 0).all() and (step[ruptured] > 0).all()


def test_only_if_needs_a_value_for_outputs_that_are_not_arguments():
    with pytest.raises(ValueError, match="give the value of \\['boost'\\]"):

        @phase(writes=("boost",), only_if="rupture_occurs")
        def _boost(bond):
            return bond
