"""The parameter table and validation of overrides (sim/core/params.py)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sim.core.params import (
    CLINICIAN_TRAITS,
    PARAM_DTYPE,
    PARAMS,
    PATIENT_TRAITS,
    ParameterError,
    check_value,
    defaults,
    resolve,
    table,
    to_row,
)

INTEGER_PARAMS = sorted(name for name, p in PARAMS.items() if p.integer)
FLOAT_PARAMS = sorted(name for name, p in PARAMS.items() if not p.integer)


def allowed(name: str) -> str:
    """Return a regex for the message part that names the parameter and its allowed range."""
    p = PARAMS[name]
    kind = "a whole number" if p.integer else "a number"
    return re.escape(f"parameter '{name}' must be {kind} from {p.low:g} to {p.high:g}")


# --- the table -------------------------------------------------------------------------------


def test_table_is_consistent():
    assert len(PARAMS) == len(table()) > 0
    for name, p in PARAMS.items():
        assert p.name == name
        assert p.low < p.high, name
        assert p.unit and p.meaning and p.source, name
        assert p.group in {
            "clinic",
            "intervention",
            "clinician",
            "patient",
            "mechanism",
            "instrument",
        }, name


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_default_lies_within_bounds(name):
    p = PARAMS[name]
    assert p.low <= p.default <= p.high
    assert math.isfinite(p.default)
    if p.integer:
        assert p.default == round(p.default)
    assert check_value(name, p.default) == p.default


def test_param_dtype_has_a_float_field_for_each_parameter():
    assert PARAM_DTYPE.names == tuple(PARAMS)
    for name in PARAMS:
        assert PARAM_DTYPE[name] == np.float64, name


def test_traits_have_a_centre_and_a_spread():
    for trait in CLINICIAN_TRAITS + PATIENT_TRAITS:
        assert (PARAMS[trait].low, PARAMS[trait].high) == (0.0, 1.0)
        assert f"{trait}_spread" in PARAMS
    assert all(PARAMS[t].group == "clinician" for t in CLINICIAN_TRAITS)
    assert all(PARAMS[t].group == "patient" for t in PATIENT_TRAITS)


def test_to_row_packs_every_value():
    values = defaults()
    values["warmth"] = 0.123
    values["max_sessions"] = 7.0
    row = to_row(values)
    assert row.dtype == PARAM_DTYPE
    assert row.shape == (1,)
    for name, value in values.items():
        assert row[name][0] == value, name


# --- accepted values ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_bounds_are_inclusive(name):
    p = PARAMS[name]
    assert check_value(name, p.low) == p.low
    assert check_value(name, p.high) == p.high


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("warmth", "0.7", 0.7),
        ("warmth", " 0.25 ", 0.25),
        ("warmth", "1e-1", 0.1),
        ("rupture_base", "-3", -3.0),
        ("max_sessions", "12", 12.0),
        ("max_sessions", "12.0", 12.0),
        ("max_sessions", 12.0, 12.0),
        ("max_sessions", np.int64(12), 12.0),
        ("warmth", np.float32(0.5), 0.5),
        ("warmth", 1, 1.0),
    ],
)
def test_numbers_and_numeric_strings_are_accepted(name, value, expected):
    result = check_value(name, value)
    assert isinstance(result, float)
    assert result == expected


def test_resolve_applies_base_then_overrides():
    base = {"warmth": 0.9, "max_sessions": 12}
    values = resolve({"warmth": "0.4", "pressure": 0.1}, base=base)
    assert set(values) == set(PARAMS)
    assert values["warmth"] == 0.4
    assert values["max_sessions"] == 12.0
    assert values["pressure"] == 0.1
    untouched = set(PARAMS) - {"warmth", "max_sessions", "pressure"}
    assert all(values[name] == PARAMS[name].default for name in untouched)
    assert resolve() == defaults()


# --- rejected values ---------------------------------------------------------------------------

BAD_VALUES = [
    # (name, value, what the message must say after the allowed range)
    ("warmth", "abc", re.escape("got 'abc'")),
    ("warmth", "", "got ''"),
    ("warmth", float("nan"), "got NaN"),
    ("warmth", "nan", "got NaN"),
    ("warmth", -0.01, "got -0.01"),
    ("warmth", 1.01, "got 1.01"),
    ("warmth", float("inf"), "got inf"),
    ("rupture_base", -10.5, "got -10.5"),
    ("rupture_base", "5.5", "got 5.5"),
    ("max_sessions", 0, "got 0"),
    ("max_sessions", 201, "got 201"),
    ("max_sessions", 2.5, "got 2.5"),
    ("max_sessions", "2.5", "got 2.5"),
    ("n_clinicians", 0.5, "got 0.5"),
    ("warmth", True, "not a boolean"),
    ("max_sessions", False, "not a boolean"),
    ("warmth", None, "got NoneType None"),
    ("warmth", [0.5], re.escape("got list [0.5]")),
]


@pytest.mark.parametrize(("name", "value", "detail"), BAD_VALUES)
def test_check_value_rejects_with_name_and_range(name, value, detail):
    with pytest.raises(ParameterError, match=f"{allowed(name)}, {detail}"):
        check_value(name, value)


@pytest.mark.parametrize(("name", "value", "detail"), BAD_VALUES)
def test_resolve_rejects_with_name_and_range(name, value, detail):
    with pytest.raises(ParameterError, match=f"{allowed(name)}, {detail}"):
        resolve({name: value})
    with pytest.raises(ParameterError, match=f"{allowed(name)}, {detail}"):
        resolve(base={name: value})


def test_numpy_boolean_is_rejected():
    with pytest.raises(ParameterError, match=allowed("warmth")):
        check_value("warmth", np.True_)


@pytest.mark.parametrize("name", ["no_such_parameter", "Warmth", "", "max sessions"])
def test_unknown_name_is_rejected(name):
    with pytest.raises(ParameterError, match=re.escape(f"unknown parameter '{name}'")):
        check_value(name, 1.0)
    with pytest.raises(ParameterError, match=re.escape(f"unknown parameter '{name}'")):
        resolve({name: 1.0})


def test_unknown_name_suggests_close_names():
    with pytest.raises(ParameterError, match=r"did you mean .*warmth"):
        check_value("warmt", 0.5)


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)
    with pytest.raises(ValueError, match=allowed("max_sessions")):
        check_value("max_sessions", 2.5)
