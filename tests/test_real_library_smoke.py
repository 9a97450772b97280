"""perfloop on a real library from PyPI, as a user runs it: tabulate 0.9.0 and its own tests.

The pinned sdist comes from pypi_sdists (downloaded once; the test is skipped only
when PyPI cannot be reached). The library is unpacked into a temporary folder and used
from there (the sdist root is the project root, the package folder `tabulate/` sits in
it), the way a developer runs perfloop in a checkout of the library.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

from perfloop.qualnames import find_function

SPEC = "tabulate==0.9.0"
SDIST = "tabulate-0.9.0.tar.gz"
WORKLOAD = """
import zlib

import tabulate

rows = [[i, f"item {i}", i * 0.25, None if i % 5 == 0 else -i] for i in range(300)]
tables = [
    tabulate.tabulate(rows, ["id", "name", "value", "delta"], tablefmt=fmt)
    for fmt in ("plain", "grid", "pipe", "rst")
    for _ in range(3)
]
print("checksum", zlib.crc32("".join(tables).encode()))
"""


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def library_tests(root: Path) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test", cwd=root)


@pytest.mark.slow
def test_tabulate_from_pypi_is_profiled_recorded_and_judged_and_its_tests_still_pass(
    tmp_path: Path,
) -> None:
    root = unpacked(cached_sdist(SPEC, SDIST), tmp_path)
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD).lstrip(), encoding="utf-8")
    reference = run(sys.executable, "workload.py", cwd=root)
    assert reference.returncode == 0, reference.stderr
    assert library_tests(root).returncode == 0  # the suite passes before perfloop touches it

    done = run(
        sys.executable, "-m", "perfloop", "optimize", "--workload",
        f"{sys.executable} workload.py", "--apply", "--json", "--top", "2",
        "--mutants", "5", "--fuzz-seconds", "2", "--symbolic-seconds", "0",
        "--measure-budget", "3", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)

    targets = results["targets"]
    assert targets, results
    for target in targets:
        # named as Python imports it: tabulate/__init__.py is the module `tabulate`
        module, _, qualname = target["function"].partition(":")
        assert module == "tabulate" or module.startswith("tabulate."), target["function"]
        assert "__init__" not in module and qualname, target["function"]
        assert target["status"] in {"improved", "no_faster_candidate", "unverifiable", "error"}
        assert target["status"] == "improved" or target["reason"], target
    assert any(t["calls_recorded"] > 0 for t in targets), targets

    after = run(sys.executable, "workload.py", cwd=root)
    assert after.stdout == reference.stdout
    tests = library_tests(root)
    assert tests.returncode == 0, tests.stdout[-3000:]


def optimize_json(root: Path, *extra: str) -> dict:
    done = run(
        sys.executable, "-m", "perfloop", "optimize", "--workload",
        f"{sys.executable} workload.py", "--json", "--function", "tabulate:_type",
        "--function", "tabulate:_more_generic", "--mutants", "5",
        "--fuzz-seconds", "2", "--symbolic-seconds", "0", "--measure-budget", "3", *extra,
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def decided(results: dict) -> list[tuple]:
    """What a run decided per target, by function (targets are listed by their share, which
    is profiled again every run)."""
    return sorted(
        (t["function"], t["status"], t["reason"], t["best"], t["candidates_tried"], t["strength"])
        for t in results["targets"]
    )


def tried(results: dict) -> list[dict]:
    """The targets perfloop tried (a hot function no rule applies to is passed over)."""
    return [t for t in results["targets"] if t["cache"] is not None]


@pytest.mark.slow
def test_a_rerun_on_tabulate_reuses_every_target_and_an_edit_recomputes_its_function(
    tmp_path: Path,
) -> None:
    root = unpacked(cached_sdist(SPEC, SDIST), tmp_path)
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD).lstrip(), encoding="utf-8")
    first = optimize_json(root)
    assert tried(first) and {t["cache"]["state"] for t in tried(first)} == {"computed"}
    rerun = optimize_json(root)
    assert {t["cache"]["state"] for t in tried(rerun)} == {"reused"}
    assert decided(rerun) == decided(first)
    assert {t["cache"]["run_id"] for t in tried(rerun)} == {first["run_id"]}

    # named targets: with --top the choice follows the profile, whose shares vary run to run
    edited = "tabulate:_more_generic"
    module, _, qualname = edited.partition(":")
    assert module == "tabulate"
    path = root / "tabulate" / "__init__.py"
    source = path.read_text(encoding="utf-8")
    first_statement = find_function(ast.parse(source), qualname).body[0]  # type: ignore[union-attr]
    lines = source.splitlines(keepends=True)
    comment = " " * first_statement.col_offset + "# edited\n"
    lines.insert(first_statement.lineno - 1, comment)
    path.write_text("".join(lines), encoding="utf-8")
    after = optimize_json(root)
    by_function = {t["function"]: t["cache"] for t in tried(after)}
    assert by_function[edited]["state"] == "computed"
    assert by_function[edited]["why"] == "its source changed"
    for function, cache in by_function.items():  # the others: reused, unless they reach it
        if function != edited:
            assert cache["state"] == "reused" or "project code it calls" in cache["why"]
