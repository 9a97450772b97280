"""Turn the chosen candidates into new file contents, a unified diff, and an atomic apply.

Each candidate is a whole module source that changes one function (and may add
imports). Several chosen candidates in one file are merged by taking each
one's version of its function and its new import lines into the original.

Apply writes every file through a temporary file and a rename, after checking
that no file changed since perfloop read it; if any rename fails, the files
already replaced are put back, so the project is never left half-patched.

A journal beside the backups (`backup/journal.json`) says how far an apply got:
`applying` (renames under way), `applied` (all files written, not yet
confirmed), `confirmed`, `reverted`. A run killed before `confirmed` leaves a
journal that `recover_interrupted` (called when the next run takes the
project's lock) uses to put the originals back, so a kill at any moment ends
with every file either untouched or, once confirmed, fully patched.

`--branch NAME` commits the patch to a new git branch with git's plumbing
(a temporary index), leaving the working tree and the user's index alone.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.util
import json
import os
import subprocess
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from perfloop import bytecode
from perfloop.atomic import commit, stage, write_atomic
from perfloop.model import Candidate
from perfloop.qualnames import find_cst_function, find_cst_path


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the project root
    original: str
    new: str
    # the name the workload imports the file under (a target's FunctionRef.module; never
    # derived from `path`: `src/acme/text.py` is `acme.text`); None where no run needs it
    module: str | None = None

    @property
    def original_sha256(self) -> str:
        return sha256_text(self.original)


def imported_as(change: FileChange) -> str:
    """The name the workload imports a changed file under (the pipeline's changes know it)."""
    if change.module is None:
        raise ValueError(
            f"the change of {change.path} does not say which module the workload imports it "
            "as; this is a bug in perfloop, please report it"
        )
    return change.module


class ApplyRefused(Exception):
    """The patch was not applied; nothing in the project changed."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _ReplaceFunction(cst.CSTTransformer):
    """Replace the one def node `target` (the definition the qualname names, not every
    def of that name: a property's setter shares its getter's name)."""

    def __init__(self, target: cst.FunctionDef, replacement: cst.FunctionDef) -> None:
        self.target = target
        self.replacement = replacement

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # targets are never nested inside functions

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original is self.target:
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
    """The original source with each candidate's function (or whole class, for a class as
    the target) and new imports in place."""
    merged = original_source
    for candidate in candidates:
        qualname = candidate.function.qualname
        proposed = cst.parse_module(candidate.module_source)
        if find_cst_function(proposed.body, qualname) is not None:
            merged = splice_function(merged, qualname, candidate.module_source)
        elif _last_class(proposed, qualname) is not None:
            merged = splice_class(merged, qualname, candidate.module_source)
        else:
            raise ValueError(f"{candidate.function} is missing from its candidate source")
    return merged


class SpliceError(ValueError):
    """A function could not be put into a module; the message says what is missing."""


def splice_function(
    module_source: str, qualname: str, function_source: str, whole_module: bool = False
) -> str:
    """`module_source` with the function `qualname` replaced by the one in `function_source`.

    `function_source` is the new function (decorators included, at any indentation),
    optionally after the import lines it needs, or a whole module that defines it.
    The function is looked up there by its qualname, else by its name at the top
    level (so a method can be given as a plain `def`); a def given without decorators
    keeps the original's (`@staticmethod`, `@lru_cache`). Imports the module lacks are
    added after its own; everything else in the module stays byte for byte.

    `whole_module`: `function_source` is the whole module the function comes from, so a
    def without decorators has none (check's base versions: a pull request that adds
    `@lru_cache` must not find the cache at its base too).
    """
    text = function_source
    if text.lstrip("\n")[:1].isspace():  # an indented method cut out of its class
        text = textwrap.dedent(text)
    try:
        proposed = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SpliceError(f"the new source does not parse: {exc}") from exc
    parts = qualname.split(".")
    function = find_cst_function(proposed.body, qualname) or find_cst_function(
        proposed.body, parts[-1]
    )
    if function is None:
        raise SpliceError(f"the new source defines no function {parts[-1]!r}")
    module = cst.parse_module(module_source)
    original = find_cst_function(module.body, qualname)
    if original is None:
        raise SpliceError(f"the module defines no function {qualname!r} to replace")
    given = function
    if not function.decorators and not whole_module:  # a bare def keeps the decorators
        function = function.with_changes(decorators=original.decorators)
    if len(parts) > 1:  # a method: the methods of its class it calls, changed with it
        module = _with_sibling_methods(proposed, module, given, qualname)
        original = find_cst_function(module.body, qualname)
        assert original is not None
    merged = module.visit(_ReplaceFunction(original, function))
    added, replaced = _helpers(proposed, merged, given, parts[0])
    if replaced:  # a helper the new function calls, changed with it (its new signature)
        early, added = _split_added(proposed, added, replaced)
        merged = merged.with_changes(body=_replaced_body(merged.body, replaced, early))
    if added:  # e.g. a compiled pattern the new function uses, defined just above it
        merged = merged.with_changes(body=_insert_before(merged, parts[0], added))
    present = {merged.code_for_node(line) for line in _import_lines(merged)}
    new_imports = [
        line for line in _import_lines(proposed) if proposed.code_for_node(line) not in present
    ]
    if new_imports:
        merged = merged.with_changes(body=_insert_imports(merged, new_imports))
    return merged.code


def splice_class(module_source: str, qualname: str, class_source: str) -> str:
    """`module_source` with the top-level class `qualname` replaced by the one in
    `class_source` (the whole new class, at any indentation, optionally after the import
    lines and the helpers and constants it needs, or a whole module that defines it).
    Like `splice_function`: the helpers the new class reads that the module lacks are added
    just above it, changed ones replaced, new imports added after the module's own, and
    everything else in the module stays byte for byte."""
    if "." in qualname:
        raise SpliceError(
            f"{qualname} is a nested class; only a module's own classes can be targets"
        )
    text = class_source
    if text.lstrip("\n")[:1].isspace():
        text = textwrap.dedent(text)
    try:
        proposed = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SpliceError(f"the new source does not parse: {exc}") from exc
    given = _last_class(proposed, qualname)
    if given is None:
        raise SpliceError(f"the new source defines no class {qualname!r}")
    module = cst.parse_module(module_source)
    original = _last_class(module, qualname)
    if original is None:
        raise SpliceError(f"the module defines no class {qualname!r} to replace")
    body = [
        given.with_changes(leading_lines=original.leading_lines)
        if statement is original
        else statement
        for statement in module.body
    ]
    merged = module.with_changes(body=body)
    added, replaced = _helpers(proposed, merged, given, qualname)  # type: ignore[arg-type]
    if replaced:
        early, added = _split_added(proposed, added, replaced)
        merged = merged.with_changes(body=_replaced_body(merged.body, replaced, early))
    if added:
        merged = merged.with_changes(body=_insert_before(merged, qualname, added))
    present = {merged.code_for_node(line) for line in _import_lines(merged)}
    new_imports = [
        line for line in _import_lines(proposed) if proposed.code_for_node(line) not in present
    ]
    if new_imports:
        merged = merged.with_changes(body=_insert_imports(merged, new_imports))
    return merged.code


def _last_class(module: cst.Module, name: str) -> cst.ClassDef | None:
    found = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
    return found[-1] if found else None


def _helpers(
    proposed: cst.Module, module: cst.Module, function: cst.FunctionDef, target_top: str
) -> tuple[list[cst.BaseStatement], dict[str, cst.BaseStatement]]:
    """What the new source defines at its top level and the new function needs, followed
    through what those read in turn: `NAME = ...` lines and defs the module lacks (to add,
    in the new source's order), and top-level defs and `NAME = ...` lines it has in
    another form (to replace).

    wcwidth's "Optimize wcwidth()" (69dc30c) adds `ZERO_WIDTH_CF` and `UBOUND_*` constants
    and gives `_bisearch` a third parameter: without them the maintainer's `wcwidth` failed
    with "_bisearch() takes 2 positional arguments but 3 were given". A constant the edit
    changes (a list made a frozenset for the new function's `in`) is the edit's: kept as
    the module had it, the new function would be timed and judged with the old one. A
    name the module binds otherwise (an import, a block) stays the module's."""
    bound = _top_level_names(module)
    defined = {
        s.name.value: s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))
    }
    # `NAME = ...` lines: a maintainer's edit often changes the constant with the function
    # that reads it (a list made a frozenset), and the new function is timed with it
    defined.update(
        (name, s) for s in module.body if (name := _assigned_name(s)) and name not in defined
    )
    # every top-level statement of the new source that binds the name, in order: tinycss2's
    # serialize_string_value speed-up (1.5.0) builds `_re_string_value` in two lines, the
    # second reading the first (`re.compile(f'[{_re_string_value}]')`)
    offered: dict[str, list[cst.BaseStatement]] = {}
    for statement in proposed.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            offered.setdefault(statement.name.value, []).append(statement)
        elif (name := _assigned_name(statement)) is not None:
            offered.setdefault(name, []).append(statement)
        elif isinstance(statement, _BLOCKS):  # each name it binds brings the whole block
            for name in sorted(_bound_in_block(statement)):
                offered.setdefault(name, []).append(statement)
    taken: dict[str, list[cst.BaseStatement]] = {}
    replaced: dict[str, list[cst.BaseStatement]] = {}
    pending = [name.value for name in _names(function)]
    while pending:
        name = pending.pop()
        statements = offered.get(name)
        if not statements or any(s is function for s in statements) or name == target_top:
            continue  # the function itself (a method given as a bare def) is in place already
        if name in taken or name in replaced:
            continue
        if name not in bound:
            taken[name] = statements
        elif name in defined and all(type(defined[name]) is type(s) for s in statements):
            if len(statements) == 1 and defined[name].deep_equals(statements[0]):
                continue
            replaced[name] = statements
        else:
            continue
        pending.extend(found.value for s in statements for found in _names(s))
    added = [s for s in proposed.body if any(s is t for ts in taken.values() for t in ts)]
    if added and not added[0].leading_lines:  # type: ignore[attr-defined]
        # the first statement of the new source: set apart from the code above it
        added[0] = added[0].with_changes(leading_lines=[cst.EmptyLine()] * 2)
    return added, replaced


def _with_sibling_methods(
    proposed: cst.Module, module: cst.Module, function: cst.FunctionDef, qualname: str
) -> cst.Module:
    """The module with the methods of the target's class that the new method calls
    through `self`, `cls` or the class (followed through what those call in turn) in the
    form the new source gives them: in its copy of the class, or as bare defs beside the
    method. One the class has in another form is replaced; one it lacks is added after
    the target. python-dateutil 16561fc gives `_ymd._resolve_from_stridxs` a `strids`
    parameter and passes it from `_ymd.resolve_ymd`: the one without the other fails."""
    found = find_cst_path(module.body, qualname)
    if found is None or not isinstance(found[1][-1].body, cst.IndentedBlock):
        return module
    target, classes = found
    owner = classes[-1]
    given = find_cst_path(proposed.body, qualname)
    offered_body = given[1][-1].body.body if given is not None else proposed.body
    offered = {s.name.value: s for s in offered_body if isinstance(s, cst.FunctionDef)}
    existing: dict[str, list[cst.FunctionDef]] = {}
    for statement in owner.body.body:
        if isinstance(statement, cst.FunctionDef):
            existing.setdefault(statement.name.value, []).append(statement)
    replaced: dict[str, cst.FunctionDef] = {}
    added: list[cst.FunctionDef] = []
    pending = _called_on_class(function, owner.name.value)
    while pending:
        name = pending.pop()
        new = offered.get(name)
        if new is None or new is function or name == target.name.value:
            continue
        if name in replaced or any(a.name.value == name for a in added):
            continue
        old = existing.get(name)
        if old is None:
            added.append(new)
        elif len(old) == 1 and not old[0].deep_equals(new):
            if not new.decorators:
                new = new.with_changes(decorators=old[0].decorators)
            replaced[name] = new
        else:
            continue  # the same, or several defs of that name (a property's setter)
        pending.extend(_called_on_class(new, owner.name.value))
    if not replaced and not added:
        return module
    body: list[cst.BaseStatement] = []
    for statement in owner.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value in replaced:
            new = replaced[statement.name.value]
            statement = new.with_changes(leading_lines=statement.leading_lines)
        body.append(statement)
        if statement is target:
            body.extend(a.with_changes(leading_lines=[cst.EmptyLine(indent=False)]) for a in added)
    new_owner = owner.with_changes(body=owner.body.with_changes(body=body))

    class _ReplaceClass(cst.CSTTransformer):
        def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
            return new_owner if original is owner else updated

    return module.visit(_ReplaceClass())


def _called_on_class(function: cst.FunctionDef, class_name: str) -> list[str]:
    """The attributes `function` reads on its first parameter (self, cls) or its class."""
    receivers = {class_name}
    if function.params.params:
        receivers.add(function.params.params[0].name.value)
    found: list[str] = []

    class _Collect(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if isinstance(attribute.value, cst.Name) and attribute.value.value in receivers:
                found.append(attribute.attr.value)

    function.body.visit(_Collect())
    return found


def _split_added(
    proposed: cst.Module,
    added: list[cst.BaseStatement],
    replaced: dict[str, list[cst.BaseStatement]],
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    """(the added statements that the replacing ones read, the rest), each in order.

    The first go where the replaced lines go, so a changed constant that reads a new one
    (`_pattern = ''.join(... for char in _replacement)`) finds it defined; the rest go
    just above the target, as before."""
    bound_by = {}
    for statement in added:
        for name in _bound_names(statement):
            bound_by[name] = statement
    needed: list[cst.BaseStatement] = []
    pending = [name.value for news in replaced.values() for s in news for name in _names(s)]
    while pending:
        statement = bound_by.get(pending.pop())
        if statement is not None and not any(statement is n for n in needed):
            needed.append(statement)
            pending.extend(name.value for name in _names(statement))
    early = [s for s in added if any(s is n for n in needed)]
    return early, [s for s in added if not any(s is n for n in needed)]


def _bound_names(statement: cst.BaseStatement) -> set[str]:
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return {statement.name.value}
    if isinstance(statement, _BLOCKS):
        return _bound_in_block(statement)
    if isinstance(statement, cst.SimpleStatementLine):
        return _bound_in_line(statement)
    return set()


def _replaced_body(
    body: Sequence[cst.BaseStatement],
    replaced: dict[str, list[cst.BaseStatement]],
    early: Sequence[cst.BaseStatement] = (),
) -> list[cst.BaseStatement]:
    """`body` with the module's last binding of each replaced name (the one in effect)
    taken over by the new source's statements for it, in their order; `early` (new
    statements the replacements read) just before the first replacement."""
    last: dict[str, int] = {}
    for index, statement in enumerate(body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            last[statement.name.value] = index
        elif (name := _assigned_name(statement)) is not None:
            last[name] = index
    result: list[cst.BaseStatement] = []
    for index, statement in enumerate(body):
        news = [
            new
            for name, news in replaced.items()
            if last.get(name) == index
            for new in news
            if type(new) is type(statement)
        ]
        if not news:
            result.append(statement)
            continue
        news = [*early, *news]
        early = ()
        first = news[0].with_changes(leading_lines=statement.leading_lines)  # type: ignore[attr-defined]
        result.extend([first, *news[1:]])
    return result


def _assigned_name(statement: cst.BaseStatement) -> str | None:
    """NAME for a top-level line `NAME = ...` (one target, one statement), else None."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value
    return None


# top-level blocks that bind names: pycodestyle's speedup of
# `missing_whitespace_after_keyword` (PR 1291) brings
# `if sys.version_info < (3, 10): def pairwise(...) else: from itertools import pairwise`
_BLOCKS = (cst.If, cst.Try, cst.TryStar, cst.With)


def _bound_in_block(block: cst.BaseStatement) -> set[str]:
    """The names a top-level block binds in the module, in any of its branches: defs,
    classes, imports and assignments, not what those defs bind inside themselves."""
    names: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, definition: cst.FunctionDef) -> bool:
            names.add(definition.name.value)
            return False

        def visit_ClassDef(self, definition: cst.ClassDef) -> bool:
            names.add(definition.name.value)
            return False

        def visit_SimpleStatementLine(self, line: cst.SimpleStatementLine) -> bool:
            names.update(_bound_in_line(line))
            return False

    block.visit(_Collect())
    return names


def _bound_in_line(statement: cst.SimpleStatementLine) -> set[str]:
    names = set()
    for small in statement.body:
        targets = small.targets if isinstance(small, cst.Assign) else ()
        names.update(t.target.value for t in targets if isinstance(t.target, cst.Name))
        if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
            names.add(small.target.value)
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
            small.names, cst.ImportStar
        ):
            for alias in small.names:
                name = alias.asname.name if alias.asname else alias.name
                while isinstance(name, cst.Attribute):
                    name = name.value
                if isinstance(name, cst.Name):
                    names.add(name.value)
    return names


def _top_level_names(module: cst.Module) -> set[str]:
    return {name for statement in module.body for name in _bound_names(statement)}


def _names(node: cst.CSTNode) -> list[cst.Name]:
    """The names `node` reads: not the attribute in `x.attr`, nor the names it defines
    (a def's or class's own name, parameters, keyword arguments, import aliases). A
    method reading `self._resolve` does not need a top-level `_resolve`."""
    found: list[cst.Name] = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_FunctionDef(self, definition: cst.FunctionDef) -> bool:
            for part in (*definition.decorators, definition.params, definition.body):
                part.visit(self)
            if definition.returns is not None:
                definition.returns.visit(self)
            return False

        def visit_ClassDef(self, definition: cst.ClassDef) -> bool:
            for part in (*definition.decorators, *definition.bases, *definition.keywords):
                part.visit(self)
            definition.body.visit(self)
            return False

        def visit_Param(self, param: cst.Param) -> bool:
            for part in (param.annotation, param.default):
                if part is not None:
                    part.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_ImportAlias(self, alias: cst.ImportAlias) -> bool:
            return False

    node.visit(_Collect())
    return found


def _insert_before(
    module: cst.Module, top_level_name: str, lines: list[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """`lines` just before the top-level def or class named `top_level_name`: the blank
    lines that stood before the definition now stand before them, and two blank lines
    between them and the definition (a def at the top of a file got its new constant
    glued on: "SCALE = 3\ndef total" after three blank lines)."""
    body = list(module.body)
    index = next(
        i
        for i, s in enumerate(body)
        if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value == top_level_name
    )
    if not lines:
        return body
    target = body[index]
    leading = list(target.leading_lines)
    blank = next((i for i, line in enumerate(leading) if line.comment is not None), len(leading))
    comments = [line for line in lines[0].leading_lines if line.comment is not None]
    first = lines[0].with_changes(leading_lines=[*leading[:blank], *comments])
    spaced = target.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *leading[blank:]])
    return [*body[:index], first, *lines[1:], spaced, *body[index + 1 :]]


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
    """Write all changes or none. Originals are kept in `backup_dir`, with a journal."""
    check_unchanged(root, changes)
    backup_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for change in changes:
            target = root / change.path
            (backup_dir / change.path).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(backup_dir / change.path, change.original)
            staged.append((stage(target, change.new), target))
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise ApplyRefused(
            f"not applied: could not stage the new files ({exc}); nothing changed"
        ) from exc
    write_journal(backup_dir, "applying", changes)
    done: list[Path] = []
    try:
        for temporary, target in staged:
            commit(temporary, target)
            done.append(target)
            _drop_bytecode(target)
    except OSError as exc:
        revert_changes(root, [c for c in changes if root / c.path in done])
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        write_journal(backup_dir, "reverted", changes)
        raise ApplyRefused(f"not applied: writing failed ({exc}); every file was restored") from exc
    write_journal(backup_dir, "applied", changes)


def revert_changes(root: Path, changes: Sequence[FileChange]) -> None:
    """Put the original contents back, each file atomically."""
    for change in changes:
        target = root / change.path
        write_atomic(target, change.original)  # keeps the file's mode
        _drop_bytecode(target)


def _drop_bytecode(source: Path) -> None:
    """A .pyc with the same mtime second and size would be trusted over the new source
    (the shared cache's hash-based pycs would not be, but another interpreter's may be)."""
    with contextlib.suppress(NotImplementedError, ValueError):
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    bytecode.forget(source)


# --- the journal of an apply, and undoing it -----------------------------------------

JOURNAL = "journal.json"


def write_journal(backup_dir: Path, state: str, changes: Sequence[FileChange]) -> None:
    """Record (atomically, durably) how far an apply got; see the module docstring."""
    document = {
        "schema": "perfloop.apply/1",
        "state": state,
        "files": [
            {"path": c.path, "original_sha256": c.original_sha256, "new_sha256": sha256_text(c.new)}
            for c in changes
        ],
    }
    write_atomic(backup_dir / JOURNAL, json.dumps(document, indent=1))


def journal_state(backup_dir: Path) -> str | None:
    try:
        return json.loads((backup_dir / JOURNAL).read_text(encoding="utf-8"))["state"]
    except (OSError, ValueError, KeyError):
        return None


def mark_journal(backup_dir: Path, state: str) -> None:
    """Move an existing journal to `state` ("confirmed" once the patch is checked)."""
    path = backup_dir / JOURNAL
    document = json.loads(path.read_text(encoding="utf-8"))
    document["state"] = state
    write_atomic(path, json.dumps(document, indent=1))


def revert_from_backup(root: Path, backup_dir: Path, force: bool = False) -> list[str]:
    """Put back every file of the apply recorded in `backup_dir`; the restored paths.

    A file edited since the apply (neither perfloop's version nor the original) is
    not overwritten unless `force`: ApplyRefused names it, and nothing is written.
    """
    try:
        document = json.loads((backup_dir / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApplyRefused(f"no record of an applied patch in {backup_dir} ({exc})") from exc
    restore: list[FileChange] = []
    edited: list[str] = []
    for entry in document["files"]:
        original = (backup_dir / entry["path"]).read_text(encoding="utf-8")
        target = root / entry["path"]
        current = sha256_text(target.read_text(encoding="utf-8")) if target.exists() else None
        if current == entry["original_sha256"]:
            continue
        if current != entry["new_sha256"] and not force:
            edited.append(entry["path"])
        restore.append(FileChange(entry["path"], original, original))
    if edited:
        raise ApplyRefused(
            f"not reverted: {', '.join(edited)} changed after perfloop patched it; nothing was "
            "written. Look at the backup in "
            f"{backup_dir} and restore by hand, or pass --force to overwrite your edits"
        )
    revert_changes(root, restore)
    mark_journal(backup_dir, "reverted")
    return [c.path for c in restore]


def recover_interrupted(root: Path) -> list[str]:
    """Undo applies that a killed run left unconfirmed; one message per undone apply."""
    messages = []
    for journal in sorted((root / ".perfloop" / "runs").glob(f"*/backup/{JOURNAL}")):
        backup_dir = journal.parent
        if journal_state(backup_dir) not in {"applying", "applied"}:
            continue
        run_id = backup_dir.parent.name
        try:
            restored = revert_from_backup(root, backup_dir)
        except (ApplyRefused, OSError) as exc:
            messages.append(f"run {run_id} was stopped while applying its patch: {exc}")
            continue
        mark_journal(backup_dir, "rolled-back")
        shown = ", ".join(restored) or "no file needed it"
        messages.append(
            f"run {run_id} was stopped while applying its patch before it was confirmed; "
            f"the original files were restored ({shown})"
        )
    return messages


# --- git -------------------------------------------------------------------------------


def _git(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
        check=False,
    )


def in_git_repository(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    except FileNotFoundError:  # git is not installed: nothing to check
        return False


def uncommitted(root: Path, paths: Sequence[str]) -> list[str]:
    """Those of `paths` (relative to root) with uncommitted changes in git; [] outside git."""
    if not paths or not in_git_repository(root):
        return []
    output = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths).stdout
    return sorted({line[3:].strip() for line in output.splitlines() if line.strip()})


def check_git_clean(root: Path, changes: Sequence[FileChange], force: bool) -> None:
    """Refuse to write over uncommitted work (git could not give it back) unless `force`."""
    dirty = [] if force else uncommitted(root, [c.path for c in changes])
    if dirty:
        raise ApplyRefused(
            f"not applied: {', '.join(dirty)} has uncommitted changes in git; nothing was "
            "written. Commit or stash them first (so the patch can be reviewed and undone "
            "with git), pass --branch NAME to commit the patch to a new branch, or pass "
            "--force to apply anyway"
        )


def commit_to_branch(root: Path, changes: Sequence[FileChange], branch: str, message: str) -> str:
    """Commit the changes on top of HEAD as the new branch `branch`; its commit id.

    Works on a temporary index: the working tree, the user's index and the current
    branch are not touched. Refuses (ApplyRefused) outside git, for an existing
    branch, or when a file at HEAD is not the version perfloop optimized.
    """
    if not in_git_repository(root):
        raise ApplyRefused(f"--branch needs a git repository; {root} is not in one")
    top = Path(_git(root, "rev-parse", "--show-toplevel").stdout.strip())
    if _git(root, "check-ref-format", "--branch", branch).returncode != 0:
        raise ApplyRefused(f"--branch {branch!r} is not a valid git branch name")
    if _git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").returncode == 0:
        raise ApplyRefused(f"not committed: the branch {branch!r} already exists; pick a new name")
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").stdout.strip()
    if not head:
        raise ApplyRefused("--branch needs at least one commit in the repository")
    with tempfile.TemporaryDirectory(prefix="perfloop-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _checked(_git(root, "read-tree", head, env=env))
        for change in changes:
            in_repo = (root.resolve() / change.path).relative_to(top.resolve()).as_posix()
            at_head = _git(root, "show", f"{head}:{in_repo}")
            if at_head.returncode != 0 or sha256_text(at_head.stdout) != change.original_sha256:
                raise ApplyRefused(
                    f"not committed: {change.path} at HEAD is not the version this run "
                    "optimized (it has uncommitted changes, or HEAD moved); commit first"
                )
            content = Path(tmp) / "new-content"
            content.write_text(change.new, encoding="utf-8")
            blob = _checked(_git(root, "hash-object", "-w", str(content))).strip()
            mode = "100755" if os.access(root / change.path, os.X_OK) else "100644"
            entry = f"{mode},{blob},{in_repo}"
            _checked(_git(root, "update-index", "--add", "--cacheinfo", entry, env=env))
        tree = _checked(_git(root, "write-tree", env=env)).strip()
        commit = _checked(_git(root, "commit-tree", tree, "-p", head, "-m", message)).strip()
    _checked(_git(root, "branch", branch, commit))
    return commit


def _checked(done: subprocess.CompletedProcess[str]) -> str:
    if done.returncode != 0:
        raise ApplyRefused(f"git failed: {done.stderr.strip() or done.returncode}")
    return done.stdout
