"""perfloop: make Python code faster and prove it.

    import perfloop
    result = perfloop.optimize(workload="python bench.py", root="path/to/project")
    for target in result.targets: ...

The result is the same RunResult the `perfloop optimize` command prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfloop.model import RunResult

__version__ = "0.1.0"


def optimize(workload: str | None = None, root: str | Path = ".", **settings: Any) -> RunResult:
    """Run the pipeline; keyword settings as in [tool.perfloop] with underscores."""
    from perfloop.config import load_settings
    from perfloop.search import optimize as run_pipeline

    loaded = load_settings(Path(root).resolve(), {"workload": workload, **settings})
    return run_pipeline(loaded)


__all__ = ["RunResult", "__version__", "optimize"]
