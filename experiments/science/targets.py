"""The published patterns P1–P14 as data: reading and checking ``experiments/science/targets.toml``.

Each pattern names its published value and interval, its source, the scenario it is computed
on and the analysis function that computes it (``experiments/science/targets.toml`` documents every
key). :func:`load_targets` checks the file completely, so that validation and calibration can
trust what they read.
"""

from __future__ import annotations

import importlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.core.params import ParameterError, check_value
from sim.core.scenarios import SCENARIOS

TARGETS_FILE = Path(__file__).resolve().parent / "targets.toml"
"""The shipped targets file."""

PATTERN_IDS = tuple(f"P{i}" for i in range(1, 15))
"""The published patterns (docs/MODEL.md, sections 1 and 10)."""

REQUIRED = (
    "name",
    "statistic",
    "target",
    "interval",
    "kind",
    "source",
    "scenario",
    "analysis",
    "data",
)
OPTIONAL = (
    "estimate",
    "exclude_zero",
    "below",
    "at_least",
    "indirect_positive",
    "supportive",
    "controlling",
    "options",
    "also",
    "report",
    "scale",
)
KINDS = ("ci", "range")
DATA = ("dyads", "panel", "both")
ALSO_KEYS = ("estimate", "name", "interval", "at_least", "exclude_zero", "scale")


@dataclass(frozen=True)
class Condition:
    """A further condition of a pattern's pass rule, on another field of its analysis.

    Attributes
    ----------
    estimate : str
        Field of the analysis result it applies to.
    name : str
        What it is, in a few words.
    low, high : float or None
        Interval the model's 95% interval must overlap (None: no such check).
    at_least : float or None
        Value the model's point estimate must reach (None: no such check).
    exclude_zero : bool
        The model's interval must lie above 0.
    scale : float or None
        For the calibration, a one-sided condition's unit (a shortfall of one ``scale``
        weighs as much as a value one half-width from an interval's centre).
    """

    estimate: str
    name: str
    low: float | None = None
    high: float | None = None
    at_least: float | None = None
    exclude_zero: bool = False
    scale: float | None = None


class TargetsError(ValueError):
    """A targets file that is incomplete or malformed; the message names the key."""


@dataclass(frozen=True)
class Target:
    """One published pattern and how the model is held to it.

    Attributes
    ----------
    id : str
        ``P1`` ... ``P14``.
    name, statistic, source : str
        What the pattern is, what is computed, and where the published figure comes from.
    target : float or str
        The published value (a range's midpoint), or a relation in words (P6).
    low : float
        Lower end of the published interval or range.
    high : float or str
        Upper end, or the id of the pattern whose model value bounds it (P6: ``"P5"``).
    kind : str
        ``"ci"`` or ``"range"``.
    scenario : str
        Scenario the statistic is computed on.
    analysis : str
        ``module.function`` that computes the statistic.
    data : str
        ``"dyads"``, ``"panel"`` or ``"both"`` (the analysis takes the per-dyad summary and
        the panel, in that order).
    estimate : str or None
        Field of the analysis result that is the statistic, when it returns several.
    exclude_zero, indirect_positive : bool
        Extra checks: the model's interval (of the indirect effect) lies above 0.
    below : str or None
        Extra check: the model's interval lies wholly below this pattern's interval.
    at_least : float or None
        Extra check: the model's point estimate is at least this.
    arms : dict
        Parameter settings of the arms of a contrast (P8: ``supportive``, ``controlling``).
    options : dict
        Keyword arguments of the analysis function.
    also : tuple of Condition
        Further conditions on other fields of the analysis result.
    report : tuple of str
        Fields of the analysis result shown beside the pattern, judged by nothing.
    scale : float or None
        For the calibration, the unit of a one-sided pattern (upper end ``inf``).
    """

    id: str
    name: str
    statistic: str
    target: float | str
    low: float
    high: float | str
    kind: str
    source: str
    scenario: str
    analysis: str
    data: str
    estimate: str | None = None
    exclude_zero: bool = False
    below: str | None = None
    at_least: float | None = None
    indirect_positive: bool = False
    arms: dict[str, dict[str, float]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    also: tuple[Condition, ...] = ()
    report: tuple[str, ...] = ()
    scale: float | None = None

    @property
    def centre(self) -> float | None:
        """The value the calibration aims at, or None when it is relative or open-ended."""
        return self.target if isinstance(self.target, float) else None

    @property
    def half_width(self) -> float | None:
        """Half the width of the published interval, or None when an end is relative or open."""
        if isinstance(self.high, float) and math.isfinite(self.high):
            return (self.high - self.low) / 2.0
        return None

    def function(self) -> Any:
        """Return the analysis function named by :attr:`analysis`."""
        module, _, name = self.analysis.rpartition(".")
        return getattr(importlib.import_module(module), name)


def load_targets(path: str | Path = TARGETS_FILE) -> dict[str, Target]:
    """Read and check a targets file.

    Parameters
    ----------
    path : str or Path
        TOML file with one ``[patterns.Pn]`` table per pattern.

    Returns
    -------
    dict
        :class:`Target` by id, in the order P1 ... P14.

    Raises
    ------
    TargetsError
        If the file cannot be read or a pattern is missing or malformed.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TargetsError(f"cannot read targets file '{path}' ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetsError(f"targets file '{path}' is not valid TOML ({exc})") from None
    patterns = data.get("patterns")
    if not isinstance(patterns, Mapping):
        raise TargetsError("the targets file needs [patterns.P1] ... [patterns.P14] tables")
    missing = [p for p in PATTERN_IDS if p not in patterns]
    if missing:
        raise TargetsError(f"the targets file lacks pattern(s) {', '.join(missing)}")
    unknown = [p for p in patterns if p not in PATTERN_IDS]
    if unknown:
        raise TargetsError(f"unknown pattern '{unknown[0]}'; allowed: {', '.join(PATTERN_IDS)}")
    targets = {pid: _target(pid, patterns[pid]) for pid in PATTERN_IDS}
    for target in targets.values():
        for other in (target.below, target.high):
            if isinstance(other, str) and other not in targets:
                raise TargetsError(f"patterns.{target.id} refers to unknown pattern '{other}'")
    return targets


def _target(pid: str, table: Any) -> Target:
    where = f"patterns.{pid}"
    if not isinstance(table, Mapping):
        raise TargetsError(f"{where} must be a table")
    absent = [k for k in REQUIRED if k not in table]
    if absent:
        raise TargetsError(f"{where} lacks key '{absent[0]}'")
    unknown = [k for k in table if k not in REQUIRED + OPTIONAL]
    if unknown:
        raise TargetsError(f"unknown key '{unknown[0]}' in {where}")
    for key in ("name", "statistic", "source", "analysis"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise TargetsError(f"{where}.{key} must be a non-empty string")
    interval = table["interval"]
    if not (isinstance(interval, list) and len(interval) == 2):
        raise TargetsError(f"{where}.interval must be [low, high]")
    low, high = (_number_or_id(v, f"{where}.interval") for v in interval)
    if not isinstance(low, float):
        raise TargetsError(f"{where}.interval's low end must be a number")
    target = _number_or_id(table["target"], f"{where}.target", words=True)
    if isinstance(high, float) and not low < high:
        raise TargetsError(f"{where}.interval must have low < high, got {interval}")
    if isinstance(high, float) and math.isfinite(high):
        if not isinstance(target, float) or not low <= target <= high:
            raise TargetsError(f"{where}.target must be a number within its interval")
    if table["kind"] not in KINDS:
        raise TargetsError(f"{where}.kind must be one of {', '.join(KINDS)}")
    if table["data"] not in DATA:
        raise TargetsError(f"{where}.data must be one of {', '.join(DATA)}")
    if table["scenario"] not in SCENARIOS:
        raise TargetsError(
            f"{where}.scenario '{table['scenario']}' is unknown; choose one of: "
            f"{', '.join(SCENARIOS)}"
        )
    module, _, name = table["analysis"].rpartition(".")
    if not module.startswith("experiments."):
        raise TargetsError(f"{where}.analysis must name a function of the experiments package")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise TargetsError(f"{where}.analysis '{table['analysis']}' cannot be imported") from None
    if not callable(function):
        raise TargetsError(f"{where}.analysis '{table['analysis']}' is not a function")
    arms = {
        arm: _arm(table[arm], f"{where}.{arm}")
        for arm in ("supportive", "controlling")
        if arm in table
    }
    if len(arms) == 1:
        raise TargetsError(f"{where} needs both supportive and controlling arms, or neither")
    at_least = table.get("at_least")
    if at_least is not None and (
        isinstance(at_least, bool) or not isinstance(at_least, int | float)
    ):
        raise TargetsError(f"{where}.at_least must be a number")
    flags = {}
    for key in ("exclude_zero", "indirect_positive"):
        flags[key] = table.get(key, False)
        if not isinstance(flags[key], bool):
            raise TargetsError(f"{where}.{key} must be true or false")
    for key in ("estimate", "below"):
        if key in table and not isinstance(table[key], str):
            raise TargetsError(f"{where}.{key} must be a string")
    options = table.get("options", {})
    if not isinstance(options, Mapping):
        raise TargetsError(f"{where}.options must be a table of keyword = value")
    report = table.get("report", [])
    if not (isinstance(report, list) and all(isinstance(r, str) for r in report)):
        raise TargetsError(f"{where}.report must be a list of field names")
    also = table.get("also", [])
    if not isinstance(also, list):
        raise TargetsError(f"{where}.also must be an array of tables ([[{where}.also]])")
    return Target(
        id=pid,
        name=table["name"],
        statistic=table["statistic"],
        target=target,
        low=low,
        high=high,
        kind=table["kind"],
        source=table["source"],
        scenario=table["scenario"],
        analysis=table["analysis"],
        data=table["data"],
        estimate=table.get("estimate"),
        below=table.get("below"),
        at_least=None if at_least is None else float(at_least),
        arms=arms,
        options=dict(options),
        report=tuple(report),
        scale=_scale(table.get("scale"), where),
        also=tuple(_condition(c, f"{where}.also[{i}]") for i, c in enumerate(also)),
        **flags,
    )


def _condition(table: Any, where: str) -> Condition:
    if not isinstance(table, Mapping):
        raise TargetsError(f"{where} must be a table")
    unknown = [k for k in table if k not in ALSO_KEYS]
    if unknown:
        raise TargetsError(
            f"unknown key '{unknown[0]}' in {where}; allowed: {', '.join(ALSO_KEYS)}"
        )
    for key in ("estimate", "name"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise TargetsError(f"{where}.{key} must be a non-empty string")
    low = high = at_least = None
    if "interval" in table:
        interval = table["interval"]
        if not (isinstance(interval, list) and len(interval) == 2):
            raise TargetsError(f"{where}.interval must be [low, high]")
        low, high = (_number_or_id(v, f"{where}.interval") for v in interval)
        if not (isinstance(low, float) and isinstance(high, float) and low < high):
            raise TargetsError(f"{where}.interval must be two numbers, low < high")
    if "at_least" in table:
        at_least = _number_or_id(table["at_least"], f"{where}.at_least")
        if not isinstance(at_least, float):
            raise TargetsError(f"{where}.at_least must be a number")
    exclude_zero = table.get("exclude_zero", False)
    if not isinstance(exclude_zero, bool):
        raise TargetsError(f"{where}.exclude_zero must be true or false")
    if low is None and at_least is None and not exclude_zero:
        raise TargetsError(
            f"{where} needs interval, at_least or exclude_zero (a field shown "
            "without a rule goes in the pattern's report list)"
        )
    return Condition(
        table["estimate"],
        table["name"],
        low,
        high,
        at_least,
        exclude_zero,
        _scale(table.get("scale"), where),
    )


def _scale(value: Any, where: str) -> float | None:
    if value is None:
        return None
    scale = _number_or_id(value, f"{where}.scale")
    if not (isinstance(scale, float) and scale > 0):
        raise TargetsError(f"{where}.scale must be a number above 0")
    return scale


def _number_or_id(value: Any, where: str, words: bool = False) -> float | str:
    if isinstance(value, bool):
        raise TargetsError(f"{where} must be a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (words or value in PATTERN_IDS):
        return value
    raise TargetsError(f"{where} must be a number{' or words' if words else ''}, got {value!r}")


def _arm(table: Any, where: str) -> dict[str, float]:
    if not isinstance(table, Mapping) or not table:
        raise TargetsError(f"{where} must be a table of parameter = value")
    try:
        return {name: check_value(name, value) for name, value in table.items()}
    except ParameterError as exc:
        raise TargetsError(f"{where}: {exc}") from None
