"""The renderer registry: every format renders the result of every command, from real runs.

One small project goes through optimize, verify (an equivalent and a different
candidate), bench and check once for the module; each renderer must render each
result, and the figures a person reads must be the ones the result holds. A new
renderer (HTML, say) is covered by adding it to `RENDERERS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside_project import EDGE

from perfloop.cli.main import main
from perfloop.report import RENDERERS, print_result, renderer_named
from perfloop.results import (
    BenchResult,
    CheckResult,
    RunResult,
    VerifyResult,
)

KINDS = ("run", "same", "different", "bench", "check")


@pytest.mark.parametrize("format", list(RENDERERS))
@pytest.mark.parametrize("kind", KINDS)
def test_every_renderer_renders_every_command_result(results, format: str, kind: str) -> None:
    result = results[kind]
    text = RENDERERS[format].render(result)
    assert text.endswith("\n") and text.strip()
    if format == "json":
        document = json.loads(text)
        assert document["run_id"] == result.run_id
        assert document["schema"].startswith("perfloop.")
    elif isinstance(result, CheckResult):
        assert "shop:label" in text
    elif isinstance(result, RunResult):
        assert result.run_id in text and "shop:cheapest" in text
    else:
        assert "shop:cheapest" in text and result.run_id in text


def test_the_figures_read_the_same_in_every_format(results) -> None:
    bench: BenchResult = results["bench"]
    speedup = bench.measurement.speedup
    assert speedup is not None, bench.measurement.error
    interval = f"{speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"
    assert interval in RENDERERS["terminal"].render(bench)
    assert interval in RENDERERS["markdown"].render(bench)
    measured = json.loads(RENDERERS["json"].render(bench))["measurement"]["speedup"]
    assert measured["ratio"] == pytest.approx(speedup.ratio, rel=1e-3)

    different: VerifyResult = results["different"]
    assert different.counterexample is not None
    call = different.counterexample.code  # the pasteable call, in every format
    assert call in RENDERERS["terminal"].render(different)
    assert f"```python\n{call}\n```" in RENDERERS["markdown"].render(different)
    assert json.loads(RENDERERS["json"].render(different))["counterexample"]["code"] == call
    assert "**DIFFERENT**" in RENDERERS["markdown"].render(different)


def test_a_run_folder_keeps_each_renderers_file(results) -> None:
    run: RunResult = results["run"]
    folder = Path(run.run_dir)
    for renderer in RENDERERS.values():
        if renderer.run_file is not None:
            assert (folder / renderer.run_file).read_text() == renderer.render(run)
    assert json.loads((folder / "results.json").read_text())["targets"][0]["status"] == (
        run.targets[0].status.value
    )
    assert (folder / "patch.diff").read_text() == run.patch


def test_the_check_summary_is_the_markdown_renderers(results) -> None:
    check: CheckResult = results["check"]
    assert check.markdown == RENDERERS["markdown"].render(check)
    assert Path(check.markdown_path).read_text() == check.markdown


def test_print_result_prints_the_chosen_format(results, capsys) -> None:
    print_result(results["same"], "markdown")
    assert capsys.readouterr().out == RENDERERS["markdown"].render(results["same"])
    with pytest.raises(ValueError, match="the formats are terminal, markdown, json, html"):
        renderer_named("yaml")


@pytest.mark.slow
def test_format_on_the_command_line(shop: Path, results, capsys) -> None:
    candidate = shop / "candidate_edge.py"
    candidate.write_text(EDGE.lstrip("\n"))
    run_id = results["run"].run_id
    verify = ["verify", "shop:cheapest", "--candidate", str(candidate), "--root", str(shop)]
    quick = ["--run", run_id, "--tiers", "replay", "--mutants", "0"]

    assert main([*verify, *quick, "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("## perfloop verify `shop:cheapest`\n")
    assert "**DIFFERENT**" in out and "```python\nfrom shop import cheapest; cheapest([])" in out

    assert main([*verify, *quick, "--json"]) == 1  # the same as --format json
    assert json.loads(capsys.readouterr().out)["decision"] == "different"

    with pytest.raises(SystemExit) as usage:
        main([*verify, *quick, "--format", "yaml"])
    assert usage.value.code == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err


def test_the_headline_names_what_the_targets_were(results) -> None:
    from dataclasses import replace

    from perfloop.report.summary import headline

    run: RunResult = results["run"]
    function = run.targets[0]
    whole_class = replace(function, whole_class=True)

    def told(*targets) -> str:
        return headline(replace(run, targets=targets, workload_speedup=None))

    assert " of 1 functions made faster, verified" in told(function)
    assert " of 1 classes made faster, verified" in told(whole_class)
    mixed = told(function, whole_class, whole_class)
    assert " of 3 targets (1 function, 2 classes) made faster, verified" in mixed
    assert " of 2 targets (1 function, 1 class) made faster" in told(function, whole_class)
    document = json.loads(RENDERERS["json"].render(replace(run, targets=(whole_class,))))
    assert document["targets"][0]["kind"] == "class"
