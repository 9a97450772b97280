"""The call on which a candidate differs, written as Python a user can paste and run.

The recorded arguments are user objects: they are unpickled and repr'd only in a
sandboxed worker, which also checks that evaluating the text rebuilds them
exactly (an object whose repr is `<Cart object at 0x...>` does not).
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import CallRecord, FunctionRef, Limits, RunId, Verdict
from perfloop.results import Counterexample
from perfloop.sandbox.runner import run_in_worker
from perfloop.verification.compare import DEFAULT_POLICY, ComparePolicy
from perfloop.verification.pasteable import call_source, value_source

MAX_CHARACTERS = 4000
ENTRY = "perfloop.outside.counterexample:render_call"


@dataclass(frozen=True)
class RenderTask:
    module: str
    qualname: str
    path: str
    source: str
    args: bytes
    policy: ComparePolicy


@dataclass(frozen=True)
class RenderedCall:
    code: str
    exact: bool


def render_call(task: RenderTask) -> RenderedCall:
    """Worker side: `from module import Name; Name.method(args...)` and whether it round-trips.

    The function is reached the way Python stores it: `C._C__scan` for a mangled
    `C.__scan`, `C.ratio.fget` for a property, `fib.__wrapped__` under a cache."""
    from perfloop.runtime.loader import call_expression, import_hook, resolve_target
    from perfloop.runtime.state import recorded_settings

    import_hook().override(task.module, task.path, task.source)
    module = importlib.import_module(task.module)
    settings = recorded_settings(task.args)  # before loading the call puts them in place
    args, kwargs = pickle.loads(task.args)
    try:
        callee = call_expression(resolve_target(module, task.qualname), task.qualname)
    except (AttributeError, KeyError, TypeError):
        callee = task.qualname
    written = call_source(callee, args, kwargs, task.policy)
    head = task.qualname.split(".")[0]
    setup = _setup(settings)
    return RenderedCall(f"{setup}from {task.module} import {head}; {written.text}", written.exact)


def _setup(settings: list[tuple[str, str, object]]) -> str:
    """The statements that give a fresh process the singletons' settings the call was
    recorded with (`import decimal; decimal.getcontext().prec = 50; `), lists and dicts
    changed in place (mpmath's `mpf._ctxdata` holds `mp._prec_rounding` itself)."""
    if not settings:
        return ""
    modules = sorted({module for module, _, _ in settings})
    lines = [f"import {module}" for module in modules]
    for _, target, value in settings:
        if isinstance(value, list):
            lines.append(f"{target}[:] = {value_source(value)}")
        elif isinstance(value, (dict, set)):
            lines.append(f"{target}.clear(); {target}.update({value_source(value)})")
        else:
            lines.append(f"{target} = {value_source(value)}")
    return "; ".join(lines) + "; "


def smallest_first(records: Sequence[CallRecord]) -> tuple[CallRecord, ...]:
    """Records by the size of their inputs, so the first difference found is the smallest."""
    return tuple(sorted(records, key=lambda record: (len(record.args), record.index)))


def counterexample_for(
    verdict: Verdict,
    records: Sequence[CallRecord],
    function: FunctionRef,
    module_file: Path,
    original_source: str,
    *,
    root: Path,
    run_id: RunId,
    policy: ComparePolicy = DEFAULT_POLICY,
) -> Counterexample | None:
    """The verdict's difference as a pasteable call, or None if the verdict has none.

    `module_file` and `original_source` are the original module, whose classes the
    recorded arguments refer to.
    """
    difference = verdict.difference
    if difference is None:
        return None
    head = function.qualname.split(".")[0]
    record = next((r for r in records if r.index == difference.call_index), None)
    if difference.tier == "tests":  # a test of the project that fails with the candidate
        where = "a test of the project that passes with the original"
        # a pytest node id has "::" or names a file; a unittest id is dotted
        pytest_id = "::" in difference.call or difference.call.endswith(".py")
        runner = "python -m pytest" if pytest_id else "python -m unittest"
        return Counterexample(
            f"{runner} {difference.call}",
            False,
            difference.description,
            difference.call_index,
            where,
            difference.tier,
        )
    if difference.tier == "rollout":  # the whole workload printed something else
        return Counterexample(
            difference.call,
            False,
            difference.description,
            difference.call_index,
            "the whole workload, run with the candidate in place",
            difference.tier,
        )
    if difference.tier == "interaction":  # a program: the import, the constructor, the calls
        return Counterexample(
            difference.call,
            difference.pasteable,
            difference.description,
            difference.call_index,
            "a sequence of calls on one object",
            difference.tier,
        )
    if difference.tier != "replay" or record is None:  # an input fuzzing or CrossHair made up
        call = difference.call.removeprefix(f"{function.module}:")
        code = f"from {function.module} import {head}; {call}"
        where = f"found by the {difference.tier} tier (input #{difference.call_index + 1})"
        return Counterexample(
            code,
            difference.pasteable,
            difference.description,
            difference.call_index,
            where,
            difference.tier,
        )
    where = f"run {run_id}, recorded call #{difference.call_index} in .perfloop/perfloop.db"
    task = RenderTask(
        function.module, function.qualname, str(module_file), original_source, record.args, policy
    )
    outcome = run_in_worker(
        ENTRY,
        task,
        root=root,
        limits=Limits(wall_seconds=30),
        returns=RenderedCall,
        warm=(task.module,),
    )
    rendered = outcome.value if outcome.ok else None
    if not isinstance(rendered, RenderedCall) or len(rendered.code) > MAX_CHARACTERS:
        readable = f"from {function.module} import {head}; {difference.call}"
        return Counterexample(readable, False, difference.description, difference.call_index, where)
    return Counterexample(
        rendered.code, rendered.exact, difference.description, difference.call_index, where
    )
