"""Study: autonomy-supportive versus directive clinicians in hypertension care.

Self-determination theory's process model (Ng et al. 2012): autonomy support feeds the needs,
needs feed internalised (autonomous) motivation, and internalisation carries adherence. The
design (``experiments/configs/autonomy_support.toml``) sets every clinician of a clinic to the
same two traits, collaboration (shared goals, autonomy support) and pressure (directiveness), at
the two arms of pattern P8 in ``experiments/science/targets.toml``; the report gives adherence, the
needs and internalisation per arm, and the effect with its mediation through internalisation,
computed by :func:`experiments.science.analysis.autonomy_support_effect` (Sheeran et al. 2020).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.runner.io import write_text
from experiments.runner.store import Store
from experiments.science.analysis import adherent_share, autonomy_support_effect
from experiments.science.outcomes import OUTCOMES
from experiments.science.report import figure, markdown_table, save_figure
from experiments.studies.common import committed_parts

QUESTION = (
    "Do autonomy-supportive clinicians, rather than directive ones, improve patients' "
    "adherence to antihypertensive medication, and is the effect carried by "
    "internalised motivation?"
)
ARMS = ("supportive", "directive")
NEEDS = ("need_autonomy", "need_competence", "need_relatedness", "internalisation")


def arm_of(design: pd.DataFrame) -> pd.Series:
    """Return each design point's arm: the one with more collaboration is supportive."""
    supportive = design["collaboration"] == design["collaboration"].max()
    return pd.Series(
        ["supportive" if s else "directive" for s in supportive], index=design["point_id"]
    )


def last_sessions(root: Path) -> pd.DataFrame:
    """Return each patient's last attended session (adherence and needs at the end)."""
    keys = ["point_id", "rep", "clinician_id", "patient_id"]
    parts = [
        s.sort_values([*keys, "session"]).drop_duplicates(keys, keep="last")
        for s in committed_parts(root, "sessions")
    ]
    return pd.concat(parts, ignore_index=True)


def report(root: Path) -> Path:
    """Build ``report.md`` and its figure from a finished autonomy_support sweep."""
    root = Path(root)
    spec = (Store(root).read_manifest() or {}).get("spec", {})
    design = pd.read_parquet(Store(root).design_path)
    arms = arm_of(design)
    dyads = pd.concat(committed_parts(root, "runs"), ignore_index=True)
    dyads["arm"] = dyads["point_id"].map(arms)
    last = last_sessions(root)
    last["arm"] = last["point_id"].map(arms)
    effect = autonomy_support_effect(
        dyads[dyads["arm"] == "supportive"], dyads[dyads["arm"] == "directive"]
    )
    adherent = {arm: adherent_share(last[last["arm"] == arm]) for arm in ARMS}

    rows = []
    for arm in ARMS:
        d, end = dyads[dyads["arm"] == arm], last[last["arm"] == arm]
        a = adherent[arm]
        rows.append(
            {
                "arm": arm,
                "patients": len(d),
                "adherence (mean doses taken)": d["engagement_mean"].mean(),
                "adherent at the end": f"{a.value:.1%} [{a.low:.1%}, {a.high:.1%}]",
                **{name.replace("_", " "): end[name].mean() for name in NEEDS},
                "dropout": OUTCOMES["dropout_rate"].value(d),
            }
        )
    table = pd.DataFrame(rows)
    effects = pd.DataFrame(
        [
            {"effect": name.replace("_", " "), "value": e.value, "low": e.low, "high": e.high}
            for name, e in (
                ("total (d)", effect.d),
                ("indirect, via internalisation", effect.indirect),
                ("direct", effect.direct),
                ("share mediated", effect.share_mediated),
            )
        ]
    )

    fig = figure(10, 4)
    axes = fig.subplots(1, 2)
    means = last.groupby("arm")[list(NEEDS)].mean().loc[list(ARMS)]
    means.T.plot.bar(ax=axes[0], rot=20)
    axes[0].set_ylabel("mean at the last visit (0-1)")
    for arm in ARMS:
        axes[1].hist(
            dyads.loc[dyads["arm"] == arm, "engagement_mean"], bins=30, alpha=0.5, label=arm
        )
    axes[1].set_xlabel("adherence: mean share of doses taken")
    axes[1].set_ylabel("patients")
    axes[1].legend()
    figure_path = save_figure(fig, root / "figures" / "autonomy_support.png")

    s, c = table.set_index("arm").loc["supportive"], table.set_index("arm").loc["directive"]
    higher = "higher" if effect.d.value > 0 else "lower"
    text = f"""# Autonomy support and adherence in hypertension care

## Question

{QUESTION}

## Design

Scenario `{spec.get("scenario")}`; every clinician of a clinic is autonomy-supportive
(collaboration {design["collaboration"].max():g}, pressure {
        design.loc[design["collaboration"].idxmax(), "pressure"]:g}) or directive (collaboration
{design["collaboration"].min():g}, pressure {
        design.loc[design["collaboration"].idxmin(), "pressure"]:g}), the arms of pattern P8;
{spec.get("replicates")} clinics per arm, {len(dyads):,} patients. Effects are in units of the
pooled SD of adherence (Cohen's d), with the mediation a x b through internalisation; 95%
intervals from a bootstrap over clinicians.

## Answer

Patients of autonomy-supportive clinicians took a {higher} share of their doses
({s["adherence (mean doses taken)"]:.1%} against {c["adherence (mean doses taken)"]:.1%},
d = {effect.d.value:.2f} [{effect.d.low:.2f}, {effect.d.high:.2f}]), and
{adherent["supportive"].value:.1%} against {adherent["directive"].value:.1%} were adherent at
the end of follow-up. The indirect effect through internalised motivation was
{effect.indirect.value:.2f} [{effect.indirect.low:.2f}, {effect.indirect.high:.2f}] SD, against
a direct effect of {effect.direct.value:.2f} [{effect.direct.low:.2f}, {effect.direct.high:.2f}]
SD: {effect.share_mediated.value:.0%} of the total effect ran through internalisation.

## By arm

{markdown_table(table)}

## Effect and mediation

{markdown_table(effects)}

![autonomy support]({figure_path.relative_to(root)})
"""
    return write_text(text, root / "report.md")
