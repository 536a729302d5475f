"""Vega-Lite chart specs for the dashboard, built from panel rows and the clinic's reporters.

Specs are plain dicts (Vega-Lite v5) with inline data, drawn in the browser (see
:mod:`sim.dashboard.vega`): building one costs well under a millisecond on the server, where
rendering a Matplotlib figure to PNG costs 50-150 ms here, and the dashboard redraws four charts
per step. NaN becomes ``None`` (JSON ``null``): JSON has no NaN.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.state import RUPTURE_NAMES

PART_COLOURS = {"goal": "#1b9e77", "task": "#7570b3", "bond": "#d95f02"}
NEED_COLOURS = {"autonomy": "#1f78b4", "competence": "#33a02c", "relatedness": "#e31a1c",
                "internalisation": "#222222"}
OUTCOME_COLOURS = {"repaired": "#1a9850", "repair failed": "#fdae61",
                   "missed": "#d73027"}
RUPTURE_SHAPES = {"withdrawal": "triangle-down", "confrontation": "diamond"}
WIDTH = 330
"""Width of a one-column chart's plot area (a card is about 450-550 px wide)."""

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_CONFIG = {"view": {"stroke": None}, "axis": {"labelFontSize": 10, "titleFontSize": 10},
           "legend": {"labelFontSize": 10, "titleFontSize": 10, "symbolSize": 50,
                      "rowPadding": 1, "titlePadding": 2, "padding": 2}}


def _value(x: Any) -> Any:
    """Return a JSON-safe scalar (NaN and infinities become ``None``)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, numbers.Real):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def _session_axis(max_sessions: int) -> dict[str, Any]:
    return {"field": "session", "type": "quantitative", "title": "session",
            "scale": {"domain": [0, max_sessions]}, "axis": {"tickMinStep": 1, "format": "d"}}


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    # vega-embed options (also read from usermeta by other embedders): SVG (marks in the page,
    # testable and sharp on a projector), no actions menu (export links distract a class).
    return {"$schema": _SCHEMA, "config": _CONFIG,
            "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}}, **body}


def _rupture(row: Mapping[str, Any]) -> str:
    value = row.get("rupture", 0)
    return value if isinstance(value, str) else RUPTURE_NAMES[int(value)]


def rupture_points(rows: Sequence[Mapping[str, Any]], y: str = "bond") -> list[dict[str, Any]]:
    """Return one point per rupture: its session, ``y`` value, type and what became of it."""
    points = []
    for row in rows:
        kind = _rupture(row)
        if kind == "none":
            continue
        if row.get("rupture_repaired"):
            outcome = "repaired"
        elif row.get("rupture_detected"):
            outcome = "repair failed"
        else:
            outcome = "missed"
        points.append({"session": int(row["session"]), "value": _value(row[y]),
                       "rupture": kind, "outcome": outcome})
    return points


def _rupture_layer(points: list[dict[str, Any]], max_sessions: int,
                   legend: bool) -> dict[str, Any]:
    shown = {} if legend else {"legend": None}
    return {
        "data": {"values": points},
        "mark": {"type": "point", "filled": True, "size": 110, "opacity": 1,
                 "stroke": "#333333", "strokeWidth": 0.5},
        "encoding": {
            "x": _session_axis(max_sessions),
            "y": {"field": "value", "type": "quantitative"},
            # The shape legend goes above the plot: three legends at the right would wrap
            # into a second column and be cut off at the card's edge.
            "shape": {"field": "rupture", "type": "nominal", "title": "rupture",
                      "scale": {"domain": list(RUPTURE_SHAPES),
                                "range": list(RUPTURE_SHAPES.values())},
                      **({"legend": {"orient": "top", "direction": "horizontal"}} if legend
                         else shown)},
            "fill": {"field": "outcome", "type": "nominal", "title": "then",
                     "scale": {"domain": list(OUTCOME_COLOURS),
                               "range": list(OUTCOME_COLOURS.values())}, **shown},
            "tooltip": [{"field": "session"}, {"field": "rupture"}, {"field": "outcome"},
                        {"field": "value", "title": "bond", "format": ".2f"}],
        },
    }


def _long(rows: Sequence[Mapping[str, Any]], fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """Return rows in long form: one record per (session, series) with ``value``."""
    return [{"session": int(row["session"]), "series": label, "value": _value(row[field])}
            for row in rows for label, field in fields.items()]


def _lines(values: list[dict[str, Any]], colours: Mapping[str, str], max_sessions: int,
           y_title: str, y_domain: list[float] | None, height: int,
           dashed: Sequence[str] = (), legend: str | None = "right") -> dict[str, Any]:
    encoding: dict[str, Any] = {
        "x": _session_axis(max_sessions),
        "y": {"field": "value", "type": "quantitative", "title": y_title,
              **({"scale": {"domain": y_domain}} if y_domain else {})},
        "color": {"field": "series", "type": "nominal", "title": None,
                  "scale": {"domain": list(colours), "range": list(colours.values())},
                  "legend": {"orient": legend} if legend else None},
        "tooltip": [{"field": "session"}, {"field": "series"},
                    {"field": "value", "format": ".2f"}],
    }
    if dashed:
        encoding["strokeDash"] = {
            "field": "series", "type": "nominal", "legend": None,
            "scale": {"domain": list(colours),
                      "range": [[4, 3] if name in dashed else [1, 0] for name in colours]},
        }
    return {"data": {"values": values}, "height": height,
            "mark": {"type": "line", "point": {"size": 16}},
            "encoding": encoding}


def alliance_chart(rows: Sequence[Mapping[str, Any]], max_sessions: int, *,
                   width: int = WIDTH, height: int = 170, legend: bool = True) -> dict[str, Any]:
    """Plot goal, task and bond over sessions, with each rupture marked by type and fate."""
    lines = _lines(_long(rows, {p: p for p in PART_COLOURS}), PART_COLOURS, max_sessions,
                   "0-1", [0, 1], height, legend="right" if legend else None)
    return {"width": width, "height": height,
            "layer": [lines, _rupture_layer(rupture_points(rows), max_sessions, legend)],
            "resolve": {"scale": {"color": "independent", "fill": "independent"}}}


def outcome_chart(rows: Sequence[Mapping[str, Any]], max_sessions: int, *, instrument: str,
                  outcome: str = "symptoms", width: int = WIDTH,
                  height: int = 60) -> dict[str, Any]:
    """Plot the symptom score per session (or, for adherence, the share of doses taken)."""
    if outcome == "adherence":
        values = _long(rows[1:], {"doses taken": "engagement"})
        colours, title, domain = {"doses taken": "#2c7fb8"}, "doses taken", [0, 1]
    else:
        values = _long(rows, {instrument: "symptom_score"})
        colours, title, domain = {instrument: "#444444"}, instrument, [0, 27]
    # One series, named by the axis title: no legend.
    return {"width": width, **_lines(values, colours, max_sessions, title, domain, height,
                                     legend=None)}


def dyad_chart(rows: Sequence[Mapping[str, Any]], max_sessions: int, *, instrument: str,
               outcome: str = "symptoms") -> dict[str, Any]:
    """Plot the dyad up close: alliance with ruptures and repairs above, the outcome below."""
    return _spec({"vconcat": [alliance_chart(rows, max_sessions),
                              outcome_chart(rows, max_sessions, instrument=instrument,
                                            outcome=outcome)],
                  "spacing": 6})


def needs_chart(rows: Sequence[Mapping[str, Any]], max_sessions: int) -> dict[str, Any]:
    """Plot autonomy, competence and relatedness satisfaction and internalisation (dashed)."""
    fields = {"autonomy": "need_autonomy", "competence": "need_competence",
              "relatedness": "need_relatedness", "internalisation": "internalisation"}
    return _spec({"width": WIDTH, **_lines(_long(rows, fields), NEED_COLOURS, max_sessions,
                                            "0-1", [0, 1], 230, dashed=("internalisation",))})


def clinic_chart(frame: pd.DataFrame, max_sessions: int) -> dict[str, Any]:
    """Plot the clinic per session: mean alliance; active and dropped out; ruptures and repairs."""
    session = frame.index.to_numpy()

    def series(columns: Mapping[str, str]) -> list[dict[str, Any]]:
        return [{"session": int(s), "series": label, "value": _value(v)}
                for label, column in columns.items()
                for s, v in zip(session, frame[column].to_numpy(), strict=True)]

    alliance = _lines(series({"mean alliance": "Alliance"}), {"mean alliance": "#d95f02"},
                      max_sessions, "0-1", [0, 1], 55)
    patients = _lines(series({"active": "Active", "dropped out": "Dropouts"}),
                      {"active": "#2c7fb8", "dropped out": "#d73027"}, max_sessions,
                      "patients", None, 60)
    events = _lines(series({"withdrawals": "Withdrawals", "confrontations": "Confrontations",
                            "repairs": "Repairs"}),
                    {"withdrawals": "#e6ab02", "confrontations": "#e7298a",
                     "repairs": "#1a9850"}, max_sessions, "per session", None, 60)
    return _spec({"vconcat": [{"width": WIDTH - 40, **c} for c in (alliance, patients, events)],
                  "spacing": 4, "resolve": {"scale": {"color": "independent"}}})


def compare_chart(left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]],
                  titles: tuple[str, str], max_sessions: int, *, instrument: str,
                  outcome: str = "symptoms") -> dict[str, Any]:
    """Plot the same patient with two clinicians, side by side, on shared scales."""
    def column(rows: Sequence[Mapping[str, Any]], title: str) -> dict[str, Any]:
        return {"title": {"text": title, "fontSize": 11},
                "vconcat": [alliance_chart(rows, max_sessions, width=190, height=110,
                                           legend=False),
                            outcome_chart(rows, max_sessions, instrument=instrument,
                                          outcome=outcome, width=190, height=55)],
                "spacing": 4}

    return _spec({"hconcat": [column(left, titles[0]), column(right, titles[1])],
                  "spacing": 8})
