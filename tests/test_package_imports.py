"""The packages of perfloop import each other in one direction only.

A cycle between two packages (propose and llm used to import each other) means
neither can be read, tested or replaced without the other. This reads every
module's imports (lazy ones inside functions too) and asks graphlib for an order.
"""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

import pytest

import perfloop

SOURCE = Path(perfloop.__file__).parent


def _unit(module: str) -> str:
    """The package or top-level module of perfloop that `module` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "perfloop"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return {module for module in modules if module.split(".")[0] == "perfloop"}


def package_graph() -> dict[str, set[str]]:
    """For each package or top-level module, the others it imports (the public
    `perfloop/__init__.py`, which imports the stages to offer them, left out)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE.parent).with_suffix("")
        unit = _unit(".".join(relative.parts).removesuffix(".__init__"))
        if unit == "perfloop":
            continue
        graph[unit] |= {_unit(m) for m in _imported_modules(path)} - {unit, "perfloop"}
    return dict(graph)


def test_no_package_imports_another_that_imports_it_back() -> None:
    graph = package_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        raise AssertionError(f"perfloop's packages import each other in a cycle: {cycle}") from None
    assert "propose" in order and "llm" in order


@pytest.mark.slow
def test_the_rule_proposer_does_not_need_the_llm_packages() -> None:
    assert "llm" not in package_graph()["propose"]
    assert "config" not in package_graph()["propose"]
