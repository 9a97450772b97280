"""The HTML renderer: report.html, one self-contained page with charts.

The charts are Vega-Lite specifications drawn by Vega in the page; the libraries come
from the `vl-convert-python` package (`javascript_bundle`) and are inlined, so the file
opens with no network. What it shows for a run: where the time went before and after
(the profile's shares, divided by the measured speedups of what was applied), each
candidate's speedup with its 95% interval against its threshold (a forest plot), the
candidate funnel (proposed, through the gate, verified, faster, applied; and which tier
rejected the rest), and per target the verdicts, the evidence and the patch. verify,
bench and check get the same treatment.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import html
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from functools import singledispatch
from pathlib import Path
from typing import Any

from perfloop.atomic import write_atomic
from perfloop.model import CandidateResult, Speedup, VerdictStatus
from perfloop.report.base import CommandResult, Renderer
from perfloop.report.summary import (
    detail_lines,
    headline,
    measurement_details,
    noise_floor_line,
    ratio_text,
    reproduce_hint,
    speed_text,
    summary_rows,
    tier_line,
)
from perfloop.report.verification import strength_text
from perfloop.results import (
    BenchResult,
    CheckResult,
    CheckStatus,
    Counterexample,
    RunResult,
    TargetStatus,
    VerifyResult,
)

Spec = dict[str, Any]
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
pre, code { background: #f6f6f6; } pre { padding: 0.5rem; overflow-x: auto; }
.improved { background: #e8f5e9; } .unverifiable, .error { background: #fff8e1; }
.added { color: #1b5e20; } .removed { color: #b71c1c; } .note { color: #555; }
.chart { margin: 0.5rem 0 1.5rem; }
table.side-by-side { font-family: monospace; font-size: 0.85rem; width: 100%; }
table.side-by-side td { border: none; padding: 0 0.4rem; white-space: pre-wrap; }
table.side-by-side th { border: none; background: #eee; }
.diff_add { background: #d7f5d9; } .diff_chg { background: #fff3b0; }
.diff_sub { background: #fbd5d5; } .diff_next { display: none; }
"""


@functools.cache
def _library() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from the installed vl-convert.

    vl-convert builds the bundle in about 2 s; it is kept in the user's cache folder, one
    file per vl-convert version, so a run pays that once per machine."""
    from importlib.metadata import version

    import vl_convert

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cached = base / "perfloop" / f"vega-bundle-{version('vl-convert-python')}.js"
    with contextlib.suppress(OSError):
        return cached.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle()
    with contextlib.suppress(OSError):  # a read-only home only costs the 2 s again
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, bundle, durable=False)
    return bundle


class _Page:
    """An HTML page being built: escaped text, tables and charts."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.charts: list[tuple[str, Spec]] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def heading(self, level: int, text: str) -> None:
        self.add(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "") -> None:
        attribute = f' class="{css}"' if css else ""
        self.add(f"<p{attribute}>{html.escape(text)}</p>")

    def code(self, text: str) -> None:
        self.add(f"<pre><code>{html.escape(text)}</code></pre>")

    def table(self, header: list[str], rows: Iterable[list[str]], css: Iterable[str] = ()) -> None:
        classes = list(css)
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        body = []
        for number, row in enumerate(rows):
            style = f' class="{classes[number]}"' if number < len(classes) else ""
            cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
            body.append(f"<tr{style}>{cells}</tr>")
        self.add(f"<table><tr>{head}</tr>{''.join(body)}</table>")

    def chart(self, name: str, spec: Spec) -> None:
        chart_id = f"chart-{len(self.charts) + 1}"
        self.charts.append((chart_id, {"$schema": _SCHEMA, **spec}))
        self.add(f'<div class="chart" id="{chart_id}" data-chart="{html.escape(name)}"></div>')

    def html(self) -> str:
        embeds = "\n".join(
            f"vegaEmbed('#{chart_id}', {json.dumps(spec)}, {{renderer: 'svg', actions: false}})"
            ".catch(console.error);"
            for chart_id, spec in self.charts
        )
        library = f"<script>{_library()}</script>" if self.charts else ""
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style>{library}</head>"
            f"<body>{''.join(self.parts)}<script>{embeds}</script></body></html>\n"
        )


# --- charts ---------------------------------------------------------------------------


def _forest(rows: list[dict[str, Any]], what: str) -> Spec:
    """Each row's ratio with its 95% interval on a log scale, beside its threshold."""
    x = {"type": "quantitative", "scale": {"type": "log"}, "title": what}
    y = {"field": "label", "type": "nominal", "sort": None, "title": None}
    return {
        "data": {"values": rows},
        "height": {"step": 24},
        "width": 600,
        "layer": [
            {
                "mark": {"type": "rule", "color": "#999", "strokeDash": [4, 4]},
                "encoding": {"x": {"datum": 1, **x}},
            },
            {
                "mark": "rule",
                "encoding": {"x": {"field": "low", **x}, "x2": {"field": "high"}, "y": y},
            },
            {
                "mark": {"type": "tick", "color": "#e65100", "thickness": 2},
                "encoding": {"x": {"field": "threshold", **x}, "y": y},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60},
                "encoding": {
                    "x": {"field": "ratio", **x},
                    "y": y,
                    "color": {"field": "verdict", "type": "nominal", "title": None},
                    "tooltip": [
                        {"field": "label", "type": "nominal"},
                        {"field": "ratio", "type": "quantitative", "format": ".3f"},
                        {"field": "low", "type": "quantitative", "format": ".3f"},
                        {"field": "high", "type": "quantitative", "format": ".3f"},
                        {"field": "threshold", "type": "quantitative", "format": ".3f"},
                    ],
                },
            },
        ],
    }


def _speedup_row(label: str, speedup: Speedup, verdict: str) -> dict[str, Any]:
    threshold = speedup.threshold if speedup.threshold is not None else 1.0
    return {
        "label": label,
        "ratio": speedup.ratio,
        "low": speedup.ci_low,
        "high": speedup.ci_high,
        "threshold": threshold,
        "verdict": verdict,
    }


def _bars(rows: list[dict[str, Any]], x: str, y: str, color: str | None = None) -> Spec:
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "quantitative"},
        "y": {"field": y, "type": "nominal", "sort": None, "title": None},
        "tooltip": [{"field": y}, {"field": x}],
    }
    if color is not None:
        order = list(dict.fromkeys(row[color] for row in rows))  # as the rows give them
        encoding["color"] = {"field": color, "type": "nominal", "title": None, "sort": order}
        encoding["yOffset"] = {"field": color, "sort": order}
    return {"data": {"values": rows}, "mark": "bar", "width": 600, "encoding": encoding}


# --- optimize -------------------------------------------------------------------------


def _time_shares(result: RunResult) -> list[dict[str, Any]]:
    """Each hot function's share of the time before, and after the applied speedups."""
    applied = {
        str(target.function): target.best.measurement.speedup.ratio
        for target in result.targets
        if result.applied
        and target.status is TargetStatus.IMPROVED
        and target.best is not None
        and target.best.measurement is not None
        and target.best.measurement.speedup is not None
    }
    rows = []
    for hot in result.profile.functions[:12]:
        name = str(hot.function)
        rows.append({"function": name, "when": "before", "share": round(hot.share * 100, 2)})
        after = hot.share / applied.get(name, 1.0)
        rows.append({"function": name, "when": "after", "share": round(after * 100, 2)})
    return rows


def _funnel(result: RunResult) -> list[dict[str, Any]]:
    tried = [c for t in result.targets for c in t.candidates]
    passed = [c for c in tried if c.gate.passed]
    verified = [c for c in passed if c.verdict and c.verdict.status is VerdictStatus.EQUIVALENT]
    faster = [c for c in verified if c.measurement and c.measurement.faster]
    improved = [t for t in result.targets if t.status is TargetStatus.IMPROVED]
    stages = [
        ("proposed", len(tried)),
        ("through the gate", len(passed)),
        ("verified", len(verified)),
        ("faster", len(faster)),
        ("applied" if result.applied else "chosen (not applied)", len(improved)),
    ]
    return [{"stage": stage, "candidates": count} for stage, count in stages]


def _rejections(result: RunResult) -> Counter[str]:
    """How many candidates each tier rejected (the first difference decides)."""
    found: Counter[str] = Counter()
    for target in result.targets:
        for candidate in target.candidates:
            verdict = candidate.verdict
            if verdict and verdict.status is VerdictStatus.DIFFERENT and verdict.difference:
                found[verdict.difference.tier] += 1
            elif not candidate.gate.passed:
                found["gate"] += 1
    return found


def _candidate_line(result: CandidateResult) -> str:
    verdict, origin = result.verdict, result.candidate.origin
    if not result.gate.passed:
        return f"{origin}: rejected by the gate: {result.gate.reason}"
    if verdict is None:
        return f"{origin}: not verified"
    tiers = "; ".join(tier_line(run) for run in verdict.runs)
    if verdict.status is not VerdictStatus.EQUIVALENT:
        where = verdict.difference
        found = f" on {where.call}: {where.description}" if where else f": {verdict.reason}"
        return f"{origin}: {verdict.status.value}{found} [{tiers}]"
    measurement = result.measurement
    if measurement is None or measurement.speedup is None:
        why = measurement.missing_speedup() if measurement else "not timed"
        return f"{origin}: same behaviour [{tiers}]; {why}"
    threshold = measurement.speedup.threshold or 1.0
    return f"{origin}: same behaviour [{tiers}]; {speed_text(measurement.speedup, threshold)}"


def _patch(page: _Page, patch: str) -> None:
    lines = []
    for line in patch.splitlines():
        css = "added" if line.startswith("+") else "removed" if line.startswith("-") else ""
        escaped = html.escape(line)
        lines.append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    page.add(f"<pre><code>{chr(10).join(lines)}</code></pre>")


def _side_by_side(page: _Page, original: str, best: CandidateResult, number: int) -> None:
    """The function before and after, in two columns (difflib's table, whole functions)."""
    table = difflib.HtmlDiff(tabsize=4, wrapcolumn=72).make_table(
        original.splitlines(),
        best.candidate.function_source.splitlines(),
        "original",
        best.candidate.origin,
    )
    table = table.replace('class="diff"', 'class="side-by-side"', 1)
    # difflib numbers its anchors with a process-wide counter: make the page reproducible
    table = re.sub(
        r'((?:id|href)="#?(?:difflib_chg_)?(?:to|from))\d+_',
        lambda match: f"{match.group(1)}{number}_",
        table,
    )
    function = html.escape(str(best.candidate.function))
    page.add(f'<div class="diff-pair" data-function="{function}">{table}</div>')


def run_html(result: RunResult) -> str:
    page = _Page(f"perfloop run {result.run_id}")
    page.heading(1, f"perfloop run {result.run_id}")
    page.paragraph(f"Workload `{result.workload}` in {result.root}, Python {result.python}.")
    page.add(f'<p><strong id="headline">{html.escape(headline(result))}</strong></p>')
    rows = summary_rows(result)
    page.table(
        ["function", "share", "rule", "calls replayed", "speedup [95% CI]", "verdict"],
        [[r.function, r.share, r.rule, r.calls, r.speedup, r.verdict] for r in rows],
        [r.status.value for r in rows],
    )
    workload = result.workload_speedup
    if workload is not None:
        output = {True: "unchanged", False: "CHANGED", None: "not compared (it varies)"}
        page.add(
            f'<p>Whole workload, original against patched: <strong id="workload-speedup">'
            f"{html.escape(ratio_text(workload.speedup))}</strong> (CPU time; "
            f"{html.escape(workload.speedup.method)}). Output: "
            f"{output[workload.output_unchanged]}.</p>"
        )
    page.heading(2, "Where the time goes")
    page.paragraph(
        "Each hot function's share of the profiled time (%), before and after: after divides "
        "an applied function's share by its measured speedup.",
        "note",
    )
    page.chart("time shares", _bars(_time_shares(result), "share", "function", "when"))
    forest = [
        _speedup_row(
            f"{t.function} · {c.candidate.origin}",
            c.measurement.speedup,
            "faster" if c.measurement.faster else "not faster",
        )
        for t in result.targets
        for c in t.candidates
        if c.measurement is not None and c.measurement.speedup is not None
    ]
    if forest:
        page.heading(2, "Speedups with their 95% intervals")
        page.paragraph(
            "Original time over candidate time on the recorded calls; the orange tick is the "
            "threshold the interval's lower bound had to clear (the noise floor, where higher).",
            "note",
        )
        page.chart("speedups", _forest(forest, "speedup (log scale)"))
    page.heading(2, "Candidates: how far each got")
    page.chart("funnel", _bars(_funnel(result), "candidates", "stage"))
    rejected = _rejections(result)
    if rejected:
        page.table(["rejected by", "candidates"], [[k, str(v)] for k, v in rejected.items()])
    page.heading(2, "Targets")
    for number, target in enumerate(result.targets):
        page.heading(3, f"{target.function} ({target.share:.1%} of the time)")
        if target.reason:
            page.paragraph(f"{target.status.value}: {target.reason}")
        if target.strength is not None:
            page.paragraph(strength_text(target.strength))
        for note in target.notes:
            page.paragraph(f"note: {note}", "note")
        page.add("<ul>")
        for candidate in target.candidates:
            page.add(f"<li>{html.escape(_candidate_line(candidate))}</li>")
        page.add("</ul>")
        best = target.best
        if best is not None and target.original_source is not None:
            _side_by_side(page, target.original_source, best, number)
        if best is not None and best.measurement is not None:
            details = measurement_details(best.measurement)
            if details:
                page.paragraph(details, "note")
            if best.measurement.speedup is not None:
                page.paragraph(f"Method: {best.measurement.speedup.method}", "note")
    if result.patch:
        page.heading(2, "The patch" + (" (applied)" if result.applied else ""))
        _patch(page, result.patch)
    notes = [*detail_lines(result), *result.notes]
    if notes:
        page.heading(2, "Notes")
        page.add("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    return page.html()


# --- verify, bench, check ----------------------------------------------------------------


def _counterexample(page: _Page, example: Counterexample) -> None:
    page.paragraph(f"Counterexample ({example.where}; {reproduce_hint(example)}):")
    page.code(example.code)
    page.paragraph(example.description)


def verify_html(result: VerifyResult) -> str:
    page = _Page(f"perfloop verify {result.function}")
    page.heading(1, f"perfloop verify {result.function}")
    page.add(
        f'<p><strong id="decision">{result.decision.value.upper()}</strong>: '
        f"{html.escape(result.reason)}</p>"
    )
    page.paragraph(
        f"Candidate {result.candidate.origin}; the workload made {result.calls_seen} calls, "
        f"{result.calls_recorded} were recorded; run {result.run_id}."
    )
    if result.verdict is not None:
        page.table(
            ["tier", "outcome"],
            [[run.tier, tier_line(run)] for run in result.verdict.runs],
        )
        page.paragraph(strength_text(result.strength, result.verdict))
    if result.counterexample is not None:
        _counterexample(page, result.counterexample)
    for note in result.notes:
        page.paragraph(f"note: {note}", "note")
    return page.html()


def bench_html(result: BenchResult) -> str:
    page = _Page(f"perfloop bench {result.function}")
    page.heading(1, f"perfloop bench {result.function}")
    page.paragraph(
        f"Candidate {result.candidate.origin}, timed on {result.calls_recorded} recorded calls; "
        f"run {result.run_id}."
    )
    speedup = result.measurement.speedup
    if speedup is None:
        page.paragraph(f"Not measured: {result.measurement.missing_speedup()}")
        return page.html()
    page.add(
        f'<p><strong id="speedup">{html.escape(ratio_text(speedup))}</strong> (original time / '
        f"candidate time, 95% interval): {html.escape(speed_text(speedup, result.threshold))}</p>"
    )
    rows = [_speedup_row("candidate against the original (A/B)", speedup, result.speed)]
    noise = result.noise_floor
    if noise is not None and noise.error is None:
        rows.append(
            {
                "label": "the original against itself (A/A)",
                "ratio": noise.ratio,
                "low": noise.low,
                "high": noise.high,
                "threshold": noise.threshold,
                "verdict": "noise floor",
            }
        )
    page.chart("speedups", _forest(rows, "ratio (log scale)"))
    if noise is not None:
        page.paragraph(noise_floor_line(noise, result.min_speedup))
    details = measurement_details(result.measurement)
    if details:
        page.paragraph(details, "note")
    page.paragraph(f"Method: {speedup.method}", "note")
    for note in result.notes:
        page.paragraph(f"note: {note}", "note")
    return page.html()


def check_html(result: CheckResult) -> str:
    page = _Page(f"perfloop check against {result.base}")
    page.heading(1, f"perfloop check against {result.base}")
    failures = result.failures
    page.add(
        f'<p><strong id="check-summary">{len(failures)} of {len(result.functions)} changed '
        "functions changed behaviour or got slower</strong></p>"
    )
    page.table(
        ["function", "result", "why"],
        [[str(f.function), f.status.value, f.reason] for f in result.functions],
        ["error" if f.status.fails else "" for f in result.functions],
    )
    timed = [
        _speedup_row(str(f.function), f.measurement.speedup, f.status.value)
        for f in result.functions
        if f.measurement is not None
        and f.measurement.speedup is not None
        and f.status is not CheckStatus.NOT_EXERCISED
    ]
    if timed:
        page.chart("speedups", _forest(timed, "base time / new time (log scale)"))
    for function in result.functions:
        if function.counterexample is not None:
            page.heading(3, str(function.function))
            _counterexample(page, function.counterexample)
    return page.html()


@singledispatch
def render(result: CommandResult) -> str:
    """The HTML page of any command's result."""
    raise TypeError(f"no HTML for {type(result).__name__}")


render.register(RunResult, run_html)
render.register(VerifyResult, verify_html)
render.register(BenchResult, bench_html)
render.register(CheckResult, check_html)

RENDERER = Renderer(
    name="html",
    description="one self-contained HTML page with charts (report.html of a run)",
    render=render,
    run_file="report.html",
)
