"""Start the user's workload inside limits: `python -m perfloop.sandbox.launch OPTIONS -- CMD...`.

Options:

- `--limits CPU MB`: the CPU-time and address-space limits (inherited by everything the
  workload starts);
- `--boundary FILE`: cut the process off the network (a network namespace, where the
  machine allows it) and enter the kernel's boundary prepared in FILE
  (perfloop.sandbox.boundary: writes only where the policy says, credentials and other
  processes unreadable, no ptrace, no network sockets) with a private, writable
  /dev/shm where a mount namespace can be had, writing which layers hold to
  FILE + ".layers";
- `--pycache-prefix DIR`: the command's PYTHONPYCACHEPREFIX (the launcher imports
  perfloop from perfloop's own bytecode cache, not from the run's empty one, which
  would make it compile perfloop afresh on every run);
- `--times FILE`: write the launcher's own CPU seconds and the moment (perf_counter,
  a system-wide monotonic clock) it hands over to the command, so that a measurement
  of the workload can leave the launcher out.

Then it replaces itself with the command, so no Python of perfloop's stays in between.
Limits are used where the workload runs the user's original code on purpose (capture,
the check after an apply), the boundary wherever candidate code is in place (the
whole-workload A/B, the check after an apply).
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    times = None
    if "--times" in options:  # opened first: the boundary may forbid opening it later
        times = open(options[options.index("--times") + 1], "w")  # noqa: SIM115
    if "--limits" in options:
        at = options.index("--limits")
        cpu, memory = int(options[at + 1]), int(options[at + 2]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if "--boundary" in options:
        enter_boundary(Path(options[options.index("--boundary") + 1]))
    if "--pycache-prefix" in options:
        os.environ["PYTHONPYCACHEPREFIX"] = options[options.index("--pycache-prefix") + 1]
    if times is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        times.write(f"{used.ru_utime + used.ru_stime} {time.perf_counter()}")
        times.close()
    os.execv(command[0], command)


def enter_boundary(prepared_file: Path) -> None:
    from perfloop.sandbox import boundary
    from perfloop.sandbox.worker import isolate_network

    prepared = pickle.loads(prepared_file.read_bytes())
    with open(f"{prepared_file}.layers", "w") as report:  # opened before writes are limited
        network = isolate_network()
        shared = boundary.private_shared_memory()
        if shared.active:  # multiprocessing's semaphores live there
            writable = (*prepared.policy.writable, boundary.SHARED_MEMORY)
            prepared = replace(prepared, policy=replace(prepared.policy, writable=writable))
        layers = (*boundary.enter(prepared), shared)
        report.write(f"{network}; {boundary.describe(layers)}")


if __name__ == "__main__":
    main(sys.argv[1:])
