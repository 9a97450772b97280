"""The user's project on disk: where a module's file is, and which functions it defines."""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import FunctionRef


class TargetError(Exception):
    """A requested target does not exist; the message says what does."""


@dataclass(frozen=True)
class Project:
    root: Path

    def module_path(self, module: str) -> Path:
        """The file of `module` under the root, or TargetError naming what was looked for."""
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        raise TargetError(
            f"no module {module!r} under {self.root} (looked for {base.with_suffix('.py')} "
            f"and {base / '__init__.py'}); name the function as module:qualname, with the "
            "module as it is imported from the project root"
        )

    def relative(self, path: Path) -> str:
        return str(path.resolve().relative_to(self.root.resolve()))

    def check_function(self, ref: FunctionRef) -> Path:
        """The file defining `ref`; TargetError with close matches if it is not there."""
        path = self.module_path(ref.module)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            raise TargetError(
                f"{path}:{exc.lineno}: syntax error ({exc.msg}); fix it before optimizing"
            ) from exc
        names = defined_functions(tree)
        if ref.qualname not in names:
            close = difflib.get_close_matches(ref.qualname, names, n=3)
            hint = (
                f"; did you mean {', '.join(f'{ref.module}:{c}' for c in close)}?" if close else ""
            )
            raise TargetError(f"no function {ref.qualname!r} in {ref.module} ({path}){hint}")
        return path


def defined_functions(tree: ast.Module) -> list[str]:
    """Qualnames of module-level functions and methods of module-level classes (nested too)."""
    names: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.append(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return names
