"""Every named study runs at small size, resumes, and writes a report with every section."""

import re
from dataclasses import replace

import pytest

from experiments.runner.spec import load
from experiments.runner.sweep import run_sweep
from experiments.studies import STUDIES
from sim.cli.experiments import main

SECTIONS = ("## Question", "## Design", "## Answer")


def small(spec):
    """The study's own design at a size the test suite affords."""
    fixed = {**spec.fixed, "n_clinicians": 4, "patients_per_clinician": 10}
    return replace(spec, replicates=3, fixed=fixed)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_study_runs_and_reports_every_section(name, tmp_path):
    study = STUDIES[name]
    outcome = run_sweep(small(load(study.config)), tmp_path, raise_on_failure=True)
    assert outcome.done == outcome.planned
    text = study.report(tmp_path).read_text()
    for section in SECTIONS:
        assert section in text, f"{name}: no '{section}'"
    answer = text.split("## Answer", 1)[1].split("##", 1)[0].strip()
    assert answer and "nan" not in answer.lower(), f"{name}: answer is '{answer}'"
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (tmp_path / image).stat().st_size > 0, f"{name}: missing figure {image}"


def test_a_study_rerun_resumes(tmp_path, capsys, monkeypatch):
    spec = small(load(STUDIES["rupture_types"].config))
    monkeypatch.setattr("experiments.runner.spec.load", lambda path: spec)
    out = str(tmp_path / "rt")
    assert main(["study", "rupture_types", "--out", out, "--serial", "--quiet"]) == 0
    assert main(["study", "rupture_types", "--out", out, "--serial", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "0 chunks run, 3 already done" in [line for line in lines if "chunks" in line][1]


def test_unknown_study_is_one_line_exit_2(capsys):
    assert main(["study", "nonesuch"]) == 2
    err = capsys.readouterr().err
    assert "unknown study 'nonesuch'" in err and err.count("\n") == 1


def test_autonomy_support_arms_are_those_of_pattern_p8():
    from experiments.science.targets import load_targets

    arms = load_targets()["P8"].arms
    points = load(STUDIES["autonomy_support"].config).points
    expected = [
        {k: v for k, v in arms[arm].items() if not k.endswith("_spread")}
        for arm in ("supportive", "controlling")
    ]
    assert [dict(p) for p in points] == expected
