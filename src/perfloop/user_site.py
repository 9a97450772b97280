"""The project's own virtual environment, when perfloop runs from another one.

A user who keeps perfloop in its own environment (pipx, a tools venv) runs it with the
project's environment active: `python` on PATH is the project's venv. perfloop puts its
own interpreter first on the workload's PATH (captured values must unpickle in its
workers), so the workload's `python` would not see what the project installed: an
editable install of a `src/` layout (humanize 4.12.3: "No module named 'humanize'") or
the project's dependencies. When `python` on the user's PATH (else $VIRTUAL_ENV) is a
virtual environment of the same Python version as perfloop's, its site-packages folders
are added, after perfloop's own and with their `.pth` files, to the workload's processes
and to perfloop's workers (PERFLOOP_USER_SITE, read by `add_user_site`).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VARIABLE = "PERFLOOP_USER_SITE"


@dataclass(frozen=True)
class UserEnvironment:
    """The user's `python` when it is a venv other than perfloop's."""

    interpreter: str
    version: tuple[int, int]
    site_dirs: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return self.version == sys.version_info[:2]

    def mismatch(self) -> str | None:
        """What to tell a user whose project's Python is not perfloop's, or None."""
        if self.usable:
            return None
        theirs, ours = ".".join(map(str, self.version)), ".".join(map(str, sys.version_info[:2]))
        return (
            f"`python` on your PATH is {self.interpreter} (Python {theirs}) but perfloop runs "
            f"under Python {ours} ({sys.executable}), and its workers must load what the "
            f"workload records, so the project's environment is not used; install perfloop "
            f"into it ({Path(self.interpreter).parent / 'pip'} install perfloop) and run that one"
        )


def _venv_python(path: str | None) -> Path | None:
    if not path:
        return None
    interpreter = Path(path)
    if not (interpreter.parent.parent / "pyvenv.cfg").exists():
        return None  # a system Python: its packages are not the project's environment
    if interpreter.parent.parent.resolve() == Path(sys.prefix).resolve():
        return None  # perfloop's own
    return interpreter


@functools.cache
def user_environment() -> UserEnvironment | None:
    """The user's own venv (`python` first on PATH, else $VIRTUAL_ENV), if not perfloop's."""
    venv = os.environ.get("VIRTUAL_ENV")
    interpreter = _venv_python(shutil.which("python")) or _venv_python(
        str(Path(venv) / "bin" / "python") if venv else None
    )
    if interpreter is None:
        return None
    try:
        done = subprocess.run(
            [str(interpreter), "-I", "-c",
             "import json, site, sys; "
             "print(json.dumps([list(sys.version_info[:2]), site.getsitepackages()]))"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        version, dirs = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    own = {str(Path(d).resolve()) for d in site.getsitepackages()}
    site_dirs = tuple(d for d in dirs if Path(d).is_dir() and str(Path(d).resolve()) not in own)
    return UserEnvironment(str(interpreter), (version[0], version[1]), site_dirs)


def site_variable() -> dict[str, str]:
    """The environment variable that hands the user's site folders to perfloop's processes."""
    found = user_environment()
    if found is None or not found.usable or not found.site_dirs:
        return {}
    return {VARIABLE: os.pathsep.join(found.site_dirs)}


_ADDED: list[str] = []  # what add_user_site put on sys.path, in order


def add_user_site() -> None:
    """In a process perfloop started: the user's site folders after the interpreter's own."""
    for directory in os.environ.get(VARIABLE, "").split(os.pathsep):
        if directory and directory not in sys.path:
            before = set(sys.path)
            site.addsitedir(directory)
            _ADDED.extend(entry for entry in sys.path if entry not in before)


PROJECT_PYTEST_FROM = (8, 0)
"""The oldest pytest of the project's own that runs its tests instead of perfloop's: the
tests tier's plugin uses new-style hook wrappers (pluggy 1.2, pytest 8)."""


def prefer_project_pytest() -> str | None:
    """Before a worker imports pytest to run the project's tests: when the project's venv
    has a pytest of its own (PROJECT_PYTEST_FROM or newer), its site folders go before
    perfloop's, so the suite runs under the pytest, plugins and test libraries the project
    pinned. python-dateutil 2.9.0 pins pytest 8.0; under perfloop's pytest 9 the collection
    of its test_isoparser.py failed (a parametrize over a generator, deprecated to an error),
    so its 300 tests there judged nothing. Returns the version used, or None when
    perfloop's own pytest runs (no project venv, none in it, too old, or already imported)."""
    if not _ADDED or "pytest" in sys.modules or "_pytest" in sys.modules:
        return None
    version = _pytest_version(_ADDED)
    if version is None or version < PROJECT_PYTEST_FROM:
        return None
    own = {os.path.realpath(d) for d in site.getsitepackages()}
    first_own = next(
        (i for i, entry in enumerate(sys.path) if os.path.realpath(entry) in own), None
    )
    if first_own is None:
        return None
    moved = [entry for entry in sys.path if entry in _ADDED]
    rest = [entry for entry in sys.path if entry not in _ADDED]
    at = rest.index(sys.path[first_own])
    sys.path[:] = [*rest[:at], *moved, *rest[at:]]
    importlib.invalidate_caches()
    return ".".join(map(str, version))


def _pytest_version(directories: list[str]) -> tuple[int, ...] | None:
    """The version of the pytest installed in the first of `directories` that has one."""
    for directory in directories:
        for info in Path(directory).glob("pytest-*.dist-info"):
            text = info.name[len("pytest-") : -len(".dist-info")]
            try:
                return tuple(int(part) for part in text.split(".")[:2])
            except ValueError:
                continue
    return None
