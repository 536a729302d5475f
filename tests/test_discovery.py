"""Scenario discovery: PRIM finds known boxes; feature scores; the command's errors.

Two checks of the box. On synthetic points where the cases are exactly a known box, PRIM's
chosen box is that box within a few hundredths. On a model sweep (Latin hypercube over
attunement, pressure and warmth), dropout is high by the model's construction where clinicians
notice few ruptures and push hard (rupture strain rises with pressure; unnoticed ruptures go
unrepaired and drive dropout): the corner of low attunement and high pressure, every point of
which the test first checks is above the threshold, lies inside the box PRIM chooses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.runner.spec import from_dict
from experiments.runner.sweep import run_sweep
from experiments.science.discovery import DiscoveryError, discover, prim_box
from sim.cli.experiments import main


def test_prim_recovers_a_known_box():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.uniform(size=(800, 3)), columns=["a", "b", "c"])
    y = ((x["a"] < 0.35) & (x["b"] > 0.5)).to_numpy()
    tradeoff, chosen, limits = prim_box(x, y, min_density=0.95)
    row = tradeoff.loc[chosen]
    assert row["density"] >= 0.95 and row["coverage"] >= 0.85
    box = limits.set_index("parameter")
    assert set(box.index) == {"a", "b"}
    assert abs(box.loc["a", "high"] - 0.35) < 0.04 and np.isnan(box.loc["a", "low"])
    assert abs(box.loc["b", "low"] - 0.5) < 0.04 and np.isnan(box.loc["b", "high"])
    assert (tradeoff["coverage"].iloc[0], tradeoff["density"].iloc[0]) == (1.0, y.mean())


@pytest.fixture(scope="module")
def lhs_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("discovery")
    spec = from_dict(
        {
            "experiment": {"name": "d", "seed": 3, "replicates": 3},
            "clinic": {"n_clinicians": 5, "patients_per_clinician": 20, "max_sessions": 16},
            "design": {
                "kind": "lhs",
                "samples": 150,
                "seed": 2,
                "parameters": {
                    "attunement": {"low": 0.0, "high": 1.0},
                    "pressure": {"low": 0.0, "high": 1.0},
                    "warmth": {"low": 0.2, "high": 0.9},
                },
            },
        }
    )
    run_sweep(spec, out, chunk_size=5000, progress=False)
    return out


def test_prim_box_contains_the_high_dropout_corner(lhs_sweep):
    found = discover(lhs_sweep, "dropout_rate", above=0.3)
    summary = pd.read_parquet(lhs_sweep / "summary.parquet")
    corner = summary[(summary["attunement"] < 0.2) & (summary["pressure"] > 0.7)]
    assert len(corner) >= 3 and (corner["dropout_rate"] > 0.3).all(), "premise of the test"
    box = found.limits.set_index("parameter")
    for name, (low, high) in {"attunement": (0.0, 0.2), "pressure": (0.7, 1.0)}.items():
        if name in box.index:
            assert not box.loc[name, "low"] > low, name  # NaN (unrestricted) passes
            assert not box.loc[name, "high"] < high, name
    assert "attunement" in box.index  # the strongest driver is restricted
    row = found.tradeoff.loc[found.chosen]
    assert row["density"] >= 0.8
    assert found.words.startswith("dropout_rate exceeds 0.3 when attunement < ")
    # Feature scores: attunement matters most for dropout; each outcome's scores sum to 1.
    assert found.features["dropout_rate"].idxmax() == "attunement"
    np.testing.assert_allclose(found.features.sum(), 1.0)
    for name in ("-tradeoff.csv", "-box.csv", ".png"):
        assert (lhs_sweep / f"discovery-dropout_rate{name}").stat().st_size > 0
    assert (lhs_sweep / "feature-scores.csv").exists()


def test_discover_errors(lhs_sweep, capsys):
    with pytest.raises(DiscoveryError, match="choose a threshold inside that range"):
        discover(lhs_sweep, "dropout_rate", above=5)
    with pytest.raises(DiscoveryError, match="unknown"):
        discover(lhs_sweep, "nonsense", above=0.3)
    with pytest.raises(SystemExit) as parser_exit:
        main(["discover", str(lhs_sweep), "--outcome", "dropout_rate"])
    assert parser_exit.value.code == 2
    assert "one of the arguments --above --below is required" in capsys.readouterr().err
    assert main(["discover", str(lhs_sweep), "--outcome", "dropout_rate", "--below", "-1"]) == 2
    err = capsys.readouterr().err
    assert "none of the 150 points" in err and len(err.strip().splitlines()) == 1
