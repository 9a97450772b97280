"""Install perfloop's hooks in a workload process, as the spec in PERFLOOP_RUNTIME says.

The spec is a JSON file written by the main process:
`{"profile_dir": str|null, "capture": {...}|null, "lines": {...}|null,
"overrides": {module: [path, source_file]}}`.
Results are written into the given directories at exit, one file per process
(a workload may start several Python processes).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import sys
import types
from pathlib import Path

from perfloop.atomic import write_atomic
from perfloop.runtime import probes
from perfloop.runtime.histories import HistoryRecorder, recorded_methods
from perfloop.runtime.loader import bound_names, import_hook, resolve_target, wrap_everywhere
from perfloop.runtime.recorder import Recorder, make_wrapper
from perfloop.runtime.state import ModuleSnapshot, note_as_imported

SPEC_VARIABLE = "PERFLOOP_RUNTIME"


def install_from_environment() -> None:
    spec_path = os.environ.get(SPEC_VARIABLE)
    if not spec_path:
        return
    spec = json.loads(Path(spec_path).read_text())
    if spec.get("imports_dir"):
        _install_import_report(Path(spec["imports_dir"]))
    for module, (path, source_file) in (spec.get("overrides") or {}).items():
        import_hook().override(module, path, Path(source_file).read_text(encoding="utf-8"))
    if spec.get("capture"):
        _install_capture(spec["capture"])
    if spec.get("profile_dir"):
        _install_profiler(Path(spec["profile_dir"]))
    if spec.get("lines"):
        _install_line_timer(spec["lines"])


def _install_import_report(directory: Path) -> None:
    """At exit, write which file each imported module came from, and the import path."""
    start_directory = os.getcwd()

    def dump() -> None:
        modules = []
        for name, module in list(sys.modules.items()):
            spec = getattr(module, "__spec__", None)
            origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
            if isinstance(origin, str) and origin.endswith(".py") and name != "__main__":
                modules.append((name, os.path.realpath(os.path.join(start_directory, origin))))
        path = [os.path.abspath(os.path.join(start_directory, entry)) for entry in sys.path]
        report = json.dumps({"path": path, "modules": modules})
        write_atomic(directory / f"imports-{os.getpid()}.json", report, durable=False)

    atexit.register(dump)


def _install_profiler(directory: Path) -> None:
    import cProfile

    profiler = cProfile.Profile()
    start_directory = os.getcwd()

    def dump() -> None:
        profiler.disable()
        profiler.dump_stats(str(directory / f"profile-{os.getpid()}.prof"))
        main_file = _main_file(start_directory)
        if main_file:  # functions of the script run as __main__ cannot be imported as targets
            (directory / f"main-{os.getpid()}.txt").write_text(main_file)

    atexit.register(dump)
    profiler.enable()


def _main_file(start_directory: str) -> str | None:
    """The file run as __main__ (CPython removes __main__.__file__ before atexit runs)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.origin:
        return os.path.abspath(spec.origin)
    script = sys.argv[0] if sys.argv else ""
    path = os.path.join(start_directory, script)
    return os.path.abspath(path) if script and os.path.isfile(path) else None


def _install_capture(settings: dict[str, object]) -> None:
    directory = Path(str(settings["directory"]))
    recorders: dict[str, Recorder] = {}
    failures: dict[str, str] = {}
    histories: dict[str, HistoryRecorder] = {}

    def wrap_targets(module: types.ModuleType, qualnames: list[str]) -> None:
        wrapped: list[Recorder] = []
        classes: dict[type, list[str]] = {}  # the classes whose methods are targets
        for qualname in qualnames:
            ref = f"{module.__name__}:{qualname}"
            whole = _class_named(module, qualname)
            if whole is not None:  # a whole class as the target: its instances' histories
                _follow_instances(whole, (), settings, histories, failures)
                continue
            try:
                target = resolve_target(module, qualname)
            except (AttributeError, KeyError):
                failures[ref] = f"{module.__name__} has no function {qualname!r} when imported"
                continue
            except TypeError as exc:
                failures[ref] = f"cannot record its calls: {exc}"
                continue
            recorder = Recorder(
                ref,
                target.function,
                int(settings["max_calls"]),
                int(settings["max_bytes"]),  # type: ignore[arg-type]
                receiver=target.receiver,
            )
            try:
                if probes.eligible(target):  # 3.12+: the code is swapped, not the bindings
                    recorder.use_probe(probes.Probe(target, recorder))
                    recorder.names = bound_names(module, target)
                else:
                    recorder.names = wrap_everywhere(
                        module, target, lambda inner, r=recorder: make_wrapper(inner, r)
                    )
            except TypeError as exc:
                failures[ref] = f"cannot record its calls: {exc}"
                continue
            recorder.plan_calls(settings.get("expected_calls", {}).get(ref))  # type: ignore[attr-defined]
            recorders[ref] = recorder
            wrapped.append(recorder)
            if target.receiver == "self" and isinstance(target.owner, type):
                classes.setdefault(target.owner, []).append(target.attribute)
        for cls, methods in classes.items():
            _follow_instances(cls, tuple(methods), settings, histories, failures)
        snapshot = ModuleSnapshot(module)  # after wrapping: the wrappers are as imported
        for recorder in wrapped:
            recorder.watch_changes_since(snapshot)

    by_module: dict[str, list[str]] = {}
    for ref in settings["targets"]:  # type: ignore[attr-defined]
        module, qualname = ref.split(":")
        by_module.setdefault(module, []).append(qualname)
    for module, qualnames in by_module.items():
        # the settings of the package's singletons as its imports leave them, before the
        # workload configures them (perfloop.runtime.state)
        import_hook().on_import_in(module.partition(".")[0], note_as_imported)
        import_hook().on_import(module, lambda m, q=qualnames: wrap_targets(m, q))

    def dump() -> None:
        for recorder in recorders.values():
            if recorder.probe is not None:
                recorder.probe.stop()
        report = {
            "probes": probes.counts(),
            "recorders": {ref: rec.summary() for ref, rec in recorders.items()},
            "histories": {ref: rec.summary() for ref, rec in histories.items()},
            "failures": failures,
        }
        final = directory / f"capture-{os.getpid()}.pkl"
        write_atomic(final, pickle.dumps(report, protocol=4), durable=False)

    atexit.register(dump)


def _class_named(module: types.ModuleType, qualname: str) -> type | None:
    """The class `qualname` of `module` when that target is a whole class, else None."""
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def _follow_instances(
    cls: type,
    targets: tuple[str, ...],
    settings: dict[str, object],
    histories: dict[str, HistoryRecorder],
    failures: dict[str, str],
) -> None:
    """Record the histories of a few instances of `cls`, whose methods `targets` are hot."""
    ref = f"{cls.__module__}:{cls.__qualname__}"
    if ref in histories or "<locals>" in cls.__qualname__:
        return
    recorder = HistoryRecorder(
        ref,
        cls,
        recorded_methods(cls, targets),
        max_bytes=int(settings["max_bytes"]),  # type: ignore[call-overload]
    )
    try:
        recorder.install()
    except (TypeError, AttributeError) as exc:  # a class that refuses new attributes
        failures[ref] = f"cannot record the histories of its instances: {exc}"
        return
    histories[ref] = recorder


def _install_line_timer(settings: dict[str, object]) -> None:
    """Time the lines of the target functions; write {ref: {line: [hits, s]}} as JSON at exit."""
    from perfloop.runtime.lines import LineTimer

    directory = Path(str(settings["directory"]))
    budget = settings.get("budget")
    timer = LineTimer(budget=None if budget is None else int(budget))  # type: ignore[call-overload]

    def add_targets(module: types.ModuleType, qualnames: list[str]) -> None:
        for qualname in qualnames:
            try:
                code = resolve_target(module, qualname).code
            except (AttributeError, KeyError, TypeError):
                continue  # the capture stage reports why; a line profile is optional
            timer.add(f"{module.__name__}:{qualname}", code)

    by_module: dict[str, list[str]] = {}
    for ref in settings["targets"]:  # type: ignore[attr-defined]
        module, qualname = ref.split(":")
        by_module.setdefault(module, []).append(qualname)
    for module, qualnames in by_module.items():
        import_hook().on_import(module, lambda m, q=qualnames: add_targets(m, q))

    def dump() -> None:
        timer.stop()
        final = directory / f"lines-{os.getpid()}.json"
        write_atomic(final, json.dumps(timer.summary()), durable=False)

    atexit.register(dump)
    timer.start()
