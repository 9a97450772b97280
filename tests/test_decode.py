"""perfloop.sandbox.decode: what comes back from a worker or from disk is data, never code."""

from __future__ import annotations

import dataclasses
import enum
import pickle
import re
import sqlite3
import types
import typing
from collections import OrderedDict
from pathlib import Path

import pytest

from perfloop.config import ConfigError, Settings
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    RunId,
    Verdict,
    VerdictStatus,
)
from perfloop.results import TargetResult, TargetStatus
from perfloop.sandbox.decode import REGISTRY, Refused, decode, registered_types
from perfloop.sandbox.runner import run_in_worker
from perfloop.store.checkpoints import load_resumable
from perfloop.store.runs import RunStore
from perfloop.verification.replay import ReplayReport


def global_call(module: str, name: str, *arguments: str) -> bytes:
    """A protocol-0 pickle that calls `module.name(*arguments)` when unpickled."""
    pushed = "".join(f"V{a}\n" for a in arguments)
    return f"c{module}\n{name}\n({pushed}tR.".encode()


def writes_marker(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).write_text('pwned')"


@pytest.mark.parametrize(
    ("module", "name", "arguments"),
    [
        ("builtins", "eval", ("{code}",)),
        ("builtins", "exec", ("{code}",)),
        ("builtins", "getattr", ("x", "upper")),
        ("os", "system", ("touch {marker}",)),
        ("subprocess", "getoutput", ("touch {marker}",)),
        ("perfloop.sandbox.runner", "run_in_worker", ("os:system", "touch {marker}")),
        ("perfloop.patch", "os.system", ("touch {marker}",)),  # a module perfloop imported
        ("perfloop.patch", "mark_journal", ("{marker}", "applied")),
        ("collections", "OrderedDict", ()),
        ("copyreg", "_reconstructor", ()),
    ],
)
def test_a_pickle_that_names_a_callable_is_refused_and_nothing_runs(
    tmp_path: Path, module: str, name: str, arguments: tuple[str, ...]
) -> None:
    marker = tmp_path / "marker"
    filled = [a.format(code=writes_marker(marker), marker=marker) for a in arguments]
    with pytest.raises(Refused, match=re.escape(f"{module}.{name} is not a perfloop result type")):
        decode(global_call(module, name, *filled))
    assert not marker.exists()


def test_a_function_pickled_by_reference_is_refused() -> None:
    with pytest.raises(Refused, match=r"perfloop\.sandbox\.runner\.run_in_worker"):
        decode(pickle.dumps({"result": run_in_worker}))


def test_an_ordered_dict_and_a_class_handed_back_as_values_are_refused() -> None:
    with pytest.raises(Refused, match=r"collections\.OrderedDict"):
        decode(pickle.dumps(OrderedDict(a=1)))
    with pytest.raises(Refused, match="the class Verdict, not data"):
        decode(pickle.dumps((Verdict, 1)))


def test_setting_the_state_of_an_enum_member_is_refused_and_the_member_is_unchanged() -> None:
    member = pickle.dumps(VerdictStatus.EQUIVALENT, protocol=0)[:-1]  # without STOP
    forged = member + b"(dV_value_\nVdifferent\nsb."  # BUILD {"_value_": "different"}
    with pytest.raises(Refused, match="sets the state of a VerdictStatus"):
        decode(forged)
    assert VerdictStatus.EQUIVALENT.value == "equivalent"


def test_setting_attributes_of_a_registered_class_is_refused() -> None:
    forged = b"cperfloop.model\nVerdict\n(N(V__eq__\nNdtb."  # BUILD (None, {"__eq__": None})
    with pytest.raises(Refused, match="sets the state of a"):
        decode(forged)
    assert Verdict.__eq__ is not None


def test_state_that_is_not_the_dataclass_fields_is_refused() -> None:
    good = pickle.dumps(FunctionRef("m", "f"))
    forged = good.replace(b"qualname", b"__dict__")  # the same length: still a valid pickle
    assert forged != good
    with pytest.raises(Refused, match="not its fields"):
        decode(forged)


def wrong(value: object, **fields: object) -> object:
    for name, field_value in fields.items():
        object.__setattr__(value, name, field_value)
    return value


def verdict() -> Verdict:
    return Verdict(VerdictStatus.EQUIVALENT, ("replay",), 3, 0.5)


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (wrong(verdict(), status="equivalent"), Verdict, "Verdict.status is 'equivalent' (str)"),
        (wrong(verdict(), calls_checked="3"), object, "Verdict.calls_checked is '3' (str)"),
        (wrong(verdict(), tiers=["replay"]), Verdict, "Verdict.tiers is ['replay'] (list)"),
        (ReplayReport(3, None), Verdict, "ReplayReport(checked=3, difference=None, "),
        (ReplayReport("all", None), ReplayReport, "ReplayReport.checked is 'all' (str)"),
        (("ok", None, "", "x", "extra"), tuple[str, object, str, str], "has 5 items where 4"),
    ],
)
def test_values_of_the_wrong_type_are_refused_with_the_field_named(
    value: object, expected: object, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        decode(pickle.dumps(value), expected)
    assert reason in str(refused.value)


def test_a_wrong_field_deep_inside_a_target_result_is_found() -> None:
    ref = FunctionRef("m", "f")
    candidate = Candidate(ref, "rule:x", "why", "def f(): pass\n", "def f(): pass\n", "m.py")
    inner = CandidateResult(candidate, GateResult(True), wrong(verdict(), seconds="fast"))
    result = TargetResult(ref, 0.5, TargetStatus.IMPROVED, None, 3, (inner,), inner)
    with pytest.raises(Refused, match=r"Verdict\.seconds is 'fast'"):
        decode(pickle.dumps(result), TargetResult)


def test_a_broken_invariant_and_a_cycle_are_refused() -> None:
    from perfloop.measure.timing import ProcessTimings

    timings = sample(ProcessTimings)
    broken = wrong(timings, baseline_ns=(*timings.baseline_ns, 1))  # one block more on one side
    with pytest.raises(Refused, match="breaks its invariant: unequal sample counts"):
        decode(pickle.dumps(broken))
    cycle: list[object] = [1]
    cycle.append(cycle)
    with pytest.raises(Refused, match="contains itself"):
        decode(pickle.dumps(cycle))


def test_plain_values_come_back_as_they_went() -> None:
    value = {
        "a": [1, 2.5, 3j, None, True],
        "b": (b"x", bytearray(b"y"), frozenset({1}), {2}),
        "path": Path("/tmp/x"),
    }
    for protocol in range(3, pickle.HIGHEST_PROTOCOL + 1):  # perfloop writes 4
        assert decode(pickle.dumps(value, protocol=protocol)) == value


def test_the_registry_holds_only_frozen_dataclasses_and_enums() -> None:
    assert len(set(REGISTRY)) == len(REGISTRY)
    for cls in registered_types():
        assert issubclass(cls, enum.Enum) or cls.__dataclass_params__.frozen, cls


@pytest.mark.parametrize("name", REGISTRY)
def test_every_registered_type_round_trips(name: str) -> None:
    (cls,) = [c for c in registered_types() if f"{c.__module__}:{c.__qualname__}" == name]
    value = sample(cls)
    for protocol in range(3, pickle.HIGHEST_PROTOCOL + 1):  # perfloop writes 4
        assert decode(pickle.dumps(value, protocol=protocol), cls) == value


def sample(hint: object) -> typing.Any:
    """A value of `hint` with every field filled (optional ones too), for round trips."""
    if hasattr(hint, "__supertype__"):
        return sample(hint.__supertype__)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return sample(next(a for a in args if a is not type(None)))
    if origin is tuple:
        return (sample(args[0]),) if args[-1] is Ellipsis else tuple(sample(a) for a in args)
    if origin in (list, set, frozenset):
        return origin([sample(args[0])])
    if origin is dict:
        return {sample(args[0]): sample(args[1])}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = dataclasses.fields(hint)
        return hint(**{f.name: sample(hints[f.name]) for f in fields if f.init})
    plain = {str: "x", int: 1, float: 1.5, bool: True, bytes: b"b", object: 1, Path: Path("/p")}
    return plain[hint]  # type: ignore[index]


def test_a_forged_checkpoint_stops_resume_with_what_to_do(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    store = RunStore(tmp_path / ".perfloop" / "perfloop.db")
    run = RunId("r1")
    store.start_run(run, "3.11", "python bench.py", tmp_path)
    store.save_step(run, "settings", Settings(workload="python bench.py", root=tmp_path))
    store.set_run_status(run, "interrupted")
    store.close()
    db = sqlite3.connect(tmp_path / ".perfloop" / "perfloop.db")
    forged = global_call("builtins", "eval", writes_marker(marker))
    db.execute("INSERT INTO run_steps VALUES ('r1', 'profile', 1e12, ?)", (forged,))
    db.commit()
    db.close()

    store = RunStore(tmp_path / ".perfloop" / "perfloop.db")
    with pytest.raises(ConfigError, match="cannot resume run r1: the checkpoint 'profile'"):
        load_resumable(store, run, tmp_path)
    assert not marker.exists()
    store.close()


def test_settings_are_checkpointed_with_their_root_and_resumed(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "perfloop.db")
    run = RunId("r1")
    store.start_run(run, "3.11", "python bench.py", tmp_path)
    store.save_step(run, "settings", Settings(workload="python bench.py", root=tmp_path))
    store.set_run_status(run, "interrupted")
    resumable = load_resumable(store, run, tmp_path)
    assert resumable.settings.root == tmp_path
    assert resumable.settings.workload == "python bench.py"
    store.close()


def test_a_type_stored_under_its_earlier_module_still_decodes() -> None:
    """A run store written before TargetResult moved to perfloop.results (a run to resume)."""
    ref = FunctionRef("m", "f")
    result = TargetResult(ref, 0.5, TargetStatus.NO_FASTER_CANDIDATE, "why", 3)
    written = pickle.dumps(result, protocol=2).replace(b"perfloop.results", b"perfloop.model")
    assert b"perfloop.model\nTargetResult" in written  # as the earlier version named it
    assert decode(written, TargetResult) == result
