"""Real results of every command, once per test session, for the renderers' tests.

One small project (the outside tests' shop) goes through optimize, verify (an equivalent
and a different candidate), bench and check; the renderers' tests render what came back.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "outside"))
from outside_project import BENCH, EDGE, HONEST, PYPROJECT, SHOP, commit_all

import perfloop
from perfloop.results import BenchResult, CheckResult, RunResult, VerifyResult

QUICK = {"tiers": ("replay", "fuzz"), "fuzz_examples": 20, "mutants": 0}


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("renderers") / "shop"
    root.mkdir()
    for name, text in (
        ("shop.py", SHOP),
        ("bench.py", BENCH),
        ("pyproject.toml", PYPROJECT),
        (".gitignore", ".perfloop/\n"),
    ):
        (root / name).write_text(text.lstrip("\n"))
    commit_all(root, "base")
    return root


@pytest.fixture(scope="session")
def results(shop: Path) -> dict[str, RunResult | VerifyResult | BenchResult | CheckResult]:
    run = perfloop.optimize(
        root=shop,
        functions=["shop:cheapest", "shop:Cart.total"],
        rules=["sorted-min-max", "sum-loop"],  # one candidate differs, one is measured
        fuzz_examples=20,
        mutants=0,
    )
    same = perfloop.verify("shop:cheapest", HONEST, root=shop, run=run.run_id, **QUICK)
    different = perfloop.verify("shop:cheapest", EDGE, root=shop, run=run.run_id, **QUICK)
    bench = perfloop.bench("shop:cheapest", HONEST, root=shop, run=run.run_id)
    shop_py = shop / "shop.py"
    original = shop_py.read_text()
    shop_py.write_text(original.replace('{cents % 100:02d}"', '{cents % 100}"'))
    try:
        check = perfloop.check("HEAD", root=shop, **QUICK)
    finally:
        shop_py.write_text(original)
    return {"run": run, "same": same, "different": different, "bench": bench, "check": check}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test of the real results of every command (a session's worth of real runs) is
    slow: `make test-fast` leaves it out."""
    here = Path(__file__).parent
    for item in items:
        if "results" in getattr(item, "fixturenames", ()) and item.path.is_relative_to(here):
            item.add_marker(pytest.mark.slow)
