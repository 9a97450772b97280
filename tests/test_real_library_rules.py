"""A rule on the real library it was written from, end to end: markdown-it-py 3.0.0.

Tried as a new user, perfloop's top function on markdown-it-py 3.0.0 was the inline text
rule, a character-skipping loop no rule touched; its maintainers replaced the loop with
a regular expression in 4.0.0. char-scan-regex rewrites it. Here the rule runs on the
file as the sdist ships it, and the library, with the rewritten file in place, renders
its own README and CHANGELOG byte for byte as the original does (and the rewritten code
is the one that ran).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
from pypi_sdists import cached_sdist, unpacked

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules import rule_by_id

SPEC = "markdown-it-py==3.0.0"
SDIST = "markdown-it-py-3.0.0.tar.gz"
TEXT_RULE = Path("markdown_it", "rules_inline", "text.py")
RENDER = """
import hashlib, sys
from pathlib import Path

from markdown_it import MarkdownIt

text = Path(sys.modules["markdown_it.rules_inline.text"].__file__).resolve()
assert text.is_relative_to(Path.cwd().resolve()), text  # the tree's copy, not an installed one

md = MarkdownIt("commonmark").enable("table")
digest = hashlib.sha256()
for name in ("README.md", "CHANGELOG.md"):
    digest.update(md.render(Path(name).read_text(encoding="utf-8")).encode())
print(digest.hexdigest(), "_SCAN_RE" in text.read_text(encoding="utf-8"))
"""


def render(tree: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", RENDER],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_text_rule_of_markdown_it_py_rewritten_renders_the_same(tmp_path: Path) -> None:
    original = unpacked(cached_sdist(SPEC, SDIST), tmp_path / "original")
    module_source = (original / TEXT_RULE).read_text(encoding="utf-8")
    assert "not in _TerminatorChars" in module_source  # the loop as 3.0.0 has it
    rewritten = apply_rule(cst.parse_module(module_source), "text", rule_by_id("char-scan-regex"))
    assert rewritten is not None, "char-scan-regex does not fire on markdown-it-py's text rule"
    compile(rewritten.module_source, str(TEXT_RULE), "exec")

    patched = tmp_path / "patched"
    shutil.copytree(original, patched)
    (patched / TEXT_RULE).write_text(rewritten.module_source, encoding="utf-8")
    before, after = render(original), render(patched)
    assert before.endswith(" False") and after.endswith(" True")
    assert after.split()[0] == before.split()[0]
