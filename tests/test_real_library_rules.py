"""Rules on the real libraries they were written from, end to end.

Tried as a new user, perfloop's top function on markdown-it-py 3.0.0 was the inline text
rule, a character-skipping loop no rule touched; its maintainers replaced the loop with
a regular expression in 4.0.0. char-scan-regex rewrites it. On tomlkit 0.13.2 three
methods of an enum (`StringType.is_basic` and the like, 21.9% of parsing) test `self`
against a set of members built on every call; set-display-to-tuple rewrites them. Here
each rule runs on the file as the sdist ships it, and the library, with the rewritten
file in place, gives byte for byte what the original does on real input (and the
rewritten code is the one that ran).
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
    return _run(RENDER, tree)


def _run(script: str, tree: Path) -> str:
    """What `script` prints, run in `tree` with only `tree` on the import path."""
    done = subprocess.run(
        [sys.executable, "-c", script],
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


TOMLKIT_SPEC = "tomlkit==0.13.2"
TOMLKIT_SDIST = "tomlkit-0.13.2.tar.gz"
ITEMS = Path("tomlkit", "items.py")
STRING_KIND_TESTS = ("StringType.is_basic", "StringType.is_literal", "StringType.is_singleline")
PARSE = """
import hashlib, sys
from pathlib import Path

import tomlkit

items = Path(sys.modules["tomlkit.items"].__file__).resolve()
assert items.is_relative_to(Path.cwd().resolve()), items  # the tree's copy

digest = hashlib.sha256()
files = sorted(Path("tests").rglob("*.toml"))
for path in files:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        document = tomlkit.parse(text)
        digest.update(tomlkit.dumps(document).encode() + repr(document.unwrap()).encode())
    except Exception as error:
        digest.update(f"{type(error).__name__}: {error}".encode())
print(digest.hexdigest(), len(files), "StringType.SLB, StringType.MLB)" in items.read_text())
"""


def test_tomlkit_string_kinds_rewritten_parse_and_write_the_same(tmp_path: Path) -> None:
    original = unpacked(cached_sdist(TOMLKIT_SPEC, TOMLKIT_SDIST), tmp_path / "original")
    module = cst.parse_module((original / ITEMS).read_text(encoding="utf-8"))
    for qualname in STRING_KIND_TESTS:
        rewritten = apply_rule(module, qualname, rule_by_id("set-display-to-tuple"))
        assert rewritten is not None, f"set-display-to-tuple does not fire on {qualname}"
        module = cst.parse_module(rewritten.module_source)
    assert "self in (StringType.SLL, StringType.MLL)" in module.code
    assert "self in {StringType.MLB, StringType.MLL}" in module.code  # not asked: kept

    patched = tmp_path / "patched"
    shutil.copytree(original, patched)
    (patched / ITEMS).write_text(module.code, encoding="utf-8")
    before, after = _run(PARSE, original), _run(PARSE, patched)
    digest, files, _ = before.split()
    assert int(files) > 250  # tomlkit's examples and the toml-test suite, valid and invalid
    assert before.endswith(" False") and after.endswith(" True")
    assert after.split()[:2] == [digest, files]
