"""Run a function from perfloop in a worker subprocess with limits.

Candidate code (from rules, an LLM, or a person) and the user's own code run
only here, never in the main process. The worker gets its own process group
(a timeout kills grandchildren too), CPU-time, address-space and output-size
limits, a scratch working directory (also its TMPDIR), an environment without
secrets, a bytecode cache of its own so a stale `.pyc` in the project can never
stand in for a source, a new network namespace where the machine allows it, the
kernel's boundary (perfloop.sandbox.boundary: Landlock lets it write only to its scratch
folder and hides credentials and other processes; seccomp refuses new processes,
sockets and ptrace; no signal reaches perfloop), and a tripwire (perfloop.sandbox.tripwire)
that rejects code which writes files, starts processes, opens sockets or loads
native libraries, naming what it did (the boundary contains what gets past it).

The worker returns plain perfloop data. Candidate code ran in the worker before
the result was encoded, so the main process decodes it as data only
(perfloop.sandbox.decode): a result that names anything but perfloop's registered result
types and plain values, or whose fields have the wrong types, is refused
(status REFUSED, with the reason) and nothing in it runs.

How many workers may run at once is a process-wide limit (`configure_workers`),
from the CPU count and the memory available, so a small machine never swaps.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from perfloop.config import ConfigError
from perfloop.model import ImportedModules, Limits
from perfloop.project import PERFLOOP_HOME, Project, default_import_roots
from perfloop.sandbox import boundary
from perfloop.sandbox.decode import Refused, check, decode
from perfloop.sandbox.tripwire import Mode as Tripwire
from perfloop.sandbox.warm import POOL as WARM_POOL
from perfloop.sandbox.warm import StaleWarmWorker, WarmFailure, WarmKey
from perfloop.sandbox.worker import BOUNDARY_FILE
from perfloop.user_site import site_variable

T = TypeVar("T")

# what perfloop.sandbox.worker writes: (status, value, message, isolation)
_RESULT = tuple[str, object, str, str]
PACKAGE_PARENT = str(PERFLOOP_HOME)
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


class WorkerStatus(str, Enum):
    OK = "ok"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    ERROR = "error"
    FORBIDDEN = "forbidden"  # the tripwire: wrote a file, started a process, used the network...
    REFUSED = "refused"  # its result was not plain perfloop data (perfloop.sandbox.decode)


@dataclass(frozen=True)
class WorkerOutcome(Generic[T]):
    status: WorkerStatus
    value: T | None
    message: str
    seconds: float
    stderr_tail: str = ""
    isolation: str = ""  # how the worker was cut off the network ("network namespace", "none: ...")

    @property
    def ok(self) -> bool:
        return self.status is WorkerStatus.OK


def secret_variables(environment: Mapping[str, str]) -> tuple[str, ...]:
    """The names of variables that look like credentials (KEY, TOKEN, SECRET, ...)."""
    return tuple(
        sorted(
            name
            for name in environment
            if any(marker in name.upper() for marker in _SECRET_MARKERS)
        )
    )


def scrubbed_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for workers: no secrets, no inherited Python path (workers get the
    import path the workload used instead, see use_import_path)."""
    secrets = set(secret_variables(os.environ))
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in secrets and name not in {"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME"}
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


# Workers import the user's modules the way the workload did: every hooked workload run
# registers the import roots it used for its project root (perfloop.workload), and a
# resumed run registers the ones its profile recorded. Keyed by root, so one process may
# serve several projects (the MCP server, the Python API).
_IMPORT_ROOTS: dict[Path, tuple[Path, ...]] = {}
_IMPORT_LOCK = threading.Lock()


def use_import_path(root: Path, imports: ImportedModules) -> None:
    """Workers for `root` import the project's modules as this workload run did."""
    roots = Project(root.resolve()).with_imports(imports).search_path
    with _IMPORT_LOCK:
        _IMPORT_ROOTS[root.resolve()] = roots


def worker_import_path(root: Path) -> tuple[Path, ...]:
    """The folders a worker for `root` imports the user's modules from."""
    with _IMPORT_LOCK:
        known = _IMPORT_ROOTS.get(root.resolve())
    return known if known is not None else default_import_roots(root)


def python_path(*entries: str | Path) -> str:
    return os.pathsep.join([*(str(e) for e in entries), PACKAGE_PARENT])


@dataclass(frozen=True)
class WorkerJob:
    """One sandboxed call as plain data, made on perfloop's side and run by `run_job` on
    this machine or, with `--executor ray`, on a node of a Ray cluster
    (perfloop.sandbox.ray_executor): everything in it is bytes, text and numbers."""

    task: bytes  # the pickled (entry, argument, limits, tripwire) the worker loads
    root: str  # the project; a node that cannot see it refuses the job
    import_path: tuple[str, ...]  # where the worker imports the user's modules from
    environment: dict[str, str]  # scrubbed; the worker's own folders are added where it runs
    wall_seconds: float
    wrapper: tuple[str, ...] = ()
    scratch: str | None = None
    # run in a warm worker (perfloop.sandbox.warm) that has imported these project modules;
    # None: a fresh interpreter (timings, and where the caller asks for one)
    preload: tuple[str, ...] | None = None


@dataclass(frozen=True)
class JobOutput:
    """What a worker left, still undecoded: perfloop's side decodes it (`_read_result`),
    wherever the worker ran, so a result from another machine is read the same way."""

    returncode: int | None  # None: it did not finish within the wall time and was killed
    result: bytes | None  # result.pkl, if the worker wrote one
    seconds: float
    stderr_tail: str
    unseen: str = ""  # set when the job's files were not visible where it ran (why)
    warm: bool = False  # it ran in a fork of a warm worker


class Executor(Protocol):
    """Where jobs run when not on this machine (perfloop.sandbox.ray_executor)."""

    def run(self, job: WorkerJob) -> JobOutput: ...


_EXECUTOR: Executor | None = None


@contextlib.contextmanager
def jobs_run_by(executor: Executor) -> Iterator[None]:
    """Inside the block, `run_in_worker` hands its jobs to `executor` (except those that
    must run here: measurement). Process-wide, like the worker count."""
    global _EXECUTOR
    before, _EXECUTOR = _EXECUTOR, executor
    try:
        yield
    finally:
        _EXECUTOR = before


class UnseenFiles(ConfigError):
    """A job ran where the project is not visible (a Ray node without the shared path)."""


def run_in_worker(
    entry: str,
    argument: object,
    *,
    root: Path,
    limits: Limits,
    scratch: Path | None = None,
    tripwire: Tripwire = Tripwire.STRICT,
    wrapper: Sequence[str] = (),
    returns: object = object,
    here: bool = False,
    warm: Sequence[str] | None = None,
) -> WorkerOutcome[object]:
    """Call `entry` ("package.module:function") with `argument` in a sandboxed worker.

    Never raises for anything the worker does: a hang, a crash, exhausted
    memory, a tripped wire, an exception or a result that is not data of the
    type hint `returns` become a WorkerOutcome with a message.
    `tripwire` SCRATCH is for running a project's test suite, which may write
    temporary files inside the worker's scratch folder.
    `here`: run on this machine even when an executor (`--executor ray`) takes the jobs:
    timings (a ratio never mixes two machines), and whatever writes or reads files of
    this machine's own (a wrapper's output). Raises UnseenFiles when the executor ran the
    job where the project is not visible.
    `warm`: the project modules the task imports (the target's module); given, the task
    may run in a fork of a warm worker that imported them once (perfloop.sandbox.warm),
    on this machine. A warm run that ends in anything but a result or a timeout is run
    again in a fresh worker, whose outcome counts. Never for a timing.
    """
    job = worker_job(
        entry,
        argument,
        root=root,
        limits=limits,
        scratch=scratch,
        tripwire=tripwire,
        wrapper=wrapper,
        preload=warm,
    )
    executor = None if here else _EXECUTOR
    with _worker_slot():
        output = run_job(job) if executor is None else executor.run(job)
    outcome = read_output(output, limits, returns)
    if output.warm and outcome.status not in (WorkerStatus.OK, WorkerStatus.TIMEOUT):
        with _worker_slot():  # a warm worker must never be why a task failed
            output = run_job(replace(job, preload=None))
        outcome = read_output(output, limits, returns)
    return outcome


def worker_job(
    entry: str,
    argument: object,
    *,
    root: Path,
    limits: Limits,
    scratch: Path | None = None,
    tripwire: Tripwire = Tripwire.STRICT,
    wrapper: Sequence[str] = (),
    preload: Sequence[str] | None = None,
) -> WorkerJob:
    """The job that calls `entry` with `argument` in a sandboxed worker (see run_in_worker)."""
    return WorkerJob(
        task=pickle.dumps((entry, argument, limits, tripwire.value)),
        root=str(root),
        import_path=tuple(str(path) for path in worker_import_path(root)),
        environment=scrubbed_environment(site_variable()),
        wall_seconds=limits.wall_seconds,
        wrapper=tuple(wrapper),
        scratch=None if scratch is None else str(scratch),
        preload=None if preload is None or wrapper else tuple(preload),
    )


def read_output(output: JobOutput, limits: Limits, returns: object) -> WorkerOutcome[object]:
    """A job's outcome, decoded here as data only, wherever its worker ran."""
    if output.unseen:
        raise UnseenFiles(output.unseen)
    if output.returncode is None:
        return WorkerOutcome(
            WorkerStatus.TIMEOUT,
            None,
            f"did not finish within {limits.wall_seconds:g} s and was killed",
            output.seconds,
            output.stderr_tail,
        )
    return _read_result(output, returns)


def run_job(job: WorkerJob) -> JobOutput:
    """Run `job`'s worker on this machine: a scratch folder, the boundary, the limits;
    the result is read back as bytes, not decoded. In a warm worker where the job asks
    for one and they are on (configure_workers), else in a fresh interpreter."""
    if not Path(job.root).is_dir():
        seen = f"{socket.gethostname()} cannot see the project {job.root}"
        return JobOutput(None, None, 0.0, "", unseen=seen)
    if job.preload is not None and _WARM_WORKERS[0]:
        with contextlib.suppress(WarmFailure):  # it could not serve: a fresh one does
            return _run_in_folder(job, warm=True)
    return _run_in_folder(job, warm=False)


def _run_in_folder(job: WorkerJob, warm: bool) -> JobOutput:
    with tempfile.TemporaryDirectory(prefix="perfloop-worker-", dir=job.scratch) as tmp:
        workdir = Path(tmp)
        (workdir / "task.pkl").write_bytes(job.task)
        for name in ("cwd", "pycache", "tmp", "tools"):
            (workdir / name).mkdir()
        for name in ("stdout.txt", "stderr.txt"):
            (workdir / name).touch()
        own = {  # the worker's own folders
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
            "TMPDIR": str(workdir / "tmp"),
            "HYPOTHESIS_STORAGE_DIRECTORY": str(workdir / "tools" / "hypothesis"),
        }
        started = time.perf_counter()
        if warm:
            returncode = _run_warm(job, workdir, own)
        else:
            returncode = _run_cold(job, workdir, own)
        seconds = time.perf_counter() - started
        stderr_tail = _tail(workdir / "stderr.txt")
        result_file = workdir / "result.pkl"
        result = result_file.read_bytes() if result_file.exists() else None
        return JobOutput(returncode, result, seconds, stderr_tail, warm=warm)


def _write_boundary(workdir: Path, protected: tuple[int, ...] = ()) -> None:
    """The boundary the job's worker enters: writes only in its folder; signals refused to
    perfloop and to the `protected` processes where the kernel has no Landlock scopes."""
    policy = boundary.Policy(writable=(str(workdir.resolve()),))
    (workdir / BOUNDARY_FILE).write_bytes(pickle.dumps(boundary.prepare(policy, protected)))


def _run_cold(job: WorkerJob, workdir: Path, own: dict[str, str]) -> int | None:
    """A new interpreter for the job: its return code, None if it timed out."""
    _write_boundary(workdir)
    env = {**job.environment, "PYTHONPATH": python_path(*job.import_path), **own}
    with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
        process = subprocess.Popen(
            [*job.wrapper, sys.executable, "-m", "perfloop.sandbox.worker", str(workdir)],
            cwd=workdir / "cwd",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            timed_out = not _waited(process, job.wall_seconds)
        finally:  # also on Ctrl-C, or when the run stops: the worker's whole group goes
            _kill_group(process)
    return None if timed_out else process.returncode


def _run_warm(job: WorkerJob, workdir: Path, own: dict[str, str]) -> int | None:
    """A fork of a warm worker for the job (perfloop.sandbox.warm): its return code, None
    if it timed out; raises WarmFailure if no warm worker could run it."""
    assert job.preload is not None
    environment = tuple(sorted(job.environment.items()))
    key = WarmKey(job.root, job.import_path, environment, job.preload)
    pythonpath = python_path(*job.import_path)

    def in_a_fork() -> int | None:
        with WARM_POOL.worker(key, pythonpath, keep=worker_count()) as warm:
            _write_boundary(workdir, protected=(warm.process.pid,))  # the fork's parent
            return warm.run(workdir, own, job.wall_seconds, _check_stopping)

    try:
        return in_a_fork()
    except StaleWarmWorker:  # the project changed (an apply): a new one imports it anew
        return in_a_fork()


def _read_result(output: JobOutput, returns: object) -> WorkerOutcome[object]:
    returncode, seconds, stderr_tail = output.returncode, output.seconds, output.stderr_tail
    assert returncode is not None
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (likely the CPU-time limit)" if name in {"SIGXCPU", "SIGKILL"} else ""
        return WorkerOutcome(
            WorkerStatus.CRASHED,
            None,
            f"the worker process was killed by {name}{hint}",
            seconds,
            stderr_tail,
        )
    if output.result is None:
        return WorkerOutcome(
            WorkerStatus.CRASHED,
            None,
            f"the code under test called os._exit({returncode}) (or otherwise ended the "
            "interpreter) before the worker could report a result",
            seconds,
            stderr_tail,
        )
    try:
        status, value, message, isolation = decode(
            output.result, _RESULT, source="the worker's result"
        )  # type: ignore[misc]
        outcome_status = _status(status)
        expected = returns if outcome_status is WorkerStatus.OK else None
        check(value, expected, source="the worker's result")
    except Refused as exc:  # forged by code in the worker, or corrupted
        message = (
            f"perfloop refused {exc}. Code that ran in the worker may have tampered with "
            "how results are sent back; nothing from the result was used"
        )
        return WorkerOutcome(WorkerStatus.REFUSED, None, message, seconds, stderr_tail)
    if outcome_status is WorkerStatus.FORBIDDEN:
        message = (
            f"the code under test {message}; perfloop rejects code that writes files, starts "
            "processes, uses the network or loads native libraries (see Safety in the README)"
        )
    return WorkerOutcome(outcome_status, value, message, seconds, stderr_tail, isolation)


def _status(status: str) -> WorkerStatus:
    try:
        return WorkerStatus(status)
    except ValueError:
        raise Refused(f"the worker's result: {status!r} is not a worker status") from None


def probe(_: object) -> None:
    """A worker entry that does nothing: its outcome tells how workers are isolated."""


_ISOLATION: dict[str, str] = {}


def worker_isolation(root: Path) -> str:
    """How workers are isolated on this machine: the network ("network namespace", or
    "none: why"), then each layer of the kernel's boundary ("files: ...", "system calls:
    ...", "signals: ..."), separated by "; "; asked once per process, of a real worker."""
    if "worker" not in _ISOLATION:
        outcome = run_in_worker(
            "perfloop.sandbox.runner:probe", None, root=root, limits=Limits(30, 30), here=True
        )
        _ISOLATION["worker"] = outcome.isolation or f"none: no worker answered ({outcome.message})"
    return _ISOLATION["worker"]


def isolation_gaps(isolation: str) -> list[str]:
    """The parts of `isolation` (see worker_isolation) that are missing on this machine."""
    parts = isolation.split("; ")
    network = [] if parts[0].startswith("network namespace") else [f"network: {parts[0]}"]
    layers = [part for part in parts[1:] if part.partition(": ")[2].startswith("none")]
    return network + layers


# --- limits for the workload -----------------------------------------------------------


@dataclass(frozen=True)
class ChildUsage:
    """CPU seconds of this process's waited-for children, and the largest one's peak RSS."""

    cpu_seconds: float
    peak_mb: int

    @classmethod
    def now(cls) -> ChildUsage:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024)


def workload_limits(
    before: ChildUsage, after: ChildUsage, wall_seconds: float, timeout: float, memory_mb: int
) -> Limits:
    """Limits for later runs of the user's code from what the profiled run needed.

    CPU: ten times what the profiled run used (at least 60 s); memory: an address
    space of four times the peak resident size seen (an upper bound: the largest
    child perfloop ever waited for), at least `memory_mb`, plus 1 GB of headroom
    for what a process maps without touching; wall: ten times the profiled run's.
    """
    cpu = max(60, int(10 * (after.cpu_seconds - before.cpu_seconds)) + 1)
    memory = max(memory_mb, 4 * after.peak_mb) + 1024
    wall = min(timeout, max(60.0, 10 * wall_seconds))
    return Limits(wall_seconds=wall, cpu_seconds=cpu, memory_mb=memory)


# --- how many workers at once --------------------------------------------------------


@dataclass(frozen=True)
class WorkerPlan:
    """How many workers may run at once and the memory each may have."""

    count: int
    memory_mb: int
    note: str | None = None  # set when memory made perfloop use less than asked


def plan_workers(
    requested: int | None, memory_mb: int, cpus: int | None = None, available_mb: int | None = None
) -> WorkerPlan:
    """Workers from the CPU count (or `requested`), fewer if their memory limits together
    would not fit in 80% of the memory available; each one's limit is cut to fit alone."""
    cpus = cpus or os.cpu_count() or 1
    available = available_mb if available_mb is not None else available_memory_mb()
    count = max(1, requested or cpus)
    if available is None:
        return WorkerPlan(count, memory_mb)
    budget = max(256, int(available * 0.8))
    note = None
    if memory_mb > budget:
        note = (
            f"each worker's memory limit was lowered from {memory_mb} MB to {budget} MB: "
            f"only {available} MB of memory is available"
        )
        memory_mb = budget
    fitting = max(1, budget // memory_mb)
    if fitting < count:
        note = note or (
            f"{fitting} worker(s) at a time instead of {count}: {count} x {memory_mb} MB "
            f"would not fit in the {available} MB available (lower --memory-mb to run more)"
        )
        count = fitting
    return WorkerPlan(count, memory_mb, note)


def available_memory_mb() -> int | None:
    """MemAvailable, or the cgroup's remaining memory if that is smaller; None if unknown."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) // 1024)
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            found.append((int(limit) - used) // (1024 * 1024))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


_COUNT = plan_workers(None, 2048).count
_SLOTS = threading.BoundedSemaphore(_COUNT)
_WARM_WORKERS = [True]  # whether tasks that may run warm do (configure_workers)


def configure_workers(count: int, warm: bool = True) -> None:
    """At most `count` workers run at once in this process from now on; `warm`: tasks
    that may run in a warm worker do (perfloop.sandbox.warm), else every one is fresh."""
    global _SLOTS, _COUNT
    _COUNT = max(1, count)
    _SLOTS = threading.BoundedSemaphore(_COUNT)
    _WARM_WORKERS[0] = warm
    if not warm:
        WARM_POOL.close()


def worker_count() -> int:
    """How many workers may run at once (configure_workers)."""
    return _COUNT


class WorkersStopped(Exception):
    """The run is stopping (Ctrl-C in another thread): this worker was killed."""


# set while a run stops: workers that threads other than the main one wait for are killed
# (Ctrl-C reaches only the main thread; perfloop.sandbox.pool sets it)
_STOPPING = threading.Event()


def run_stopping() -> bool:
    """Whether the run is stopping (stopping_workers): no new work should start."""
    return _STOPPING.is_set()


@contextlib.contextmanager
def stopping_workers() -> Iterator[None]:
    """Every running worker is killed, and none starts, until the block ends."""
    _STOPPING.set()
    try:
        yield
    finally:
        _STOPPING.clear()


def _check_stopping() -> None:
    if _STOPPING.is_set():
        raise WorkersStopped("the run is stopping")


def _waited(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether `process` ended within `seconds`; raises WorkersStopped if the run stops."""
    deadline = time.monotonic() + seconds
    while True:
        if _STOPPING.is_set():
            raise WorkersStopped("the run is stopping")
        try:
            process.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            return True
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                return False


@contextlib.contextmanager
def _worker_slot() -> Iterator[None]:
    slots = _SLOTS
    with slots:
        yield


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", errors="replace")
