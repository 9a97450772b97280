"""Settings: `[tool.perfloop]` in the project's pyproject.toml, then command-line flags.

Flags win over the file; the file wins over the defaults. Unknown keys in the
file are an error that names the known keys, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from collections.abc import Callable, Iterable
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


def _setting(
    default: Any,
    check: Check | None = None,
    *,
    help: str | None = None,
    **flag: Any,
) -> Any:
    """A field of Settings: its default, the check its values must pass (from the file or
    a flag) and its command-line flag: `help` (with `{default}` where the default goes)
    and anything else argparse needs (`metavar`, `choices`, `flag` for another name,
    `action="append"`, `type`)."""
    metadata: dict[str, Any] = dict(flag)
    if check is not None:
        metadata["check"] = check
    if help is not None:
        metadata["help"] = help
    return field(default=default, metadata=metadata)


_SECONDS = "a number of seconds, at least 0"
_POSITIVE_SECONDS = _number(0, "a positive number of seconds", above=True)


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, declared once: its name (the flag `--name-with-dashes`
    and the `[tool.perfloop]` key), type, default and check. The stages' own settings
    classes take their defaults from here."""

    workload: str | None = _setting(
        None,
        help="shell command run in the project root that exercises the code, e.g. "
        "'python bench.py' (default: workload in [tool.perfloop])",
    )
    root: Path = field(default_factory=Path.cwd)
    functions: tuple[str, ...] = _setting(
        (),
        flag="--function",
        action="append",
        metavar="MODULE:QUALNAME",
        help="optimize this function (repeatable; a method as mod:Class.method, a whole "
        "class as mod:Class); skips ranking",
    )
    # rewrite rules to propose with, by id (empty: all of them)
    rules: tuple[str, ...] = _setting(
        (),
        type=str,
        metavar="ID,ID",
        help="propose only with these rewrite rules (default: all; see docs/rules.md)",
    )
    top: int = _setting(
        5,
        _whole(1),
        help=(
            "how many of the hottest functions to try ({default}); with rules alone, "
            "only functions some rule applies to"
        ),
    )
    min_share: float = _setting(0.01, _share)
    min_speedup: float = _setting(
        1.05,
        _number(1.0, "a number of at least 1.0"),
        help="call a version faster only if the lower bound of its 95%% interval clears "
        "this ({default})",
    )
    apply: bool = _setting(False, help="write the patch into the files")
    max_calls: int = _setting(200, _whole(1), help="calls recorded per function ({default})")
    capture_mb: int = _setting(16, _whole(1))
    workload_timeout: float = _setting(
        600.0, _POSITIVE_SECONDS, help="seconds one workload run may take ({default})"
    )
    # paths (relative to the root) the workload writes; runs with candidate code in place
    # may write only these and their own temporary folder (perfloop.sandbox.boundary)
    workload_writes: tuple[str, ...] = _setting(
        (),
        action="append",
        metavar="PATH",
        help="a file or folder the workload writes (repeatable); a workload run with "
        "candidate code in place may write only these and its own temporary folder",
    )
    candidate_timeout: float = _setting(
        60.0, _POSITIVE_SECONDS, help="seconds a candidate's check may take ({default})"
    )
    memory_mb: int = _setting(
        2048, _whole(1), help="address-space limit of each worker process ({default})"
    )
    workload_runs: int = _setting(5, _whole(1))
    budget: float | None = _setting(
        None,
        _number(0, "a positive number of minutes", above=True),
        metavar="MINUTES",
        help="the run's time limit: targets and candidates past it are left out and named "
        "(checked before each one; the final whole-workload timing is kept time for)",
    )
    measure_processes: int = _setting(
        3, _whole(1), help="worker processes every A/B runs before it may stop ({default})"
    )
    float_tolerance: float | None = _setting(
        None,
        _number(0, "a relative tolerance, at least 0"),
        help="relative tolerance for floats (exact)",
    )
    # measurement (perfloop.measure): what counts as better and how long to look
    # objective "memory": peak memory per call, not slower than max-slowdown
    objective: str = _setting(
        "time",
        _one_of("time", "memory"),
        choices=("time", "memory"),
        help="make functions faster (time, the default) or need less memory per call "
        "(memory: the peak must shrink by --min-speedup and time may not get worse than "
        "--max-slowdown)",
    )
    max_slowdown: float = _setting(
        1.05,
        _number(1.0, "a number of at least 1.0 (e.g. 1.05)"),
        help="with --objective memory: the slowest a candidate may be, as a ratio ({default})",
    )
    measure_budget: float = _setting(
        10.0,
        _POSITIVE_SECONDS,
        metavar="SECONDS",
        help="wall-clock seconds one candidate's A/B may extend to while undecided ({default})",
    )
    max_workload_runs: int = _setting(15, _whole(1))
    counters: bool = _setting(
        False,
        _flag,
        help="count instructions of faster candidates (perf stat, or callgrind: slow)",
    )
    # verification (perfloop.verification): tiers, budgets and how strong is strong enough
    exception_messages: bool = _setting(
        False, _flag, help="exception messages must match too, not only their types"
    )
    fuzz_examples: int = _setting(
        200,
        _whole(0, " (0: off)"),
        metavar="N",
        help="inputs fuzzed per candidate ({default}; 0: no fuzzing)",
    )
    fuzz_seconds: float = _setting(
        10.0, _number(0, _SECONDS), help="fuzzing time per candidate ({default})"
    )
    project_tests: bool = _setting(
        True, _flag, help="do not run the project's tests against candidates"
    )
    rollout: bool = _setting(
        True,
        _flag,
        help="do not run the whole workload with each verified candidate in place (the "
        "rollout tier: the workload must print what it printed with the original)",
    )
    tests_runner: str = _setting(
        "auto",
        _one_of("auto", "pytest", "unittest"),
        choices=("auto", "pytest", "unittest"),
        help="how the project's tests are run: pytest, unittest (as `python -m unittest "
        "discover`), or auto, the default: pytest, and unittest where pytest cannot run or "
        "find the tests",
    )
    symbolic_seconds: float = _setting(
        5.0,
        _number(0, _SECONDS),
        help="symbolic check per candidate, needs perfloop[symbolic] ({default}; 0: off)",
    )
    mutants: int = _setting(
        30,
        _whole(0, " (0: off)"),
        metavar="N",
        help="mutants of each target for the self-check of verification strength "
        "({default}; 0: off)",
    )
    min_strength: float = _setting(
        0.8,
        _share,
        help="verification strength below which a target is weakly verified ({default})",
    )
    accept_weak: bool = _setting(
        False, _flag, help="let --apply write changes of weakly verified targets too"
    )
    apply_without_tests: bool = _setting(
        False,
        _flag,
        help="let --apply write changes although the project's tests could not run "
        "(the report marks them)",
    )
    # LLM proposals (perfloop.llm); off unless `llm` names a model
    llm: str | None = _setting(
        None,
        metavar="openai:MODEL|local[:PATH]",
        help="openai:MODEL for any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, cloud); "
        "local for the bundled SmolLM2 GGUF in process, local:PATH for another GGUF file",
    )
    llm_base_url: str | None = _setting(
        None, metavar="URL", help="endpoint, e.g. http://127.0.0.1:8000/v1"
    )
    llm_api_key_env: str = _setting(
        "OPENAI_API_KEY",
        metavar="NAME",
        help="environment variable with the API key ({default})",
    )
    llm_samples: int = _setting(1, _whole(1), metavar="N", help="answers per round ({default})")
    llm_rounds: int = _setting(
        2,
        _whole(0, " (0: no repair or refinement rounds)"),
        metavar="N",
        help="repair/refinement rounds after the first ({default})",
    )
    llm_temperature: float = _setting(0.7, _number(0, "a number of at least 0"))
    llm_max_tokens: int = _setting(
        1024, _whole(1), metavar="N", help="tokens per answer ({default})"
    )
    llm_timeout: float = _setting(
        120.0, _POSITIVE_SECONDS, metavar="S", help="seconds per call ({default})"
    )
    llm_concurrency: int = _setting(2, _whole(1))
    llm_cache: bool = _setting(
        True, _flag, help="ask the model again even for a request it already answered"
    )
    llm_log: bool = _setting(False, _flag, help="print every prompt and answer")
    llm_prices: tuple[float, float] | None = _setting(
        None,
        type=lambda text: _prices(text),
        metavar="PROMPT,COMPLETION",
        help="US dollars per million tokens, to report what the run cost",
    )
    llm_token_budget: int | None = _setting(
        None, _whole(1), metavar="N", help="stop asking after N tokens"
    )
    llm_time_budget: float | None = _setting(
        None, _POSITIVE_SECONDS, metavar="S", help="stop asking after S s"
    )
    llm_prompts: str | None = _setting(
        None, metavar="DIR", help="folder of prompt templates to use"
    )
    llm_extra_body: dict[str, object] | str | None = _setting(  # noqa: RUF009 - field()
        None,
        metavar="JSON",
        help="extra request fields for the server, e.g. '{\"repeat_penalty\": 1.0}'",
    )
    # the result cache (perfloop.store.cache): reuse what an earlier run on the same code decided
    cache: bool = _setting(
        True,
        _flag,
        help="do not reuse verdicts and measurements of earlier runs on the same code "
        "(compute everything; the fresh results replace the cached ones)",
    )
    trust_capture: bool = _setting(
        False,
        _flag,
        help="reuse the profile and recorded calls of the last run of the same workload "
        "command when no source file of the project changed (the workload does not run; "
        "assumes its data and environment did not change either)",
    )
    remeasure: bool = _setting(
        False,
        _flag,
        help="reuse the cached verdicts but measure the verified candidates again",
    )
    # the recipe library (perfloop.recipes): verified edits of earlier runs, as a proposer
    recipes: tuple[str, ...] = _setting(
        (),
        action="append",
        metavar="SOURCE",
        help="also propose with the recipes of SOURCE (repeatable): a file written by "
        "`perfloop recipes export`, or a project folder perfloop optimized ('.' for this "
        "one); their templates are tried on every target and, with --llm, the most similar "
        "recipes are the model's worked examples",
    )
    # a proposer the user already has (perfloop.llm.command): a command run per target
    proposer_cmd: str | None = _setting(
        None,
        metavar="CMD",
        help="also run this shell command once per target (and per repair or refinement "
        "round) with perfloop's prompt, and take the functions it writes into $PERFLOOP_OUT "
        "(or prints) as candidates; see the README",
    )
    proposer_name: str | None = _setting(
        None,
        metavar="NAME",
        help="the name the command's candidates carry as origin cmd:NAME (default: its "
        "program's name)",
    )
    proposer_timeout: float = _setting(
        600.0,
        _POSITIVE_SECONDS,
        metavar="S",
        help="seconds one run of the proposer command may take before it is killed ({default})",
    )
    proposer_rounds: int = _setting(
        1,
        _whole(0, " (0: no repair or refinement runs)"),
        metavar="N",
        help="repair/refinement runs of the proposer command after the first ({default})",
    )
    # safety (perfloop.sandbox, perfloop.patch): workers at once, and how to apply
    workers: int | None = _setting(
        None,
        _whole(1),
        help="worker processes at once (default: the CPU count, fewer if memory is short)",
    )
    warm_workers: bool = _setting(
        True,
        _flag,
        help="do not run verification tasks in forks of warm workers that imported "
        "perfloop and the target's module once: start a fresh interpreter for each (as "
        "timings always do)",
    )
    # where the sandboxed verification work runs (perfloop.sandbox.ray_executor)
    executor: str = _setting(
        "local",
        _one_of("local", "ray"),
        choices=("local", "ray"),
        help="where verification work (replay, fuzzing, mutation self-check, project "
        "tests) runs: 'local' worker processes, or 'ray' tasks, each still a sandboxed "
        "worker (needs perfloop[ray]); timings always run here ({default})",
    )
    ray_address: str | None = _setting(
        None,
        metavar="ADDR",
        help="with --executor ray: join this Ray cluster (host:port, or 'auto'); without "
        "it, perfloop starts a local Ray of --workers CPUs",
    )
    force: bool = _setting(
        False, help="with --apply: write even over uncommitted git changes in the target files"
    )
    branch: str | None = _setting(
        None,
        metavar="NAME",
        help="commit the patch to this new git branch instead of the working tree",
    )
    interactive: bool = _setting(
        False,
        _flag,
        help="after measuring, show each target's verified candidates and let a person "
        "accept, reject, edit or ask for more; the accepted ones are applied as with --apply",
    )


_FIELDS = {setting.name: setting for setting in dataclasses.fields(Settings)}


def add_setting_arguments(parser: argparse._ActionsContainer, names: Iterable[str]) -> None:
    """One flag per setting, as Settings declares it: `--name-with-dashes` (or its own
    name), its type, its help with the default. A flag not given stays None, so the
    file or the default wins; a switch whose default is on becomes `--no-NAME`."""
    for name in names:
        setting = _FIELDS[name]
        meta = setting.metadata
        kind = str(setting.type)
        options: dict[str, Any] = {"dest": name, "default": None, "help": _help(setting)}
        flag = meta.get("flag", "--" + name.replace("_", "-"))
        if kind == "bool":
            on_by_default = setting.default is True
            options["action"] = "store_false" if on_by_default else "store_true"
            flag = meta.get("flag", "--no-" + name.replace("_", "-") if on_by_default else flag)
        elif meta.get("action") == "append":
            options["action"] = "append"
        else:
            options["type"] = meta.get("type") or _flag_type(kind)
        for key in ("metavar", "choices"):
            if key in meta:
                options[key] = meta[key]
        parser.add_argument(flag, **options)


def setting_overrides(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The settings given as flags (None where a flag was not given)."""
    return {name: getattr(args, name, None) for name in names}


def _help(setting: dataclasses.Field[Any]) -> str | None:
    text = setting.metadata.get("help")
    if text is None or "{default}" not in text:
        return text
    default = setting.default
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    return text.replace("{default}", shown)


def _flag_type(kind: str) -> Callable[[str], Any]:
    if kind.startswith("int"):
        return int
    if kind.startswith("float"):
        return float
    return str


def _prices(text: str) -> tuple[float, float]:
    """`--llm-prices 0.15,0.60`: US dollars per million prompt and completion tokens."""
    try:
        prompt, completion = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give two numbers, US dollars per million prompt and completion tokens, "
            "e.g. 0.15,0.60"
        ) from None
    return prompt, completion


# keys a user may set in [tool.perfloop]; `root`, `apply`, `force`, `branch`, `remeasure`
# and `interactive` are flags only
FILE_KEYS = tuple(
    f.name.replace("_", "-")
    for f in dataclasses.fields(Settings)
    if f.name not in {"root", "apply", "force", "branch", "remeasure", "interactive"}
)


def read_pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return file_settings(data.get("tool", {}).get("perfloop", {}), f"[tool.perfloop] of {path}")


def file_settings(section: dict[str, Any], where: str) -> dict[str, Any]:
    """A table of settings as `[tool.perfloop]` spells them (dashes), by field name; an
    unknown key is an error that names the closest known one and `where` it was."""
    unknown = [key for key in section if key.replace("_", "-") not in FILE_KEYS]
    for key in unknown:
        close = difflib.get_close_matches(key.replace("_", "-"), FILE_KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(FILE_KEYS)}"
        raise ConfigError(f"unknown key {key!r} in {where}{hint}")
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
    if "recipes" in values:
        values["recipes"] = _paths("recipes", values["recipes"])
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
