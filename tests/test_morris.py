"""Morris screening: the design kind, the analysis, its noise floor, and Sobol's marked intervals.

The do-nothing parameter is ``training_attunement`` with ``training_session`` fixed at 0 (no
training ever happens, so the attunement it would add is never added): its elementary effects
are replicate noise alone, since every design point draws its own clinics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.analyze import morris as salib_morris

from experiments.runner.designs import MORRIS_LEVELS, build_design, sobol_problem
from experiments.runner.spec import SpecError, free_parameters, from_dict
from experiments.runner.sweep import run_sweep
from experiments.science import sensitivity
from experiments.science.summarize import summarize
from sim.cli.experiments import main
from sim.core.params import PARAMS


def morris_spec(parameters=None, samples=10, replicates=6):
    design = {"kind": "morris", "samples": samples, "seed": 2}
    if parameters is not None:
        design["parameters"] = parameters
    return from_dict(
        {
            "experiment": {"name": "m", "seed": 3, "replicates": replicates},
            "clinic": {"n_clinicians": 5, "patients_per_clinician": 20, "max_sessions": 16},
            "fixed": {"training_session": 0},
            "design": design,
        }
    )


SCREENED = {
    "dropout_base": {"low": -10, "high": -6},
    "pressure": {"low": 0.1, "high": 0.7},
    "repair_skill": {"low": 0.1, "high": 0.9},
    "training_attunement": {"low": 0.0, "high": 1.0},  # does nothing: no training session
}


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    out = tmp_path_factory.mktemp("morris")
    run_sweep(morris_spec(SCREENED), out, chunk_size=2000, progress=False)
    return out


def test_default_morris_design_is_every_free_parameter():
    spec = morris_spec(samples=2)
    free = free_parameters(PARAMS)
    assert set(spec.parameters) == set(free) - {"training_session"}
    assert all(PARAMS[n].group not in ("clinic", "intervention") for n in spec.parameters)
    assert len(spec.parameters) >= 90
    design = build_design(spec)
    d = len(spec.parameters)
    assert len(design) == 2 * (d + 1)
    # Each step of a trajectory moves exactly one parameter.
    values = design[list(spec.parameters)].to_numpy()
    moved = (np.diff(values[: d + 1], axis=0) != 0).sum(axis=1)
    assert (moved == 1).all()


def test_morris_spec_errors():
    with pytest.raises(SpecError, match="whole-numbered"):
        morris_spec({"min_sessions": {"low": 2, "high": 9}})
    with pytest.raises(SpecError, match=r"design\.samples must be a whole number >= 2"):
        morris_spec(SCREENED, samples=1)


def test_effects_are_salibs(screened):
    spec = morris_spec(SCREENED)
    summary = summarize(screened).sort_values("point_id")
    problem = sobol_problem(spec)
    x = summary[problem["names"]].to_numpy(float)
    y = summary["dropout_rate"].to_numpy(float)
    effects = sensitivity.elementary_effects(x, y, np.array(problem["bounds"], float))
    found = salib_morris.analyze(problem, x, y, num_levels=MORRIS_LEVELS, seed=1)
    np.testing.assert_allclose(np.abs(effects).mean(axis=0), found["mu_star"])
    np.testing.assert_allclose(effects.mean(axis=0), found["mu"])


def test_do_nothing_parameter_ranks_last_inside_its_noise_floor(screened):
    result = sensitivity.morris_screening(screened, "dropout_rate")
    table = result.table.set_index("parameter")
    assert result.table["parameter"].iloc[-1] == "training_attunement"
    null = table.loc["training_attunement"]
    assert null["below_noise"] and null["mu_star"] < result.noise_floor
    # The parameters that act are above the floor, with intervals that exclude it.
    for name in ("dropout_base", "pressure", "repair_skill"):
        assert table.loc[name, "mu_star_low"] > result.noise_floor, name
    assert table.loc["repair_skill", "mu"] < 0 < table.loc["pressure", "mu"]
    assert (table["mu_star_low"] <= table["mu_star"]).all()
    assert (table["sigma_low"] <= table["sigma"]).all()
    assert (table["sigma"] <= table["sigma_high"]).all()
    assert result.replicates == 6 and result.trajectories == 10
    assert result.replicates_needed >= 1
    assert (screened / "sensitivity-dropout_rate.png").stat().st_size > 0
    written = pd.read_csv(screened / "sensitivity-dropout_rate.csv")
    assert list(written["parameter"]) == list(result.table["parameter"])


def test_noise_floor_matches_replicate_noise():
    # A null parameter's mu* from pure noise stays under the floor about 95% of the time.
    rng = np.random.default_rng(0)
    r, replicates, sd = 10, 6, 0.06
    delta = MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1))
    noise_sd = sd * np.sqrt(2 / replicates) / delta
    floor = noise_sd * (np.sqrt(2 / np.pi) + 1.645 * np.sqrt((1 - 2 / np.pi) / r))
    means = rng.normal(0, sd / np.sqrt(replicates), size=(20_000, r, 2))
    mu_star = np.abs((means[..., 1] - means[..., 0]) / delta).mean(axis=1)
    assert 0.93 < (mu_star < floor).mean() < 0.97


def test_cli_sensitivity_morris(screened, capsys):
    assert main(["sensitivity", str(screened), "--outcome", "dropout_rate"]) == 0
    out = capsys.readouterr().out
    assert "noise floor mu*" in out and "training_attunement" in out
    wrong = ["sensitivity", str(screened), "--outcome", "dropout_rate", "--method", "sobol"]
    assert main(wrong) == 2
    err = capsys.readouterr().err
    assert "holds a 'morris' design" in err and len(err.strip().splitlines()) == 1


def test_sobol_marks_intervals_covering_zero(tmp_path):
    spec = from_dict(
        {
            "experiment": {"name": "s", "seed": 5, "replicates": 2},
            "clinic": {"n_clinicians": 2, "patients_per_clinician": 10, "max_sessions": 12},
            "fixed": {"training_session": 0},
            "design": {
                "kind": "sobol",
                "samples": 16,
                "seed": 1,
                "parameters": {
                    "dropout_base": {"low": -10, "high": -6},
                    "training_attunement": {"low": 0, "high": 1},
                },
            },
        }
    )
    run_sweep(spec, tmp_path, chunk_size=2000, progress=False)
    table = sensitivity.sobol_indices(tmp_path, "dropout_rate").set_index("parameter")
    assert table.loc["training_attunement", "S1_covers_zero"]
    assert not table.loc["dropout_base", "ST_covers_zero"]
    expected = table["S1"] - table["S1_conf"] <= 0
    assert (table["S1_covers_zero"] == expected).all()


def test_a_saturated_outcome_is_noted():
    """Many points pinned at a bound (all patients dropping out) make indices understate."""
    free = np.linspace(0.1, 0.9, 80)
    assert sensitivity.saturation_words(free, "dropout_rate") is None
    pinned = np.concatenate([free, np.ones(25)])  # 24% of the points at 1
    note = sensitivity.saturation_words(pinned, "dropout_rate")
    assert note is not None and "24% of the design points give dropout_rate = 1" in note
    assert "highest" in note
    low = np.concatenate([free, np.zeros(40), [np.nan]])
    assert "lowest" in sensitivity.saturation_words(low, "recovered_rate")
