"""Which functions changed between a git commit and the working tree, compared by AST.

Comments and formatting do not count as a change; decorators and the signature
do. A function that exists on one side only is new (or gone): there is nothing
to compare it with, so it is listed, not checked.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import FunctionRef, InvalidReference
from perfloop.outside.git import changed_files, file_at
from perfloop.project import Project, defined_functions
from perfloop.qualnames import find_function


@dataclass(frozen=True)
class ChangedModule:
    """One Python module of the project that differs from the base commit."""

    module: str
    path: str  # relative to the project root
    base_source: str
    current_source: str
    changed: tuple[str, ...]  # qualnames defined on both sides, with different code
    added: tuple[str, ...]  # qualnames defined only in the working tree

    def refs(self) -> tuple[FunctionRef, ...]:
        return tuple(FunctionRef(self.module, qualname) for qualname in self.changed)


def module_name(relative: str, project: Project) -> str | None:
    """The name Python imports the project file `relative` under (`src/pkg/mod.py` ->
    `pkg.mod` in a src layout, `pkg/__init__.py` -> `pkg`); None if not importable by name."""
    path = Path(relative)
    if path.suffix != ".py":
        return None
    name = project.module_name(project.root / path)
    try:
        FunctionRef.parse(f"{name}:f")
    except InvalidReference:
        return None
    return name


def changed_modules(root: Path, base: str) -> tuple[list[ChangedModule], list[str]]:
    """The modules whose functions changed since `base`, and notes on files that were skipped."""
    modules, notes = [], []
    project = Project(root)
    for relative in changed_files(root, base):
        name = module_name(relative, project)
        current_path = root / relative
        if name is None or not current_path.is_file():
            continue
        base_source = file_at(root, base, relative)
        if base_source is None:
            continue  # a new file: every function in it is new
        current_source = current_path.read_text(encoding="utf-8")
        try:
            base_tree, current_tree = ast.parse(base_source), ast.parse(current_source)
        except SyntaxError as exc:
            notes.append(f"{relative} was skipped: it does not parse on one side ({exc.msg})")
            continue
        changed, added = compare_functions(base_tree, current_tree)
        if changed or added:
            modules.append(
                ChangedModule(name, relative, base_source, current_source, changed, added)
            )
    return modules, notes


def compare_functions(
    base: ast.Module, current: ast.Module
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(qualnames changed, qualnames added), in the working tree's order."""
    before = set(defined_functions(base))
    changed, added = [], []
    for qualname in defined_functions(current):
        if qualname not in before:
            added.append(qualname)
            continue
        old, new = find_function(base, qualname), find_function(current, qualname)
        if old is not None and new is not None and _code(old) != _code(new):
            changed.append(qualname)
    return tuple(dict.fromkeys(changed)), tuple(dict.fromkeys(added))


def _code(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=False)
