"""Figures of a clinic's run: a few dyads up close and the clinic's means, from the panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.core.instruments import PHQ9_MAX

PART_COLOURS = {"goal": "#1b9e77", "task": "#7570b3", "bond": "#d95f02"}
RUPTURE_COLOURS = {"withdrawal": "#e6ab02", "confrontation": "#e7298a"}


def pick_dyads(sessions: pd.DataFrame, n: int = 3) -> list[tuple]:
    """Pick up to ``n`` dyads that show both a repaired and a missed rupture (longest first).

    Returns their keys ``(point_id, rep, clinician_id, patient_id)``; dyads with any rupture
    fill the list when too few show both.
    """
    keys = ["point_id", "rep", "clinician_id", "patient_id"]
    ruptured = sessions["rupture"] != "none"
    per = (
        sessions.assign(
            repaired=sessions["rupture_repaired"],
            missed=ruptured & ~sessions["rupture_repaired"],
            ruptured=ruptured,
        )
        .groupby(keys, observed=True)[["repaired", "missed", "ruptured", "session"]]
        .agg({"repaired": "sum", "missed": "sum", "ruptured": "sum", "session": "max"})
    )
    both = per[(per["repaired"] > 0) & (per["missed"] > 0)]
    some = per[(per["ruptured"] > 0) & ~per.index.isin(both.index)]
    ordered = pd.concat(
        [
            both.sort_values("session", ascending=False, kind="stable"),
            some.sort_values("session", ascending=False, kind="stable"),
        ]
    )
    return list(ordered.index[:n])


def trajectories(sessions: pd.DataFrame, path: str | Path, n_dyads: int = 3) -> Path:
    """Draw goal, task, bond and symptoms for a few dyads, with ruptures, plus clinic means.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Per-session panel of one clinic (see the README's schema).
    path : str or Path
        PNG file to write.
    n_dyads : int
        Dyads to show up close.

    Returns
    -------
    Path
        The file written.
    """
    chosen = pick_dyads(sessions, n_dyads)
    columns = max(len(chosen), 1)
    # A bare Figure (no pyplot): no backend is chosen and no global state touched, so
    # importing this module keeps a notebook's inline plots working.
    fig = Figure(figsize=(4.3 * columns, 8), layout="constrained")
    grid = fig.add_gridspec(2, columns)
    keys = ["point_id", "rep", "clinician_id", "patient_id"]
    indexed = sessions.set_index(keys).sort_index()
    for column, key in enumerate(chosen):
        _dyad_panel(
            fig.add_subplot(grid[0, column]),
            indexed.loc[key],
            f"patient {key[3]} (clinician {key[2]})",
        )
    if not chosen:
        ax = fig.add_subplot(grid[0, 0])
        ax.text(0.5, 0.5, "no ruptures in this run", ha="center", va="center")
        ax.set_axis_off()
    _clinic_panel(fig.add_subplot(grid[1, :]), sessions)
    path = Path(path)
    fig.savefig(path, dpi=110, format="png")
    return path


def _dyad_panel(ax: Axes, dyad: pd.DataFrame, title: str) -> None:
    s = dyad["session"].to_numpy()
    for part, colour in PART_COLOURS.items():
        ax.plot(s, dyad[part], color=colour, label=part, lw=1.8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("session")
    ax.set_ylabel("latent level (0-1)")
    ax.set_title(title, fontsize=10)
    sym = ax.twinx()
    sym.plot(s, dyad["symptom_score"], color="0.35", ls="--", lw=1.2, label="PHQ-9")
    sym.set_ylim(0, PHQ9_MAX)
    sym.set_ylabel("symptom score (PHQ-9)", color="0.35")
    for kind, colour in RUPTURE_COLOURS.items():
        rows = dyad[dyad["rupture"] == kind]
        repaired = rows["rupture_repaired"].to_numpy()
        ax.scatter(
            rows["session"][repaired],
            rows["bond"][repaired],
            marker="o",
            s=60,
            color=colour,
            edgecolor="k",
            zorder=5,
            label=f"{kind}, repaired",
        )
        ax.scatter(
            rows["session"][~repaired],
            rows["bond"][~repaired],
            marker="X",
            s=70,
            color=colour,
            edgecolor="k",
            zorder=5,
            label=f"{kind}, missed",
        )
    ax.legend(fontsize=7, loc="lower right")


def _clinic_panel(ax: Axes, sessions: pd.DataFrame) -> None:
    means = sessions.groupby("session")[["goal", "task", "bond", "symptom_score"]].mean()
    for part, colour in PART_COLOURS.items():
        ax.plot(means.index, means[part], color=colour, lw=2, label=f"mean {part}")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("session")
    ax.set_ylabel("mean latent level (patients in treatment)")
    ax.set_title("the clinic", fontsize=10)
    sym = ax.twinx()
    sym.plot(means.index, means["symptom_score"], color="0.35", ls="--", label="mean PHQ-9")
    sym.set_ylim(0, PHQ9_MAX)
    active = sessions.groupby("session").size()
    ax.bar(
        active.index,
        active / max(active.max(), 1) * 0.25,
        color="0.85",
        zorder=0,
        label="patients attending (scaled)",
    )
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xticks(np.arange(1, int(sessions["session"].max()) + 1, 2) if len(sessions) else [])
