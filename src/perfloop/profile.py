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
import os
import pstats
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from perfloop.model import (
    FunctionRef,
    HotFunction,
    ImportedModules,
    LineProfile,
    LineTiming,
    Profile,
)
from perfloop.project import Project, absolute, in_project
from perfloop.qualnames import first_line
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


LINE_BUDGET = 1000
"""Calls of each target whose lines are timed; later calls run unobserved."""


def line_profile(
    command: str,
    root: Path,
    targets: Sequence[FunctionRef],
    paths: dict[FunctionRef, Path],
    *,
    timeout: float = 600.0,
    budget: int | None = LINE_BUDGET,
) -> dict[FunctionRef, LineProfile]:
    """Run the workload once timing the lines of `targets` (files in `paths`).

    Only the targets' code is instrumented (see perfloop.runtime.lines), for the first
    `budget` calls of each target (None: all); then it runs at full speed. A line
    profile is context for proposers, not a result: a workload that fails here, or
    a target it never runs, just has no line profile.
    """
    with tempfile.TemporaryDirectory(prefix="perfloop-lines-") as tmp:
        spec = RuntimeSpec(
            lines={"directory": tmp, "targets": [str(t) for t in targets], "budget": budget}
        )
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


def module_namer(root: Path, imports: ImportedModules = NO_IMPORTS) -> Callable[[Path], str]:
    """path -> the name the workload imported it under; from the layout if it did not."""
    imported = imports.names_by_file()
    project = Project(root).with_imports(imports)

    @cache
    def name(path: Path) -> str:
        return imported.get(str(path.resolve())) or project.module_name(path)

    return name


def total_seconds(stats: pstats.Stats) -> float:
    """All profiled time: the sum of every function's own time."""
    return sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]


@dataclass
class _Accumulator:
    path: Path
    lineno: int
    ref: FunctionRef
    calls: int = 0
    recursive_calls: int = 0
    self_seconds: float = 0.0
    cumulative_seconds: float = 0.0
    not_targetable: str | None = None
    resumes: bool = False


def rank_functions(
    stats: pstats.Stats,
    root: Path,
    main_files: frozenset[str] = frozenset(),
    imports: ImportedModules = NO_IMPORTS,
) -> tuple[HotFunction, ...]:
    raw = stats.stats  # type: ignore[attr-defined]
    total = total_seconds(stats) or 1e-12
    found: dict[FunctionRef, _Accumulator] = {}
    names = module_namer(root, imports)

    def locate(key: tuple[str, int, str]) -> tuple[Path, Located] | None:
        filename, lineno, name = key
        if not in_project(filename, root):
            return None
        path = absolute(filename, root)
        located = locate_function(str(path), lineno, name)
        return None if located is None else (path, located)

    def account(key: tuple[str, int, str]) -> _Accumulator | None:
        place = locate(key)
        if place is None:
            return None
        path, located = place
        is_main = str(path) in main_files
        ref = FunctionRef("__main__" if is_main else names(path), located.qualname)
        if ref not in found:
            found[ref] = _Accumulator(path, located.def_line, ref)
        entry = found[ref]
        if is_main:
            entry.not_targetable = (
                "defined in the workload script; move it into a module to optimize it"
            )
        elif located.problem:
            entry.not_targetable = located.problem
        return entry

    project = {key for key in raw if in_project(key[0], root)}
    library_own = _library_own_fractions(raw, project)
    for key, (primitive, calls, own, cumulative, callers) in raw.items():
        if key in project:
            entry = account(key)
            if entry is None:
                continue  # module-level code, a lambda outside any function: nobody's
            entry.self_seconds += own
            place = locate(key)
            if place is not None and place[1].own:
                entry.calls += calls
                entry.resumes = place[1].resumes
                entry.recursive_calls += calls - primitive
                entry.cumulative_seconds += cumulative
            elif not key[2].startswith("<"):
                _check_closure(entry, key, callers, locate)
            continue
        # library code: its time counts for the project functions that called it directly,
        # less the time it spent back in project code (a generator `str.join` consumes, a
        # callback `sorted` or an integrator calls): that is the callee's own
        for caller, caller_row in callers.items():
            caller_entry = account(caller) if caller in project else None
            if caller_entry is not None:
                caller_entry.self_seconds += caller_row[3] * library_own[key]

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
            recursive_calls=e.recursive_calls,
            resumes=e.resumes,
        )
        for e in ranked
        if e.self_seconds > 0
    )


def _check_closure(
    entry: _Accumulator,
    key: tuple[str, int, str],
    callers: dict[tuple[str, int, str], object],
    locate: Callable[[tuple[str, int, str]], tuple[Path, Located] | None],
) -> None:
    """A nested function called from other project code outlives its enclosing call
    (a closure handed out): replay of the enclosing function compares the closure it
    returns by name only, so a rewrite of the closure's body would go unchecked."""
    for caller in callers:
        place = locate(caller)
        if place is not None and place[1].qualname != entry.ref.qualname:
            entry.not_targetable = (
                f"its nested function {key[2]} (line {key[1]}) is called after it returns, "
                f"by {place[1].qualname}; replay cannot check what a closure does later. "
                "Move the nested function to module level to optimize it"
            )
            return


class _Definition(NamedTuple):
    first: int
    """The first line, decorators included."""
    line: int
    end: int
    name: str
    """The code's own name, as the profiler reports it."""
    qualname: str
    """The target it counts for: itself, or for a nested function its outermost enclosing def."""
    def_line: int
    """The def line of that target."""
    problem: str | None
    nested: bool
    resumes: bool
    """A generator or coroutine: the profiler counts each resumption of it as a call."""


StatsKey = tuple[str, int, str]


def _library_own_fractions(
    raw: dict[StatsKey, tuple], project: set[StatsKey]
) -> dict[StatsKey, float]:
    """Per library function: the fraction of its cumulative time spent outside project code.

    Its own time plus, for every library function it calls, that callee's time from it times
    the callee's fraction; project code below it counts for nothing (it is that code's own
    time). Recursion in the call graph counts as library time.
    """
    callees: dict[StatsKey, list[tuple[StatsKey, float]]] = {}
    for callee, row in raw.items():
        for caller, caller_row in row[4].items():
            callees.setdefault(caller, []).append((callee, caller_row[3]))
    fractions: dict[StatsKey, float] = {}
    in_progress: set[StatsKey] = set()

    def fraction(key: StatsKey) -> float:
        if key in project:
            return 0.0
        if key in fractions:
            return fractions[key]
        if key in in_progress or key not in raw:
            return 1.0
        in_progress.add(key)
        own, cumulative = raw[key][2], raw[key][3]
        outside = own + sum(
            seconds * fraction(callee) for callee, seconds in callees.get(key, ()) if callee != key
        )
        in_progress.discard(key)
        fractions[key] = min(1.0, outside / cumulative) if cumulative > 0 else 1.0
        return fractions[key]

    for key in raw:
        if key not in project:
            try:
                fraction(key)
            except RecursionError:  # a library call chain deeper than Python's stack
                fractions.setdefault(key, 1.0)
    return fractions


def _definitions(filename: str) -> tuple[_Definition, ...]:
    """Every def in the file, nested ones charged to their outermost enclosing def.

    Cached by the file's modification time and size as well as its name: a process that
    runs perfloop again after the user edited a file (the MCP server, a test) read the
    old lines, and a function moved by one line was not found in the new profile."""
    try:
        status = os.stat(filename)
    except OSError:
        return ()
    return _definitions_in(filename, status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=256)
def _definitions_in(filename: str, mtime_ns: int, size: int) -> tuple[_Definition, ...]:
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    found: list[_Definition] = []

    def visit(node: ast.AST, prefix: str, enclosing: _Definition | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = first_line(child)
                end = child.end_lineno or child.lineno
                if enclosing is None:
                    accessor = _property_accessor(child)  # its getter is `prefix + name`
                    qualname = f"{prefix}{child.name}{'.' + accessor if accessor else ''}"
                    entry = _Definition(
                        first, child.lineno, end, child.name, qualname, child.lineno,
                        _why_not_targetable(child), False, _resumes(child),
                    )  # fmt: skip
                else:
                    entry = enclosing._replace(
                        first=first, line=child.lineno, end=end, name=child.name, nested=True,
                        resumes=_resumes(child),
                    )  # fmt: skip
                found.append(entry)
                visit(child, "", entry)
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", enclosing)
            else:
                visit(child, prefix, enclosing)

    visit(tree, "", None)
    return tuple(found)


def _property_accessor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """ "setter" or "deleter" for `@name.setter def name(...)`, else None."""
    for decorator in node.decorator_list:
        if (
            isinstance(decorator, ast.Attribute)
            and decorator.attr in ("setter", "deleter")
            and isinstance(decorator.value, ast.Name)
            and decorator.value.id == node.name
        ):
            return decorator.attr
    return None


def _why_not_targetable(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    if isinstance(node, ast.AsyncFunctionDef):
        return "an async function; not supported yet"
    accessor = _property_accessor(node)
    if accessor:
        return f"a property {accessor}; perfloop optimizes the property's getter ({node.name}) only"
    return None


def _resumes(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Calling it makes a generator or coroutine, which the profiler enters again at every
    resumption: html5lib 1.1's `HTMLSerializer.serialize`, called 10 times, showed 109,080
    calls."""
    return isinstance(node, ast.AsyncFunctionDef) or any(
        isinstance(child, (ast.Yield, ast.YieldFrom)) for child in _own_nodes(node)
    )


def _own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body, not those of functions or classes nested in it."""
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        found.append(child)
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(child))
    return found


def why_not_targetable(path: Path, qualname: str) -> str | None:
    """Why perfloop cannot rewrite `qualname` defined in `path` (None: it can)."""
    for entry in _definitions(str(path)):
        if entry.qualname == qualname and not entry.nested:
            return entry.problem
    return None


@dataclass(frozen=True)
class Located:
    """The target a profiler entry counts for."""

    qualname: str
    def_line: int
    problem: str | None
    own: bool
    """The entry is the target's own code (not a comprehension or nested function in it)."""
    resumes: bool = False
    """The entry's code is a generator's or coroutine's: its calls count resumptions."""


def locate_function(filename: str, lineno: int, name: str) -> Located | None:
    """Map a profiler entry (file, first line, code name) to the target it counts for.

    Comprehensions, lambdas and nested functions (closures) count for their
    outermost enclosing def: rewriting that def is what can change their code.
    """
    definitions = _definitions(filename)
    if name == "<module>":
        return None
    if name.startswith("<"):  # a comprehension or lambda: charge the innermost enclosing def
        enclosing = [d for d in definitions if d.first <= lineno <= d.end]
        if not enclosing:
            return None
        entry = max(enclosing, key=lambda d: d.first)
        return Located(entry.qualname, entry.def_line, entry.problem, False)
    for entry in definitions:
        if lineno in (entry.first, entry.line) and entry.name == name:
            return Located(
                entry.qualname, entry.def_line, entry.problem, not entry.nested, entry.resumes
            )
    return None
