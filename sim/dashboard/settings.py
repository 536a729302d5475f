"""What the sidebar says: the one source from which the dashboard's model is built.

:class:`Settings` holds the scenario, the slider values, the seed (as typed) and the compared
trait. The sidebar shows a :class:`Settings`; Reset and a change of scenario build the model from
it (:meth:`Settings.build`), so after either the model and the sidebar agree by construction.
:meth:`Settings.unapplied` names what was moved since the model was built, for a notice next to
the Reset button.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from sim.dashboard.model import (
    CONTRASTS,
    DEFAULT_CONTRAST,
    DEFAULT_SEED,
    LABELS,
    SLIDERS,
    TeachingClinic,
    parse_seed,
    slider_values,
)

SLIDER_DECIMALS = 2
"""Slider values are kept to two decimals (the slider's step is 0.01), so what the sidebar shows
is exactly what the model gets."""


def _frozen(traits: dict[str, float]) -> MappingProxyType:
    return MappingProxyType(dict(traits))


@dataclass(frozen=True)
class Settings:
    """The sidebar's state.

    Attributes
    ----------
    scenario : str
        Scenario name.
    traits : mapping of str to float
        Value of every slider trait (:data:`sim.dashboard.model.SLIDERS`), two decimals.
    seed : str
        The seed box's text (parsed by :func:`sim.dashboard.model.parse_seed` on build).
    contrast : str
        Clinician trait the compare view contrasts (a key of :data:`CONTRASTS`).
    """

    scenario: str
    traits: MappingProxyType = field(default_factory=lambda: _frozen({}))
    seed: str = str(DEFAULT_SEED)
    contrast: str = DEFAULT_CONTRAST

    @classmethod
    def of_scenario(
        cls, scenario: str, seed: int | str = DEFAULT_SEED, contrast: str = DEFAULT_CONTRAST
    ) -> Settings:
        """Return a scenario's settings: its slider values, the given seed and contrast."""
        traits = {
            name: round(value, SLIDER_DECIMALS) for name, value in slider_values(scenario).items()
        }
        return cls(scenario, _frozen(traits), str(seed), contrast)

    def with_trait(self, name: str, value: float) -> Settings:
        """Return these settings with one slider moved."""
        if name not in SLIDERS:
            raise KeyError(f"no slider '{name}'; sliders: {', '.join(SLIDERS)}")
        return replace(
            self, traits=_frozen({**self.traits, name: round(float(value), SLIDER_DECIMALS)})
        )

    def with_seed(self, text: str) -> Settings:
        """Return these settings with another seed text."""
        return replace(self, seed=str(text))

    def with_contrast(self, contrast: str) -> Settings:
        """Return these settings comparing clinicians in another trait."""
        if contrast not in CONTRASTS:
            raise KeyError(f"no contrast '{contrast}'; contrasts: {', '.join(CONTRASTS)}")
        return replace(self, contrast=contrast)

    def build(self) -> TeachingClinic:
        """Return a new model at session 0 with exactly these settings."""
        return TeachingClinic(
            scenario_name=self.scenario, seed=self.seed, contrast=self.contrast, **self.traits
        )

    def unapplied(self, model: TeachingClinic) -> list[str]:
        """Return what differs between these settings and ``model``, one phrase each.

        Empty when the model was built from these settings (or from equal ones).
        """
        phrases = []
        shown = model.dyad_traits
        for name in SLIDERS:
            if round(shown[name], SLIDER_DECIMALS) != self.traits[name]:
                phrases.append(
                    f"{LABELS[name].lower()} {self.traits[name]:.2f} (running: {shown[name]:.2f})"
                )
        seed, _ = parse_seed(self.seed)
        if seed != model.seed:
            phrases.append(f"seed {seed} (running: {model.seed})")
        if self.contrast != model.contrast:
            phrases.append(
                f"compare {LABELS[self.contrast].lower()} "
                f"(running: {LABELS[model.contrast].lower()})"
            )
        return phrases


def settings_of(model: TeachingClinic) -> Settings:
    """Return the settings ``model`` was built from (as the sidebar should show them)."""
    traits: dict[str, Any] = {
        name: round(value, SLIDER_DECIMALS)
        for name, value in model.dyad_traits.items()
        if name in SLIDERS
    }
    return Settings(model.info.name, _frozen(traits), str(model.seed), model.contrast)
