"""The entry point of a sandboxed worker process: `python -m perfloop.sandbox.worker DIR`.

First, while the process is still single-threaded and before it loads anything of
the user's, it cuts itself off the network (a new network namespace, where the
machine allows it), asks to be killed when its parent dies, and enters the kernel's
boundary (perfloop.sandbox.boundary: writes only to its scratch folder, no new processes,
no sockets, no signals to perfloop). Then it loads the task, applies the limits,
arms the tripwire (perfloop.sandbox.tripwire), runs the one function and writes its
result atomically, so the parent sees either a whole result or none. It ends
with `os._exit`, so exit handlers the code under test registered never run.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import pickle
import resource
import signal
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from perfloop.atomic import write_atomic
from perfloop.model import Limits
from perfloop.sandbox import boundary, tripwire
from perfloop.user_site import add_user_site

OUTPUT_LIMIT = 64 * 1024 * 1024  # bytes of stdout or stderr before it counts as a flood
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
BOUNDARY_FILE = "boundary.pkl"  # the perfloop.sandbox.boundary.Prepared the worker enters


def isolate_network() -> str:
    """Enter a new network namespace (only a down loopback in it); say what happened."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNET) == 0:
            return "network namespace"
        first = os.strerror(ctypes.get_errno())
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:  # unprivileged: own user ns too
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
            return "network namespace (in a user namespace)"
        return f"none: unshare failed ({first}, then {os.strerror(ctypes.get_errno())})"
    except (OSError, AttributeError) as exc:
        return f"none: {exc}"


def die_with_parent() -> None:
    """If the parent is killed (even by SIGKILL), this process dies with it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _apply_limits(limits: Limits) -> None:
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    # stdout and stderr are files: a flood stops at the limit (writes fail, the file stays)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, hard))


def _resolve(entry: str) -> object:
    module_name, function_name = entry.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def _flooded() -> str | None:
    for descriptor, name in ((1, "standard output"), (2, "standard error")):
        try:
            if os.fstat(descriptor).st_size >= OUTPUT_LIMIT:
                return f"flooded its {name} (wrote {OUTPUT_LIMIT // (1024 * 1024)} MB or more)"
        except OSError:
            continue
    return None


def run_task(workdir: Path, isolation: str) -> tuple[str, object, str, str]:
    entry, argument, limits, mode = pickle.loads((workdir / "task.pkl").read_bytes())
    function = _resolve(entry)
    _apply_limits(limits)
    tripwire.arm(tripwire.Mode(mode), str(workdir), str(workdir / "tools"))
    try:
        result: tuple[str, object, str] = ("ok", function(argument), "")  # type: ignore[operator]
    except tripwire.Forbidden:
        result = ("error", None, "")  # replaced below by the recorded violation
    except MemoryError:
        result = ("memory", None, f"exceeded the memory limit of {limits.memory_mb} MB")
    except RecursionError as exc:
        result = ("error", None, f"RecursionError: {exc}")
    except BaseException:
        result = ("error", None, traceback.format_exc(limit=-8))
    tripwire.disarm()
    violation = tripwire.violation() or _flooded()
    if violation is not None:
        result = ("forbidden", None, violation)
    return (*result, isolation)


def enter_boundary(workdir: Path) -> str:
    """Enter the boundary perfloop prepared for this worker; say which layers hold."""
    try:
        prepared = pickle.loads((workdir / BOUNDARY_FILE).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        prepared = boundary.Prepared(boundary.Policy((str(workdir),)), no_filter=str(exc))
    return boundary.describe(boundary.enter(prepared))


def main(workdir: Path) -> None:
    add_user_site()
    isolation = isolate_network()
    die_with_parent()
    run_and_exit(workdir, isolation)


def run_and_exit(workdir: Path, isolation: str) -> NoReturn:
    """Enter the boundary, run the task in `workdir`, write its result, end the process.
    A cold worker comes here after start-up; a warm one's fork (perfloop.sandbox.warm_worker)
    after moving into the task's folder."""
    isolation = f"{isolation}; {enter_boundary(workdir)}"
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        result = run_task(workdir, isolation)
    except BaseException:  # loading the task failed: perfloop's problem, said as such
        failure = f"the worker could not start the task:\n{traceback.format_exc(limit=-8)}"
        result = ("error", None, failure, isolation)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    try:
        data = pickle.dumps(result)
    except Exception as exc:  # the function returned something perfloop cannot send back
        data = pickle.dumps(("error", None, f"unpicklable result: {exc}", result[3]))
    write_atomic(workdir / "result.pkl", data, durable=False)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    main(Path(sys.argv[1]))
