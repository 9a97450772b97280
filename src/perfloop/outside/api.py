"""The Python API of the outside commands: `perfloop.verify`, `perfloop.bench`, `perfloop.check`.

Keyword settings are those of [tool.perfloop] with underscores (max_calls,
float_tolerance, min_speedup, ...); they win over the project's pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfloop.config import Settings, load_settings
from perfloop.outside.bench import bench_outside
from perfloop.outside.candidate import CandidateSpec
from perfloop.outside.check import check_outside
from perfloop.outside.judge import verify_settings
from perfloop.outside.verify import verify_outside
from perfloop.results import BenchResult, CheckResult, VerifyResult


def candidate_spec(
    candidate: str | None,
    candidate_file: str | Path | None,
    candidate_ref: str | None,
    candidate_module: str | Path | None,
) -> CandidateSpec:
    """One spec from the API's keyword arguments; CandidateError unless exactly one is given."""
    given = [candidate, candidate_file, candidate_ref, candidate_module]
    if sum(value is not None for value in given) != 1:
        CandidateSpec().check()  # raises, saying which arguments there are
    if candidate_file is not None:
        return CandidateSpec.from_file(str(candidate_file))
    return CandidateSpec(
        text=candidate,
        label="api",
        git_ref=candidate_ref,
        module_path=Path(candidate_module) if candidate_module is not None else None,
    )


def _settings(root: str | Path, workload: str | None, settings: dict[str, Any]) -> Settings:
    return load_settings(Path(root).resolve(), {"workload": workload, **settings})


def verify(
    target: str,
    candidate: str | None = None,
    *,
    candidate_file: str | Path | None = None,
    candidate_ref: str | None = None,
    candidate_module: str | Path | None = None,
    run: str | None = None,
    workload: str | None = None,
    root: str | Path = ".",
    tiers: tuple[str, ...] | None = None,
    **settings: Any,
) -> VerifyResult:
    """Verify a new version of `target` (module:qualname); `candidate` is its source text.

    `tiers` runs only those verification tiers (default: every one that applies);
    settings such as fuzz_examples and mutants (0: no strength self-check) set how
    hard they work.
    """
    spec = candidate_spec(candidate, candidate_file, candidate_ref, candidate_module)
    loaded = _settings(root, workload, settings)
    return verify_outside(loaded, target, spec, run, engine=verify_settings(loaded, tiers))


def bench(
    target: str,
    candidate: str | None = None,
    *,
    candidate_file: str | Path | None = None,
    candidate_ref: str | None = None,
    candidate_module: str | Path | None = None,
    run: str | None = None,
    workload: str | None = None,
    workload_level: bool = False,
    root: str | Path = ".",
    **settings: Any,
) -> BenchResult:
    """Time a new version of `target` against the original on the recorded calls."""
    spec = candidate_spec(candidate, candidate_file, candidate_ref, candidate_module)
    return bench_outside(_settings(root, workload, settings), target, spec, run, workload_level)


def check(
    base: str,
    *,
    workload: str | None = None,
    max_slowdown: float | None = None,
    markdown_path: str | Path | None = None,
    root: str | Path = ".",
    tiers: tuple[str, ...] | None = None,
    **settings: Any,
) -> CheckResult:
    """Check the functions changed since git commit `base` that the workload runs."""
    loaded = _settings(root, workload, settings)
    return check_outside(
        loaded,
        base,
        max_slowdown,
        Path(markdown_path) if markdown_path is not None else None,
        engine=verify_settings(loaded, tiers),
    )
