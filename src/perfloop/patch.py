"""Turn the chosen candidates into new file contents, a unified diff, and an atomic apply.

Each candidate is a whole module source that changes one function (and may add
imports). Several chosen candidates in one file are merged by taking each
one's version of its function and its new import lines into the original.

Apply writes every file through a temporary file and a rename, after checking
that no file changed since perfloop read it; if any rename fails, the files
already replaced are put back, so the project is never left half-patched.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.util
import os
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from perfloop.model import Candidate


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the project root
    original: str
    new: str

    @property
    def original_sha256(self) -> str:
        return sha256_text(self.original)


class ApplyRefused(Exception):
    """The patch was not applied; nothing in the project changed."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _find_function(body: Sequence[cst.CSTNode], parts: list[str]) -> cst.FunctionDef | None:
    for node in body:
        if isinstance(node, cst.FunctionDef) and len(parts) == 1 and node.name.value == parts[0]:
            return node
        if isinstance(node, cst.ClassDef) and len(parts) > 1 and node.name.value == parts[0]:
            inner = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
            return _find_function(inner, parts[1:])
    return None


class _ReplaceFunction(cst.CSTTransformer):
    def __init__(self, qualname: str, replacement: cst.FunctionDef) -> None:
        self.parts = qualname.split(".")
        self.replacement = replacement
        self.stack: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stack.append(node.name.value)
        return True

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.stack.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # targets are never nested inside functions

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        if [*self.stack, original.name.value] == self.parts:
            return self.replacement.with_changes(leading_lines=original.leading_lines)
        return updated


def _import_lines(module: cst.Module) -> list[cst.SimpleStatementLine]:
    return [
        statement
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)
    ]


def merge_candidates(original_source: str, candidates: Sequence[Candidate]) -> str:
    """The original source with each candidate's function and new imports in place."""
    merged = original_source
    for candidate in candidates:
        qualname = candidate.function.qualname
        proposed = cst.parse_module(candidate.module_source)
        if _find_function(proposed.body, qualname.split(".")) is None:
            raise ValueError(f"{candidate.function} is missing from its candidate source")
        merged = splice_function(merged, qualname, candidate.module_source)
    return merged


class SpliceError(ValueError):
    """A function could not be put into a module; the message says what is missing."""


def splice_function(module_source: str, qualname: str, function_source: str) -> str:
    """`module_source` with the function `qualname` replaced by the one in `function_source`.

    `function_source` is the new function (decorators included, at any indentation),
    optionally after the import lines it needs, or a whole module that defines it.
    The function is looked up there by its qualname, else by its name at the top
    level (so a method can be given as a plain `def`). Imports the module lacks are
    added after its own; everything else in the module stays byte for byte.
    """
    text = function_source
    if text.lstrip("\n")[:1].isspace():  # an indented method cut out of its class
        text = textwrap.dedent(text)
    try:
        proposed = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SpliceError(f"the new source does not parse: {exc}") from exc
    parts = qualname.split(".")
    function = _find_function(proposed.body, parts) or _find_function(proposed.body, parts[-1:])
    if function is None:
        raise SpliceError(f"the new source defines no function {parts[-1]!r}")
    module = cst.parse_module(module_source)
    if _find_function(module.body, parts) is None:
        raise SpliceError(f"the module defines no function {qualname!r} to replace")
    merged = module.visit(_ReplaceFunction(qualname, function))
    present = {merged.code_for_node(line) for line in _import_lines(merged)}
    new_imports = [
        line for line in _import_lines(proposed) if proposed.code_for_node(line) not in present
    ]
    if new_imports:
        merged = merged.with_changes(body=_insert_imports(merged, new_imports))
    return merged.code


def _insert_imports(
    module: cst.Module, lines: list[cst.SimpleStatementLine]
) -> list[cst.BaseStatement]:
    body = list(module.body)
    existing = _import_lines(module)
    if existing:
        position = body.index(existing[-1]) + 1
    else:
        position = 1 if body and _is_docstring(body[0]) else 0
    return [*body[:position], *lines, *body[position:]]


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def unified_diff(changes: Sequence[FileChange]) -> str:
    chunks = []
    for change in changes:
        chunks.extend(
            difflib.unified_diff(
                change.original.splitlines(keepends=True),
                change.new.splitlines(keepends=True),
                fromfile=f"a/{change.path}",
                tofile=f"b/{change.path}",
            )
        )
    return "".join(chunks)


def check_unchanged(root: Path, changes: Sequence[FileChange]) -> None:
    """Refuse (raise ApplyRefused) if a file differs from what perfloop read at the start."""
    changed = [
        c.path
        for c in changes
        if not (root / c.path).exists()
        or sha256_text((root / c.path).read_text(encoding="utf-8")) != c.original_sha256
    ]
    if changed:
        raise ApplyRefused(
            f"not applied: {', '.join(changed)} changed since this run read it; "
            "nothing was written. Re-run perfloop on the current code, or apply "
            "patch.diff by hand after review."
        )


def apply_changes(root: Path, changes: Sequence[FileChange], backup_dir: Path) -> None:
    """Write all changes or none. Originals are kept in `backup_dir`."""
    check_unchanged(root, changes)
    backup_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for change in changes:
            target = root / change.path
            (backup_dir / change.path).parent.mkdir(parents=True, exist_ok=True)
            (backup_dir / change.path).write_text(change.original, encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(change.new)
            os.chmod(temporary, target.stat().st_mode)
            staged.append((Path(temporary), target))
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise ApplyRefused(
            f"not applied: could not stage the new files ({exc}); nothing changed"
        ) from exc
    done: list[Path] = []
    try:
        for temporary, target in staged:
            os.replace(temporary, target)
            done.append(target)
            _drop_bytecode(target)
    except OSError as exc:
        revert_changes(root, [c for c in changes if root / c.path in done])
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise ApplyRefused(f"not applied: writing failed ({exc}); every file was restored") from exc


def revert_changes(root: Path, changes: Sequence[FileChange]) -> None:
    """Put the original contents back, each file atomically."""
    for change in changes:
        target = root / change.path
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(change.original)
        os.replace(temporary, target)
        _drop_bytecode(target)


def _drop_bytecode(source: Path) -> None:
    """A .pyc with the same mtime second and size would be trusted over the new source."""
    with contextlib.suppress(NotImplementedError, ValueError):
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
