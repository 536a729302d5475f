"""The Info tab's text: per scenario, what it is, how it works, what to notice, what to try.

Modelled on NetLogo's Info tab. Every scenario of :data:`sim.core.scenarios.SCENARIOS` has a
:class:`ScenarioInfo` in :data:`INFO` (a test holds it so); :data:`GLOSSARY` defines the words the
page uses. The text is qualitative on purpose: the model's numbers are re-calibrated from time to
time, and a sentence here must stay true when they move. Where a vignette's own clinic would use
another measure than the model's one symptom instrument, :attr:`ScenarioInfo.measure` says why the
page shows PHQ-9 and how to read it.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from pathlib import Path

MODEL_DOC = Path(__file__).resolve().parents[2] / "docs" / "MODEL.md"
"""The model's full description (equations, parameters, calibration)."""


@dataclass(frozen=True)
class ScenarioInfo:
    """The Info tab for one scenario.

    Attributes
    ----------
    what_it_is : str
        The clinical situation, in two or three sentences.
    how_it_works : str
        What the scenario changes in the model, and why.
    notice : tuple of str
        Things to notice on the page.
    try_ : tuple of str
        Things to try (a slider to move, a contrast to pick), each with what to look for.
    measure : str
        What the outcome chart shows for this scenario, and why that instrument.
    """

    what_it_is: str
    how_it_works: str
    notice: tuple[str, ...]
    try_: tuple[str, ...]
    measure: str


_PHQ9 = (
    "The outcome is a PHQ-9-like depression score (0–27, lower is better), measured before "
    "each session: the questionnaire outpatient psychotherapy for depression uses."
)

_PHQ9_AS_DISTRESS = (
    "The model has one symptom instrument, a PHQ-9-like depression score (0–27, lower is "
    "better); here it stands for the patient's emotional distress. Depression is common "
    "alongside {condition}, and PHQ-9 is a usual screen in such clinics, but it is not this "
    "vignette's own outcome: a real clinic would also follow {own_measure}. Read the score's "
    "direction, not its level."
)

INFO: dict[str, ScenarioInfo] = {
    "psychotherapy": ScenarioInfo(
        what_it_is=(
            "Weekly outpatient psychotherapy for depression, up to 20 sessions. Clinician and "
            "patient build a working alliance (agreement on goals and tasks, and a bond) while "
            "ruptures — moments where the collaboration breaks down — come and go."
        ),
        how_it_works=(
            "Each session the clinician's pressure, felt through the patient's sensitivity, "
            "strains the session; strain, a weak bond and unrepaired ruptures make a rupture "
            "likelier. An attuned clinician notices it, and repair skill decides whether the "
            "repair works. The alliance, the patient's needs and their motivation then move "
            "engagement with the tasks and, through it, the symptoms. This is the reference "
            "scenario: the model is calibrated to published findings here."
        ),
        notice=(
            "Withdrawals (▼) are quiet and often missed (red); confrontations (◆) are "
            "noticed more often.",
            "A repaired rupture (green) tends to leave the bond higher than before it.",
            "In the clinic: when do patients drop out, early or late in treatment?",
        ),
        try_=(
            "Set attunement to 0.9 and press Reset: more ruptures are noticed (fewer red "
            "markers). Then compare clinicians differing in repair skill.",
            "Set pressure to 0.7: watch strain, withdrawals and dropouts rise.",
            "Change the seed: the same clinician meets another patient's luck.",
            "Set responsiveness to treatment to 0.95 and press Reset, then to 0.05: the same "
            "clinician with a responder and a non-responder. Does the PHQ-9 score fall in the "
            "first sessions, or hardly move even where the alliance grows?",
        ),
        measure=_PHQ9,
    ),
    "copd_panic": ScenarioInfo(
        what_it_is=(
            "A 58-year-old with chronic obstructive pulmonary disease (COPD) and panic during "
            "flare-ups. Together with the clinician they chose two goals — less panic in "
            "flare-ups, consistent inhaler use — and three tasks: paced breathing, a graded "
            "activity schedule and a daily inhaler checklist."
        ),
        how_it_works=(
            "A brief course (up to 12 sessions) with goals chosen together (collaboration "
            "0.65), three concrete tasks (structure 0.7) and a clinician who invites his "
            "fears and validates his distress (warmth 0.7). Fear of breathlessness makes "
            "activity feel dangerous, so the patient tolerates hard tasks less than in "
            "outpatient psychotherapy: the same pressure strains the session more."
        ),
        notice=(
            "Is task agreement (purple) ahead of goal and bond? Structure is this vignette's "
            "strength.",
            "The event log names the three tasks when a withdrawal cuts follow-through.",
        ),
        try_=(
            "Raise pressure to 0.6 and press Reset: with low tolerance, strain and "
            "withdrawals follow quickly.",
            "Lower structure to 0.3: does task agreement still lead the alliance?",
        ),
        measure=_PHQ9_AS_DISTRESS.format(
            condition="COPD",
            own_measure="a panic or anxiety scale and a breathlessness or COPD-impact measure",
        ),
    ),
    "knee_pain": ScenarioInfo(
        what_it_is=(
            "Persistent knee pain. The agreed tasks are a pain–activity diary and attending "
            "physiotherapy; the bond rests on feeling understood and cared for."
        ),
        how_it_works=(
            "About 10 contacts, clear agreed tasks (structure 0.65) and a warm clinician "
            "(warmth 0.7). Activity provokes pain, so hard tasks are tolerated less than in "
            "outpatient psychotherapy."
        ),
        notice=(
            "Warmth builds the bond (orange) in every session, ruptures or not.",
            "With a short course, a rupture late in treatment has little time to be repaired.",
        ),
        try_=(
            "Lower warmth to 0.3 and press Reset: the bond grows more slowly, and with it the "
            "alliance.",
            "Compare clinicians differing in warmth: the same patient with a cool and a warm "
            "clinician.",
        ),
        measure=_PHQ9_AS_DISTRESS.format(
            condition="persistent pain",
            own_measure="a pain-intensity and physical-function measure",
        ),
    ),
    "hypertension": ScenarioInfo(
        what_it_is=(
            "Primary care for high blood pressure: six short visits spread over a year. The "
            "tasks are daily medication and a home blood-pressure log; what counts is whether "
            "the patient takes the tablets."
        ),
        how_it_works=(
            "Short visits give the alliance less time to grow per contact, the style is more "
            "directive (pressure 0.4) and quiet withdrawal is easily missed (attunement 0.4). "
            "Taking a daily pill is easier than psychotherapy homework, so engagement starts "
            "higher. High blood pressure is managed, not cured: every patient is seen six "
            "times, nobody ends early on recovery."
        ),
        notice=(
            "The outcome chart shows the share of doses taken, not a symptom score.",
            "With six visits, each rupture weighs more on the course.",
        ),
        try_=(
            "Raise attunement to 0.8: are more withdrawals noticed, and do doses taken follow?",
            "Lower pressure to 0.1 and compare clinicians differing in pressure.",
        ),
        measure=(
            "The outcome is medication adherence: the share of prescribed doses taken between "
            "visits (the model's engagement, read as doses). No symptom score is shown: few "
            "symptoms are felt, and blood pressure itself is not modelled."
        ),
    ),
    "pushing_too_hard": ScenarioInfo(
        what_it_is=(
            'A clinician who pushes their own agenda ("you are avoiding your anger") with a '
            'sensitive, submissive patient, for whom the push feels like "everyone else". '
            "The patient moves away rather than against: withdrawal ruptures."
        ),
        how_it_works=(
            "Pressure 0.6 pushes hard; the patient's sensitivity 0.7 amplifies the "
            "pressure they feel, and hostility 0.1 (hardly hostile) makes their ruptures "
            "withdrawals rather than confrontations."
        ),
        notice=(
            "Most ruptures are withdrawals (▼); how many go unnoticed (red)?",
            'A repair here is worded "acknowledged pushing too hard" in the event log.',
            "Internalisation (dashed, in Needs): does motivation become the patient's own?",
        ),
        try_=(
            "Lower pressure to 0.2 and press Reset: fewer ruptures, higher internalisation.",
            "Raise hostility to 0.8: the same pressure now provokes confrontations (◆).",
            "Keep the pressure, raise attunement to 0.9: noticing withdrawals lets repairs happen.",
        ),
        measure=_PHQ9,
    ),
    "pediatric": ScenarioInfo(
        what_it_is=(
            "A child or adolescent in weekly therapy, brought by their parents. Courses are "
            "shorter and young people's questionnaire answers are less reliable."
        ),
        how_it_works=(
            "Up to 12 sessions, ending on improvement from session 4. Less hope and less "
            "self-chosen motivation at intake (autonomy 0.3); quick early liking of a "
            "friendly clinician (rapport) that fades; noisier questionnaire reports, so the "
            "reported alliance predicts the outcome less well than in adults."
        ),
        notice=(
            "Internalisation starts low: the child is there because they were brought.",
            "The early bond owes much to rapport, which fades over the first sessions.",
        ),
        try_=(
            "Raise motivation (autonomy) to 0.7: does the course go differently?",
            "Compare clinicians differing in collaboration: goals chosen with the child.",
        ),
        measure=(
            _PHQ9 + " For young people a real clinic would use a youth version (e.g. PHQ-A) "
            "or a parent report; the model reads the same latent symptoms."
        ),
    ),
    "technique_trial": ScenarioInfo(
        what_it_is=(
            "A randomised trial of two techniques in psychotherapy: half the patients of every "
            "clinician receive technique B, more efficacious than the usual technique A. All "
            "courses run the full 16 sessions."
        ),
        how_it_works=(
            "Technique B adds to the clinician's technique efficacy for half the patients. "
            "The alliance acts on the outcome alongside the technique, so it can blur the "
            "technique's advantage in a trial (see notebook 05)."
        ),
        notice=(
            "The dyad up close receives one technique; the clinic holds both arms.",
            "Every course lasts 16 sessions: nobody ends early on recovery.",
        ),
        try_=(
            "Lower warmth and collaboration: a weaker alliance for everyone. Does the "
            "clinic's outcome drop as much as technique B would raise it?",
        ),
        measure=_PHQ9,
    ),
}
"""Info for every scenario, by name."""

GLOSSARY: dict[str, str] = {
    "goal": "Agreement between patient and clinician on what treatment is for (Bordin).",
    "task": "Agreement on what they will do, in and between sessions, to get there (Bordin).",
    "bond": "The personal attachment: liking, trust, feeling understood (Bordin).",
    "alliance": "The working alliance: the mean of goal, task and bond (0–1).",
    "rupture": "A moment where the collaboration breaks down: the patient withdraws (moves "
    "away: goes quiet, agrees too readily) or confronts (moves against: criticises).",
    "attunement": "How readily the clinician notices a rupture (a quiet withdrawal is harder "
    "to notice than a confrontation).",
    "repair skill": "How likely a noticed rupture is to be repaired: the clinician suspends the "
    "agenda, acknowledges their part, explores and validates.",
    "strain": "Unresolved strain: what ruptures left unrepaired leave behind. It makes the next "
    "rupture and dropping out likelier; a repair eases it.",
    "internalisation": 'How much the patient\'s motivation is their own, from "I was told to" '
    '(0) to "it is important to me" (1) (self-determination theory).',
    "WAI-SR": "Working Alliance Inventory – Short Revised: a 12-item questionnaire on which the "
    "patient rates goal, task and bond (1–5). The model's reported alliance mimics it.",
    "PHQ-9": "Patient Health Questionnaire: nine items on depressive symptoms over two weeks, "
    "0–27; 10 or more suggests moderate depression.",
    "responsiveness": "Responsiveness to treatment: the share of what treatment offers — "
    "techniques, the alliance, remoralisation (renewed hope from a warm "
    "helper) — that the patient takes (0–1). The model's patients are mostly "
    "responders, who take much of it, or non-responders, who take little.",
    "questionnaire report": "Whether the patient would mark the rupture on a post-session "
    "questionnaire. Many ruptures the clinician misses are never "
    "reported either.",
}
"""The words the page uses, defined once."""


@functools.lru_cache(maxsize=1)
def model_doc_html() -> str:
    """Return docs/MODEL.md as HTML (a note saying where it is, if it is not on this machine)."""
    import markdown

    try:
        text = MODEL_DOC.read_text(encoding="utf-8")
    except OSError:
        return (
            f"<p>The model's full description is <code>docs/MODEL.md</code> in the "
            f"project's source ({html.escape(str(MODEL_DOC))} is not on this machine).</p>"
        )
    return markdown.markdown(text, extensions=["tables", "fenced_code"])
