"""`perfloop check --base REF` on a small git repository with a base and a pull-request commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from outside_project import commit_all

import perfloop
from perfloop.cli.main import main
from perfloop.outside import CheckStatus

QUICK = ["--tiers", "replay,fuzz", "--fuzz-examples", "30", "--mutants", "0"]


def pull_request(shop: Path) -> None:
    """One commit on top of the base: a slowdown, a behaviour change, a speedup, dead code."""
    path = shop / "shop.py"
    source = path.read_text()
    for old, new in (
        (  # the same result, computed 40 times over
            "    return sorted(prices)[0]",
            "    for _ in range(40):\n        lowest = sorted(prices)[0]\n"
            "    return sorted(prices)[0]",
        ),
        # the same for these prices, but 5 cents now reads 0.5
        (
            '    return f"{cents // 100}.{cents % 100:02d}"',
            '    return f"{cents // 100}.{cents % 100}"',
        ),
        (  # faster, the same behaviour
            "        out = 0\n        for p in prices:\n            out += p\n        return out",
            "        return sum(prices)",
        ),
        ("    return x + 1", "    return x + 2"),  # never called by the workload
    ):
        assert old in source
        source = source.replace(old, new)
    path.write_text(source)
    commit_all(shop, "pull request")


@pytest.mark.slow
def test_check_flags_a_behaviour_change_and_a_slowdown_and_writes_a_summary(
    shop: Path, capsys
) -> None:
    commit_all(shop, "base")
    pull_request(shop)
    summary = shop / "summary.md"

    code = main(
        ["check", "--base", "HEAD~1", "--root", str(shop), "--markdown", str(summary), *QUICK]
    )

    out = capsys.readouterr().out
    assert code == 1, out
    markdown = summary.read_text()
    assert markdown == out
    rows = {
        line.split(" | ")[0].strip("| `"): line for line in markdown.splitlines() if "| `" in line
    }
    assert "❌ behaviour changed" in rows["shop:label"]
    assert "❌ slower" in rows["shop:cheapest"]
    assert "✅" in rows["shop:Cart.total"] and "**changed**" not in rows["shop:Cart.total"]
    assert "from shop import label; label(5)" in markdown  # the counterexample, pasteable
    assert "Changed but not run by the workload (not checked): `shop:unused`" in markdown
    assert "2 of 3 changed functions that the workload runs" in markdown


def test_a_pull_request_that_keeps_behaviour_and_speed_passes(shop: Path) -> None:
    commit_all(shop, "base")
    path = shop / "shop.py"
    path.write_text(path.read_text().replace("    return x + 1", "    return 1 + x"))  # not run
    result = perfloop.check("HEAD", root=shop, tiers=("replay",), mutants=0)
    assert result.exit_code == 0
    assert [(str(f.function), f.status) for f in result.functions] == [
        ("shop:unused", CheckStatus.NOT_EXERCISED)
    ]
    assert "The workload runs none of the functions changed since the base." in result.markdown
    assert Path(result.markdown_path).read_text() == result.markdown  # kept in the run folder


def test_a_base_that_is_not_a_commit_is_a_usage_error(shop: Path, capsys) -> None:
    commit_all(shop, "base")
    assert main(["check", "--base", "no-such-branch", "--root", str(shop)]) == 2
    assert "'no-such-branch' is not a commit" in capsys.readouterr().out


def test_max_slowdown_comes_from_the_settings_like_every_other_setting(shop: Path, capsys) -> None:
    """`[tool.perfloop] max-slowdown` reaches check (and is checked there like a flag)."""
    pyproject = shop / "pyproject.toml"
    text = pyproject.read_text() if pyproject.exists() else ""
    if "[tool.perfloop]" in text:
        text = text.replace("[tool.perfloop]", "[tool.perfloop]\nmax-slowdown = 0.5", 1)
    else:
        text += "\n[tool.perfloop]\nmax-slowdown = 0.5\n"
    pyproject.write_text(text)
    commit_all(shop, "base")
    assert main(["check", "--base", "HEAD", "--root", str(shop)]) == 2
    assert "max-slowdown must be a number of at least 1.0" in capsys.readouterr().out
    assert main(["check", "--base", "HEAD", "--root", str(shop), "--max-slowdown", "1.2"]) != 2


def test_check_refuses_a_new_cache_over_a_function_with_an_effect(shop: Path) -> None:
    # a pull request adding a cache was verified on its body alone (the tiers call the
    # undecorated function) and never gated: check now says why the cache is unsound
    commit_all(shop, "base")
    path = shop / "shop.py"
    source = path.read_text().replace(
        "def label(cents):\n", "@functools.cache\ndef label(cents):\n    print(cents)\n"
    )
    path.write_text("import functools\n" + source)
    commit_all(shop, "cache label")

    result = perfloop.check("HEAD~1", root=shop, tiers=("replay",), mutants=0)

    (label,) = [f for f in result.functions if f.function.qualname == "label"]
    assert label.status is CheckStatus.UNVERIFIABLE, label.reason
    assert label.reason.startswith(
        "the candidate adds @functools.cache to label, but label calls `print`, which may have "
        "effects or read outside state, so a cached answer can go stale (or an effect would "
        "happen only on the first call)"
    ), label.reason
