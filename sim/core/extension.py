"""Mechanisms added from outside the package: fields, parameters, draws and phases.

An :class:`Extension` is what a researcher writes in their own module (or notebook) to ask a
what-if question about a *mechanism*: new fields of the dyad, new parameters with bounds, new
draws, and phases placed at named points of the session (``after="alliance_growth"``). Every
path runs it: ``AllianceModel(..., extensions=[ext])``, ``simulate(..., extensions=[ext])`` and
a sweep whose spec says ``extensions = ["my_module"]`` (workers import the module; the results
store's fingerprint covers its source). See docs/EXTENDING.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from sim.core.fields import Field
from sim.core.params import Param
from sim.core.phase import Draw, Event, Phase


class ExtensionError(ValueError):
    """An extension that cannot be loaded or does not fit the model."""


@dataclass(frozen=True, eq=False)
class Extension:
    """A mechanism added to the model.

    Attributes
    ----------
    name : str
        Short name (provenance, messages).
    fields : tuple of Field
        New dyad fields (in the arrays, the agents, the per-session panel if ``panel``, and the
        per-dyad table as their final value).
    params : tuple of Param
        New parameters, with defaults and bounds, settable like the core's.
    phases : tuple of Phase or Event
        New steps of the session, each placed with ``after=`` or ``before=`` a named step.
    draws : tuple of Draw
        New random draws (counter slots 15-31).
    """

    name: str
    fields: tuple[Field, ...] = ()
    params: tuple[Param, ...] = ()
    phases: tuple[Phase | Event, ...] = ()
    draws: tuple[Draw, ...] = ()

    def __post_init__(self) -> None:
        for attribute in ("fields", "params", "phases", "draws"):
            object.__setattr__(self, attribute, tuple(getattr(self, attribute)))

    @property
    def reference(self) -> str | None:
        """``module:attribute`` of this extension, or None if not importable by name."""
        import sys

        for module_name, module in list(sys.modules.items()):
            if module_name == "__main__" or module is None:
                continue
            for attribute, value in list(vars(module).items()):
                if value is self:
                    return f"{module_name}:{attribute}"
        return None


def load(reference: str) -> Extension:
    """Import an extension by reference: ``module`` (its ``EXTENSION``) or ``module:name``.

    Raises
    ------
    ExtensionError
        With one sentence naming the reference and what went wrong.
    """
    module_name, _, attribute = reference.partition(":")
    attribute = attribute or "EXTENSION"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ExtensionError(
            f"extension '{reference}': cannot import module '{module_name}' "
            f"({error}); is it on the workers' PYTHONPATH?"
        ) from None
    extension = getattr(module, attribute, None)
    if not isinstance(extension, Extension):
        raise ExtensionError(
            f"extension '{reference}': module '{module_name}' has no Extension named '{attribute}'"
        )
    return extension
