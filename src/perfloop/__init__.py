"""perfloop: make Python code faster and prove it.

    import perfloop
    result = perfloop.optimize(workload="python bench.py", root="path/to/project")
    for target in result.targets: ...

The result is the same RunResult the `perfloop optimize` command prints.

For a rewrite perfloop did not propose (yours, a colleague's, a coding agent's):

    perfloop.verify("shop:cheapest", candidate=new_source, workload="python bench.py")
    perfloop.bench("shop:cheapest", candidate=new_source, workload="python bench.py")
    perfloop.check(base="origin/main", workload="python bench.py")

return the VerifyResult, BenchResult and CheckResult that `perfloop verify`,
`perfloop bench` and `perfloop check` print (see perfloop.outside.api).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfloop.results import BenchResult, CheckResult, RunResult, VerifyResult

__version__ = "0.1.0"


def optimize(workload: str | None = None, root: str | Path = ".", **settings: Any) -> RunResult:
    """Run the pipeline; keyword settings as in [tool.perfloop] with underscores."""
    from perfloop.config import load_settings
    from perfloop.llm.proposer import proposers_for
    from perfloop.pipeline import optimize as run_pipeline

    loaded = load_settings(Path(root).resolve(), {"workload": workload, **settings})
    return run_pipeline(loaded, proposers=proposers_for(loaded))


def bench(target: str, candidate: str | None = None, **arguments: Any) -> BenchResult:
    """Time a new version of `target` against the original; see perfloop.outside.api.bench."""
    from perfloop.outside.api import bench as run_bench

    return run_bench(target, candidate, **arguments)


def check(base: str, **arguments: Any) -> CheckResult:
    """Check the functions changed since `base` that the workload runs; see outside.api.check."""
    from perfloop.outside.api import check as run_check

    return run_check(base, **arguments)


def verify(target: str, candidate: str | None = None, **arguments: Any) -> VerifyResult:
    """Verify a new version of `target` against the original; see perfloop.outside.api.verify.

    The verification tiers themselves are the package `perfloop.verification`."""
    from perfloop.outside.api import verify as run_verify

    return run_verify(target, candidate, **arguments)


def __getattr__(name: str) -> Any:
    # RunResult on first use: every Python process of a watched workload imports this
    # package (its hooks live in perfloop.runtime), and perfloop.results pulls in most
    # of perfloop (0.2 s per process, plus compiling it all where no bytecode is cached)
    if name == "RunResult":
        from perfloop.results import RunResult

        return RunResult
    raise AttributeError(f"module 'perfloop' has no attribute {name!r}")


__all__ = ["RunResult", "__version__", "bench", "check", "optimize", "verify"]
