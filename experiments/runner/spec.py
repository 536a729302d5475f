"""Sweep specifications: a TOML file (or a dict) describing an experiment, validated in full.

Example (the README documents every key)::

    [experiment]
    name = "rupture_repair"
    scenario = "psychotherapy"
    seed = 2026
    replicates = 5
    record = ["dyads", "sessions"]

    [clinic]
    n_clinicians = 10
    patients_per_clinician = 20
    max_sessions = 20

    [fixed]
    pressure_spread = 0.3

    [design]
    kind = "grid"                       # list | grid | lhs | sobol | morris
    [design.parameters]
    repair_skill = [0.2, 0.5, 0.8]      # grid: values ...
    attunement = { low = 0.2, high = 0.8, num = 3 }   # ... or an even range

Every problem is reported as one sentence naming the key and what is allowed
(:class:`SpecError`); nothing is run or written before the whole spec is valid.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim.core.composition import compose
from sim.core.extension import ExtensionError
from sim.core.params import Param, ParameterError, check_value
from sim.core.scenarios import SCENARIOS

DESIGN_KINDS = ("list", "grid", "lhs", "sobol", "morris")
FIXED_GROUPS = ("clinic", "intervention")
"""Parameter groups a morris design leaves out by default: clinic size, trial switches."""
RECORDS = ("dyads", "sessions", "clinics")
RECORD_CHOICES = (("dyads",), ("dyads", "sessions"), ("clinics",))
"""What a sweep may record: per-dyad rows (and the per-session panel), or one row per clinic."""
TABLES = {"dyads": "runs", "sessions": "sessions", "clinics": "clinics"}
"""The store's table (folder of part files) of each recorded kind."""
CLINIC_KEYS = ("n_clinicians", "patients_per_clinician", "max_sessions")


class SpecError(ValueError):
    """A sweep specification that cannot be run; the message names the key."""


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification.

    Attributes
    ----------
    name : str
        Experiment name.
    scenario : str
        Scenario the parameters start from.
    seed : int
        Root seed; every draw follows from (seed, point id, replicate, clinician, patient).
    replicates : int
        Clinics simulated per design point.
    record : tuple of str
        ``("dyads",)``, ``("dyads", "sessions")`` or ``("clinics",)`` (one row per replicate
        clinic with every registered outcome, computed in the worker; no per-dyad rows).
    fixed : dict
        Overrides applied to every point (clinic size included).
    kind : str
        Design kind: ``list``, ``grid``, ``lhs``, ``sobol`` or ``morris``.
    parameters : dict
        Grid values per parameter (``grid``), or ``(low, high)`` bounds (``lhs``, ``sobol``).
    points : tuple of dict
        Explicit points (``list``).
    samples : int
        Sample size (``lhs``: points; ``sobol``: base sample N, giving N (D + 2) points;
        ``morris``: trajectories r, giving r (D + 1) points).
    design_seed : int
        Seed of the design's sampler.
    extensions : tuple of str
        Import references of mechanisms added to the model (``"module"`` or
        ``"module:name"``, :mod:`sim.core.extension`); workers import them.
    """

    name: str
    scenario: str = "psychotherapy"
    seed: int = 0
    replicates: int = 1
    record: tuple[str, ...] = ("dyads",)
    fixed: dict[str, float] = field(default_factory=dict)
    kind: str = "list"
    parameters: dict[str, Any] = field(default_factory=dict)
    points: tuple[dict[str, float], ...] = ()
    samples: int = 0
    design_seed: int = 0
    extensions: tuple[str, ...] = ()

    @property
    def varied(self) -> list[str]:
        """Names of the parameters the design varies, in a fixed order."""
        if self.kind == "list":
            names: dict[str, None] = {}
            for point in self.points:
                names.update(dict.fromkeys(point))
            return list(names)
        return list(self.parameters)

    @property
    def tables(self) -> tuple[str, ...]:
        """The store's tables this spec writes: ``runs`` (and ``sessions``), or ``clinics``."""
        return tables_of(self.record)

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> SweepSpec:
        """Rebuild a spec from :meth:`to_dict` output (as kept in a store's manifest)."""
        return cls(
            **{
                **data,
                "record": tuple(data["record"]),
                "points": tuple(data["points"]),
                "extensions": tuple(data.get("extensions", ())),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain JSON-able data (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    def content_hash(self) -> str:
        """Return a hash of everything that decides the results except the replicate count.

        Adding replicates to a finished sweep never changes existing replicates, so a store may
        be extended with more replicates; any other change makes it a different experiment.
        """
        data = self.to_dict()
        data.pop("replicates")
        data.pop("name")
        if not data["extensions"]:  # specs without extensions keep the hashes they had
            data.pop("extensions")
        # Key order is kept on purpose: the order of varied parameters decides the design.
        blob = json.dumps(data, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def load(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec from a TOML file.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or the spec is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec file '{path}' ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec file '{path}' is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec file '{path}' is not valid TOML ({exc})") from None
    return from_dict(data)


def from_dict(data: Mapping[str, Any]) -> SweepSpec:
    """Validate a spec given as nested mappings (the TOML's structure).

    Raises
    ------
    SpecError
        With one sentence naming the first problem's key and what is allowed.
    """
    _only(data, ("experiment", "clinic", "fixed", "design"), "the spec")
    experiment = _table(data, "experiment", required=True)
    _only(
        experiment,
        ("name", "scenario", "seed", "replicates", "record", "extensions"),
        "[experiment]",
    )
    name = experiment.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError("experiment.name must be a non-empty string")
    scenario = experiment.get("scenario", "psychotherapy")
    if scenario not in SCENARIOS:
        raise SpecError(
            f"experiment.scenario '{scenario}' is unknown; choose one of: {', '.join(SCENARIOS)}"
        )
    seed = _integer(experiment.get("seed", 0), "experiment.seed", low=0)
    replicates = _integer(experiment.get("replicates", 1), "experiment.replicates", low=1)
    record = experiment.get("record", ["dyads"])
    if isinstance(record, str):
        record = [record]
    known = isinstance(record, list) and all(r in RECORDS for r in record)
    if not known or tuple(r for r in RECORDS if r in record) not in RECORD_CHOICES:
        raise SpecError(
            'experiment.record must be ["dyads"], ["dyads", "sessions"] or ["clinics"], '
            f"got {record!r}"
        )
    extensions = experiment.get("extensions", [])
    if not isinstance(extensions, list) or not all(
        isinstance(e, str) and e.strip() for e in extensions
    ):
        raise SpecError(
            "experiment.extensions must be a list of module names, e.g. "
            '["my_mechanism"] or ["my_package.module:EXTENSION"]'
        )
    try:
        table = compose(extensions).params
    except ExtensionError as exc:
        raise SpecError(f"experiment.extensions: {exc}") from None

    fixed: dict[str, float] = {}
    clinic = _table(data, "clinic")
    _only(clinic, CLINIC_KEYS, "[clinic]")
    for key, value in clinic.items():
        fixed[key] = _param(key, value, f"clinic.{key}", table)
    for key, value in _table(data, "fixed").items():
        fixed[key] = _param(key, value, f"fixed.{key}", table)

    design = _table(data, "design", required=True)
    kind = design.get("kind")
    if kind not in DESIGN_KINDS:
        raise SpecError(f"design.kind must be one of {', '.join(DESIGN_KINDS)}, got {kind!r}")
    allowed = {
        "list": ("kind", "points"),
        "grid": ("kind", "parameters"),
        "lhs": ("kind", "parameters", "samples", "seed"),
        "sobol": ("kind", "parameters", "samples", "seed"),
        "morris": ("kind", "parameters", "samples", "seed"),
    }[kind]
    _only(design, allowed, f"[design] of kind '{kind}'")
    spec = dict(
        name=name.strip(),
        scenario=scenario,
        seed=seed,
        replicates=replicates,
        record=tuple(r for r in RECORDS if r in record),
        fixed=fixed,
        kind=kind,
        extensions=tuple(e.strip() for e in extensions),
    )
    if kind == "list":
        spec["points"] = _points(design.get("points"), table)
        varied = {n for p in spec["points"] for n in p}
    elif kind == "grid":
        spec["parameters"] = _grid(
            _table(design, "parameters", required=True, prefix="design."), table
        )
        varied = set(spec["parameters"])
    else:
        if kind == "morris" and "parameters" not in design:
            # Screening: every free parameter the spec does not fix.
            free = free_parameters(table).items()
            spec["parameters"] = {n: bounds for n, bounds in free if n not in fixed}
        else:
            spec["parameters"] = _bounds(
                _table(design, "parameters", required=True, prefix="design."), table
            )
        whole = [n for n in spec["parameters"] if table[n].integer]
        if kind == "morris" and whole:
            raise SpecError(
                f"design.parameters.{whole[0]} is whole-numbered; a morris design's "
                "elementary effects need continuous parameters"
            )
        low = 1 if kind == "lhs" else 2
        spec["samples"] = _integer(design.get("samples"), "design.samples", low=low)
        if kind == "sobol" and spec["samples"] & (spec["samples"] - 1):
            raise SpecError(
                f"design.samples must be a power of two for a sobol design "
                f"(Saltelli sampling), got {spec['samples']}"
            )
        spec["design_seed"] = _integer(design.get("seed", 0), "design.seed", low=0)
        varied = set(spec["parameters"])
    both = sorted(varied & set(fixed))
    if both:
        raise SpecError(f"parameter '{both[0]}' is both fixed and varied; keep it in one place")
    return SweepSpec(**spec)


def tables_of(record: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the store's tables (folders of part files) that ``record`` writes, in order."""
    return tuple(TABLES[r] for r in RECORDS if r in record)


def free_parameters(table: Mapping[str, Param]) -> dict[str, list[float]]:
    """Return ``{name: [low, high]}`` of every free parameter, a morris design's default.

    Free: continuous, with bounds, and outside :data:`FIXED_GROUPS` (clinic size and the
    switches of trials and training, which are choices of the experiment, not unknowns).
    """
    return {
        p.name: [p.low, p.high]
        for p in table.values()
        if p.group not in FIXED_GROUPS and not p.integer and p.low < p.high
    }


def _table(
    data: Mapping[str, Any], key: str, required: bool = False, prefix: str = ""
) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise SpecError(f"the spec needs a [{prefix}{key}] table")
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{prefix}{key} must be a table, got {type(value).__name__}")
    return dict(value)


def _only(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise SpecError(f"unknown key '{unknown[0]}' in {where}; allowed: {', '.join(allowed)}")


def _integer(value: Any, where: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where} must be a whole number >= {low}, got {value!r}")
    if value < low:
        raise SpecError(f"{where} must be a whole number >= {low}, got {value}")
    return value


def _param(name: str, value: Any, where: str, table: Mapping[str, Param]) -> float:
    if isinstance(value, str):
        # A TOML string is a typing mistake, not a number; check_value would parse it.
        raise SpecError(f"{where} must be a number, got the string {value!r}")
    try:
        return check_value(name, value, table)
    except ParameterError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _points(points: Any, table: Mapping[str, Param]) -> tuple[dict[str, float], ...]:
    if not isinstance(points, list) or not points:
        raise SpecError(
            "design.points must be a non-empty list of tables, e.g. "
            "points = [{ repair_skill = 0.2 }, { repair_skill = 0.8 }]"
        )
    checked = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise SpecError(f"design.points[{i}] must be a table of parameter = value")
        checked.append(
            {k: _param(k, v, f"design.points[{i}].{k}", table) for k, v in point.items()}
        )
    return tuple(checked)


def _grid(parameters: Mapping[str, Any], table: Mapping[str, Param]) -> dict[str, list[float]]:
    if not parameters:
        raise SpecError("design.parameters is empty; give at least one parameter to vary")
    grid: dict[str, list[float]] = {}
    for name, spec in parameters.items():
        where = f"design.parameters.{name}"
        if name not in table:
            _param(name, 0, where, table)  # raises the unknown-parameter message
        if isinstance(spec, Mapping):
            _only(spec, ("low", "high", "num"), where)
            low, high = (_param(name, spec.get(k), f"{where}.{k}", table) for k in ("low", "high"))
            num = _integer(spec.get("num"), f"{where}.num", low=1)
            if num > 1 and low >= high:
                raise SpecError(f"{where}.low must be below {where}.high")
            values = [low + (high - low) * i / max(num - 1, 1) for i in range(num)]
            if table[name].integer:
                values = sorted({float(round(v)) for v in values})
        elif isinstance(spec, list):
            if not spec:
                raise SpecError(f"{where} is an empty list; give at least one value")
            values = [_param(name, v, f"{where}[{i}]", table) for i, v in enumerate(spec)]
        else:
            raise SpecError(f"{where} must be a list of values or {{ low, high, num }}")
        grid[name] = values
    return grid


def _bounds(parameters: Mapping[str, Any], table: Mapping[str, Param]) -> dict[str, list[float]]:
    if not parameters:
        raise SpecError("design.parameters is empty; give at least one parameter to vary")
    bounds: dict[str, list[float]] = {}
    for name, spec in parameters.items():
        where = f"design.parameters.{name}"
        if name not in table:
            _param(name, 0, where, table)
        if not isinstance(spec, Mapping):
            raise SpecError(f"{where} must be a table {{ low = ..., high = ... }}")
        _only(spec, ("low", "high"), where)
        low, high = (_param(name, spec.get(k), f"{where}.{k}", table) for k in ("low", "high"))
        if not low < high or math.isclose(low, high):
            raise SpecError(f"{where}.low must be below {where}.high")
        bounds[name] = [low, high]
    return bounds
