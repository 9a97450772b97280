"""Settings: `[tool.perfloop]` in the project's pyproject.toml, then command-line flags.

Flags win over the file; the file wins over the defaults. Unknown keys in the
file are an error that names the known keys, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib


class ConfigError(Exception):
    """A setting is wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    workload: str | None = None
    root: Path = field(default_factory=Path.cwd)
    functions: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rewrite rules to propose with, by id (empty: all of them)
    top: int = 5
    min_share: float = 0.01
    min_speedup: float = 1.05
    apply: bool = False
    max_calls: int = 200
    capture_mb: int = 16
    workload_timeout: float = 600.0
    # paths (relative to the root) the workload writes; runs with candidate code in place
    # may write only these and their own temporary folder (perfloop.boundary)
    workload_writes: tuple[str, ...] = ()
    candidate_timeout: float = 60.0
    memory_mb: int = 2048
    workload_runs: int = 5
    measure_processes: int = 3
    float_tolerance: float | None = None
    # measurement (perfloop.measure): what counts as better and how long to look
    objective: str = "time"  # or "memory": peak memory per call, not slower than max-slowdown
    max_slowdown: float = 1.05
    measure_budget: float = 10.0  # seconds of wall clock one candidate's A/B may extend to
    max_workload_runs: int = 15
    counters: bool = False  # count instructions of faster candidates (perf stat or callgrind)
    # verification (perfloop.verification): tiers, budgets and how strong is strong enough
    exception_messages: bool = False
    fuzz_examples: int = 200
    fuzz_seconds: float = 10.0
    project_tests: bool = True
    symbolic_seconds: float = 5.0
    mutants: int = 30
    min_strength: float = 0.8
    accept_weak: bool = False
    apply_without_tests: bool = False  # --apply even when the project's tests could not run
    # LLM proposals (perfloop.llm); off unless `llm` names a model
    llm: str | None = None
    llm_base_url: str | None = None
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_samples: int = 1
    llm_rounds: int = 2
    llm_temperature: float = 0.7
    llm_max_tokens: int = 1024
    llm_timeout: float = 120.0
    llm_concurrency: int = 2
    llm_cache: bool = True
    llm_log: bool = False
    llm_prices: tuple[float, float] | None = None
    llm_token_budget: int | None = None
    llm_time_budget: float | None = None
    llm_prompts: str | None = None
    llm_extra_body: dict[str, object] | str | None = None
    # safety (perfloop.sandbox, perfloop.patch): workers at once, and how to apply
    workers: int | None = None  # None: from the CPU count, fewer if memory is short
    force: bool = False  # apply over uncommitted git changes in the target files
    branch: str | None = None  # commit the patch to this new git branch instead


# keys a user may set in [tool.perfloop]; `root`, `apply`, `force` and `branch` are flags only
FILE_KEYS = tuple(
    f.name.replace("_", "-")
    for f in dataclasses.fields(Settings)
    if f.name not in {"root", "apply", "force", "branch"}
)


def read_pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    section = data.get("tool", {}).get("perfloop", {})
    unknown = [key for key in section if key.replace("_", "-") not in FILE_KEYS]
    for key in unknown:
        close = difflib.get_close_matches(key.replace("_", "-"), FILE_KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(FILE_KEYS)}"
        raise ConfigError(f"unknown key {key!r} in [tool.perfloop] of {path}{hint}")
    return {key.replace("-", "_"): value for key, value in section.items()}


def load_settings(root: Path, overrides: dict[str, Any]) -> Settings:
    """Defaults, then pyproject.toml, then the flags that were given (not None)."""
    values: dict[str, Any] = {"root": root}
    values.update(read_pyproject(root))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "functions" in values:
        functions = values["functions"]
        values["functions"] = tuple([functions] if isinstance(functions, str) else functions)
    if "workload_writes" in values:
        values["workload_writes"] = _paths("workload-writes", values["workload_writes"])
    if "rules" in values:
        values["rules"] = _rule_ids(values["rules"])
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    for key, value in values.items():
        if key in {"top", "max_calls", "capture_mb", "memory_mb", "workload_runs", "workers"} and (
            not isinstance(value, int) or value < 1
        ):
            raise ConfigError(
                f"{key.replace('_', '-')} must be a whole number of at least 1, not {value!r}"
            )
        if key in {"min_speedup"} and (not isinstance(value, (int, float)) or value < 1.0):
            raise ConfigError(f"min-speedup must be a number of at least 1.0, not {value!r}")
        _check_verification_setting(key, value)
        _check_measure_setting(key, value)
        assert key in types, key
    return Settings(**values)


def _check_measure_setting(key: str, value: Any) -> None:
    name = key.replace("_", "-")
    if key == "objective" and value not in ("time", "memory"):
        raise ConfigError(f"objective must be 'time' or 'memory', not {value!r}")
    if key in {"max_slowdown"} and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or value < 1.0
    ):
        raise ConfigError(f"{name} must be a number of at least 1.0 (e.g. 1.05), not {value!r}")
    if key == "measure_budget" and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0
    ):
        raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")
    if key in {"max_workload_runs", "measure_processes"} and (
        not isinstance(value, int) or isinstance(value, bool) or value < 1
    ):
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    if key == "counters" and not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}")


def _paths(name: str, value: Any) -> tuple[str, ...]:
    """A path or a list of paths, as strings."""
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not all(isinstance(p, str) for p in parts):
        raise ConfigError(f"{name} must be a path or a list of paths, not {value!r}")
    return tuple(parts)


def _rule_ids(value: Any) -> tuple[str, ...]:
    """`"a,b"` or `["a", "b"]` as rule ids, each checked against the registry."""
    from perfloop.propose.rules import rule_by_id  # the registry imports libcst: only when asked

    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not all(isinstance(p, str) for p in parts):
        raise ConfigError(f"rules must be rule ids separated by commas, not {value!r}")
    try:
        return tuple(rule_by_id(p.strip()).id for p in parts if p.strip())
    except ValueError as exc:
        raise ConfigError(f"rules: {exc}") from exc


def _check_verification_setting(key: str, value: Any) -> None:
    """Counts are whole numbers >= 0 (0 turns the step off), budgets numbers >= 0."""
    name = key.replace("_", "-")
    if key in {"fuzz_examples", "mutants"} and (
        not isinstance(value, int) or isinstance(value, bool) or value < 0
    ):
        raise ConfigError(f"{name} must be a whole number of at least 0 (0: off), not {value!r}")
    if key in {"fuzz_seconds", "symbolic_seconds"} and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0
    ):
        raise ConfigError(f"{name} must be a number of seconds, at least 0, not {value!r}")
    if key == "min_strength" and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1
    ):
        raise ConfigError(f"min-strength must be a share between 0 and 1 (e.g. 0.8), not {value!r}")
    if key in {
        "accept_weak",
        "apply_without_tests",
        "exception_messages",
        "project_tests",
    } and not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}")
