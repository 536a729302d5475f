"""Mesa agents as views onto the model's arrays: :class:`Patient` and :class:`Clinician`."""

from agents.clinician import Clinician
from agents.patient import Patient

__all__ = ["Clinician", "Patient"]
