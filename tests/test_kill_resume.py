"""A few SIGKILLs at random instants, each resumed to exactly the uninterrupted rows.

The full check (20 kills) is ``python tests/kill_resume.py``; this runs three in ``make test``.
"""

from __future__ import annotations

import pytest
from kill_resume import run


@pytest.mark.slow
def test_killed_sweeps_resume_to_the_uninterrupted_rows(capsys):
    failed = run(trials=3, seed=7)
    report = capsys.readouterr().out
    assert failed == 0, report
    assert report.count("resumed to the same rows") == 3
