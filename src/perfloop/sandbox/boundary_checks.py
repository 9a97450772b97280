"""Escapes a worker tries on purpose, to show the kernel's boundary holds.

Used by `perfloop doctor` and the boundary's tests: each function runs in a
sandboxed worker, switches the tripwire off first (as hostile code can, through
`sys.modules`), tries one escape directly and answers "refused (ERRNO)" or "done".
A small module, so a worker that runs one imports little.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path


def _attempt(action: Callable[[], object]) -> str:
    sys.modules["perfloop.sandbox.tripwire"]._STATE.armed = False  # type: ignore[attr-defined]
    try:
        action()
    except OSError as exc:
        return f"refused ({errno.errorcode.get(exc.errno or 0, exc.errno)})"
    return "done"


def _raw(result: int) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def write_project(path: str) -> str:
    return _attempt(lambda: Path(path).open("a").write("# written"))


def symlink_into_project(path: str) -> str:
    def plant_and_write() -> None:
        os.symlink(path, "link")  # in the worker's own folder, where it may write
        with open("link", "a") as handle:
            handle.write("# written")

    return _attempt(plant_and_write)


def read_credential(path: str) -> str:
    return _attempt(lambda: Path(path).read_bytes())


def read_perfloop_environment(_: str) -> str:
    return _attempt(lambda: Path(f"/proc/{os.getppid()}/environ").read_bytes())


def write_own_memory(_: str) -> str:
    return _attempt(lambda: open("/proc/self/mem", "r+b").close())


def raw_fork(_: str) -> str:
    def fork() -> None:
        if _raw(_libc().fork()) == 0:
            os._exit(0)

    return _attempt(fork)


def raw_exec(_: str) -> str:
    argv = (ctypes.c_char_p * 2)(b"/bin/true", None)
    return _attempt(lambda: _raw(_libc().execv(b"/bin/true", argv)))


def raw_socket(_: str) -> str:
    family, kind = socket.AF_INET, socket.SOCK_STREAM
    return _attempt(lambda: _raw(_libc().socket(family, kind, 0)))


def signal_perfloop(_: str) -> str:
    return _attempt(lambda: os.kill(os.getppid(), signal.SIGCONT))
