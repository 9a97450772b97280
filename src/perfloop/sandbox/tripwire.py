"""A tripwire inside sandboxed workers: notice code that writes files, starts processes,
uses the network or loads native libraries, stop it, and say which it was.

Armed by `perfloop.sandbox.worker` after perfloop's own imports, as an audit hook
(PEP 578). In STRICT mode (replay, fuzzing, measurement of candidates and of the
original) the first such event is recorded and raised as `Forbidden`, and the
worker reports it instead of any result, so a candidate that tries is rejected
with the reason even if it catches the exception. In SCRATCH mode (a project's
own test suite, which may use temporary files) writes inside the worker's
scratch folder are allowed and everything else is refused with a PermissionError
the test sees, without condemning the whole worker.

A tripwire, not a security boundary: code can get around audit hooks (ctypes
can call the C library directly, a hook's state can be reached through
`sys.modules`). What contains code is the process group, the resource limits,
the scratch directory and, where the machine allows it, the network namespace
(see perfloop.sandbox). Standard library only: this runs inside workers.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import sysconfig
from collections.abc import Iterator
from enum import Enum

_AF_UNIX = 1  # on every POSIX system
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
OUTPUT_CAP = 16 * 1024 * 1024  # characters one call may print before it counts as a flood

_FILE_EVENTS = {
    "os.remove": "deleted a file",
    "os.rmdir": "deleted a directory",
    "os.rename": "renamed a file",
    "os.mkdir": "created a directory",
    "os.truncate": "truncated a file",
    "os.symlink": "created a symbolic link",
    "os.link": "created a hard link",
    "os.chmod": "changed file permissions",
    "os.chown": "changed a file's owner",
    "os.utime": "changed a file's times",
    "shutil.rmtree": "deleted a directory tree",
}
_PROCESS_EVENTS = {
    "subprocess.Popen": "started a process",
    "os.system": "started a process (os.system)",
    "os.exec": "replaced the process (os.exec*)",
    "os.posix_spawn": "started a process (os.posix_spawn)",
    "os.spawn": "started a process (os.spawn*)",
    "os.fork": "forked the process",
    "os.forkpty": "forked the process",
    "os.kill": "sent a signal to a process",
    "os.killpg": "sent a signal to a process group",
}
_NETWORK_EVENTS = {
    "socket.connect": "opened a network connection",
    "socket.bind": "bound a network socket",
    "socket.sendto": "sent a network packet",
    "socket.sendmsg": "sent a network packet",
    "socket.getaddrinfo": "looked up a host name",
    "socket.gethostbyname": "looked up a host name",
    "socket.gethostbyaddr": "looked up a host address",
}
_OTHER_EVENTS = {
    "ctypes.dlopen": "loaded a native library with ctypes",
    "resource.setrlimit": "changed its resource limits",
}


class Mode(str, Enum):
    STRICT = "strict"  # any event rejects the code under test
    SCRATCH = "scratch"  # writes under the scratch folder pass; the rest fail, quietly


class Forbidden(BaseException):
    """Raised where the code under test did something forbidden (a BaseException, so
    `except Exception` in that code does not swallow it)."""


class _State:
    armed = False
    mode = Mode.STRICT
    scratch = ""
    libraries: tuple[str, ...] = ()
    tools = ""  # a folder perfloop's own libraries may write caches to (Hypothesis)
    first: str | None = None


_STATE = _State()


def arm(mode: Mode, scratch: str, tools: str) -> None:
    """Install the hook (once per process) and arm it. Writes under `tools` always pass:
    Hypothesis keeps best-effort caches there; it is a scratch folder too."""
    _STATE.mode = mode
    _STATE.scratch = os.path.realpath(scratch)
    _STATE.tools = os.path.realpath(tools)
    paths = sysconfig.get_paths()
    _STATE.libraries = tuple(
        {os.path.realpath(paths[key]) + os.sep for key in ("stdlib", "platstdlib", "purelib")}
        | {os.path.realpath(paths["platlib"]) + os.sep}
    )
    if not getattr(sys, "_perfloop_tripwire", False):
        sys.addaudithook(_hook)
        sys._perfloop_tripwire = True  # type: ignore[attr-defined]
    _STATE.armed = True


def disarm() -> None:
    _STATE.armed = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Let trusted code run unwatched for a while: importing the user's ORIGINAL module
    and what it imports, which the workload ran anyway (requests 2.31 binds a socket at
    import to probe for IPv6). Candidate code never runs inside this."""
    armed = _STATE.armed
    _STATE.armed = False
    try:
        yield
    finally:
        _STATE.armed = armed


def violation() -> str | None:
    """The first forbidden thing the code under test did, as a sentence fragment."""
    return _STATE.first


def report(what: str) -> None:
    """Record `what` as the worker's violation (the first one wins) and stop the code."""
    if _STATE.first is None:
        _STATE.first = what
    raise Forbidden(what)


class CappedOutput(io.StringIO):
    """A stdout capture that treats more than OUTPUT_CAP characters as an output flood."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        super().__init__()
        self.cap = cap
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        if self.size > self.cap and _STATE.armed:
            report(f"flooded its output (printed more than {self.cap // (1024 * 1024)} MB)")
        return super().write(text)


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _STATE.armed:
        return
    if event == "open":
        _check_open(args)
    elif event in _FILE_EVENTS:
        paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        if paths and all(map(_writable, paths)):
            return
        _refuse(f"{_FILE_EVENTS[event]} ({_shown(paths[0]) if paths else '?'})")
    elif event in _PROCESS_EVENTS:
        if event == "os.kill" and args and args[0] == os.getpid():
            return  # a process signalling itself reaches no one (ecdsa's tests interrupt
            # their own main thread with os.kill(os.getpid(), SIGINT))
        _refuse(f"{_PROCESS_EVENTS[event]}{_command(event, args)}")
    elif event == "socket.__new__":
        _check_socket(args)
    elif event in _NETWORK_EVENTS:
        target = (
            args[1] if event.startswith("socket.") and event != "socket.getaddrinfo" else args[0]
        )
        _refuse(f"{_NETWORK_EVENTS[event]} ({_shown(target)})")
    elif event == "ctypes.dlopen":
        name = args[0] if args else None
        if isinstance(name, str) and os.path.realpath(name).startswith(_STATE.libraries):
            return  # an installed package's own library (e.g. a solver's), not the C library
        _refuse(f"{_OTHER_EVENTS[event]} ({_shown(name)})")
    elif event in _OTHER_EVENTS:
        _refuse(_OTHER_EVENTS[event])


def _check_open(args: tuple[object, ...]) -> None:
    path, flags = args[0], args[2] if len(args) > 2 else 0
    if not isinstance(flags, int) or not flags & _WRITE_FLAGS:
        return
    if isinstance(path, int) or path is None:  # an already open descriptor
        return
    if os.fspath(path) in (os.devnull, os.fsencode(os.devnull)):  # type: ignore[arg-type]
        return
    if _writable(path):
        return
    _refuse(f"wrote a file ({_shown(path)})")


def _check_socket(args: tuple[object, ...]) -> None:
    """A new socket of any family but AF_UNIX is network use (the kernel's boundary
    refuses it anyway; this says so by name). A socketpair's Unix sockets reach no one."""
    family = args[1] if len(args) > 1 else None
    if family == _AF_UNIX:
        return
    _refuse(f"created a network socket ({_family_name(family)})")


def _family_name(family: object) -> str:
    names = {2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}
    return names.get(family, repr(family)) if isinstance(family, int) else repr(family)


def _refuse(what: str) -> None:
    if _STATE.mode is Mode.SCRATCH:
        raise PermissionError(f"perfloop's sandbox does not allow this: the code {what}")
    report(what)


def _writable(path: object) -> bool:
    """Inside the tools folder, or (SCRATCH mode) anywhere in the worker's scratch folder."""
    try:
        real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    folders = [_STATE.tools, _STATE.scratch] if _STATE.mode is Mode.SCRATCH else [_STATE.tools]
    return any(real == f or real.startswith(f + os.sep) for f in folders)


def _command(event: str, args: tuple[object, ...]) -> str:
    if event == "subprocess.Popen" and len(args) > 1:
        return f" ({_shown(args[1])})"
    if event == "os.system" and args:
        return f" ({_shown(args[0])})"
    if event in {"os.exec", "os.posix_spawn"} and args:
        return f" ({_shown(args[0])})"
    return ""


def _shown(value: object, limit: int = 200) -> str:
    """The value in a refusal message; a long one loses its middle, so a path keeps
    both where it starts and its file name."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    head = (limit - 3) // 3
    return text[:head] + "..." + text[len(text) - (limit - 3 - head) :]
