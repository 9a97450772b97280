"""Turn an outside candidate (a file, stdin, a git commit, another copy) into a Candidate.

A candidate from outside is the new source of one function, not a whole module:
perfloop splices it into the current module (`perfloop.patch.splice_function`) so
the rest of the file is exactly what the workload ran, and the verification
judges that one function.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from perfloop.config import ConfigError
from perfloop.model import Candidate, FunctionRef
from perfloop.outside.git import file_at
from perfloop.patch import SpliceError, splice_function
from perfloop.project import Project
from perfloop.qualnames import function_source


class CandidateError(ConfigError):
    """The candidate cannot be used as given; the message says what to change."""


@dataclass(frozen=True)
class CandidateSpec:
    """Where the candidate comes from: exactly one of `text`, `git_ref`, `module_path`.

    `label` names where `text` came from (a file name, stdin, an agent) for its origin.
    """

    text: str | None = None
    label: str = "text"
    git_ref: str | None = None
    module_path: Path | None = None

    @classmethod
    def from_file(cls, file: str) -> CandidateSpec:
        """`-` reads standard input."""
        if file == "-":
            return cls(text=sys.stdin.read(), label="stdin")
        path = Path(file)
        try:
            return cls(text=path.read_text(encoding="utf-8"), label=f"file:{path.name}")
        except OSError as exc:
            raise CandidateError(f"cannot read the candidate file {file}: {exc.strerror}") from exc

    def check(self) -> None:
        given = [self.text is not None, self.git_ref is not None, self.module_path is not None]
        if sum(given) != 1:
            raise CandidateError(
                "give exactly one candidate: --candidate FILE (or - for stdin), "
                "--candidate-ref GIT_REF, or --candidate-module PATH"
            )


@dataclass(frozen=True)
class Target:
    """The function under test and the module it lives in, as the project has it now."""

    function: FunctionRef
    path: str  # relative to the project root
    source: str


def read_target(project: Project, function: FunctionRef) -> Target:
    """TargetError (with close matches) if the project has no such function."""
    path = project.check_function(function)
    return Target(function, project.relative(path), path.read_text(encoding="utf-8"))


def build_candidate(
    project: Project, target: Target, spec: CandidateSpec
) -> tuple[Candidate, tuple[str, ...]]:
    """The candidate as a whole module (the target's module with the new function in),
    and notes on what was taken from the given source."""
    origin, text = candidate_text(project, target, spec)
    candidate = splice_candidate(target, text, origin)
    if spec.text is None:  # a whole module: nothing besides the function is taken
        return candidate, ()
    return candidate, _extra_code_notes(spec.text, target, candidate.module_source)


def candidate_text(project: Project, target: Target, spec: CandidateSpec) -> tuple[str, str]:
    """(origin, text): where the new source comes from, and the source (a file or stdin,
    the target's module at a git ref, or its module in another copy of the project)."""
    spec.check()
    if spec.text is not None:
        return f"outside:{spec.label}", spec.text
    if spec.git_ref is not None:
        found = file_at(project.root, spec.git_ref, target.path)
        if found is None:
            raise CandidateError(f"{target.path} did not exist at {spec.git_ref}")
        return f"outside:git:{spec.git_ref}", found
    assert spec.module_path is not None
    return f"outside:module:{spec.module_path}", _module_copy(target, spec.module_path)


def splice_candidate(target: Target, text: str, origin: str) -> Candidate:
    """Put the function found in `text` into the target's module; CandidateError if impossible."""
    qualname = target.function.qualname
    try:
        module_source = splice_function(target.source, qualname, text)
    except SpliceError as exc:
        raise CandidateError(
            f"cannot use the candidate for {target.function}: {exc}. Give the new source of the "
            f"function `{target.function.name}` (decorators included, any indentation), "
            "optionally after the import lines it needs"
        ) from exc
    return Candidate(
        function=target.function,
        origin=origin,
        rationale=f"submitted from outside ({origin.removeprefix('outside:')})",
        module_source=module_source,
        function_source=function_source(module_source, qualname),
        path=target.path,
    )


def _module_copy(target: Target, location: Path) -> str:
    """The target's module in another copy of the project (its root, or the file itself)."""
    if location.is_file():
        return location.read_text(encoding="utf-8")
    if not location.is_dir():
        raise CandidateError(f"--candidate-module {location} is neither a file nor a directory")
    path = Project(location.resolve()).module_path(target.function.module)
    return path.read_text(encoding="utf-8")


def _top_level(source: str) -> dict[str, str]:
    """Top-level defs, classes (and their methods) and single-name assignments: name ->
    their source."""
    found: dict[str, str] = {}
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[statement.name] = ast.dump(statement)
        if isinstance(statement, ast.ClassDef):  # and its methods, as Class.method
            for inner in statement.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.setdefault(f"{statement.name}.{inner.name}", ast.dump(inner))
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            found[statement.targets[0].id] = ast.dump(statement)
        elif isinstance(statement, _BLOCKS):  # `if sys.version_info < ...: def pairwise...`
            found.update(dict.fromkeys(sorted(_bound_in_block(statement)), ast.dump(statement)))
    return found


_BLOCKS = (ast.If, ast.Try, ast.With, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def _bound_in_block(block: ast.stmt) -> set[str]:
    """The names a top-level block binds (as perfloop.patch takes such blocks along)."""
    names: set[str] = set()
    pending = list(ast.iter_child_nodes(block))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    return names


def _extra_code_notes(text: str, target: Target, module_source: str) -> tuple[str, ...]:
    """Say what was taken from the given source besides the function (the helpers and
    constants it needs), what else calls a helper it replaced, and what was ignored."""
    function = target.function
    try:
        body = ast.parse(textwrap.dedent(text)).body
        before, after = _top_level(target.source), _top_level(module_source)
    except SyntaxError:
        return ()
    top = function.qualname.split(".")[0]
    added = [name for name in after if name not in before]
    replaced = [name for name in after if name in before and after[name] != before[name]]
    replaced = [name for name in replaced if name not in (top, function.qualname)]
    notes = []
    if added or replaced:
        parts = [f"new: {', '.join(added)}"] if added else []
        parts += [f"replaced: {', '.join(replaced)}"] if replaced else []
        notes.append(
            f"besides `{function.name}`, taken from the candidate source because it uses them "
            f"({'; '.join(parts)})"
        )
    for name in replaced:
        callers = _callers(module_source, name, top)
        if callers:
            notes.append(
                f"`{name}` is also used by {', '.join(callers)}: only the tests and rollout "
                f"tiers judge those with the new `{name}`"
            )
    kept_names = {function.name, top, *(n.split(".")[-1] for n in (*added, *replaced))}
    ignored = [
        statement
        for statement in body
        if not isinstance(statement, (ast.Import, ast.ImportFrom))
        and not (
            isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and statement.name in kept_names
        )
        and not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id in kept_names
        )
        and not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        and not (isinstance(statement, _BLOCKS) and _bound_in_block(statement) & kept_names)
    ]
    if ignored:
        notes.append(
            f"{len(ignored)} other top-level statement(s) of the candidate source were ignored: "
            f"the function does not use them, or the module already defines them"
        )
    return tuple(notes)


def _callers(module_source: str, name: str, top: str) -> list[str]:
    """Top-level functions and classes of the module, besides `top`, that mention `name`."""
    callers = []
    for statement in ast.parse(module_source).body:
        if (
            isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and statement.name not in (name, top)
            and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(statement))
        ):
            callers.append(statement.name)
    return callers
