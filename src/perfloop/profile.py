"""Find where the workload's time goes, function by function, in the user's code.

The workload runs under cProfile (in every Python process it starts). A
function's time here is its own time plus the time of library code it calls
directly (builtins, the standard library, installed packages): `sorted(x)[0]`
spends its time inside the builtin `sorted`, and that time is what rewriting
the caller can save. Comprehensions and generator expressions count for the
function that contains them.

`line_profile` times the lines of chosen targets in one more run of the
workload; the search asks for it only when a proposer can use it (an LLM).
"""

from __future__ import annotations

import ast
import json
import pstats
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from perfloop.model import (
    FunctionRef,
    HotFunction,
    ImportedModules,
    LineProfile,
    LineTiming,
    Profile,
)
from perfloop.project import Project, absolute, in_project
from perfloop.workload import RuntimeSpec, WorkloadError, run_workload


def profile_workload(command: str, root: Path, *, timeout: float = 600.0) -> Profile:
    """Run the workload once under the profiler; raise WorkloadError if it fails."""
    with tempfile.TemporaryDirectory(prefix="perfloop-profile-") as tmp:
        run = run_workload(command, root, spec=RuntimeSpec(profile_dir=Path(tmp)), timeout=timeout)
        if not run.succeeded:
            raise WorkloadError(run.failure_message())
        files = sorted(Path(tmp).glob("profile-*.prof"))
        if not files:
            raise WorkloadError(
                f"the workload {command!r} ran, but no Python process of it was profiled; "
                "the workload must run Python (e.g. 'python bench.py')"
            )
        stats = pstats.Stats(str(files[0]))
        for extra in files[1:]:
            stats.add(str(extra))
        main_files = frozenset(
            str(absolute(f.read_text(), root)) for f in Path(tmp).glob("main-*.txt")
        )
    imports = run.imports or ImportedModules()
    functions = rank_functions(stats, root.resolve(), main_files, imports)
    return Profile(
        total_seconds=total_seconds(stats),
        wall_seconds=run.seconds,
        functions=functions,
        workload_stdout=run.stdout,
        imports=imports,
    )


def line_profile(
    command: str,
    root: Path,
    targets: Sequence[FunctionRef],
    paths: dict[FunctionRef, Path],
    *,
    timeout: float = 600.0,
) -> dict[FunctionRef, LineProfile]:
    """Run the workload once timing the lines of `targets` (files in `paths`).

    Only the targets' code is instrumented (see perfloop.runtime.lines). A line
    profile is context for proposers, not a result: a workload that fails here, or
    a target it never runs, just has no line profile.
    """
    with tempfile.TemporaryDirectory(prefix="perfloop-lines-") as tmp:
        spec = RuntimeSpec(lines={"directory": tmp, "targets": [str(t) for t in targets]})
        run = run_workload(command, root, spec=spec, timeout=timeout)
        if not run.succeeded:
            return {}
        reports = [json.loads(path.read_text()) for path in sorted(Path(tmp).glob("lines-*.json"))]
    found = {}
    for target in targets:
        timings: dict[int, list[float]] = {}
        for report in reports:
            for line, (hits, seconds) in report.get(str(target), {}).items():
                entry = timings.setdefault(int(line), [0, 0.0])
                entry[0] += hits
                entry[1] += seconds
        if timings and target in paths:
            found[target] = _line_profile(target, timings, paths[target])
    return found


def _line_profile(target: FunctionRef, timings: dict[int, list[float]], path: Path) -> LineProfile:
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        text = []
    total = sum(seconds for _, seconds in timings.values()) or 1e-12
    return LineProfile(
        function=target,
        total_seconds=total,
        lines=tuple(
            LineTiming(
                lineno=line,
                hits=int(hits),
                seconds=seconds,
                share=seconds / total,
                text=text[line - 1].strip() if 0 < line <= len(text) else "",
            )
            for line, (hits, seconds) in sorted(timings.items())
        ),
    )


NO_IMPORTS = ImportedModules()


def module_name(path: Path, root: Path, imports: ImportedModules = NO_IMPORTS) -> str:
    """The name the workload imported `path` under; from the layout if it did not import it."""
    return imports.name_of(path) or Project(root).with_imports(imports).module_name(path)


def total_seconds(stats: pstats.Stats) -> float:
    """All profiled time: the sum of every function's own time."""
    return sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]


@dataclass
class _Accumulator:
    path: Path
    lineno: int
    ref: FunctionRef
    calls: int = 0
    self_seconds: float = 0.0
    cumulative_seconds: float = 0.0
    not_targetable: str | None = None


def rank_functions(
    stats: pstats.Stats,
    root: Path,
    main_files: frozenset[str] = frozenset(),
    imports: ImportedModules = NO_IMPORTS,
) -> tuple[HotFunction, ...]:
    raw = stats.stats  # type: ignore[attr-defined]
    total = total_seconds(stats) or 1e-12
    found: dict[FunctionRef, _Accumulator] = {}
    names = lru_cache(maxsize=None)(partial(module_name, root=root, imports=imports))

    def account(key: tuple[str, int, str]) -> _Accumulator | None:
        filename, lineno, name = key
        if not in_project(filename, root):
            return None
        path = absolute(filename, root)
        located = locate_function(str(path), lineno, name)
        if located is None:
            return None
        qualname, def_line, problem = located
        is_main = str(path) in main_files
        ref = FunctionRef("__main__" if is_main else names(path), qualname)
        if ref not in found:
            found[ref] = _Accumulator(path, def_line, ref)
        entry = found[ref]
        if is_main:
            entry.not_targetable = (
                "defined in the workload script; move it into a module to optimize it"
            )
        elif problem:
            entry.not_targetable = problem
        return entry

    for key, (_, calls, own, cumulative, callers) in raw.items():
        entry = account(key)
        if entry is not None:
            entry.self_seconds += own
            if not key[2].startswith("<"):
                entry.calls += calls
                entry.cumulative_seconds += cumulative
            continue
        # library code: its time counts for the project functions that called it directly
        for caller, caller_row in callers.items():
            caller_entry = account(caller)
            if caller_entry is not None:
                caller_entry.self_seconds += caller_row[3]

    ranked = sorted(found.values(), key=lambda e: e.self_seconds, reverse=True)
    return tuple(
        HotFunction(
            function=e.ref,
            path=str(e.path.relative_to(root)),
            lineno=e.lineno,
            calls=e.calls,
            self_seconds=e.self_seconds,
            cumulative_seconds=max(e.cumulative_seconds, e.self_seconds),
            share=min(1.0, e.self_seconds / total),
            not_targetable=e.not_targetable,
        )
        for e in ranked
        if e.self_seconds > 0
    )


@lru_cache(maxsize=256)
def _definitions(filename: str) -> tuple[tuple[int, int, int, str, str | None], ...]:
    """(first line incl. decorators, def line, end line, qualname, why not targetable) per def."""
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    found: list[tuple[int, int, int, str, str | None]] = []

    def visit(node: ast.AST, prefix: str, inside_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                problem = _why_not_targetable(child, inside_function)
                found.append(
                    (first, child.lineno, child.end_lineno or child.lineno, qualname, problem)
                )
                visit(child, f"{qualname}.<locals>.", True)
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", inside_function)
            else:
                visit(child, prefix, inside_function)

    visit(tree, "", False)
    return tuple(found)


def _why_not_targetable(node: ast.FunctionDef | ast.AsyncFunctionDef, nested: bool) -> str | None:
    if nested:
        return "a nested function; perfloop optimizes module-level functions and methods"
    if isinstance(node, ast.AsyncFunctionDef):
        return "an async function; not supported yet"
    if node.decorator_list:
        return "a decorated function; not supported yet"
    for inner in ast.walk(node):
        if isinstance(inner, (ast.Yield, ast.YieldFrom)):
            return "a generator function; not supported yet"
    return None


def why_not_targetable(path: Path, qualname: str) -> str | None:
    """Why perfloop cannot rewrite `qualname` defined in `path` (None: it can)."""
    for _, _, _, name, problem in _definitions(str(path)):
        if name == qualname:
            return problem
    return None


def locate_function(filename: str, lineno: int, name: str) -> tuple[str, int, str | None] | None:
    """Map a profiler entry (file, first line, code name) to (qualname, def line, problem)."""
    definitions = _definitions(filename)
    if name == "<module>":
        return None
    if name.startswith("<"):  # a comprehension or lambda: charge the innermost enclosing def
        enclosing = [d for d in definitions if d[0] <= lineno <= d[2]]
        if not enclosing:
            return None
        first, def_line, _, qualname, problem = max(enclosing, key=lambda d: d[0])
        return qualname, def_line, problem
    for first, def_line, _, qualname, problem in definitions:
        if lineno in (first, def_line) and qualname.rsplit(".", 1)[-1] == name:
            return qualname, def_line, problem
    return None
