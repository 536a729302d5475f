"""The dashboard in a real browser: headless Chromium, driven as a teacher would drive it.

The tests start ``alliance dashboard`` on a free local port and open it in Debian's Chromium
through Playwright (never a downloaded browser). They follow the lesson in docs/DASHBOARD.md: a
vignette, a slider, Reset, Step and Play; a course run to its end and another scenario; the
compare view; the Info tab. The layout test opens the page at a projector's 1280×720 and at
1024×768 and fails when a chart's legend, title or axis title sticks out of its card, or a label
is cut short; it leaves its screenshots in ``test-artifacts/`` (ignored by git).
"""

from pathlib import Path

import pytest

from sim.core.scenarios import SCENARIOS
from sim.dashboard.assets import missing
from sim.dashboard.info import INFO
from sim.dashboard.model import CLINICIAN_SLIDERS, LABELS, PATIENT_SLIDERS, SLIDERS
from sim.dashboard.server import running_dashboard
from sim.dashboard.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SEED = 2026
STEPS = 5
VIGNETTES = ("copd_panic", "knee_pain", "hypertension", "pushing_too_hard")
WIDE = {"width": 1500, "height": 1900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]

# The chart's own SVG.
_SVG_OF = (
    "(sel) => { const s = document.querySelector(sel + ' svg.marks');"
    " return s ? s.outerHTML : ''; }"
)


@pytest.fixture(scope="module")
def dashboard_url():
    # `make` installs them (python -m sim.dashboard.assets); the test itself never downloads.
    absent = missing()
    assert not absent, (
        f"the page's front-end files are not installed ({', '.join(absent)}); "
        "run `python -m sim.dashboard.assets` (make does)"
    )
    with running_dashboard(seed=SEED) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=WIDE,
        )
        try:
            yield context
        finally:
            context.close()


def open_page(browser, url, viewport=None):
    tab = browser.new_page()
    if viewport:
        tab.set_viewport_size(viewport)
    tab.set_default_timeout(20_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(url)
    tab.wait_for_selector(".dyad-view svg.marks")
    return tab, errors


@pytest.fixture
def page(browser, dashboard_url):
    tab, errors = open_page(browser, dashboard_url)
    yield tab
    tab.close()
    assert errors == [], f"errors in the page: {errors}"


def wait_text(page, selector, start):
    page.wait_for_function(
        "([sel, want]) => { const e = document.querySelector(sel);"
        " return e !== null && e.textContent.startsWith(want); }",
        arg=[selector, start],
    )


def step_to(page, session):
    page.get_by_role("button", name="Step", exact=True).click()
    wait_text(page, ".dyad-summary", f"After session {session}:")


def choose_scenario(page, name):
    page.locator(".v-select").filter(has_text="Scenario").first.click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function(
        "(want) => document.querySelector('.info-text').textContent.includes(want)",
        arg=INFO[name].what_it_is[:40],
    )
    wait_text(page, ".dyad-summary", "After session 0:")
    page.locator(".v-overlay--active .v-list").wait_for(state="detached")  # the menu closed


def move_slider(page, name, fraction):
    """Click a slider's track at ``fraction`` of its width; return the value it took."""
    slider = page.locator(".v-slider").filter(has_text=LABELS[name])
    thumb = slider.locator("[role=slider]")
    assert abs(float(thumb.get_attribute("aria-valuenow")) - fraction) > 0.2, (
        "a click near the thumb lands on the thumb and moves nothing"
    )
    box = slider.locator(".v-slider-track").bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([t, f]) => Math.abs(Number(t.getAttribute('aria-valuenow')) - f) < 0.06",
        arg=[thumb.element_handle(), fraction],
    )
    return float(thumb.get_attribute("aria-valuenow"))


def sidebar_values(page):
    """Return every slider's value as its label shows it."""
    values = {}
    for name in SLIDERS:
        label = page.locator(".v-slider").filter(has_text=LABELS[name]).locator(".v-label")
        values[name] = float(label.inner_text().rsplit(" ", 1)[1])
    return values


def test_a_teacher_moves_a_slider_steps_and_sees_the_page_follow(page):
    assert page.inner_text(".dyad-summary").startswith("After session 0:")
    page.wait_for_selector(".clinic-view svg.marks")
    dyad_before = page.evaluate(_SVG_OF, ".dyad-view")
    clinic_before = page.evaluate(_SVG_OF, ".clinic-view")

    repair_skill = move_slider(page, "repair_skill", 0.9)
    assert page.inner_text(".unapplied").startswith("Not applied yet: repair skill")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "(want) => document.querySelector('.dyad-clinician').textContent.includes(want)",
        arg=f"repair skill {repair_skill:.2f}",
    )
    assert page.locator(".unapplied").count() == 0

    for session in range(1, STEPS + 1):
        step_to(page, session)

    expected = (
        Settings.of_scenario("psychotherapy", SEED).with_trait("repair_skill", repair_skill).build()
    )
    for _ in range(STEPS):
        expected.step()
    lines = expected.event_log()
    assert lines, "the chosen seed has events in the first sessions"
    page.wait_for_function(
        "(n) => document.querySelectorAll('.event-line').length >= n", arg=len(lines)
    )
    shown = [line.strip() for line in page.locator(".event-line").all_inner_texts()]
    assert shown == list(reversed(lines))

    page.wait_for_function(
        "([sel, before]) => { const s = document.querySelector(sel + "
        "' svg.marks'); return s !== null && s.outerHTML !== before; }",
        arg=[".dyad-view", dyad_before],
    )
    assert page.evaluate(_SVG_OF, ".clinic-view") != clinic_before


@pytest.mark.parametrize("vignette", VIGNETTES)
def test_each_vignette_a_slider_and_reset_leave_model_and_sidebar_agreeing(page, vignette):
    choose_scenario(page, vignette)
    assert "pressure " + format(SCENARIOS[vignette].parameters()["pressure"], ".2f") in (
        page.inner_text(".dyad-clinician")
    )
    sensitivity = move_slider(page, "sensitivity", 0.1)
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "(want) => document.querySelector('.dyad-patient').textContent.includes(want)",
        arg=f"sensitivity {sensitivity:.2f}",
    )
    sidebar = sidebar_values(page)
    assert sidebar == {**Settings.of_scenario(vignette).traits, "sensitivity": sensitivity}
    clinician, patient = page.inner_text(".dyad-clinician"), page.inner_text(".dyad-patient")
    for name in CLINICIAN_SLIDERS:
        assert f"{LABELS[name].lower()} {sidebar[name]:.2f}" in clinician
    for name in PATIENT_SLIDERS:
        assert f"{LABELS[name].lower()} {sidebar[name]:.2f}" in patient
    assert INFO[vignette].what_it_is in page.inner_text(".info-text")  # still the vignette


def test_a_responder_up_close(page):
    responsiveness = move_slider(page, "responsiveness", 0.95)
    assert page.inner_text(".unapplied").startswith("Not applied yet: responsiveness")
    page.get_by_role("button", name="Reset").click()
    expected = (
        Settings.of_scenario("psychotherapy", SEED)
        .with_trait("responsiveness", responsiveness)
        .build()
    )
    running = expected.focus.patient["responsiveness"]
    page.wait_for_function(
        "(want) => document.querySelector('.dyad-patient').textContent.includes(want)",
        arg=f"{LABELS['responsiveness'].lower()} {running:.2f}",
    )
    assert sidebar_values(page) == {
        **Settings.of_scenario("psychotherapy").traits,
        "responsiveness": responsiveness,
    }
    assert page.locator(".unapplied").count() == 0


def test_after_a_finished_course_another_scenario_steps(page):
    choose_scenario(page, "hypertension")
    sessions = int(SCENARIOS["hypertension"].parameters()["max_sessions"])
    for session in range(1, sessions + 1):
        step_to(page, session)
    step = page.get_by_role("button", name="Step", exact=True)
    assert step.is_disabled()
    assert "the course has ended" in page.inner_text(".progress-line")
    choose_scenario(page, "copd_panic")
    assert step.is_enabled()
    step_to(page, 1)
    assert page.get_by_role("button", name="▶ Play").is_enabled()


def test_after_a_scenario_switch_the_compare_box_and_card_agree(page):
    page.locator(".v-select").filter(has_text="Compare clinicians").first.click()
    page.get_by_role("option", name=LABELS["attunement"], exact=True).click()
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "() => document.querySelector('.compare-sentence').textContent"
        ".includes('differ only in attunement')"
    )
    choose_scenario(page, "knee_pain")
    box = page.locator(".v-select").filter(has_text="Compare clinicians").first.inner_text()
    sentence = page.inner_text(".compare-sentence")
    chosen = box.splitlines()[-1].strip()
    assert f"differ only in {chosen.lower()}:" in sentence


def _line_paths(page):
    return page.evaluate(
        "() => [...document.querySelectorAll('.compare-view svg.marks "
        "g.mark-line path')].map(p => p.getAttribute('d'))"
    )


def test_the_default_comparison_differs_visibly(page):
    for session in range(1, 4):
        step_to(page, session)
    page.wait_for_function(
        "() => document.querySelectorAll('.compare-view svg.marks g.mark-line path').length >= 8"
    )
    paths = _line_paths(page)
    left, right = paths[: len(paths) // 2], paths[len(paths) // 2 :]
    assert len(left) == len(right) >= 4
    assert left != right, "the two clinicians' lines are drawn the same"
    assert page.locator(".compare-identical").count() == 0


def test_play_pause_and_the_info_tab(page):
    page.get_by_role("button", name="▶ Play").click()
    wait_text(page, ".clinic-summary", "Session 3:")
    page.get_by_role("button", name="❚❚ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for()
    # Showing that play stopped takes time: let a session already under way land (1 s), then
    # watch for another second, in which playing would run two or more.
    page.wait_for_timeout(1000)
    stopped_at = page.inner_text(".clinic-summary").split(":")[0]
    page.wait_for_timeout(1000)
    assert page.inner_text(".clinic-summary").split(":")[0] == stopped_at

    page.get_by_role("tab", name="Info").click()
    page.wait_for_selector(".info-text", state="visible")
    text = page.inner_text(".tab-info")
    for heading in (
        "What is it?",
        "How it works",
        "Things to notice",
        "Things to try",
        "Glossary",
        "docs/MODEL.md",
    ):
        assert heading in text
    assert page.locator(".dyad-view").is_hidden()


# --- layout on a projector ---------------------------------------------------------------------

# Every chart's legends, titles and axis titles, and every text's font size, with the box of the
# card the chart sits in.
_CHART_LAYOUT = """
() => [...document.querySelectorAll('.v-card svg.marks')].map(svg => {
  const card = svg.closest('.v-card').getBoundingClientRect();
  const parts = [...svg.querySelectorAll(
      'g.role-legend, g.role-title, g.role-axis-title, g.role-axis-label')]
    .map(g => { const b = g.getBoundingClientRect();
                return {role: g.getAttribute('class'), text: g.textContent.slice(0, 40),
                        left: b.left, right: b.right, top: b.top, bottom: b.bottom}; })
    .filter(p => p.right > p.left);
  const texts = [...svg.querySelectorAll('text')];
  return {card: svg.closest('.v-card').className.split(' ').find(c => c.endsWith('-view')),
          box: {left: card.left, right: card.right, top: card.top, bottom: card.bottom},
          parts: parts,
          cut: texts.map(t => t.textContent).filter(t => t.endsWith('…')),
          smallest: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize)))};
})
"""


def clipped(chart, slack=1.0):
    """Return the parts of a chart that stick out of its card."""
    box = chart["box"]
    return [
        part
        for part in chart["parts"]
        if part["left"] < box["left"] - slack
        or part["right"] > box["right"] + slack
        or part["top"] < box["top"] - slack
        or part["bottom"] > box["bottom"] + slack
    ]


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 720}, {"width": 1024, "height": 768}],
    ids=["1280x720", "1024x768"],
)
def test_charts_fit_their_cards_on_a_projector(browser, dashboard_url, viewport):
    page, errors = open_page(browser, dashboard_url, viewport)
    try:
        # The sidebar (a drawer, open, below 1280 px): no slider's label is cut short.
        labels = page.evaluate(
            "() => [...document.querySelectorAll('.controls .v-slider "
            ".v-label')].filter(l => l.clientWidth > 0).map(l => "
            "[l.textContent, l.scrollWidth > l.clientWidth])"
        )
        assert len(labels) == len(SLIDERS)
        assert [text for text, cut in labels if cut] == [], "slider labels cut short"
        for session in range(1, STEPS + 1):
            step_to(page, session)
        if page.locator(".v-navigation-drawer--temporary.v-navigation-drawer--active").count():
            # Below 1280 px the sidebar is a drawer over the page, opened from the menu button.
            icon = page.evaluate(
                "() => getComputedStyle(document.querySelector("
                "'.v-app-bar-nav-icon .v-btn__content'), '::before').content"
            )
            assert icon not in ("", "none", "normal"), "the menu button has no icon"
            page.mouse.click(viewport["width"] - 20, viewport["height"] // 2)  # the scrim
            page.locator(".v-navigation-drawer--active").wait_for(state="hidden")
        page.wait_for_function("() => document.querySelectorAll('.v-card svg.marks').length >= 4")
        page.wait_for_timeout(500)  # the last redraw of a chart
        charts = page.evaluate(_CHART_LAYOUT)
        assert {c["card"] for c in charts} >= {
            "dyad-view",
            "needs-view",
            "clinic-view",
            "compare-view",
        }
        for chart in charts:
            assert chart["parts"], chart["card"]
            assert clipped(chart) == [], f"{chart['card']}: cut off at the card's edge"
            assert chart["cut"] == [], f"{chart['card']}: labels cut short: {chart['cut']}"
            assert chart["smallest"] >= 12, f"{chart['card']}: {chart['smallest']} px text"
        ARTIFACTS.mkdir(exist_ok=True)
        name = f"dashboard-{viewport['width']}x{viewport['height']}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        assert (ARTIFACTS / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if viewport["width"] == 1280:
            # The whole page, for docs/DASHBOARD.md (docs/images/dashboard.png is a copy).
            page.set_viewport_size({"width": 1280, "height": 2000})
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "dashboard-full.png"))
    finally:
        page.close()
    assert errors == [], f"errors in the page: {errors}"


def test_clipping_is_detected():
    # The check above must be able to fail: a legend reaching past its card's right edge.
    chart = {
        "box": {"left": 0, "right": 400, "top": 0, "bottom": 300},
        "parts": [{"role": "legend", "left": 350, "right": 430, "top": 10, "bottom": 20}],
    }
    assert len(clipped(chart)) == 1
    chart["parts"][0]["right"] = 399
    assert clipped(chart) == []
