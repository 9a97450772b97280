"""The entry point of a sandboxed worker process: `python -m perfloop.worker DIR`.

It applies the limits to itself, runs one task and writes its result
atomically, so the parent sees either a whole result or none.
"""

from __future__ import annotations

import importlib
import os
import pickle
import resource
import sys
import traceback
from pathlib import Path

from perfloop.model import Limits


def _apply_limits(limits: Limits) -> None:
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _resolve(entry: str) -> object:
    module_name, function_name = entry.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def main(workdir: Path) -> None:
    entry, argument, limits = pickle.loads((workdir / "task.pkl").read_bytes())
    function = _resolve(entry)
    _apply_limits(limits)
    try:
        result = ("ok", function(argument), "")
    except MemoryError:
        result = ("memory", None, f"exceeded the memory limit of {limits.memory_mb} MB")
    except RecursionError as exc:
        result = ("error", None, f"RecursionError: {exc}")
    except BaseException:
        result = ("error", None, traceback.format_exc(limit=-8))
    temporary = workdir / "result.pkl.tmp"
    temporary.write_bytes(pickle.dumps(result))
    os.replace(temporary, workdir / "result.pkl")


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    main(Path(sys.argv[1]))
