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

from sim.core.state import RUPTURE_NAMES

PART_COLOURS = {"goal": "#1b9e77", "task": "#7570b3", "bond": "#d95f02"}
NEED_COLOURS = {
    "autonomy": "#1f78b4",
    "competence": "#33a02c",
    "relatedness": "#e31a1c",
    "internalisation": "#222222",
}
OUTCOME_COLOURS = {"repaired": "#1a9850", "repair failed": "#fdae61", "missed": "#d73027"}
RUPTURE_SHAPES = {"withdrawal": "triangle-down", "confrontation": "diamond"}
WIDTH = 300
"""Width of a half-width card's plot area: with its axes (about 60 px) the chart fits the
narrowest half-width card (about 400 px, a 1280 px screen with the sidebar open)."""

FONT_SIZE = 13
"""Font size of every label, title and legend (px): readable on a projector."""

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_CONFIG = {
    "view": {"stroke": None},
    "font": "sans-serif",
    "axis": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "titleFontWeight": "normal",
        "labelLimit": 0,
    },
    "header": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
    "title": {"fontSize": FONT_SIZE + 1, "anchor": "start", "offset": 4},
    "legend": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "symbolSize": 80,
        "labelLimit": 0,
        "rowPadding": 2,
        "columnPadding": 10,
        "titlePadding": 2,
        "padding": 0,
        "offset": 6,
    },
}


def _value(x: Any) -> Any:
    """Return a JSON-safe scalar (NaN and infinities become ``None``)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, numbers.Real):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def _session_axis(max_sessions: int, title: str | None = "session") -> dict[str, Any]:
    return {
        "field": "session",
        "type": "quantitative",
        "title": title,
        "scale": {"domain": [0, max_sessions]},
        "axis": {"tickMinStep": 1, "format": "d", "tickCount": min(max_sessions, 10)},
    }


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    # vega-embed options (also read from usermeta by other embedders): SVG (marks in the page,
    # testable and sharp on a projector), no actions menu (export links distract a class).
    return {
        "$schema": _SCHEMA,
        "config": _CONFIG,
        "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
        **body,
    }


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
        points.append(
            {
                "session": int(row["session"]),
                "value": _value(row[y]),
                "rupture": kind,
                "outcome": outcome,
            }
        )
    return points


def _rupture_layer(points: list[dict[str, Any]], max_sessions: int) -> dict[str, Any]:
    # No Vega legends for the markers: two more legends do not fit a card's width at a
    # projector's font size; the card shows the key as text instead (components.MARKER_KEY).
    return {
        "data": {"values": points},
        "mark": {
            "type": "point",
            "filled": True,
            "size": 110,
            "opacity": 1,
            "stroke": "#333333",
            "strokeWidth": 0.5,
        },
        "encoding": {
            "x": _session_axis(max_sessions),
            "y": {"field": "value", "type": "quantitative"},
            "shape": {
                "field": "rupture",
                "type": "nominal",
                "title": "rupture",
                "scale": {"domain": list(RUPTURE_SHAPES), "range": list(RUPTURE_SHAPES.values())},
                "legend": None,
            },
            "fill": {
                "field": "outcome",
                "type": "nominal",
                "title": "then",
                "scale": {"domain": list(OUTCOME_COLOURS), "range": list(OUTCOME_COLOURS.values())},
                "legend": None,
            },
            "tooltip": [
                {"field": "session"},
                {"field": "rupture"},
                {"field": "outcome"},
                {"field": "value", "title": "bond", "format": ".2f"},
            ],
        },
    }


def _long(rows: Sequence[Mapping[str, Any]], fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """Return rows in long form: one record per (session, series) with ``value``."""
    return [
        {"session": int(row["session"]), "series": label, "value": _value(row[field])}
        for row in rows
        for label, field in fields.items()
    ]


def _lines(
    values: list[dict[str, Any]],
    colours: Mapping[str, str],
    max_sessions: int,
    y_title: str,
    y_domain: list[float] | None,
    height: int,
    dashed: Sequence[str] = (),
    legend: str | None = "top",
    x_title: str | None = "session",
) -> dict[str, Any]:
    # Legends go above the plot, in as many rows as the labels need: at the right they would
    # push the chart past the card's edge, where it is cut off.
    shown = (
        {
            "orient": legend,
            "direction": "horizontal",
            "columns": 2 if len(colours) > 3 else len(colours),
        }
        if legend
        else None
    )
    encoding: dict[str, Any] = {
        "x": _session_axis(max_sessions, x_title),
        "y": {
            "field": "value",
            "type": "quantitative",
            "title": y_title,
            **({"scale": {"domain": y_domain}} if y_domain else {}),
        },
        "color": {
            "field": "series",
            "type": "nominal",
            "title": None,
            "scale": {"domain": list(colours), "range": list(colours.values())},
            "legend": shown,
        },
        "tooltip": [{"field": "session"}, {"field": "series"}, {"field": "value", "format": ".2f"}],
    }
    if dashed:
        encoding["strokeDash"] = {
            "field": "series",
            "type": "nominal",
            "legend": None,
            "scale": {
                "domain": list(colours),
                "range": [[4, 3] if name in dashed else [1, 0] for name in colours],
            },
        }
    return {
        "data": {"values": values},
        "height": height,
        "mark": {"type": "line", "point": {"size": 16}},
        "encoding": encoding,
    }


def alliance_chart(
    rows: Sequence[Mapping[str, Any]],
    max_sessions: int,
    *,
    width: int = WIDTH,
    height: int = 170,
    legend: bool = True,
    x_title: str | None = None,
) -> dict[str, Any]:
    """Plot goal, task and bond over sessions, with each rupture marked by type and fate."""
    lines = _lines(
        _long(rows, {p: p for p in PART_COLOURS}),
        PART_COLOURS,
        max_sessions,
        "goal, task, bond (0–1)",
        [0, 1],
        height,
        legend="top" if legend else None,
        x_title=x_title,
    )
    return {
        "width": width,
        "height": height,
        "layer": [lines, _rupture_layer(rupture_points(rows), max_sessions)],
        "resolve": {"scale": {"color": "independent", "fill": "independent"}},
    }


def outcome_chart(
    rows: Sequence[Mapping[str, Any]],
    max_sessions: int,
    *,
    instrument: str,
    outcome: str = "symptoms",
    width: int = WIDTH,
    height: int = 60,
) -> dict[str, Any]:
    """Plot the symptom score per session (or, for adherence, the share of doses taken)."""
    if outcome == "adherence":
        values = _long(rows[1:], {"doses taken": "engagement"})
        colours, title, domain = {"doses taken": "#2c7fb8"}, "doses taken (share)", [0, 1]
    else:
        values = _long(rows, {instrument: "symptom_score"})
        colours, title, domain = {instrument: "#444444"}, f"{instrument} (0–27)", [0, 27]
    # One series, named by the axis title: no legend.
    return {
        "width": width,
        **_lines(values, colours, max_sessions, title, domain, height, legend=None),
    }


def dyad_chart(
    rows: Sequence[Mapping[str, Any]],
    max_sessions: int,
    *,
    instrument: str,
    outcome: str = "symptoms",
) -> dict[str, Any]:
    """Plot the dyad up close: alliance with ruptures and repairs above, the outcome below."""
    return _spec(
        {
            "vconcat": [
                alliance_chart(rows, max_sessions),
                outcome_chart(
                    rows, max_sessions, instrument=instrument, outcome=outcome, height=80
                ),
            ],
            "spacing": 10,
        }
    )


def needs_chart(rows: Sequence[Mapping[str, Any]], max_sessions: int) -> dict[str, Any]:
    """Plot autonomy, competence and relatedness satisfaction and internalisation (dashed)."""
    fields = {
        "autonomy": "need_autonomy",
        "competence": "need_competence",
        "relatedness": "need_relatedness",
        "internalisation": "internalisation",
    }
    return _spec(
        {
            "width": WIDTH,
            **_lines(
                _long(rows, fields),
                NEED_COLOURS,
                max_sessions,
                "satisfaction, internalisation (0–1)",
                [0, 1],
                220,
                dashed=("internalisation",),
            ),
        }
    )


CENSUS_COLOURS = {"in treatment": "#2c7fb8", "finished": "#1a9850", "dropped out": "#d73027"}
EVENT_COLOURS = {"withdrawals": "#e6ab02", "confrontations": "#e7298a", "repairs": "#1a9850"}


def _stacked_census(
    census: Sequence[Mapping[str, int]], max_sessions: int, height: int
) -> dict[str, Any]:
    """Stacked areas: where the clinic's patients are after each session (running totals)."""
    values = [
        {"session": int(c["session"]), "series": name, "value": int(c[name]), "order": order}
        for c in census
        for order, name in enumerate(CENSUS_COLOURS)
    ]
    return {
        "data": {"values": values},
        "height": height,
        "mark": {"type": "area", "opacity": 0.85},
        "encoding": {
            "x": _session_axis(max_sessions, None),
            "y": {
                "field": "value",
                "type": "quantitative",
                "stack": "zero",
                "title": "patients (running totals)",
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "scale": {"domain": list(CENSUS_COLOURS), "range": list(CENSUS_COLOURS.values())},
                "legend": {
                    "orient": "top",
                    "direction": "horizontal",
                    "columns": len(CENSUS_COLOURS),
                },
            },
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [{"field": "session"}, {"field": "series"}, {"field": "value"}],
        },
    }


def clinic_chart(
    frame: pd.DataFrame, census: Sequence[Mapping[str, int]], max_sessions: int
) -> dict[str, Any]:
    """Plot the clinic: mean alliance; where the patients are; this session's ruptures, repairs.

    Parameters
    ----------
    frame : pandas.DataFrame
        Mesa's model reporters, one row per session (``Alliance``, ``Withdrawals``,
        ``Confrontations``, ``Repairs``: counts of the session).
    census : sequence of mappings
        Per session: patients ``in treatment``, ``finished`` and ``dropped out`` (running
        totals, see :attr:`sim.dashboard.model.TeachingClinic.census`).
    max_sessions : int
        The x axis's end.
    """
    session = frame.index.to_numpy()

    def series(columns: Mapping[str, str]) -> list[dict[str, Any]]:
        return [
            {"session": int(s), "series": label, "value": _value(v)}
            for label, column in columns.items()
            for s, v in zip(session, frame[column].to_numpy(), strict=True)
        ]

    alliance = _lines(
        series({"mean alliance": "Alliance"}),
        {"mean alliance": "#d95f02"},
        max_sessions,
        "mean alliance (0–1)",
        [0, 1],
        70,
        legend=None,
        x_title=None,
    )
    patients = _stacked_census(census, max_sessions, 90)
    events = _lines(
        series(
            {"withdrawals": "Withdrawals", "confrontations": "Confrontations", "repairs": "Repairs"}
        ),
        EVENT_COLOURS,
        max_sessions,
        "count in the session",
        None,
        80,
    )
    return _spec(
        {
            "vconcat": [{"width": WIDTH, **c} for c in (alliance, patients, events)],
            "spacing": 10,
            "resolve": {"scale": {"color": "independent"}},
        }
    )


def compare_chart(
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]],
    titles: tuple[str, str],
    max_sessions: int,
    *,
    instrument: str,
    outcome: str = "symptoms",
) -> dict[str, Any]:
    """Plot the same patient with two clinicians, side by side, on shared scales."""

    def column(rows: Sequence[Mapping[str, Any]], title: str, legend: bool) -> dict[str, Any]:
        return {
            "title": {"text": title},
            "vconcat": [
                alliance_chart(rows, max_sessions, width=WIDTH, height=150, legend=legend),
                outcome_chart(
                    rows,
                    max_sessions,
                    instrument=instrument,
                    outcome=outcome,
                    width=WIDTH,
                    height=70,
                ),
            ],
            "spacing": 8,
        }

    # Both columns share the colour scale, so Vega-Lite draws one legend (goal, task, bond).
    return _spec(
        {"hconcat": [column(left, titles[0], True), column(right, titles[1], True)], "spacing": 24}
    )
