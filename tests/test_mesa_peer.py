"""The benchmarks' Mesa peer runs the model's phases: a whole course on a small clinic.

``benchmarks/mesa_peer.py`` draws its own intake (plain Python, Mesa's generator), so a field
or trait added to the model must be added there too; this test fails when it is not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_peer_runs_whole_courses_with_every_field_the_phases_read(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from mesa_peer import PeerModel, PeerPatient

    from sim.core.fields import ACTIVE

    model = PeerModel(n_clinicians=3, patients_per_clinician=5, rng=7)
    while model.running:
        model.step()
    patients = list(model.agents_by_type[PeerPatient])
    assert len(patients) == 15
    assert all(p.status != ACTIVE for p in patients)
    symptoms = np.array([p.values["symptoms"] for p in patients])
    assert ((symptoms >= 0) & (symptoms <= 1)).all()
    sys.modules.pop("mesa_peer", None)
