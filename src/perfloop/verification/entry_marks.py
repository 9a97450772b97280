"""Marks at the entry of the project's functions: which of them a test runs, before 3.12.

Before Python 3.12 the only hooks that see every call are `sys.settrace` and
`sys.setprofile`, and either one switches the whole interpreter to its slow,
unspecialised path: measured on chardet 5.2.0's suite under Python 3.11, a trace
function that does nothing but add the frame's code to a set made the suite 4.2x
slower (66 tests: 7.7 s of CPU plain, 32.2 s traced). So instead, while the index
runs, the project's modules are compiled with one statement at the start of each
function body, `__perfloop_entered__(KEY)`: a built-in name bound to `set.add` of
a set the index empties after each test. Only the project's own code pays (one C
call per call), and the library, pytest and the standard library run untouched.

KEY is (real file path, function name, first line of the def or its first
decorator), the same key `project_tests` builds from a function's source. The
mark goes after the docstring and on the line of the first statement, so
docstrings, line numbers in tracebacks and `co_firstlineno` stay as they were.
Only modules loaded from source files by the standard path finder (or a finder
that returns a plain SourceFileLoader, as editable installs do) are marked; the
marked code is compiled fresh and never written to a bytecode cache.
"""

from __future__ import annotations

import ast
import builtins
import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Callable, Sequence

from perfloop.qualnames import first_line

MARK = "__perfloop_entered__"

Key = tuple[str, str, int]


class _Marker(ast.NodeTransformer):
    def __init__(self, path: str) -> None:
        self.path = path

    def _mark(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        first = first_line(node)
        at = 1 if _has_docstring(node) else 0
        anchor = node.body[min(at, len(node.body) - 1)]
        key = ast.Constant((self.path, node.name, first))
        call = ast.Expr(ast.Call(ast.Name(MARK, ast.Load()), [key], []))
        node.body.insert(at, ast.copy_location(call, anchor))
        return node

    visit_FunctionDef = _mark
    visit_AsyncFunctionDef = _mark


def _has_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = node.body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def marked_code(source: bytes, path: str) -> types.CodeType:
    """The module's code with an entry mark in every function."""
    tree = ast.parse(source, path)
    tree = _Marker(os.path.realpath(path)).visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, path, "exec", dont_inherit=True)


class _MarkingLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> types.CodeType:
        return marked_code(self.get_data(self.path), self.path)


class EntryMarks(importlib.abc.MetaPathFinder):
    """Installed first on sys.meta_path: marks the functions of modules that
    `is_project(real path)` accepts, and collects the keys of those entered."""

    def __init__(self, is_project: Callable[[str], bool]) -> None:
        self.is_project = is_project
        self.entered: set[Key] = set()

    def install(self) -> None:
        setattr(builtins, MARK, self.entered.add)
        sys.meta_path.insert(0, self)

    def take(self) -> set[Key]:
        """The keys entered since the last take."""
        taken = set(self.entered)
        self.entered.clear()
        return taken

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if (
            type(loader) is importlib.machinery.SourceFileLoader
            and spec.origin is not None
            and self.is_project(spec.origin)
        ):
            spec.loader = _MarkingLoader(loader.name, loader.path)
        return spec
