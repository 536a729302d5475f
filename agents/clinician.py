"""The clinician: a Mesa agent whose traits are views onto its row of the model's arrays.

Changing a trait (``clinician.repair_skill = 0.9``) changes it for the clinician's whole
caseload from the next session on, as a training intervention would.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.fields import CLINICIAN_FIELDS


def _trait(name: str, meaning: str) -> property:
    def get(self: Clinician) -> float:
        return self.model.clinics.clinicians[self.index][name].item()

    def set_(self: Clinician, value: float) -> None:
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"clinician trait '{name}' must be a number from 0 to 1, got {value}")
        self.model.clinics.clinicians[self.index][name] = value

    return property(get, set_, doc=f"Trait: {meaning} (0-1).")


class Clinician(mesa.Agent):
    """A clinician with a caseload of patients.

    Parameters
    ----------
    model : sim.model.AllianceModel
        The model whose arrays hold this clinician's row.
    index : int
        Row of ``model.clinics.clinicians``.
    """

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def clinician_id(self) -> int:
        """Clinician number within the clinic."""
        return int(self.model.clinics.clinicians[self.index]["clinician_id"])

    @property
    def caseload(self) -> mesa.agent.AgentSet:
        """The clinician's patients (all of them, active or ended), as an ``AgentSet``."""
        rows = np.flatnonzero(self.model.clinics.dyads["clinician"] == self.index)
        return mesa.agent.AgentSet([self.model.patients[i] for i in rows], random=self.random)

    @property
    def active_caseload(self) -> int:
        """Number of the clinician's patients still in treatment."""
        d = self.model.clinics.dyads
        return int(np.count_nonzero((d["clinician"] == self.index) & (d["status"] == 0)))

    def __repr__(self) -> str:
        return f"Clinician({self.clinician_id}, caseload={len(self.caseload)})"


for _field in CLINICIAN_FIELDS:
    if _field.role == "trait":
        setattr(Clinician, _field.name, _trait(_field.name, _field.meaning))
