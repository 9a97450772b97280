"""A property read while its object is still being built is a target like any other.

Babel 2.17.0 (python-babel/babel d7a7589a, "Optimizations for read_po"): `Message.__init__`
reads `self.python_format` before it sets `context`, and `Message.__eq__` compares keys
that include `context`. Every recorded `self` of the property was such a half-built
message, `==` on it raised AttributeError, and `verify` called the original itself
unreproducible: "replaying the original does not reproduce its recorded calls (... comparing
with == raised AttributeError: 'Message' object has no attribute 'context'); it depends on
state besides its arguments".
"""

from __future__ import annotations

from perfloop.cli.main import main

LIB = """
import re

PYTHON_FORMAT = re.compile(r"%(\\([\\w]*\\))?[sdf]")


class Message:
    def __init__(self, id, context=None):
        self.id = id
        self.flags = set()
        if id and self.python_format:
            self.flags.add("python-format")
        self.context = context

    def __eq__(self, other):
        return (self.id, self.context) == (other.id, other.context)

    __hash__ = None

    @property
    def python_format(self):
        ids = self.id
        if not isinstance(ids, (list, tuple)):
            ids = [ids]
        return any(PYTHON_FORMAT.search(id) for id in ids)
"""

FASTER = """
@property
def python_format(self):
    ids = self.id
    if isinstance(ids, (list, tuple)):
        for id in ids:
            if PYTHON_FORMAT.search(id):
                return True
        return False
    return bool(PYTHON_FORMAT.search(ids))
"""

BENCH = """
import catalog

messages = [catalog.Message(f"file %(n)d of {i}" if i % 2 else (f"a{i}", f"b %s {i}"))
            for i in range(50)]
print(sum(len(m.flags) for m in messages))
"""


def verify(root, candidate: str, capsys) -> tuple[int, str]:
    path = root / "candidate.py"
    path.write_text(candidate.lstrip("\\n"))
    code = main(
        [
            "verify", "catalog:Message.python_format", "--candidate", str(path),
            "--root", str(root), "--workload", "python bench.py",
            "--tiers", "replay", "--mutants", "0",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_property_read_on_a_half_built_self_verifies(make_project, capsys) -> None:
    root = make_project({"catalog.py": LIB, "bench.py": BENCH})
    code, out = verify(root, FASTER, capsys)
    assert code == 0, out
    assert "verdict: EQUIVALENT (exit 0)" in out
    assert "replay: same on 50 recorded calls" in out


def test_a_wrong_rewrite_of_it_is_still_caught(make_project, capsys) -> None:
    root = make_project({"catalog.py": LIB, "bench.py": BENCH})
    code, out = verify(root, FASTER.replace("return True", "return False", 1), capsys)
    assert code == 1, out
    assert "verdict: DIFFERENT (exit 1)" in out
