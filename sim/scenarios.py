"""Scenarios: named presets of parameters and instruments.

A scenario stands in for input data (ODD "Input"): it changes defaults of the parameter table
and names the instruments whose scores the outputs carry. ``alliance scenarios`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.params import ParameterError, resolve


@dataclass(frozen=True)
class Scenario:
    """A named preset.

    Attributes
    ----------
    name : str
        Identifier (``--scenario NAME``).
    description : str
        One line for listings.
    overrides : dict
        Parameter values that differ from the table's defaults.
    symptom_instrument : str
        Name of the symptom instrument the scores mimic.
    """

    name: str
    description: str
    overrides: dict[str, float] = field(default_factory=dict)
    symptom_instrument: str = "PHQ-9"

    def parameters(self, overrides: dict | None = None) -> dict[str, float]:
        """Return the scenario's complete, validated parameter set with ``overrides`` applied."""
        return resolve(overrides, base=self.overrides)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "psychotherapy",
            "weekly outpatient psychotherapy for depression, up to 20 sessions, PHQ-9 outcome "
            "(the default)",
        ),
    )
}


def get(name: str) -> Scenario:
    """Return the scenario called ``name``.

    Raises
    ------
    ParameterError
        If there is no such scenario; the message lists the known ones.
    """
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ParameterError(
            f"unknown scenario '{name}'; choose one of: {', '.join(SCENARIOS)}"
        ) from None
