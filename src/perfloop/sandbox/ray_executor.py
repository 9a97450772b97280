"""`--executor ray`: the sandboxed verification work runs as Ray tasks.

Each task is one `perfloop.sandbox.runner.run_job` on a node of the cluster: the same
sandboxed worker subprocess (scratch folder, limits, boundary, tripwire) started there.
The task sends back what the worker left as bytes, and perfloop decodes it here, as it
does a local worker's (perfloop.sandbox.decode), so a verdict cannot depend on where the
work ran. The run store, the result cache and the run's files stay in this process.
Timings never go to the cluster: `run_in_worker(..., here=True)` keeps the A/B pairs on
this machine, alone, after the side-by-side work has finished.

Without an address perfloop starts a local Ray of a bounded number of CPUs (the planned
`--workers`) and stops it at the end; with one it joins that cluster and leaves it
running. Before any work, one small task on every node checks that the node sees the
project and perfloop's run directory at the same paths (a cluster of several machines
needs them on a shared path) and how its workers are isolated.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.config import ConfigError
from perfloop.model import Limits
from perfloop.sandbox.runner import (
    JobOutput,
    WorkerJob,
    WorkersStopped,
    isolation_gaps,
    jobs_run_by,
    read_output,
    run_job,
    run_stopping,
    worker_job,
)

INSTALL_HINT = "pip install 'perfloop[ray]'"
SHARED_PATH_HINT = (
    "every node of a Ray cluster needs the project and perfloop's run directory "
    "(PROJECT/.perfloop) at the same path as this machine, e.g. on a shared file system "
    "(see 'Scale out with Ray' in the README)"
)


class ExecutorError(ConfigError):
    """Ray is missing, the cluster cannot be joined, or a node cannot see the project."""


def require_ray() -> None:
    """Raise ExecutorError, saying how to install it, if Ray is not importable."""
    if importlib.util.find_spec("ray") is None:
        raise ExecutorError(
            f"--executor ray needs Ray, which is not installed: {INSTALL_HINT} "
            "(or run with --executor local)"
        )


@dataclass(frozen=True)
class NodeCheck:
    """What one node saw: its name, the paths it could not see, and a probe worker's output."""

    host: str
    missing: tuple[str, ...]
    probe: JobOutput | None


def check_node(paths: tuple[str, ...], probe: WorkerJob) -> NodeCheck:
    """Runs on a node: which of `paths` it cannot see; if it sees them all, a probe worker."""
    missing = tuple(path for path in paths if not Path(path).exists())
    return NodeCheck(socket.gethostname(), missing, None if missing else run_job(probe))


class RayExecutor:
    """Runs jobs as Ray tasks of one CPU each; `slots` is how many may run at once."""

    def __init__(self, slots: int, nodes: int, address: str | None) -> None:
        import ray

        self._ray = ray
        self._run = ray.remote(num_cpus=1)(run_job)
        self.slots = slots
        self.nodes = nodes
        self.address = address

    def run(self, job: WorkerJob) -> JobOutput:
        ray = self._ray
        # a fresh worker on the node: warm workers live on perfloop's machine only
        ref = self._run.remote(replace(job, preload=None))
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=0.5)
                if ready:
                    return ray.get(ref)
                if run_stopping():
                    raise WorkersStopped("the run is stopping")
        except ray.exceptions.RayError as exc:
            raise ExecutorError(
                f"a Ray task of perfloop's failed on the cluster ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}). Every "
                "node needs the same Python and perfloop installed at the same path, and "
                f"{SHARED_PATH_HINT}"
            ) from exc
        except BaseException:  # Ctrl-C or a stopping run: the task's worker is killed there
            ray.cancel(ref)
            raise


@contextlib.contextmanager
def ray_session(cpus: int, address: str | None) -> Iterator[None]:
    """Ray is up inside the block: a local Ray of `cpus` CPUs (no `address`, stopped at the
    end) or the cluster at `address` (left running). One already up is used as it is."""
    require_ray()
    import ray

    if ray.is_initialized():
        yield
        return
    options = {"include_dashboard": False, "log_to_driver": False}
    try:
        if address is None:
            ray.init(num_cpus=cpus, logging_level=logging.ERROR, **options)
        else:
            ray.init(address=address, logging_level=logging.ERROR, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ExecutorError(
            f"could not join the Ray cluster at {address}: {exc}. Start one with "
            "`ray start --head` (its output gives the address), or leave out "
            "--ray-address to let perfloop start a local Ray"
        ) from exc
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def ray_executor(
    root: Path, cpus: int, address: str | None, workers: int | None
) -> Iterator[tuple[RayExecutor, list[str]]]:
    """Jobs go to Ray inside the block; yields the executor and notes for the report.

    `cpus`: the CPUs of a local Ray (no `address`); `workers`: tasks at once on a joined
    cluster (default: its CPU count)."""
    with ray_session(cpus, address):
        import ray

        nodes = [node for node in ray.nodes() if node.get("Alive")]
        total = int(ray.cluster_resources().get("CPU", 0))
        if total < 1:
            raise ExecutorError(
                "the Ray cluster has no CPUs for perfloop's tasks; start its nodes with "
                "`ray start ... --num-cpus=N` (N at least 1)"
            )
        notes = _check_nodes(ray, nodes, root)
        slots = workers if (address is not None and workers) else total
        executor = RayExecutor(slots, len(nodes), address)
        with jobs_run_by(executor):
            yield executor, notes


def _check_nodes(ray: object, nodes: list[dict[str, object]], root: Path) -> list[str]:
    """Raise ExecutorError if a node cannot see the project or the run directory; notes on
    the nodes whose workers miss part of the sandbox."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    paths = (str(root), str(root / ".perfloop"))
    probe = worker_job("perfloop.sandbox.runner:probe", None, root=root, limits=Limits(60, 30))
    check = ray.remote(num_cpus=0)(check_node)  # type: ignore[attr-defined]
    refs = [
        check.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(str(node["NodeID"]), soft=False)
        ).remote(paths, probe)
        for node in nodes
    ]
    try:
        checks: list[NodeCheck] = ray.get(refs)  # type: ignore[attr-defined]
    except ray.exceptions.RayError as exc:  # type: ignore[attr-defined]
        raise ExecutorError(
            f"a Ray node could not run perfloop's check ({type(exc).__name__}). Every node "
            "needs the same Python and perfloop installed at the same path"
        ) from exc
    notes = []
    for node, seen in zip(nodes, checks):
        name = f"{seen.host} ({node.get('NodeManagerAddress', '?')})"
        if seen.missing:
            raise ExecutorError(
                f"the Ray node {name} cannot see {', '.join(seen.missing)}: {SHARED_PATH_HINT}"
            )
        assert seen.probe is not None
        isolation = read_output(seen.probe, Limits(60, 30), object).isolation
        gaps = isolation_gaps(isolation or "none: no worker answered")
        if gaps:
            notes.append(
                f"on the Ray node {name}, candidate code runs with part of the sandbox "
                f"missing ({'; '.join(gaps)})"
            )
    return notes


__all__ = ["ExecutorError", "RayExecutor", "ray_executor", "ray_session", "require_ray"]
