"""The user's project on disk: which files are its code, what Python names them, which
functions they define.

A module's name is the one Python imports it under, not its path under the project root:
a `src/` layout imports `src/pkg/mod.py` as `pkg.mod`, a `package_dir` folder imports
`code/png.py` as `png`, `--root` given as a package folder imports `root/mod.py` as
`pkg.mod`. The import roots (the folders a module name is resolved against, as sys.path
entries are) come from two places: the project's layout (`default_import_roots`, enough
before anything ran) and what a workload run observed (`observed_import_roots`: where
each imported module's file lies, and the run's sys.path). Workers import the user's
modules from the same roots (see perfloop.sandbox.runner.use_import_path).
"""

from __future__ import annotations

import ast
import configparser
import difflib
import os
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import FunctionRef, ImportedModules

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

LIBRARY_PATHS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)
PERFLOOP_HOME = Path(__file__).resolve().parent.parent  # the folder perfloop imports from
EXCLUDED_PARTS = frozenset(
    {"site-packages", "dist-packages", ".venv", "venv", ".tox", ".perfloop", "node_modules"}
)


class TargetError(Exception):
    """A requested target does not exist; the message says what does."""


@dataclass(frozen=True)
class Project:
    """The project under `root`; `import_roots` are where its modules are imported from
    (empty: the layout's defaults, see default_import_roots)."""

    root: Path
    import_roots: tuple[Path, ...] = ()

    @property
    def search_path(self) -> tuple[Path, ...]:
        return self.import_roots or default_import_roots(self.root)

    def with_imports(self, imports: ImportedModules) -> Project:
        """This project with the import roots a workload run was seen to use first."""
        observed = observed_import_roots(self.root, imports)
        merged = _unique([*observed, *default_import_roots(self.root)])
        return Project(self.root, tuple(merged))

    def module_path(self, module: str) -> Path:
        """The file of `module` in the project, or TargetError naming what was looked for."""
        parts = module.split(".")
        for base in self.search_path:
            stem = base.joinpath(*parts)
            for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
                if not (candidate.is_file() and in_project(str(candidate), self.root)):
                    continue
                name = self.module_name(candidate)
                if name != module:  # `src.pkg.mod` for a file imported as `pkg.mod`
                    raise TargetError(
                        f"{candidate} is imported as {name!r}, not {module!r}: perfloop names "
                        f"modules as your code imports them; did you mean {name!r}?"
                    )
                return candidate
        folders = ", ".join(str(base) for base in self.search_path)
        raise TargetError(
            f"no module {module!r} in the project under {self.root} (looked in {folders}); "
            "name the function as module:qualname, with the module as your code imports it "
            "(`import pkg.mod` -> pkg.mod:function)"
        )

    def module_name(self, path: Path) -> str:
        """The name Python imports `path` under, from the deepest import root holding it."""
        path = path.resolve()
        holding = [base for base in self.search_path if path.is_relative_to(base.resolve())]
        base = max(holding, key=lambda b: len(b.resolve().parts)) if holding else self.root
        parts = list(path.relative_to(base.resolve()).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def top_level_modules(self) -> frozenset[str]:
        """The top-level modules and packages the project's own files provide, in its import
        roots. A candidate may import these: they are the project's code, not a dependency."""
        names: set[str] = set()
        for folder in self.search_path:
            for entry in folder.iterdir() if folder.is_dir() else ():
                if not in_project(str(entry), self.root):
                    continue
                if entry.suffix == ".py" and entry.stem.isidentifier() and entry.is_file():
                    names.add(entry.stem)
                elif entry.name.isidentifier() and entry.is_dir():
                    names.add(entry.name)  # a package, or a namespace package
        return frozenset(names)

    def relative(self, path: Path) -> str:
        return str(path.resolve().relative_to(self.root.resolve()))

    def defines_class(self, ref: FunctionRef) -> bool:
        """Whether `ref` names a class at the top level of its module (a whole class as the
        target); False when the module cannot be found or read, so the function path reports."""
        try:
            path = self.module_path(ref.module)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (TargetError, OSError, SyntaxError):
            return False
        return any(isinstance(n, ast.ClassDef) and n.name == ref.qualname for n in tree.body)

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


def absolute(filename: str, root: Path) -> Path:
    """A file name as Python saw it (maybe relative to the workload's cwd), made absolute."""
    path = Path(filename)
    return (path if path.is_absolute() else root / path).resolve()


def in_project(filename: str, root: Path) -> bool:
    """A file of the user's project: under root, and not a library or environment folder."""
    if not filename or filename.startswith("<") or filename == "~":  # "~": cProfile's builtins
        return False
    path = absolute(filename, root)
    if any(str(path).startswith(lib) for lib in LIBRARY_PATHS):
        return False
    try:
        relative = path.relative_to(root.resolve())
    except ValueError:
        return False
    return not (EXCLUDED_PARTS & set(relative.parts))


def default_import_roots(root: Path) -> tuple[Path, ...]:
    """Where the project's modules are imported from, judged from its layout alone.

    In order: the folder above the package that `root` is inside (when `root` has an
    `__init__.py`), else `root` itself; the `package_dir` folders that pyproject.toml,
    setup.cfg or setup.py name for the top-level packages ("" key); the folders under
    `root` that an editable install put on the path (`_editable_roots`); `root/src`;
    and the entries of PYTHONPATH (relative ones taken from the current directory).
    """
    root = root.resolve()
    found: list[Path] = []
    top = root
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    found.append(top)
    found.extend(root / folder for folder in _package_dirs(root))
    found.extend(_editable_roots(root))
    if (root / "src").is_dir() and not (root / "src" / "__init__.py").is_file():
        found.append(root / "src")
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            found.append(Path(entry).resolve())
    return tuple(_unique(p for p in found if p.is_dir()))


def observed_import_roots(root: Path, imports: ImportedModules) -> tuple[Path, ...]:
    """The import roots a workload run used for the project's files.

    For every project module it imported, the folder its name was resolved against
    (`src/pkg/mod.py` named `pkg.mod` -> `src`); then the entries of its sys.path that
    are no library folder (PYTHONPATH, a script's folder, a `sys.path.insert` of its own).
    """
    found: list[Path] = []
    for name, file in imports.modules:
        if in_project(file, root):
            base = _resolved_against(name, Path(file))
            if base is not None:
                found.append(base)
    for entry in _ahead_of_the_libraries(imports.path):
        path = Path(entry)
        if (
            path.is_dir()
            and not (EXCLUDED_PARTS & set(path.parts))
            and not (path / "sitecustomize.py").is_file()  # perfloop's own boot folder
            and path.resolve() != PERFLOOP_HOME
        ):
            found.append(path.resolve())
    return tuple(_unique(found))


def _ahead_of_the_libraries(path: tuple[str, ...]) -> list[str]:
    """The sys.path entries before the standard library's: the script's folder, PYTHONPATH,
    a workload's own `sys.path.insert(0, ...)`. Later ones come from `.pth` files, which a
    worker's interpreter reads by itself."""
    ahead = []
    for entry in path:
        if any(entry.startswith(lib) for lib in LIBRARY_PATHS):
            break
        if entry:
            ahead.append(entry)
    return ahead


def _resolved_against(name: str, file: Path) -> Path | None:
    """The folder that `name` was resolved against to find `file`, if the names match."""
    parts = name.split(".")
    location = file.parent if file.stem == "__init__" else file.with_suffix("")
    for part in reversed(parts):
        if location.name != part:
            return None  # an import hook mapped the name elsewhere: no folder to add
        location = location.parent
    return location


def _package_dirs(root: Path) -> list[str]:
    """The folders setuptools' `package_dir` maps the top level ("" key) to, if any."""
    folders = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        mapping = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
        if isinstance(mapping, dict) and isinstance(mapping.get(""), str):
            folders.append(mapping[""])
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            text = parser.get("options", "package_dir", fallback="")
        except configparser.Error:
            text = ""
        for line in text.replace(";", "\n").splitlines():
            key, _, value = line.partition("=")
            if value.strip() and not key.strip():
                folders.append(value.strip())
    folders.extend(_setup_py_package_dirs(root / "setup.py"))
    return folders


def _editable_roots(root: Path) -> list[Path]:
    """Folders under `root` that an editable install of the project puts on the import
    path, read (never run) from the site-packages of perfloop's interpreter and of the
    project's own venv (perfloop.user_site): a `.pth` line naming a folder, or
    the `MAPPING` of setuptools' `__editable___*_finder.py` (package -> its folder).
    PyYAML 5.3.1's setup.py maps its packages with `package_dir={'': {2: 'lib', 3:
    'lib3'}[sys.version_info[0]]}`, which only running it can tell."""
    from perfloop.user_site import user_environment

    user = user_environment()
    site_dirs = [*sysconfig.get_paths().values(), *(user.site_dirs if user else ())]
    found: list[Path] = []
    for site_dir in dict.fromkeys(site_dirs):
        folder = Path(site_dir)
        if folder.name != "site-packages" or not folder.is_dir():
            continue
        for pth in folder.glob("*.pth"):
            found.extend(_pth_folders(pth))
        for finder in folder.glob("__editable___*_finder.py"):
            found.extend(path.parent for path in _finder_mapping(finder))
    return [path for path in found if path == root or root in path.parents]


def _pth_folders(pth: Path) -> list[Path]:
    try:
        lines = pth.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [
        Path(line.strip()).resolve()
        for line in lines
        if line.strip()
        and not line.startswith(("#", "import ", "import\t"))
        and Path(line.strip()).is_absolute()
    ]


def _finder_mapping(finder: Path) -> list[Path]:
    """The package folders in a setuptools editable finder's `MAPPING = {...}`."""
    try:
        tree = ast.parse(finder.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return []
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "MAPPING" and node.value is not None:
            try:
                mapping = ast.literal_eval(node.value)
            except ValueError:
                return []
            if isinstance(mapping, dict):
                return [Path(v).resolve() for v in mapping.values() if isinstance(v, str)]
    return []


def _setup_py_package_dirs(setup_py: Path) -> list[str]:
    """`package_dir={"": "code"}` in a setup.py's setup() call (read, never run)."""
    try:
        tree = ast.parse(setup_py.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    folders = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.keyword)
            and node.arg == "package_dir"
            and isinstance(node.value, ast.Dict)
        ):
            continue
        for key, value in zip(node.value.keys, node.value.values):
            if (
                isinstance(key, ast.Constant)
                and key.value == ""
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                folders.append(value.value)
    return folders


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    kept = []
    for path in paths:
        if path not in seen:
            seen.add(path)
            kept.append(path)
    return kept


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
