"""What decides a cached result: the parts of the result cache's keys.

A target's verdicts, measurements and verification strength are decided by:

- `function`: the target's own source (decorators included; for a method also its
  class's header and class-level statements);
- `callees`: the source of everything in the project it refers to, followed
  transitively: the module-level functions, classes, constants and imports it names,
  the methods it reaches through `self`/`cls`, and what those refer to, across the
  project's modules (`from .util import helper`, `import pkg.mod as m; m.f()`).
  Editing another function of the same module changes neither part, so only the
  targets that reach it are recomputed;
- `calls`: the fingerprint of the recorded calls (arguments, outcomes, output, the
  types seen), which the verdicts are checked on and the measurements timed on: if
  the workload's data changed what the target is called with, it differs;
- `python`, `platform`: the interpreter and machine;
- `verifier`, `measurer`, `proposer`: perfloop's version and a digest of the code of
  those stages, so a perfloop with other tiers, rules or timing never reuses an
  older one's results;
- `settings`, `measure-settings`: the settings that change verdicts or measurements
  (`VERDICT_SETTINGS`, `MEASURE_SETTINGS`); the others (workers, memory limit, top,
  --apply...) do not count;
- `tests`: with the project-tests tier on, the project's test files and pytest
  configuration (a test edited may judge candidates differently).

Measurement settings are a part of their own so that changing one re-measures the
reused verdicts instead of verifying again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfloop.config import Settings
from perfloop.model import FunctionRef, TargetCapture
from perfloop.project import Project, TargetError
from perfloop.qualnames import find_class, find_function, first_line
from perfloop.store.cache import CacheKey

# settings that can change a verdict (or which candidates exist), and a target's strength
VERDICT_SETTINGS = (
    "rules",
    "float_tolerance",
    "exception_messages",
    "fuzz_examples",
    "fuzz_seconds",
    "project_tests",
    "tests_runner",
    "rollout",
    "symbolic_seconds",
    "mutants",
    "min_strength",
    "candidate_timeout",
    "max_calls",
    "capture_mb",
)
ROLLOUT_SETTINGS = ("workload", "workload_writes", "workload_timeout")
LLM_SETTINGS = (
    "llm",
    "llm_base_url",
    "llm_samples",
    "llm_rounds",
    "llm_temperature",
    "llm_max_tokens",
    "llm_prompts",
    "llm_extra_body",
)
# settings that can change a measurement or the decision on it
MEASURE_SETTINGS = (
    "min_speedup",
    "measure_processes",
    "measure_budget",
    "objective",
    "max_slowdown",
    "counters",
)
WORKLOAD_SETTINGS = (*MEASURE_SETTINGS, *ROLLOUT_SETTINGS, "workload_runs", "max_workload_runs")

_PACKAGE = Path(__file__).resolve().parent.parent


def digest(*parts: object) -> str:
    """A short, stable digest of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def environment() -> tuple[tuple[str, str], ...]:
    """The interpreter and the machine: results are reused only on the same ones."""
    python = f"{platform.python_implementation()} {sys.version.split()[0]}"
    return (("python", python), ("platform", f"{sys.platform}-{platform.machine()}"))


@functools.cache
def code_version(*names: str) -> str:
    """perfloop's version and a digest of the code of these modules and packages (paths
    under src/perfloop): a stage whose code changed never reuses older results."""
    from perfloop import __version__

    files: list[Path] = []
    for name in names:
        path = _PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    contents = hashlib.sha256()
    for path in files:
        contents.update(str(path.relative_to(_PACKAGE)).encode())
        contents.update(path.read_bytes() if path.is_file() else b"")
    return f"{__version__}+{contents.hexdigest()[:12]}"


# the code that decides verdicts (and strength), proposals, and measurements
VERIFIER_CODE = ("verification", "sandbox", "runtime", "gate.py", "pipeline/candidates.py")
PROPOSER_CODE = ("propose",)
LLM_CODE = ("llm",)
RECIPES_CODE = ("recipes",)
MEASURER_CODE = ("measure", "sandbox", "runtime")


def settings_digest(settings: Settings, names: Iterable[str]) -> str:
    return digest({name: getattr(settings, name) for name in names})


def capture_fingerprint(capture: TargetCapture) -> str:
    """The recorded calls, their outcomes and output, the types seen, and the histories of
    a method's instances."""
    contents = hashlib.sha256()
    head = (
        capture.calls_seen,
        capture.calls_not_recorded,
        [(t.parameter, t.types) for t in capture.parameter_types],
        capture.return_types,
        capture.problem,
    )
    contents.update(json.dumps(head).encode())
    for record in capture.records:
        for part in (record.args, record.outcome, record.stdout.encode()):
            contents.update(len(part).to_bytes(8, "little"))
            contents.update(part)
    for history in capture.histories:  # what the interaction tier replays
        steps = [history.constructor, *(f"{s.method}:".encode() + s.args for s in history.steps)]
        for part in steps:
            contents.update(len(part).to_bytes(8, "little"))
            contents.update(part)
    return contents.hexdigest()[:16]


# --- what a function depends on --------------------------------------------------------


@dataclass(frozen=True)
class Dependencies:
    """The target's own source and the sources of what it refers to in the project."""

    function: str
    callees: str
    modules: tuple[str, ...] = field(default=())  # the modules followed, for tests and notes


def function_dependencies(project: Project, ref: FunctionRef, module_source: str) -> Dependencies:
    """See the module docstring; a module that does not parse counts as a whole. For a
    whole class as the target, its own source is the class's, and what it refers to is
    what its methods refer to."""
    walker = _Walker(project, {ref.module: module_source})
    own = walker.target(ref)
    if own is None:
        own = walker.whole_class(ref)
    if own is None:  # not found or not parsed: the whole module decides
        return Dependencies(module_source, "", (ref.module,))
    return Dependencies(own, walker.collected(), tuple(sorted(walker.modules)))


_SKIP_NAMES = {"self", "cls"}


@dataclass
class _Module:
    name: str
    source: str
    tree: ast.Module | None
    bindings: dict[str, list[ast.stmt]]
    package: str  # for relative imports


class _Walker:
    def __init__(self, project: Project, sources: dict[str, str]) -> None:
        self.project = project
        self.sources = sources
        self.cache: dict[str, _Module | None] = {}
        self.seen: set[tuple[str, int]] = set()
        self.resolved: set[tuple[str, str]] = set()  # (module, name) already followed
        self.texts: dict[tuple[str, int], str] = {}
        self.modules: set[str] = set()
        self.pending: list[tuple[_Module, ast.AST, ast.ClassDef | None]] = []

    def module(self, name: str) -> _Module | None:
        if name in self.cache:
            return self.cache[name]
        source = self.sources.get(name)
        path: Path | None = None
        if source is None:
            try:
                path = self.project.module_path(name)
                source = path.read_text(encoding="utf-8")
            except (TargetError, OSError, UnicodeDecodeError):
                self.cache[name] = None
                return None
        else:
            try:
                path = self.project.module_path(name)
            except TargetError:
                path = None
        try:
            tree = ast.parse(source)
        except SyntaxError:
            tree = None
        is_package = path is not None and path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        found = _Module(name, source, tree, _bindings(tree) if tree else {}, package)
        self.cache[name] = found
        self.modules.add(name)
        return found

    def target(self, ref: FunctionRef) -> str | None:
        module = self.module(ref.module)
        if module is None or module.tree is None:
            return None
        node = find_function(module.tree, ref.qualname)
        if node is None:
            return None
        if "." not in ref.qualname:  # its own definition is `function`, not a callee
            self.seen.add((module.name, node.lineno))
        parts = [_text(module.source, node)]
        owner: ast.ClassDef | None = None
        body: Sequence[ast.stmt] = module.tree.body
        for name in ref.qualname.split(".")[:-1]:  # the classes it is in
            owner = next(
                (s for s in reversed(body) if isinstance(s, ast.ClassDef) and s.name == name),
                None,
            )
            if owner is None:
                break
            parts.append(_class_context(module.source, owner))
            for statement in owner.body:  # in `function` already (its class context)
                if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.seen.add((module.name, statement.lineno))
                    self.pending.append((module, statement, owner))
            self.pending += [(module, base, None) for base in owner.bases]
            body = owner.body
        self.pending.append((module, node, owner))
        self._drain()
        return "\n".join(parts)

    def whole_class(self, ref: FunctionRef) -> str | None:
        """A module's own class: its source, with what each of its methods refers to
        followed (`target`)."""
        module = self.module(ref.module)
        if module is None or module.tree is None or "." in ref.qualname:
            return None
        node = find_class(module.tree, ref.qualname)
        if node is None:
            return None
        self.seen.add((module.name, node.lineno))
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.target(FunctionRef(ref.module, f"{ref.qualname}.{statement.name}"))
        return _text(module.source, node)

    def collected(self) -> str:
        return "\n".join(f"# {key[0]}\n{self.texts[key]}" for key in sorted(self.texts))

    def _drain(self) -> None:
        while self.pending:
            module, node, owner = self.pending.pop()
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                    if child.id not in _SKIP_NAMES:
                        self._resolve(module, child.id)
                elif isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
                    self._attribute(module, child.value.id, child.attr, owner)

    def _attribute(
        self, module: _Module, base: str, attribute: str, owner: ast.ClassDef | None
    ) -> None:
        if base in _SKIP_NAMES and owner is not None:  # self.method(): the class's binding
            for statement in owner.body:
                if attribute in _bound_by(statement):
                    self._add(module, statement, owner)
            return
        for statement in module.bindings.get(base, ()):  # m.f() with `import pkg.m as m`
            for target in _imported_modules(statement, base, module.package):
                found = self.module(target)
                if found is not None:
                    self._resolve(found, attribute)

    def _resolve(self, module: _Module, name: str) -> None:
        # once per module and name: `from . import converters` in attrs 25.3.0's
        # attr/__init__.py names the package itself, whose binding of `converters` is
        # that same statement, and following it again recursed until RecursionError
        if (module.name, name) in self.resolved:
            return
        self.resolved.add((module.name, name))
        if module.tree is None:
            self._whole(module)
            return
        for statement in module.bindings.get(name, ()):
            self._add(module, statement, None)
            if isinstance(statement, ast.ImportFrom):
                self._imported(module, statement, name)

    def _imported(self, module: _Module, statement: ast.ImportFrom, name: str) -> None:
        source_module = _absolute(statement, module.package)
        for alias in statement.names:
            if alias.name == "*":
                found = self.module(source_module)
                if found is not None:
                    self._whole(found)
            elif (alias.asname or alias.name) == name:
                found = self.module(source_module)
                if found is not None:
                    self._resolve(found, alias.name)
                else:  # `from pkg import submodule`
                    self.module(f"{source_module}.{alias.name}")

    def _whole(self, module: _Module) -> None:
        key = (module.name, -1)
        if key not in self.seen:
            self.seen.add(key)
            self.texts[key] = module.source

    def _add(self, module: _Module, statement: ast.stmt, owner: ast.ClassDef | None) -> None:
        key = (module.name, statement.lineno)
        if key in self.seen:
            return
        self.seen.add(key)
        self.texts[key] = _text(module.source, statement)
        if isinstance(statement, ast.ClassDef):
            owner = statement
        self.pending.append((module, statement, owner))


def _bindings(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """{name: the module-level statements that bind it}."""
    found: dict[str, list[ast.stmt]] = {}
    for statement in tree.body:
        for name in _bound_by(statement):
            found.setdefault(name, []).append(statement)
    return found


def _bound_by(statement: ast.stmt) -> set[str]:
    """The names a statement binds in its own scope (not inside defs and classes)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    names: set[str] = set()
    for child in ast.walk(statement):
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            names.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)  # defined inside an if/try at module level
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in child.names}
    return names


def _absolute(statement: ast.ImportFrom, package: str) -> str:
    if not statement.level:
        return statement.module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (statement.level - 1)] if statement.level > 1 else parts
    return ".".join([*base, *([statement.module] if statement.module else [])])


def _imported_modules(statement: ast.stmt, name: str, package: str) -> list[str]:
    """The modules `name` stands for by this import statement."""
    if isinstance(statement, ast.Import):
        found = []
        for alias in statement.names:
            if alias.asname == name:
                found.append(alias.name)
            elif alias.asname is None and alias.name.split(".")[0] == name:
                found += [alias.name, name]
        return found
    if isinstance(statement, ast.ImportFrom):
        base = _absolute(statement, package)
        return [
            f"{base}.{alias.name}" if base else alias.name
            for alias in statement.names
            if (alias.asname or alias.name) == name
        ]
    return []


def _text(source: str, node: ast.AST) -> str:
    start = first_line(node) if isinstance(node, _DEFS) else node.lineno  # type: ignore[attr-defined]
    lines = source.splitlines()[start - 1 : node.end_lineno]  # type: ignore[attr-defined]
    return "\n".join(lines)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _class_context(source: str, owner: ast.ClassDef) -> str:
    """A class's decorators and header, and its statements that are not defs."""
    lines = source.splitlines()
    header = "\n".join(lines[first_line(owner) - 1 : owner.body[0].lineno - 1])
    rest = [
        _text(source, statement)
        for statement in owner.body
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    return "\n".join([header, *rest])


# --- the workload's inputs, as far as perfloop can see them -------------------------------

PROFILER_CODE = ("profile.py", "workload.py", "runtime", "sandbox", "capture", "project.py")
_PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def project_sources_digest(root: Path) -> str:
    """Every Python file of the project (hidden folders, virtual environments and build
    output left out) and its packaging files."""
    contents = hashlib.sha256()
    for path in sorted(_python_files(root)):
        contents.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            contents.update(path.read_bytes())
        except OSError:
            contents.update(b"unreadable")
    return contents.hexdigest()[:16]


def _python_files(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIPPED_DIRS
            and not (Path(folder) / d / "pyvenv.cfg").exists()
        ]
        for name in files:
            if name.endswith(".py") or (Path(folder) == root and name in _PROJECT_FILES):
                yield Path(folder) / name


def profile_key(settings: Settings, root: Path) -> CacheKey:
    """What a trusted profile is reused under (--trust-capture): the workload command, the
    project's sources, the Python, the platform and perfloop's profiler and recorder."""
    return CacheKey(
        (
            ("workload", settings.workload or ""),
            ("sources", project_sources_digest(root)),
            *environment(),
            ("profiler", code_version(*PROFILER_CODE)),
        )
    )


def capture_key(profile: CacheKey, settings: Settings, targets: Sequence[FunctionRef]) -> CacheKey:
    return CacheKey(
        (
            *profile.parts,
            ("targets", digest(sorted(str(t) for t in targets))),
            ("settings", settings_digest(settings, ("max_calls", "capture_mb"))),
        )
    )


# --- the project's tests -----------------------------------------------------------------

_SKIPPED_DIRS = {"node_modules", "build", "dist", "site-packages", "__pycache__", "venv", "env"}
_TEST_DIRS = {"tests", "test", "testing"}


def tests_digest(root: Path) -> str:
    """The project's test files (test_*.py, *_test.py, conftest.py, anything in a tests
    folder) and its pytest/unittest configuration."""
    contents = hashlib.sha256()
    for path in sorted(_test_files(root)):
        contents.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            contents.update(path.read_bytes())
        except OSError:
            contents.update(b"unreadable")
    for name in ("pytest.ini", "tox.ini", "setup.cfg", "conftest.py"):
        path = root / name
        if path.is_file():
            contents.update(name.encode() + b"\0" + path.read_bytes())
    contents.update(_pytest_section(root).encode())
    return contents.hexdigest()[:16]


def _test_files(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS]
        in_tests = bool(_TEST_DIRS & set(Path(folder).relative_to(root).parts))
        for name in files:
            if not name.endswith(".py"):
                continue
            named = name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            if in_tests or named:
                yield Path(folder) / name


def _pytest_section(root: Path) -> str:
    path = root / "pyproject.toml"
    if not path.is_file():
        return ""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return path.read_bytes().decode(errors="replace")
    return json.dumps(data.get("tool", {}).get("pytest", {}), sort_keys=True, default=str)


# --- the keys ----------------------------------------------------------------------------


def target_key(
    settings: Settings,
    dependencies: Dependencies,
    capture: TargetCapture,
    proposer: str,
    tests: str | None,
) -> CacheKey:
    """What decides a target's result; `proposer` names the proposers and their code."""
    verdict_settings = [*VERDICT_SETTINGS]
    if settings.rollout:
        verdict_settings += ROLLOUT_SETTINGS
    if settings.llm:
        verdict_settings += LLM_SETTINGS
    parts = [
        ("function", text_digest(dependencies.function)),
        ("callees", text_digest(dependencies.callees)),
        ("calls", capture_fingerprint(capture)),
        *environment(),
        ("verifier", code_version(*VERIFIER_CODE)),
        ("proposer", proposer),
        ("settings", settings_digest(settings, verdict_settings)),
        ("tests", tests or "off"),
    ]
    return CacheKey(tuple(parts))


def measure_key(settings: Settings) -> CacheKey:
    """What decides the measurements of verdicts already reached."""
    return CacheKey(
        (
            ("measurer", code_version(*MEASURER_CODE)),
            ("measure-settings", settings_digest(settings, MEASURE_SETTINGS)),
        )
    )


def workload_key(
    settings: Settings, changes: Sequence[tuple[str, str, str]], project_sources: str
) -> CacheKey:
    """The whole-workload A/B of a patch: the changes (path, original, new), every
    project source the workload imported, the command and the measurement settings."""
    return CacheKey(
        (
            ("changes", digest(list(changes))),
            ("sources", project_sources),
            *environment(),
            ("measurer", code_version(*MEASURER_CODE)),
            ("settings", settings_digest(settings, WORKLOAD_SETTINGS)),
        )
    )


def files_digest(root: Path, files: Iterable[str]) -> str:
    """The contents of these files (absolute paths) under `root`, by relative path."""
    contents = hashlib.sha256()
    for name in sorted(set(files)):
        path = Path(name)
        if not path.is_relative_to(root):
            continue
        contents.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            contents.update(path.read_bytes())
        except OSError:
            contents.update(b"missing")
    return contents.hexdigest()[:16]
