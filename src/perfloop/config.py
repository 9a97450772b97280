"""Settings: `[tool.perfloop]` in the project's pyproject.toml, then command-line flags.

Flags win over the file; the file wins over the defaults. Unknown keys in the
file are an error that names the known keys, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib


class ConfigError(Exception):
    """A setting is wrong; the message says which and how to fix it."""


Check = Callable[[str, Any], "str | None"]
"""Given a setting's name (with dashes) and a value, what is wrong with it, or None."""


def _whole(minimum: int, note: str = "") -> Check:
    def check(name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"{name} must be a whole number of at least {minimum}{note}, not {value!r}"
        return None

    return check


def _number(minimum: float, what: str, *, above: bool = False) -> Check:
    def check(name: str, value: Any) -> str | None:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or value < minimum or (above and value == minimum):
            return f"{name} must be {what}, not {value!r}"
        return None

    return check


def _share(name: str, value: Any) -> str | None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not 0 <= value <= 1:
        return f"{name} must be a share between 0 and 1 (e.g. 0.8), not {value!r}"
    return None


def _flag(name: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"


def _one_of(*choices: str) -> Check:
    def check(name: str, value: Any) -> str | None:
        if value not in choices:
            listed = " or ".join(repr(choice) for choice in choices)
            return f"{name} must be {listed}, not {value!r}"
        return None

    return check


def _setting(default: Any, check: Check | None = None) -> Any:
    """A field of Settings with the check its values must pass (from the file or a flag)."""
    return field(default=default, metadata={"check": check} if check else {})


_SECONDS = "a number of seconds, at least 0"
_POSITIVE_SECONDS = _number(0, "a positive number of seconds", above=True)


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, declared once: its name (the flag `--name-with-dashes`
    and the `[tool.perfloop]` key), type, default and check. The stages' own settings
    classes take their defaults from here."""

    workload: str | None = None
    root: Path = field(default_factory=Path.cwd)
    functions: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rewrite rules to propose with, by id (empty: all of them)
    top: int = _setting(5, _whole(1))
    min_share: float = _setting(0.01, _share)
    min_speedup: float = _setting(1.05, _number(1.0, "a number of at least 1.0"))
    apply: bool = False
    max_calls: int = _setting(200, _whole(1))
    capture_mb: int = _setting(16, _whole(1))
    workload_timeout: float = _setting(600.0, _POSITIVE_SECONDS)
    # paths (relative to the root) the workload writes; runs with candidate code in place
    # may write only these and their own temporary folder (perfloop.boundary)
    workload_writes: tuple[str, ...] = ()
    candidate_timeout: float = _setting(60.0, _POSITIVE_SECONDS)
    memory_mb: int = _setting(2048, _whole(1))
    workload_runs: int = _setting(5, _whole(1))
    measure_processes: int = _setting(3, _whole(1))
    float_tolerance: float | None = _setting(None, _number(0, "a relative tolerance, at least 0"))
    # measurement (perfloop.measure): what counts as better and how long to look
    # objective "memory": peak memory per call, not slower than max-slowdown
    objective: str = _setting("time", _one_of("time", "memory"))
    max_slowdown: float = _setting(1.05, _number(1.0, "a number of at least 1.0 (e.g. 1.05)"))
    # seconds of wall clock one candidate's A/B may extend to
    measure_budget: float = _setting(10.0, _POSITIVE_SECONDS)
    max_workload_runs: int = _setting(15, _whole(1))
    counters: bool = _setting(False, _flag)  # count instructions of faster candidates
    # verification (perfloop.verification): tiers, budgets and how strong is strong enough
    exception_messages: bool = _setting(False, _flag)
    fuzz_examples: int = _setting(200, _whole(0, " (0: off)"))
    fuzz_seconds: float = _setting(10.0, _number(0, _SECONDS))
    project_tests: bool = _setting(True, _flag)
    symbolic_seconds: float = _setting(5.0, _number(0, _SECONDS))
    mutants: int = _setting(30, _whole(0, " (0: off)"))
    min_strength: float = _setting(0.8, _share)
    accept_weak: bool = _setting(False, _flag)
    # --apply even when the project's tests could not run
    apply_without_tests: bool = _setting(False, _flag)
    # LLM proposals (perfloop.llm); off unless `llm` names a model
    llm: str | None = None
    llm_base_url: str | None = None
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_samples: int = _setting(1, _whole(1))
    llm_rounds: int = _setting(2, _whole(0, " (0: no repair or refinement rounds)"))
    llm_temperature: float = _setting(0.7, _number(0, "a number of at least 0"))
    llm_max_tokens: int = _setting(1024, _whole(1))
    llm_timeout: float = _setting(120.0, _POSITIVE_SECONDS)
    llm_concurrency: int = _setting(2, _whole(1))
    llm_cache: bool = _setting(True, _flag)
    llm_log: bool = _setting(False, _flag)
    llm_prices: tuple[float, float] | None = None
    llm_token_budget: int | None = _setting(None, _whole(1))
    llm_time_budget: float | None = _setting(None, _POSITIVE_SECONDS)
    llm_prompts: str | None = None
    llm_extra_body: dict[str, object] | str | None = None
    # safety (perfloop.sandbox, perfloop.patch): workers at once, and how to apply
    workers: int | None = _setting(None, _whole(1))  # None: from the CPU count and memory
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
    checks = {f.name: f.metadata.get("check") for f in dataclasses.fields(Settings)}
    for key, value in values.items():
        assert key in checks, key
        check = checks[key]
        problem = check(key.replace("_", "-"), value) if check and value is not None else None
        if problem:
            raise ConfigError(problem)
    return Settings(**values)


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
