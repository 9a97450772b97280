"""report.html in a real headless browser (Debian's chromium, driven by playwright).

Each command's page is opened from its file with no network: every chart must draw
(an SVG in each chart's place), the console must stay free of errors, and the figures on
the page must be the ones in the run's results.json. A screenshot of each page is kept
in the test's temporary folder for a person to look at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from perfloop.report import RENDERERS

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium on PATH (`apt-get install chromium`; make test does it)",
    ),
    pytest.mark.slow,  # real runs and a real browser
]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def opened(browser, path: Path, screenshot: Path):
    """The page of `path` with its charts drawn, and the console errors it logged."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/*",
        lambda route: (
            route.abort() if not route.request.url.startswith("file:") else route.continue_()
        ),
    )
    page.goto(path.as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart').length === "
        "document.querySelectorAll('.chart svg.marks').length",
        timeout=30_000,
    )
    page.screenshot(path=str(screenshot), full_page=True)
    return page, errors


@pytest.mark.slow
def test_a_runs_report_draws_its_charts_with_the_figures_of_results_json(
    browser, results, tmp_path: Path
) -> None:
    run = results["run"]
    folder = Path(run.run_dir)
    report = folder / "report.html"
    assert report.read_text() == RENDERERS["html"].render(run)  # kept in every run folder
    page, errors = opened(browser, report, tmp_path / "run.png")
    assert errors == []
    charts = page.locator(".chart").evaluate_all("nodes => nodes.map(n => n.dataset.chart)")
    assert charts == ["time shares", "speedups", "funnel"]

    document = json.loads((folder / "results.json").read_text())
    target = document["targets"][0]
    row = page.locator("table tr", has_text=target["function"]).first.inner_text()
    best = target["best"]
    if best is not None:  # the table's speedup is results.json's, to two places
        assert f"{best['speedup']:.2f}x [{best['ci'][0]:.2f}, {best['ci'][1]:.2f}]" in row
    measured = sum(
        1
        for t in run.targets
        for c in t.candidates
        if c.measurement is not None and c.measurement.speedup is not None
    )
    points = page.locator(".chart[data-chart='speedups'] g.mark-symbol.role-mark path").count()
    assert measured > 0 and points == measured  # one point per measured candidate
    assert (tmp_path / "run.png").stat().st_size > 10_000
    assert_side_by_side_diffs(page, run)


def assert_side_by_side_diffs(page, run) -> None:
    """Each improved target's function, before and after, in two columns next to each other."""
    improved = [t for t in run.targets if t.best is not None]
    assert improved and page.locator("div.diff-pair").count() == len(improved)
    for target in improved:
        old = target.original_source.splitlines()
        new = target.best.candidate.function_source.splitlines()
        only_old = next(line.strip() for line in old if line.strip() and line not in new)
        only_new = next(line.strip() for line in new if line.strip() and line not in old)
        pair = page.locator(f"div.diff-pair[data-function='{target.function}']")
        changed = pair.locator("tr", has=page.locator(".diff_sub, .diff_chg, .diff_add"))
        assert changed.count() > 0
        cells = changed.first.locator("td")  # next, number, text | next, number, text
        left, right = cells.nth(2), cells.nth(5)
        text = pair.inner_text().replace("\xa0", " ")
        assert only_old in text and only_new in text
        assert left.bounding_box()["x"] + left.bounding_box()["width"] <= right.bounding_box()["x"]
        headers = pair.locator("thead th.diff_header").all_inner_texts()
        assert headers == ["original", target.best.candidate.origin]


@pytest.mark.parametrize("kind", ["same", "different", "bench", "check"])
def test_verify_bench_and_check_pages_open_cleanly(
    browser, results, kind: str, tmp_path: Path
) -> None:
    result = results[kind]
    path = tmp_path / f"{kind}.html"
    path.write_text(RENDERERS["html"].render(result))
    page, errors = opened(browser, path, tmp_path / f"{kind}.png")
    assert errors == []
    text = page.inner_text("body")
    if kind == "different":
        assert page.inner_text("#decision") == "DIFFERENT"
        assert result.counterexample.code in text
    elif kind == "bench":
        speedup = result.measurement.speedup
        assert page.inner_text("#speedup") == (
            f"{speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"
        )
        assert (
            page.locator(".chart[data-chart='speedups'] g.mark-symbol.role-mark path").count() == 2
        )
    elif kind == "check":
        assert "shop:label" in text and "behaviour changed" in text
    else:
        assert page.inner_text("#decision") == "EQUIVALENT"
