"""The dashboard in a real browser: headless Chromium, driven as a teacher would drive it.

The tests start ``alliance dashboard`` on a free local port and open it in Debian's Chromium
through Playwright (never a downloaded browser). The first moves the repair-skill slider, presses
Reset and Step five times, and checks that the page shows what the model computes: the slider's
value in the dyad up close, the event log's sentences, and redrawn charts; it leaves a screenshot
in ``test-artifacts/dashboard.png``. The second plays and pauses, and picks a vignette.
"""

from pathlib import Path

import pytest

from sim.dashboard.assets import missing
from sim.dashboard.model import TeachingClinic
from sim.dashboard.server import running_dashboard

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SEED = 2026
STEPS = 5

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not at /usr/bin/chromium "
                              "(apt-get install -y chromium)"),
]

# The chart's own SVG (vega-embed also puts an icon SVG in its actions menu).
_SVG_OF = ("(sel) => { const s = document.querySelector(sel + ' svg.marks');"
           " return s ? s.outerHTML : ''; }")


@pytest.fixture(scope="module")
def dashboard_url():
    # `make` installs them (python -m sim.dashboard.assets); the test itself never downloads.
    absent = missing()
    assert not absent, (f"the page's front-end files are not installed ({', '.join(absent)}); "
                        "run `python -m sim.dashboard.assets` (make does)")
    with running_dashboard(seed=SEED) as url:
        yield url


@pytest.fixture
def page(dashboard_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1500, "height": 1900})
        try:
            tab = context.new_page()
            tab.set_default_timeout(20_000)
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.goto(dashboard_url)
            tab.wait_for_selector(".dyad-summary")
            yield tab
            assert errors == [], f"errors in the page: {errors}"
        finally:
            context.close()


def _wait_for_new_svg(page, selector, before):
    page.wait_for_function(
        "([sel, before]) => { const s = document.querySelector(sel + ' svg.marks');"
        " return s !== null && s.outerHTML !== before; }", arg=[selector, before])


def test_a_teacher_moves_a_slider_steps_and_sees_the_page_follow(page):
    # The page opens with the default scenario, at intake.
    assert page.inner_text(".scenario-line").startswith("Scenario psychotherapy:")
    assert page.inner_text(".dyad-summary").startswith("After session 0:")
    page.wait_for_selector(".dyad-view svg.marks")
    page.wait_for_selector(".clinic-view svg.marks")
    log_before = page.inner_text(".event-log")
    dyad_before = page.evaluate(_SVG_OF, ".dyad-view")
    clinic_before = page.evaluate(_SVG_OF, ".clinic-view")

    # Move the repair-skill slider with a click near the right end of its track.
    slider = page.locator(".v-slider").filter(has_text="Repair skill")
    track = slider.locator(".v-slider-track").bounding_box()
    page.mouse.click(track["x"] + 0.9 * track["width"], track["y"] + track["height"] / 2)
    thumb = slider.locator("[role=slider]")
    page.wait_for_function("(t) => Number(t.getAttribute('aria-valuenow')) >= 0.8",
                           arg=thumb.element_handle())
    repair_skill = float(thumb.get_attribute("aria-valuenow"))

    # Reset applies it: the dyad up close now has that repair skill.
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "(want) => document.querySelector('.dyad-clinician').textContent.includes(want)",
        arg=f"repair skill {repair_skill:.2f}")

    for session in range(1, STEPS + 1):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            "(want) => document.querySelector('.dyad-summary').textContent.startsWith(want)",
            arg=f"After session {session}:")

    # The event log says, newest first, exactly what the model's numbers say.
    expected = TeachingClinic(seed=SEED, repair_skill=repair_skill)
    for _ in range(STEPS):
        expected.step()
    lines = expected.event_log()
    assert lines, "the chosen seed has events in the first sessions"
    # The log renders after the summary line; wait for it to hold every event, then compare.
    page.wait_for_function("(n) => document.querySelectorAll('.event-line').length >= n",
                           arg=len(lines))
    shown = [line.strip() for line in page.locator(".event-line").all_inner_texts()]
    assert shown == list(reversed(lines))
    assert page.inner_text(".event-log") != log_before

    # The charts were redrawn with the new sessions.
    _wait_for_new_svg(page, ".dyad-view", dyad_before)
    _wait_for_new_svg(page, ".clinic-view", clinic_before)
    assert page.evaluate(_SVG_OF, ".compare-view")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _clinic_session(page):
    return int(page.inner_text(".clinic-summary").split(":")[0].removeprefix("Session "))


def test_play_pause_and_a_vignette_from_the_scenario_selector(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="▶").click()
    page.wait_for_function("() => document.querySelector('.clinic-summary')"
                           ".textContent.startsWith('Session 3:')")
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for()  # paused: the button offers play again
    # Showing that play stopped takes time: let a session already under way land (1 s), then
    # watch for another second, in which playing would run three (one per 300 ms).
    page.wait_for_timeout(1000)
    stopped_at = _clinic_session(page)
    page.wait_for_timeout(1000)
    assert _clinic_session(page) == stopped_at
    page.get_by_role("button", name="Step").click()  # Step works again once paused
    page.wait_for_function(
        "(want) => document.querySelector('.clinic-summary').textContent.startsWith(want)",
        arg=f"Session {stopped_at + 1}:")

    page.locator(".v-select").filter(has_text="Scenario").first.click()
    page.get_by_role("option", name="pushing_too_hard").click()
    page.wait_for_function("() => document.querySelector('.scenario-line')"
                           ".textContent.startsWith('Scenario pushing_too_hard:')")
    assert page.inner_text(".clinic-summary").startswith("Session 0:")
    assert "pressure 0.60" in page.inner_text(".dyad-clinician")
    # The sliders are rebuilt with the vignette's values (pressure 0.6, not the default 0.3).
    pressure = page.locator(".v-slider").filter(has_text="Pressure").locator("[role=slider]")
    expect(pressure).to_have_attribute("aria-valuenow", "0.6")
