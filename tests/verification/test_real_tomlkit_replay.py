"""tomlkit 0.13.2's `Container.append`, replayed on its own recorded calls.

Tried as a new user, the top function of parsing tomlkit's own example documents was
`Container.append` (10.5%), and it was unverifiable: "replaying the original does not
reproduce its recorded calls (result['a']: expected the argument args[0]['a'] itself, got
a new object)". `Container` is a dict subclass whose `items()` and `get()` make new item
objects on every call, and the aliasing check looked through them instead of at what the
dict stores. Here the original, in other words, must be found the same on its recorded
calls.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

WORKLOAD = """
from pathlib import Path

import tomlkit

for path in sorted(Path("tests/examples").glob("*.toml")):
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    print(path.name, len(tomlkit.dumps(document)))
"""


def _method_source(module_path: Path, class_name: str, method: str) -> str:
    source = module_path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    text = ast.get_source_segment(source, item, padded=True)
                    assert text is not None
                    return "\n".join(line[4:] for line in text.splitlines()) + "\n"
    raise AssertionError(f"{class_name}.{method} not found")


@pytest.mark.slow
def test_container_append_replays_as_itself(tmp_path: Path) -> None:
    tree = unpacked(cached_sdist("tomlkit==0.13.2", "tomlkit-0.13.2.tar.gz"), tmp_path)
    (tree / "workload.py").write_text(WORKLOAD, encoding="utf-8")
    original = _method_source(tree / "tomlkit" / "container.py", "Container", "append")
    # the same method in other words (the original itself would not be verified at all)
    same = original.replace("isinstance(item, Item)", "isinstance(item, (Item,))", 1)
    assert same != original
    result = perfloop.verify(
        "tomlkit.container:Container.append",
        same,
        root=tree,
        workload="python workload.py",
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.verdict is not None and result.verdict.calls_checked >= 50
