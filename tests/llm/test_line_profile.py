"""The line profile of targets: timed inside the workload, only for the chosen functions."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path

from perfloop.model import FunctionRef
from perfloop.profile import line_profile
from perfloop.runtime.lines import LineTimer

SOURCE = textwrap.dedent(
    """
    def slow_common(a, b):
        n = 0
        for x in a:
            if x in b:
                n += 1
        return n


    def fact(k):
        return 1 if k < 2 else k * fact(k - 1)


    def squares(xs):
        return sum(x * x for x in xs)


    def fails(x):
        raise ValueError(x)
    """
)


def _load() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(SOURCE, "lib_under_test.py", "exec"), namespace)
    return namespace


def test_line_hits_are_counted_for_the_timed_function_only() -> None:
    namespace = _load()
    timer = LineTimer()
    for name in ("slow_common", "fact", "squares", "fails"):
        timer.add(f"lib:{name}", namespace[name].__code__)  # type: ignore[attr-defined]
    timer.start()
    try:
        namespace["slow_common"]([1, 2, 3, 4], [2, 4])  # type: ignore[operator]
        namespace["fact"](5)  # type: ignore[operator]
        namespace["squares"]([1, 2, 3])  # type: ignore[operator]
        with contextlib.suppress(ValueError):
            namespace["fails"](1)  # type: ignore[operator]
    finally:
        timer.stop()
    summary = timer.summary()
    common = {line: hits for line, (hits, _) in summary["lib:slow_common"].items()}
    assert common == {3: 1, 4: 5, 5: 4, 6: 2, 7: 1}
    assert summary["lib:fact"][11][0] == 5  # each recursive call runs the line once
    assert summary["lib:squares"][15][0] >= 1  # the generator expression's line counts
    assert summary["lib:fails"][19][0] == 1
    assert all(seconds >= 0 for lines in summary.values() for _, seconds in lines.values())


def test_a_workload_gives_the_hot_line_with_its_share_and_text(make_project) -> None:
    root: Path = make_project(
        {
            "lib.py": SOURCE,
            "bench.py": """
                from lib import slow_common, fact
                b = list(range(0, 2000, 2))
                print(sum(slow_common(list(range(300)), b) for _ in range(20)), fact(20))
            """,
        }
    )
    targets = [FunctionRef("lib", "slow_common"), FunctionRef("lib", "fact")]
    profiles = line_profile(
        "python bench.py", root, targets, {t: root / "lib.py" for t in targets}, timeout=120
    )
    common = profiles[targets[0]]
    hottest = common.hottest(count=1)[0]
    assert (hottest.lineno, hottest.text) == (4, "if x in b:")  # the file starts at `def`
    assert hottest.hits == 20 * 300 and hottest.share > 0.5
    assert abs(sum(line.share for line in common.lines) - 1.0) < 1e-9
    assert profiles[targets[1]].lines[0].text == "return 1 if k < 2 else k * fact(k - 1)"


def test_a_failing_workload_just_has_no_line_profile(make_project) -> None:
    root = make_project({"lib.py": SOURCE, "bench.py": "raise SystemExit(3)\n"})
    target = FunctionRef("lib", "fact")
    assert line_profile("python bench.py", root, [target], {target: root / "lib.py"}) == {}


def test_a_target_is_timed_for_its_budget_of_calls_then_switched_off() -> None:
    namespace = _load()
    timer = LineTimer(budget=10)
    timer.add("lib:slow_common", namespace["slow_common"].__code__)  # type: ignore[attr-defined]
    timer.add("lib:fact", namespace["fact"].__code__)  # type: ignore[attr-defined]
    timer.start()
    try:
        for _ in range(50):
            namespace["slow_common"]([1, 2, 3, 4], [2, 4])  # type: ignore[operator]
        namespace["fact"](30)  # type: ignore[operator]  # its inner calls are calls
        switched_off = [
            sys.monitoring.get_local_events(timer._tool, code)  # type: ignore[attr-defined]
            for code in timer.codes
        ] if timer._tool is not None else []  # fmt: skip
    finally:
        timer.stop()
    summary = timer.summary()
    assert summary["lib:slow_common"][3][0] == 10  # the first line ran once per timed call
    assert summary["lib:slow_common"][4][0] == 50
    assert summary["lib:fact"][11][0] == 10
    assert timer.calls == {"lib:slow_common": 11, "lib:fact": 11}  # the 11th switched it off
    if sys.version_info >= (3, 12):
        assert switched_off == [0, 0]  # no event left on either target's code


def test_a_workloads_line_profile_keeps_to_the_budget(make_project) -> None:
    root: Path = make_project(
        {
            "lib.py": SOURCE,
            "bench.py": """
                from lib import slow_common
                print(sum(slow_common([1, 2, 3], [2]) for _ in range(5000)))
            """,
        }
    )
    target = FunctionRef("lib", "slow_common")
    paths = {target: root / "lib.py"}
    limited = line_profile("python bench.py", root, [target], paths, timeout=120, budget=100)
    every = line_profile("python bench.py", root, [target], paths, timeout=120, budget=None)
    # the file starts at `def`: line 2 is `n = 0`, run once per call
    assert {line.lineno: line.hits for line in limited[target].lines}[2] == 100
    assert {line.lineno: line.hits for line in every[target].lines}[2] == 5000
