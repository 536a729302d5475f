"""How long one step of the dashboard's 100-patient clinic takes to reach the page.

Two measurements, printed as median, 95th percentile and maximum over every step of several
courses of treatment (Reset between courses); the target is every step within 200 ms at the 95th
percentile (issue 18). Tests never time anything; this script does.

1. Server side, in this process: the page rendered with Solara's test renderer, the sidebar's
   Step button clicked (:mod:`sim.dashboard.controls`); the time covers the model's session
   (clinic, dyad up close, compared pair) and
   the re-render of every component (narration, chart specs, widget updates). The model's step
   alone is timed too.
2. In the browser (if /usr/bin/chromium exists): ``alliance dashboard`` in a child process,
   headless Chromium, a click on Step; the time from the click to the DOM update of the text
   (the clinic's summary line) and to the last chart redrawn (the charts take new rows in place,
   see sim/dashboard/vega.py; Solara's own Vega-Lite widget would wait 100 ms, then redraw all).

Usage: ``python benchmarks/bench_dashboard.py [--courses N] [--no-browser]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BUDGET_MS = 200.0
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

# Click Step in the page and resolve with [ms to the text update, ms to the last chart redraw].
# Charts whose data did not change (a dyad that has ended) are not redrawn, so "the last redraw"
# is the last mutation inside a chart before 400 quiet ms; the quiet wait is not counted.
_MEASURE_STEP = """
([session, timeout]) => new Promise((resolve, reject) => {
  const want = `Session ${session}:`;
  const button = [...document.querySelectorAll('button')]
    .find(b => b.textContent.trim() === 'Step');
  let text = null, chart = null, quiet = null;
  const t0 = performance.now();
  const done = () => {
    observer.disconnect();
    resolve([text, chart === null ? text : Math.max(chart, text)]);
  };
  const observer = new MutationObserver(records => {
    const now = performance.now() - t0;
    if (text === null
        && document.querySelector('.clinic-summary').textContent.startsWith(want)) {
      text = now;
    }
    const inChart = records.some(r => {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      return el && el.closest('.vega-embed');
    });
    if (inChart) chart = now;
    if (text !== null) {
      clearTimeout(quiet);
      quiet = setTimeout(done, 400);
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true,
                                   attributes: true});
  setTimeout(() => { observer.disconnect(); reject(new Error('no update in time')); }, timeout);
  button.click();
})
"""


def percentile(values: Sequence[float], share: float) -> float:
    """Return the ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(label: str, values_ms: Sequence[float]) -> str:
    """Return one line: median, 95th percentile and maximum, and the verdict on the budget."""
    p95 = percentile(values_ms, 0.95)
    verdict = "within" if p95 <= BUDGET_MS else "OVER"
    return (
        f"{label:<44} median {statistics.median(values_ms):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {max(values_ms):7.1f} ms   (n={len(values_ms)}; p95 {verdict} "
        f"{BUDGET_MS:.0f} ms)"
    )


def bench_server(courses: int) -> None:
    import ipyvuetify as v
    import solara

    from sim.dashboard.app import Page
    from sim.dashboard.model import CLINIC_SIZE
    from sim.dashboard.settings import Settings

    model_ms = []
    for course in range(courses):
        model = Settings.of_scenario("psychotherapy", 100 + course).build()
        while model.running:
            t0 = time.perf_counter()
            model.step()
            model_ms.append(1000 * (time.perf_counter() - t0))

    # Outside a server, Solara's AppLayout prints its app bar's elements; keep the report clean.
    with contextlib.redirect_stdout(io.StringIO()):
        _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"]).widget
    reset = rc.find(v.Btn, children=["Reset"]).widget
    page_ms = []
    for _ in range(courses):
        with contextlib.redirect_stdout(io.StringIO()):
            reset.click()
        with contextlib.redirect_stdout(io.StringIO()):
            while not step.disabled:
                t0 = time.perf_counter()
                step.click()
                page_ms.append(1000 * (time.perf_counter() - t0))
    patients = CLINIC_SIZE["n_clinicians"] * CLINIC_SIZE["patients_per_clinician"]
    print(f"server side ({patients} patients in the clinic, {courses} courses):")
    print("  " + summary("model step (clinic + 3 one-dyad models)", model_ms))
    print("  " + summary("Step click: model step + re-render of all", page_ms))


def bench_browser(courses: int) -> None:
    if not CHROMIUM.exists():
        print("browser: skipped (/usr/bin/chromium is not installed)")
        return
    from playwright.sync_api import sync_playwright

    from sim.dashboard.assets import ensure_frontend_assets
    from sim.dashboard.server import running_dashboard

    ensure_frontend_assets()
    text_ms, chart_ms = [], []
    with (
        running_dashboard(seed=2026) as url,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory() as profile,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1900},
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(".dyad-view svg.marks", timeout=30_000)
        for _ in range(courses):
            page.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_function(
                "() => document.querySelector('.clinic-summary')"
                ".textContent.startsWith('Session 0:')"
            )
            page.wait_for_timeout(500)  # let the reset's charts finish drawing before timing
            session = 0
            while page.get_by_role("button", name="Step", exact=True).is_enabled():
                session += 1
                text, charts = page.evaluate(_MEASURE_STEP, [session, 10_000])
                text_ms.append(text)
                chart_ms.append(charts)
        context.close()
    print(f"browser (headless Chromium, {courses} courses, click to DOM update):")
    print("  " + summary("text (the summary lines, the event log)", text_ms))
    print("  " + summary("charts (the last one redrawn)", chart_ms))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--courses",
        type=int,
        default=3,
        help="courses of treatment to step through (default: %(default)s)",
    )
    parser.add_argument("--no-browser", action="store_true", help="server side only")
    args = parser.parse_args(argv)
    bench_server(args.courses)
    if not args.no_browser:
        bench_browser(args.courses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
