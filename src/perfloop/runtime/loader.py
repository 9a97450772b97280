"""Load the user's modules, original or with a candidate's source in place.

A candidate is a whole new module source. Serving it through an import hook
runs it exactly as if the patch were applied on disk, without touching the
user's files: the same module name, the same file name in tracebacks, classes
that pickled instances resolve to. Used by replay, by measurement, and by the
whole-workload A/B. Standard library only: this runs inside user processes.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Sequence


class _SourceLoader(importlib.abc.SourceLoader):
    """Serves a given source text for one file; never reads or writes bytecode."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    def get_filename(self, fullname: str) -> str:
        return self.path

    def get_data(self, path: str) -> bytes:
        if path == self.path:
            return self.source.encode("utf-8")
        with open(path, "rb") as handle:
            return handle.read()


class _WrappingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then calls back once the module has executed."""

    def __init__(self, inner: importlib.abc.Loader, after: Callable[[types.ModuleType], None]):
        self.inner = inner
        self.after = after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.inner.exec_module(module)
        self.after(module)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class ProjectImportHook(importlib.abc.MetaPathFinder):
    """Serves overridden sources and runs callbacks after chosen modules execute."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, str]] = {}
        self.after_exec: dict[str, list[Callable[[types.ModuleType], None]]] = {}

    def override(self, module: str, path: str, source: str) -> None:
        self.sources[module] = (path, source)

    def on_import(self, module: str, callback: Callable[[types.ModuleType], None]) -> None:
        self.after_exec.setdefault(module, []).append(callback)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.sources and fullname not in self.after_exec:
            return None
        if fullname in self.sources:
            file_path, source = self.sources[fullname]
            spec = importlib.util.spec_from_file_location(
                fullname, file_path, loader=_SourceLoader(file_path, source)
            )
        else:
            spec = self._find_elsewhere(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        callbacks = self.after_exec.get(fullname, [])
        if callbacks:

            def after(module: types.ModuleType) -> None:
                for callback in callbacks:
                    callback(module)

            spec.loader = _WrappingLoader(spec.loader, after)  # type: ignore[assignment]
        return spec

    def _find_elsewhere(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None
    ) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


_HOOK: ProjectImportHook | None = None


def import_hook() -> ProjectImportHook:
    """The process's one hook, installed first on sys.meta_path on first use."""
    global _HOOK
    if _HOOK is None:
        _HOOK = ProjectImportHook()
        sys.meta_path.insert(0, _HOOK)
    return _HOOK


def load_module_copy(name: str, path: str, source: str) -> types.ModuleType:
    """Execute `source` as a separate module object (not in sys.modules) named `name`.

    Lets one process hold the original and a candidate side by side for A/B timing.
    """
    spec = importlib.util.spec_from_file_location(name, path, loader=_SourceLoader(path, source))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve_function(module: types.ModuleType, qualname: str) -> Callable[..., object]:
    """The plain function behind `qualname`; for a method, the function in the class dict."""
    owner: object = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    raw = owner.__dict__[parts[-1]] if isinstance(owner, type) else getattr(owner, parts[-1])
    if isinstance(raw, (staticmethod, classmethod)):
        raise TypeError(f"{qualname} is a {type(raw).__name__}; only plain methods are supported")
    if not isinstance(raw, types.FunctionType):
        raise TypeError(f"{qualname} is a {type(raw).__name__}, not a Python function")
    return raw


def replace_function(
    module: types.ModuleType, qualname: str, replacement: Callable[..., object]
) -> None:
    owner: object = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    setattr(owner, parts[-1], replacement)
