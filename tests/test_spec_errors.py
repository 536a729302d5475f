"""A catalogue of bad sweep specs: one clear line, exit status 2, existing results untouched."""

import pandas as pd
import pytest

from sim.cli.experiments import main

GOOD = """
[experiment]
name = "good"
seed = 1
replicates = 1
[clinic]
n_clinicians = 2
patients_per_clinician = 3
max_sessions = 6
[design]
kind = "grid"
[design.parameters]
repair_skill = [0.2, 0.8]
"""

EXPERIMENT = '[experiment]\nname = "bad"\n'
GRID = '[design]\nkind = "grid"\n[design.parameters]\nrepair_skill = [0.5]\n'

CATALOGUE = [
    ("not toml", "[experiment\nname = 1", "is not valid TOML"),
    ("no experiment table", GRID, "needs a [experiment] table"),
    ("unknown top-level table", EXPERIMENT + GRID + "[extras]\na = 1\n", "unknown key 'extras'"),
    ("unknown experiment key", EXPERIMENT + "replicate = 3\n" + GRID, "unknown key 'replicate'"),
    ("empty name", '[experiment]\nname = ""\n' + GRID, "experiment.name must be a non-empty"),
    (
        "unknown scenario",
        EXPERIMENT + 'scenario = "mars"\n' + GRID,
        "experiment.scenario 'mars' is unknown",
    ),
    (
        "zero replicates",
        EXPERIMENT + "replicates = 0\n" + GRID,
        "experiment.replicates must be a whole number >= 1, got 0",
    ),
    (
        "replicates as a string",
        EXPERIMENT + 'replicates = "3"\n' + GRID,
        "experiment.replicates must be a whole number >= 1, got '3'",
    ),
    ("negative seed", EXPERIMENT + "seed = -4\n" + GRID, "experiment.seed must be a whole number"),
    ("unknown record", EXPERIMENT + 'record = ["panel"]\n' + GRID, "experiment.record must be"),
    (
        "no clinicians",
        EXPERIMENT + "[clinic]\nn_clinicians = 0\n" + GRID,
        "clinic.n_clinicians: parameter 'n_clinicians' must be a whole number from 1 to 100000",
    ),
    (
        "unknown clinic key",
        EXPERIMENT + "[clinic]\ntherapists = 3\n" + GRID,
        "unknown key 'therapists' in [clinic]",
    ),
    (
        "unknown fixed parameter",
        EXPERIMENT + "[fixed]\ncharm = 0.5\n" + GRID,
        "fixed.charm: unknown parameter 'charm'",
    ),
    (
        "fixed out of bounds",
        EXPERIMENT + "[fixed]\nwarmth = 2.0\n" + GRID,
        "fixed.warmth: parameter 'warmth' must be a number from 0 to 1, got 2.0",
    ),
    ("fixed NaN", EXPERIMENT + "[fixed]\nwarmth = nan\n" + GRID, "got NaN"),
    (
        "fixed as a string",
        EXPERIMENT + '[fixed]\nwarmth = "high"\n' + GRID,
        "fixed.warmth must be a number, got the string 'high'",
    ),
    ("no design", EXPERIMENT, "needs a [design] table"),
    (
        "unknown design kind",
        EXPERIMENT + '[design]\nkind = "random"\n',
        "design.kind must be one of list, grid, lhs, sobol",
    ),
    (
        "empty grid",
        EXPERIMENT + '[design]\nkind = "grid"\n[design.parameters]\n',
        "design.parameters is empty",
    ),
    (
        "grid with an empty list",
        EXPERIMENT + GRID.replace("[0.5]", "[]"),
        "design.parameters.repair_skill is an empty list",
    ),
    (
        "grid value out of bounds",
        EXPERIMENT + GRID.replace("[0.5]", "[0.5, 1.5]"),
        "design.parameters.repair_skill[1]: parameter 'repair_skill' must be a number from 0 to 1",
    ),
    (
        "grid range reversed",
        EXPERIMENT + GRID.replace("[0.5]", "{ low = 0.8, high = 0.2, num = 3 }"),
        "design.parameters.repair_skill.low must be below",
    ),
    (
        "unknown varied parameter",
        EXPERIMENT + GRID.replace("repair_skill", "charm"),
        "design.parameters.charm: unknown parameter 'charm'",
    ),
    (
        "lhs without samples",
        EXPERIMENT + '[design]\nkind = "lhs"\n[design.parameters]\n'
        "warmth = { low = 0.2, high = 0.8 }\n",
        "design.samples must be a whole number",
    ),
    (
        "sobol samples not a power of two",
        EXPERIMENT + '[design]\nkind = "sobol"\nsamples = 10\n'
        "[design.parameters]\nwarmth = { low = 0.2, high = 0.8 }\n",
        "must be a power of two",
    ),
    (
        "empty list design",
        EXPERIMENT + '[design]\nkind = "list"\npoints = []\n',
        "design.points must be a non-empty list",
    ),
    (
        "grid key in a list design",
        EXPERIMENT + '[design]\nkind = "list"\nsamples = 3\n',
        "unknown key 'samples' in [design] of kind 'list'",
    ),
    (
        "fixed and varied at once",
        EXPERIMENT + "[fixed]\nrepair_skill = 0.4\n" + GRID,
        "parameter 'repair_skill' is both fixed and varied",
    ),
]


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """A results directory from a good spec, and a snapshot of every byte in it."""
    root = tmp_path_factory.mktemp("existing")
    good = root / "good.toml"
    good.write_text(GOOD)
    out = root / "results"
    assert main(["sweep", str(good), "--out", str(out), "--serial", "--quiet"]) == 0
    return out


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("case", "text", "message"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_spec_is_refused_cleanly(existing, tmp_path, capsys, case, text, message):
    assert len(CATALOGUE) >= 15
    before = snapshot(existing)
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    status = main(["sweep", str(spec), "--out", str(existing), "--serial", "--quiet"])
    captured = capsys.readouterr()
    assert status == 2
    assert message in captured.err, captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert snapshot(existing) == before


def test_missing_spec_file_and_different_spec(existing, tmp_path, capsys):
    before = snapshot(existing)
    assert main(["sweep", str(tmp_path / "nowhere.toml"), "--out", str(existing)]) == 2
    other = tmp_path / "other.toml"
    other.write_text(GOOD.replace("[0.2, 0.8]", "[0.3]"))
    assert main(["sweep", str(other), "--out", str(existing), "--serial"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "cannot read spec file" in err[0]
    assert "holds results of a different spec" in err[1]
    assert snapshot(existing) == before


def test_replace_moves_results_it_cannot_continue_aside_and_starts_afresh(tmp_path, capsys):
    """`--replace` (what `make demo` uses, so that it still runs after the model changes): the
    results of another spec (or model version) are moved aside whole, never deleted; without it
    the refusal says so; results it can continue are continued, not moved."""
    good, other = tmp_path / "good.toml", tmp_path / "other.toml"
    good.write_text(GOOD)
    other.write_text(GOOD.replace("[0.2, 0.8]", "[0.3]"))
    out = tmp_path / "results"
    assert main(["sweep", str(good), "--out", str(out), "--serial", "--quiet"]) == 0
    before = snapshot(out)
    assert main(["sweep", str(other), "--out", str(out), "--serial", "--quiet"]) == 2
    assert "or add --replace to move them aside" in capsys.readouterr().err
    assert snapshot(out) == before

    args = ["sweep", str(other), "--out", str(out), "--serial", "--quiet", "--replace"]
    assert main(args) == 0
    err = capsys.readouterr().err
    (aside,) = tmp_path.glob("results.replaced-*")
    assert f"moved them to '{aside}'" in err and "different spec" in err
    assert snapshot(aside) == before  # the old results, whole
    assert len(pd.read_parquet(out / "design.parquet")) == 1  # the new spec's one point
    assert len(pd.read_parquet(aside / "design.parquet")) == 2
    resumed = snapshot(out)
    assert main(args) == 0  # results it can continue: nothing moved, nothing rerun
    assert list(tmp_path.glob("results.replaced-*")) == [aside]
    assert {k: v for k, v in snapshot(out).items() if k.name != "manifest.json"} == {
        k: v for k, v in resumed.items() if k.name != "manifest.json"
    }


def test_study_takes_replace():
    from sim.cli.experiments import build_parser

    args = build_parser().parse_args(["study", "rupture_repair", "--replace"])
    assert args.replace is True
