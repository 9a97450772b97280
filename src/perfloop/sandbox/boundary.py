"""The kernel's boundary around code perfloop did not write: files, system calls, signals.

A sandboxed worker (perfloop.sandbox.worker) and a whole-workload run with candidate code in
place (perfloop.sandbox.launch) enter this boundary before any of the user's or a candidate's
code runs. Three layers, each entered where the machine has it and reported either
way (`Layer`), as the network namespace is:

- **files** (Landlock, Linux 5.13+): writes only beneath the folders the policy names
  (the worker's scratch folder; for a workload, its scratch folder and the paths the
  user said it writes) and to /dev/null. Reads everywhere except the credential stores
  in home folders (`~/.ssh`, `~/.aws`, ... see HIDDEN_IN_HOME), the machine's own
  (password hashes, SSH host keys, container and Kubernetes secrets), other processes'
  /proc entries (their environment, their memory), the kernel's memory and the
  machine's devices other than null, zero, random and shared memory. Directory
  listings stay possible (a name in `~/.ssh` can be seen, its content cannot be read).
  Where the kernel has Landlock ABI 4+, TCP bind and connect are refused as well.
- **system calls** (seccomp, through libseccomp): refused with EPERM are ptrace and
  reading or writing another process's memory, mounts and namespaces, kernel modules,
  keyrings, BPF, io_uring and opening files by handle; for a worker also every new
  process (fork, vfork, clone without CLONE_THREAD, exec) and every socket (a
  socketpair, which can reach no one, stays: asyncio needs it); for a workload,
  sockets other than Unix ones.
- **signals** (Landlock scopes, ABI 6+): no signal and no abstract Unix socket reaches a
  process outside the boundary, so a worker cannot signal perfloop. Where the kernel
  is older, seccomp refuses kill(-1) and signals to perfloop and to the warm worker a
  task's fork runs under (their processes and process groups).

Why hand-written Landlock: the syscalls are three and their structs small; the PyPI
binding is a pre-release that knows neither the network rights (ABI 4) nor the scopes
(ABI 6) this boundary relies on. seccomp goes through libseccomp (the `pyseccomp`
binding), which knows every architecture's syscall numbers.

`prepare` runs in perfloop's process and compiles the seccomp filter once; `enter` runs
in the process that is about to run untrusted code, before that code is imported, with
the standard library only, and never raises (a layer that cannot be entered is
reported, not fatal). Once entered, a layer cannot be left.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import pwd
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# what a home folder keeps credentials in; the boundary makes these unreadable
HIDDEN_IN_HOME: tuple[str, ...] = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".config/gh",
    ".kube",
    ".docker",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    ".password-store",
    ".local/share/keyrings",
    ".cargo/credentials.toml",
    ".vault-token",
)
# the devices code may read (and, for null, write); the rest of /dev is hidden
READABLE_DEVICES: tuple[str, ...] = (
    "null",
    "zero",
    "full",
    "random",
    "urandom",
    "shm",
)
HIDDEN_IN_PROC: tuple[str, ...] = ("kcore", "kmsg", "kallsyms", "sysrq-trigger", "keys")
# the machine's own credentials: password hashes, SSH host keys, container and cluster secrets
HIDDEN_ON_THE_MACHINE: tuple[str, ...] = (
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ssh",
    "/run/secrets",
    "/var/run/secrets",
    "/var/lib/kubelet",
)


@dataclass(frozen=True)
class Policy:
    """What the code inside may do. `writable`: folders (or files) writes are allowed
    beneath. `programs`: it may start processes and run programs (a workload may; a
    worker may not)."""

    writable: tuple[str, ...]
    programs: bool = False


@dataclass(frozen=True)
class Prepared:
    """A policy with its seccomp filter compiled (by libseccomp, in perfloop's process:
    the process that enters the boundary needs neither libseccomp nor its start-up cost)
    as raw BPF, or the reason there is none."""

    policy: Policy
    filter: bytes = b""
    no_filter: str = ""


@dataclass(frozen=True)
class Layer:
    """One layer of the boundary: entered or not, and what it does or why it is missing."""

    name: str  # "files", "system calls", "signals"
    active: bool
    detail: str

    def describe(self) -> str:
        state = self.detail if self.active else f"none: {self.detail}"
        return f"{self.name}: {state}".replace("; ", ", ")  # "; " separates layers


def prepare(policy: Policy, protected: tuple[int, ...] = ()) -> Prepared:
    """Compile `policy`'s seccomp filter for processes this process starts; never raises.
    Where the kernel has no Landlock scopes, the filter refuses signals to this process and
    to the `protected` ones (a warm worker whose fork enters it), and to their groups."""
    try:
        scoped = landlock_abi() >= 6
        pids = () if scoped else (os.getpid(), *protected)  # one filter where they do not count
        return Prepared(policy, _compiled_filter(policy.programs, scoped, pids))
    except (ImportError, RuntimeError) as exc:  # RuntimeError: libseccomp is not installed
        return Prepared(policy, no_filter=f"libseccomp is not available ({exc})")
    except (OSError, ValueError) as exc:
        return Prepared(policy, no_filter=f"libseccomp could not compile the filter ({exc})")


def enter(prepared: Prepared) -> tuple[Layer, ...]:
    """Enter every layer the machine has; never raises. Call it in the process that will
    run untrusted code, before that code is imported, while the process is
    single-threaded (the layers bind this thread and whatever it starts later)."""
    try:
        _set_no_new_privileges()
    except OSError as exc:
        reason = f"cannot set no_new_privs ({exc})"
        return tuple(Layer(name, False, reason) for name in ("files", "system calls", "signals"))
    files, scoped = _enter_landlock(prepared.policy)
    syscalls = _load_filter(prepared)
    if scoped:
        signals = Layer("signals", True, "Landlock scope (none reach a process outside)")
    elif syscalls.active:
        signals = Layer("signals", True, "seccomp (kill(-1) and signals to perfloop refused)")
    else:
        signals = Layer("signals", False, "neither Landlock scopes (ABI 6) nor seccomp")
    return files, syscalls, signals


def describe(layers: Iterable[Layer]) -> str:
    return "; ".join(layer.describe() for layer in layers)


_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
SHARED_MEMORY = "/dev/shm"


def private_shared_memory() -> Layer:
    """Give this process (and what it starts) a /dev/shm of its own, an empty tmpfs in a
    new mount namespace, so that it can be writable (multiprocessing keeps its
    semaphores there) without reaching other programs' shared memory. Call it before
    `enter`, after the network namespace (which gives an unprivileged process the user
    namespace this needs)."""
    libc = _libc()
    try:
        for call, args in (
            ("unshare", (_CLONE_NEWNS,)),
            ("mount", (None, b"/", None, _MS_REC | _MS_PRIVATE, None)),  # no propagation out
            (
                "mount",
                (b"tmpfs", SHARED_MEMORY.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=1777"),
            ),
        ):
            if getattr(libc, call)(*args) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"{call}: {os.strerror(code)}")
    except OSError as exc:
        return Layer("shared memory", False, f"the machine's {SHARED_MEMORY}, read-only ({exc})")
    return Layer("shared memory", True, f"a private {SHARED_MEMORY}, writable")


# --- Landlock --------------------------------------------------------------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE_RIGHTS = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char ... sym
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed: 12 bytes
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(number: int, *args: object) -> int:
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return int(result)


def _set_no_new_privileges() -> None:
    if _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing or disabled."""
    try:
        return _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0


def _enter_landlock(policy: Policy) -> tuple[Layer, bool]:
    abi = landlock_abi()
    if abi < 1:
        return Layer("files", False, "the kernel has no Landlock (Linux 5.13+)"), False
    handled = _READ_FILE | _READ_DIR | _WRITE_FILE | _EXECUTE | _MAKE_RIGHTS
    handled |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX_SOCKET
        size = 24
    try:
        ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    except OSError as exc:
        return Layer("files", False, f"Landlock refused a ruleset ({exc})"), False
    try:
        read = _READ_FILE | _READ_DIR | (_EXECUTE if policy.programs else 0)
        write = handled & ~_EXECUTE
        for path, access in _rules(policy, read, write):
            _add_rule(ruleset, path, access & handled)
        _syscall(_SYS_RESTRICT_SELF, ruleset, 0)
    except OSError as exc:
        return Layer("files", False, f"Landlock could not be entered ({exc})"), False
    finally:
        os.close(ruleset)
    writes = ", ".join(policy.writable) or "nowhere"
    tcp = ", TCP refused" if abi >= 4 else ""
    detail = (
        f"Landlock ABI {abi}: writes only beneath {writes}; credential stores in home "
        f"folders, other processes and devices unreadable{tcp}"
    )
    return Layer("files", True, detail), abi >= 6


def _add_rule(ruleset: int, path: str, access: int) -> None:
    try:
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone, or a dangling link: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(descriptor).st_mode):
            access &= _FILE_ONLY
        rule = _PathBeneathAttr(access, descriptor)
        _syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    except OSError as exc:
        if exc.errno != errno.EBADFD:  # a pipe or a socket: nothing on disk to allow
            raise
    finally:
        os.close(descriptor)


def _rules(policy: Policy, read: int, write: int) -> Iterator[tuple[str, int]]:
    """(path, access) for every rule: the readable machine, then the writable folders."""
    hidden = hidden_paths()
    yield "/", _READ_DIR  # listing directories is allowed everywhere
    yield from _readable_beneath("/", hidden, read)
    yield os.devnull, _READ_FILE | _WRITE_FILE | _TRUNCATE
    for path in policy.writable:
        yield path, read | write


def _readable_beneath(
    directory: str, hidden: frozenset[str], read: int
) -> Iterator[tuple[str, int]]:
    """Read rights on every entry of `directory` except hidden ones; into the entries that
    hold a hidden path it descends, so the rest of them stays readable."""
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return
    for name in entries:
        path = os.path.join(directory, name)
        if os.path.islink(path):  # a rule follows the link: judge where it leads
            target = os.path.realpath(path)
            if not _overlaps(target, hidden):
                yield path, read
            continue  # the target is walked under its own name
        if path in hidden:
            continue
        if any(h.startswith(path + "/") for h in hidden):
            yield from _readable_beneath(path, hidden, read)
        else:
            yield path, read


def _overlaps(path: str, hidden: frozenset[str]) -> bool:
    """Whether `path` is hidden, lies in a hidden path, or holds one."""
    return any(path == h or path.startswith(h + "/") or h.startswith(path + "/") for h in hidden)


def hidden_paths() -> frozenset[str]:
    """What the boundary makes unreadable on this machine, now (absolute, resolved)."""
    hidden = set()
    for home in _homes():
        hidden.update(os.path.join(home, name) for name in HIDDEN_IN_HOME)
    own = str(os.getpid())
    with contextlib.suppress(OSError):
        hidden.update(
            f"/proc/{name}" for name in os.listdir("/proc") if name.isdigit() and name != own
        )
    hidden.update(f"/proc/{name}" for name in HIDDEN_IN_PROC)
    hidden.update(os.path.realpath(path) for path in HIDDEN_ON_THE_MACHINE)
    with contextlib.suppress(OSError):
        hidden.update(f"/dev/{name}" for name in os.listdir("/dev") if name not in READABLE_DEVICES)
    return frozenset(hidden)


def _homes() -> set[str]:
    homes = set()
    for candidate in (os.environ.get("HOME"), _own_home(), "/root"):
        if candidate:
            homes.add(os.path.realpath(candidate))
    with contextlib.suppress(OSError):
        homes.update(os.path.realpath(os.path.join("/home", n)) for n in os.listdir("/home"))
    return {home for home in homes if home != "/"}


def _own_home() -> str | None:
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except (KeyError, OSError):
        return None


# --- seccomp ---------------------------------------------------------------------------

_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
# refused in every boundary: reaching into other processes, the kernel, mounts, namespaces
_ALWAYS_REFUSED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_by_handle_at",
    "name_to_handle_at",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "syslog",
    "fanotify_init",
    "quotactl",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "sethostname",
    "setdomainname",
)
_PROCESS_CALLS = ("execve", "execveat", "fork", "vfork")


@functools.cache
def _compiled_filter(programs: bool, signals_scoped: bool, protected: tuple[int, ...]) -> bytes:
    import pyseccomp as seccomp

    refused = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in _ALWAYS_REFUSED:
        _refuse(rules, refused, name)
    if programs:
        _refuse(rules, refused, "socket", seccomp.Arg(0, seccomp.NE, _AF_UNIX))
    else:
        for name in _PROCESS_CALLS:
            _refuse(rules, refused, name)
        # a thread (CLONE_THREAD) is fine; a new process is not. clone3 passes its flags
        # in memory, out of a filter's sight: ENOSYS makes the C library fall back to
        # clone, whose flags the filter reads.
        _refuse(rules, refused, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, _CLONE_THREAD, 0))
        _refuse(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
        _refuse(rules, refused, "socket")
    if not signals_scoped:  # no Landlock scopes: at least perfloop, its warm worker, kill(-1)
        for target in _signal_targets(protected):  # compared as a C int
            low = seccomp.Arg(0, seccomp.MASKED_EQ, 0xFFFFFFFF, target & 0xFFFFFFFF)
            _refuse(rules, refused, "kill", low)
        for pid in protected:
            low = seccomp.Arg(0, seccomp.MASKED_EQ, 0xFFFFFFFF, pid)
            _refuse(rules, refused, "tgkill", low)
        _refuse(rules, refused, "tkill")
        _refuse(rules, refused, "pidfd_send_signal")
    with tempfile.TemporaryFile() as exported:
        rules.export_bpf(exported)
        exported.seek(0)
        return exported.read()


def _signal_targets(protected: tuple[int, ...]) -> list[int]:
    """kill()'s first argument for every process in `protected` and its process group, and
    -1 (every process the user may signal)."""
    targets = [-1]
    for pid in protected:
        targets.append(pid)
        with contextlib.suppress(OSError):  # it has ended: its group may have too
            targets.append(-os.getpgid(pid))
    return list(dict.fromkeys(targets))


def _refuse(rules: object, action: int, name: str, *args: object) -> None:
    try:
        rules.add_rule(action, name, *args)  # type: ignore[attr-defined]
    except (OSError, RuntimeError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.EFAULT, errno.EINVAL) and not args:
            return  # a syscall this architecture does not have (e.g. fork on arm64)
        raise


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2


def _load_filter(prepared: Prepared) -> Layer:
    if not prepared.filter:
        return Layer("system calls", False, prepared.no_filter or "no filter was compiled")
    program = ctypes.create_string_buffer(prepared.filter, len(prepared.filter))
    fprog = _SockFprog(len(prepared.filter) // 8, ctypes.addressof(program))
    libc = _libc()
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        return Layer("system calls", False, f"the kernel refused the filter ({os.strerror(code)})")
    if prepared.policy.programs:
        what = "programs run, Unix sockets only"
    else:
        what = "no new process, no socket"
    return Layer("system calls", True, f"seccomp ({what}; no ptrace, mounts or namespaces)")


def writable_paths(paths: Iterable[str | Path]) -> tuple[str, ...]:
    """Resolved, existing folders (or files) from `paths`, for `Policy.writable`."""
    found = []
    for path in paths:
        real = os.path.realpath(path)
        if os.path.exists(real) and real not in found:
            found.append(real)
    return tuple(found)
