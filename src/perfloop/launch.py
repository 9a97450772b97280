"""Start the user's workload under resource limits: `python -m perfloop.launch CPU MB CMD...`.

Sets the CPU-time and address-space limits (inherited by everything the workload
starts), then replaces itself with the command, so no Python of perfloop's stays
in between. Used where the workload runs the user's original code on purpose
(capture, the check after an apply), with limits derived from what the profiled
run needed (see perfloop.sandbox.workload_limits).
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    cpu_seconds, memory_mb, *command = argv
    cpu = int(cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    memory = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
