"""A receiver whose class the workload's script defines, holding state the target changes.

PyYAML 5.3.1's `BaseResolver.resolve` appends to the lists in `self.yaml_implicit_resolvers`
(issue #439, fixed by fc914d5); a workload's own `Loader(SafeLoader)` holds a shallow copy
of the module's table, so the lists are shared with the module's classes. Such a class
travels by value with `self`, and loading the recorded outcome after the inputs set the
class's attributes to the outcome's objects: the replayed original changed the expected
state itself and "did not reproduce its recorded calls".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MODULE = """
class Base:
    table = {"a": [1], None: [9]}

    def look(self, key):
        found = self.table.get(key, [])
        found += self.table.get(None, [])
        return found[0]
"""

WORKLOAD = """
from tables import Base


class Loader(Base):
    table = dict(Base.table)


loader = Loader()
print(sum(loader.look(key) for key in ["a", "b", "a", "a"]), len(Loader.table["a"]))
"""

SAME = """
class Base:
    def look(self, key):
        found = self.table.get(key, [])
        found.extend(self.table.get(None, []))
        return found[0]
"""

NOT_GROWING = """
class Base:
    def look(self, key):
        found = self.table.get(key, [])
        for value in found + self.table.get(None, []):
            return value
"""


def _verify(root: Path, candidate: str) -> subprocess.CompletedProcess[str]:
    (root / "candidate.py").write_text(candidate)
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "tables:Base.look", "--candidate",
         "candidate.py", "--workload", "python workload.py", "--tiers", "replay",
         "--mutants", "0"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_state_a_script_class_shares_with_the_module_is_judged(make_project) -> None:
    root = make_project({"tables.py": MODULE, "workload.py": WORKLOAD})
    same = _verify(root, SAME)
    assert "does not reproduce" not in same.stdout
    assert same.returncode == 0, same.stdout + same.stderr
    assert "replay: same on 4 recorded calls" in same.stdout
    differs = _verify(root, NOT_GROWING)
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert "class attribute Base.table['a']: expected [1, 9], got [1]" in differs.stdout
