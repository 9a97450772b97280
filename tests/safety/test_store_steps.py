"""The steps a run records, and what resume makes of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.config import ConfigError, Settings
from perfloop.model import CallRecord, FunctionRef, RunId, TargetCapture
from perfloop.store.checkpoints import SETTINGS_STEP, SOURCES_STEP, Checkpoints, load_resumable
from perfloop.store.runs import RunStore

RUN = RunId("20260101-000000-abcd")
REF = FunctionRef("shop", "cheapest")


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / ".perfloop" / "perfloop.db")
    store.start_run(RUN, "3.11.7", "python bench.py", tmp_path)
    yield store
    store.close()


def capture(calls: int) -> TargetCapture:
    records = tuple(CallRecord(i, b"args", b"outcome", "", f"cheapest({i})") for i in range(calls))
    return TargetCapture(REF, calls, records)


def test_a_step_is_computed_once_and_reused_from_the_store(store: RunStore) -> None:
    computed = []
    first = Checkpoints(store, RUN)
    assert first.step("profile", lambda: computed.append(1) or ("a", 1.5)) == ("a", 1.5)
    again = Checkpoints(store, RUN, store.steps(RUN))
    assert again.step("profile", lambda: computed.append(2) or "other") == ("a", 1.5)
    assert computed == [1]
    assert again.summary() == "profile"


def test_captures_are_stored_whole_and_a_second_capture_replaces_the_first(
    store: RunStore,
) -> None:
    checkpoints = Checkpoints(store, RUN)
    checkpoints.captures(lambda: {REF: capture(3)})
    assert store.count("call_records", RUN) == 3
    store.save_captures(RUN, {REF: capture(2)})  # a resumed run that captured again
    assert store.count("call_records", RUN) == 2 and store.count("captures", RUN) == 1
    reused = Checkpoints(store, RUN, store.steps(RUN)).captures(lambda: pytest.fail("again"))
    assert len(reused[REF].records) == 2


def test_resume_refuses_when_a_target_file_changed(store: RunStore, tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text("def cheapest(p):\n    return sorted(p)[0]\n")
    store.save_step(RUN, SETTINGS_STEP, Settings(workload="python bench.py", root=Path(".")))
    store.save_step(RUN, SOURCES_STEP, {REF: ("shop.py", (tmp_path / "shop.py").read_text())})
    assert load_resumable(store, RUN, tmp_path).settings.root == tmp_path
    (tmp_path / "shop.py").write_text("# edited\n")
    with pytest.raises(ConfigError, match=r"shop\.py changed since the run read it"):
        load_resumable(store, RUN, tmp_path)


def test_resume_refuses_a_completed_run(store: RunStore, tmp_path: Path) -> None:
    store.complete_run(RUN, "{}")
    with pytest.raises(ConfigError, match="already completed"):
        load_resumable(store, RUN, tmp_path)
