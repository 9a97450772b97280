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

import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfloop.model import RunResult

if TYPE_CHECKING:
    from perfloop.outside.results import BenchResult, CheckResult

__version__ = "0.1.0"


def optimize(workload: str | None = None, root: str | Path = ".", **settings: Any) -> RunResult:
    """Run the pipeline; keyword settings as in [tool.perfloop] with underscores."""
    from perfloop.config import load_settings
    from perfloop.propose.llm import proposers_for
    from perfloop.search import optimize as run_pipeline

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


class _VerifyPackage(types.ModuleType):
    """`perfloop.verify` is both the verification package and the call `perfloop.verify(...)`.

    Importing a submodule binds it as an attribute of its parent, so a plain function
    named `verify` here would be replaced by the package the first time anything
    imports `perfloop.verify`. Instead the package itself is made callable.
    """

    def __call__(self, target: str, candidate: str | None = None, **arguments: Any) -> Any:
        """Verify a new version of `target`; see perfloop.outside.api.verify."""
        from perfloop.outside.api import verify as run_verify

        return run_verify(target, candidate, **arguments)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        if name == "verify" and isinstance(value, types.ModuleType):
            value.__class__ = _VerifyPackage
        super().__setattr__(name, value)


def __getattr__(name: str) -> object:
    if name == "verify":  # not imported yet: importing it binds the callable package
        import perfloop.verify  # noqa: F401

        return sys.modules[__name__].__dict__["verify"]
    raise AttributeError(f"module 'perfloop' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package

__all__ = ["RunResult", "__version__", "bench", "check", "optimize", "verify"]
