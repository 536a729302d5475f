"""The patient: a Mesa agent whose attributes are views onto its row of the model's arrays.

Nothing is stored on the agent but its row index: reading ``patient.bond`` reads
``model.clinics.dyads[index]["bond"]`` and assigning writes it, so the Numba kernel, Mesa's
``AgentSet`` (``select``, ``agg``, ``groupby``), the ``DataCollector`` and the dashboard all see
one state. Views go through ``self.model``, never through class-level arrays, so several models
live side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.core.fields import DYAD_FIELDS, RUPTURE_NAMES, STATUS_NAMES, Field

if TYPE_CHECKING:
    from agents.clinician import Clinician


def _field(name: str, doc: str, writable: bool = True) -> property:
    def get(self: Patient) -> float:
        return self.model.clinics.dyads[self.index][name].item()

    def set_(self: Patient, value: float) -> None:
        self.model.clinics.dyads[self.index][name] = value

    return property(get, set_ if writable else None, doc=doc)


class Patient(mesa.Agent):
    """A patient in treatment with one clinician.

    Parameters
    ----------
    model : sim.model.AllianceModel
        The model whose arrays hold this patient's row.
    index : int
        Row of ``model.clinics.dyads``.

    Notes
    -----
    Latent state (``goal``, ``task``, ``bond``, ``alliance``, ``trust``, ``rapport``,
    ``strain``, ``need_*``, ``internalisation``, ``engagement``, ``symptoms``,
    ``sensitivity``), fixed traits, this session's instrument readings (``wai_*``,
    ``symptom_score``) and counts (``sessions``, ``withdrawals``, ``confrontations``,
    ``detected``, ``repaired``, ``reported``) are all properties over the arrays.
    """

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def clinician(self) -> Clinician:
        """The patient's clinician (a :class:`~agents.clinician.Clinician`)."""
        return self.model.clinicians[int(self.model.clinics.dyads[self.index]["clinician"])]

    @property
    def patient_id(self) -> int:
        """Patient number within the clinic."""
        return int(self.model.clinics.dyads[self.index]["patient_id"])

    @property
    def status(self) -> str:
        """``active``, ``completed``, ``recovered`` or ``dropped_out``."""
        return STATUS_NAMES[int(self.model.clinics.dyads[self.index]["status"])]

    @property
    def technique(self) -> str:
        """``A`` (the clinician's usual technique) or ``B`` (in a technique trial)."""
        return "AB"[int(self.model.clinics.dyads[self.index]["technique"])]

    @property
    def active(self) -> bool:
        """Whether the patient is still in treatment."""
        return self.status == "active"

    @property
    def rupture(self) -> str:
        """Rupture in the latest session: ``none``, ``withdrawal`` or ``confrontation``."""
        return RUPTURE_NAMES[int(self.model.clinics.dyads[self.index]["rupture"])]

    @property
    def rupture_detected(self) -> bool:
        """Whether the clinician noticed this session's rupture."""
        return bool(self.model.clinics.dyads[self.index]["rupture_detected"])

    @property
    def rupture_repaired(self) -> bool:
        """Whether this session's rupture was repaired."""
        return bool(self.model.clinics.dyads[self.index]["rupture_repaired"])

    @property
    def attended_last_session(self) -> bool:
        """Whether the patient attended the model's latest session."""
        return self.sessions == self.model.clinics.session > 0

    def __getattr__(self, name: str) -> float:
        """Read a field an extension added (``patient.not_on_track``) from the arrays."""
        dyads = self.__dict__.get("model") and self.model.clinics.dyads
        if dyads is not None and name in (dyads.dtype.names or ()):
            return dyads[self.index][name].item()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"Patient({self.patient_id}, {self.status}, alliance={self.alliance:.2f}, "
            f"symptoms={self.symptoms:.2f})"
        )


def _property_of(field: Field) -> property:
    """Return the agent property of a field: state and traits writable, readings read-only."""
    doc = f"{field.meaning[0].upper()}{field.meaning[1:]} ({field.role})."
    return _field(field.name, doc, writable=field.role in ("state", "trait"))


for _field_def in DYAD_FIELDS:  # views onto every field of the registry (ids, codes and this
    # session's events have the typed properties above)
    if _field_def.role in ("state", "trait", "observed", "count", "summary"):
        setattr(Patient, _field_def.name, _property_of(_field_def))
