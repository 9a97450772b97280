"""`perfloop runs`, `show` and `diff`: the runs of a project, looked at later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perfloop
from perfloop.cli.main import main

LIB = """
def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
"""
BENCH = "from shop import ways\nprint(sum(ways(n, (1, 2, 5, 10)) for n in range(50, 56)))\n"
QUICK = {"functions": ["shop:ways"], "mutants": 0, "fuzz_examples": 20, "symbolic_seconds": 0}


pytestmark = pytest.mark.slow  # every test here reads one module's real runs


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Two optimize runs (the second with a rule set that has nothing for `ways`) and a
    verify run."""
    root = tmp_path_factory.mktemp("runs") / "shop"
    root.mkdir()
    (root / "shop.py").write_text(LIB.lstrip())
    (root / "bench.py").write_text(BENCH)
    workload = "python bench.py"
    first = perfloop.optimize(workload, root, rules=["memoize-recursive"], **QUICK)
    second = perfloop.optimize(workload, root, rules=["sorted-min-max"], **QUICK)
    honest = LIB.replace("    if amount == 0:", "    if not amount:")
    checked = perfloop.verify("shop:ways", honest, root=root, workload=workload, mutants=0)
    return root, [first.run_id, second.run_id, checked.run_id]


def test_runs_lists_every_command_with_what_came_of_it(project, capsys) -> None:
    root, ids = project
    assert main(["runs", "--root", str(root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run_id"] for r in listed] == ids
    assert [r["command"] for r in listed] == ["optimize", "optimize", "verify"]
    assert listed[0]["outcome"].startswith("1 of 1 improved, whole workload ")
    assert listed[1]["outcome"] == "0 of 1 improved"
    assert listed[2]["outcome"] == "equivalent (shop:ways)"

    assert main(["runs", "--root", str(root)]) == 0
    table = capsys.readouterr().out
    assert ids[2] in table and "verify" in table
    assert f"show one again: perfloop show {ids[2]}" in table


def test_show_renders_a_finished_run_again_in_any_format(project, capsys) -> None:
    root, ids = project
    folder = root / ".perfloop" / "runs" / ids[0]
    assert main(["show", ids[0], "--root", str(root), "--format", "json"]) == 0
    assert capsys.readouterr().out == (folder / "results.json").read_text()
    assert main(["show", ids[0], "--root", str(root), "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (folder / "report.md").read_text()
    assert main(["show", ids[2], "--root", str(root)]) == 0  # a verify run, as verify printed it
    assert "verdict: EQUIVALENT" in capsys.readouterr().out

    assert main(["show", "20990101-000000-beef", "--root", str(root)]) == 2
    assert "no run 20990101-000000-beef; `perfloop runs` lists the runs" in capsys.readouterr().out


def test_diff_says_what_changed_target_by_target(project, capsys) -> None:
    root, ids = project
    assert main(["diff", ids[0], ids[1], "--root", str(root), "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    (target,) = compared["targets"]
    assert target["function"] == "shop:ways"
    assert target["before"].startswith("improved ") and "x [" in target["before"]
    assert target["after"] == "no faster candidate"
    assert target["change"] == "improved -> no faster candidate"
    assert compared["workload"][1] == "not timed"

    assert main(["diff", ids[0], ids[2], "--root", str(root)]) == 2  # a verify run
    assert "is not a completed optimize run" in capsys.readouterr().out


def test_report_gives_the_html_report_and_makes_it_again_when_it_is_gone(project, capsys) -> None:
    root, ids = project
    report = root / ".perfloop" / "runs" / ids[0] / "report.html"
    kept = report.read_text()
    assert "vegaEmbed(" in kept  # the charts are drawn when it is viewed, offline
    report.unlink()
    assert main(["report", ids[0], "--root", str(root)]) == 0
    assert capsys.readouterr().out.strip() == str(report)
    assert report.read_text() == kept  # the same page, from the result the run kept

    assert main(["report", ids[2], "--root", str(root)]) == 0  # a verify run: made on demand
    page = (root / ".perfloop" / "runs" / ids[2] / "report.html").read_text()
    assert '<strong id="decision">EQUIVALENT</strong>' in page
