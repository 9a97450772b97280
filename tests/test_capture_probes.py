"""Python 3.12+: capture probes sit on the targets' code objects only, and between the
calls they record they only count (perfloop.runtime.probes). On every Python: with the
profile's count of a target's calls, only the calls drawn up front are recorded."""

from __future__ import annotations

import json
import pickle
import random
import sys

import pytest

from perfloop.capture import CaptureSettings, capture_calls, counts_to_plan
from perfloop.model import FunctionRef
from perfloop.profile import profile_workload
from perfloop.runtime.probes import next_pick
from perfloop.runtime.recorder import REPEATS_IN_A_ROW, REPLACED_PER_SLOT

needs_monitoring = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="sys.monitoring probes are for Python 3.12+"
)

PROJECT = {
    "probed.py": """
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def helper(x):
            return x * 2

        class Box:
            def __init__(self):
                self.items = []

            def __put(self, item):  # name-mangled: stored as _Box__put
                self.items.append(item)
                return len(self.items)

            def put(self, item):
                return self.__put(item)

            @staticmethod
            def twice(x):
                return 2 * x

            @classmethod
            def make(cls, n):
                box = cls()
                for i in range(n):
                    box.put(i)
                return box
    """,
    "bench.py": """
        import inspect
        import json
        import sys

        import probed as lib
        from probed import fib as copied  # a copy of the binding, taken after import

        table = {"fib": lib.fib}  # and one in a dispatch table
        total = lib.fib(18) + copied(10) + table["fib"](5)
        total += sum(lib.helper(i) for i in range(20000))
        total += sum(lib.Box.twice(i) for i in range(3000))
        box = lib.Box.make(2000)

        monitoring = sys.monitoring
        tool = next(t for t in range(6) if monitoring.get_tool(t) == "perfloop-capture")
        codes = {  # under the wrappers that follow Box's instances for their histories
            "fib": lib.fib.__code__,
            "helper": lib.helper.__code__,
            "put": inspect.unwrap(lib.Box.put).__code__,
            "_Box__put": inspect.unwrap(lib.Box._Box__put).__code__,
        }
        with open("probes.json", "w") as out:
            json.dump(
                {
                    "global_events": monitoring.get_events(tool),
                    "local_events": {
                        name: monitoring.get_local_events(tool, code)
                        for name, code in codes.items()
                    },
                    "recording": {
                        name: "__perfloop_probes__" in code.co_names
                        for name, code in codes.items()
                    },
                    "total": total,
                    "items": len(box.items),
                },
                out,
            )
    """,
}

CALLS = {
    "fib": 8361 + 177 + 15,  # fib(18), fib(10), fib(5)
    "Box.twice": 3000,
    "Box.__put": 2000,
    "Box.make": 1,
}
# the distinct calls among them: a call the same as one kept is not kept twice (fib's
# recursion calls fib(0) to fib(18) over and over)
DISTINCT = {"fib": 19, "Box.twice": 3000, "Box.__put": 2000, "Box.make": 1}


def ref(qualname: str) -> FunctionRef:
    return FunctionRef("probed", qualname)


@pytest.fixture
def probed(make_project, monkeypatch: pytest.MonkeyPatch):
    root = make_project(PROJECT)
    monkeypatch.syspath_prepend(str(root))
    targets = [ref(q) for q in CALLS]
    captures = capture_calls("python bench.py", root, targets, CaptureSettings(max_calls=40))
    return captures, json.loads((root / "probes.json").read_text())


@needs_monitoring
def test_every_call_counts_wherever_the_function_is_held(probed) -> None:
    captures, _ = probed
    for qualname, calls in CALLS.items():
        capture = captures[ref(qualname)]
        assert capture.calls_seen == calls, qualname
        assert len(capture.records) == min(40, DISTINCT[qualname]), qualname
        assert capture.problem is None


@needs_monitoring
def test_between_kept_calls_the_probe_only_counts(probed) -> None:
    captures, _ = probed
    twice = captures[ref("Box.twice")]
    assert twice.probe is not None
    # most calls were counted by the event, not recorded through the trampoline; the
    # trampoline came back only for the sampled calls (about k(1 + ln(n/k)) of them)
    assert twice.probe.events > 0.9 * twice.calls_seen
    assert 10 < twice.probe.switches < 40 * (1 + 5)
    # fib's slots never fill (19 distinct calls): its calls stay recorded, repeats found
    # by their pickles, which REPEAT_BYTES bounds
    fib = captures[ref("fib")]
    assert fib.probe is not None and fib.repeats == fib.calls_seen - 19
    once = captures[ref("Box.make")]
    assert once.probe is not None and once.probe.events == 0  # never past its budget


@needs_monitoring
def test_only_the_targets_code_is_instrumented(probed) -> None:
    _, seen = probed
    assert seen["total"] > 0 and seen["items"] == 2000
    assert seen["global_events"] == 0  # no process-wide event: other code runs untouched
    assert seen["local_events"]["helper"] == 0  # a function that is not a target
    assert seen["local_events"]["put"] == 0  # nor the method that calls a target
    # past their budget, the targets run their own code, with one counting event on it
    py_start = sys.monitoring.events.PY_START
    assert seen["local_events"]["_Box__put"] == py_start
    assert not seen["recording"]["_Box__put"]


@needs_monitoring
def test_the_sample_spans_the_run_and_keeps_recursion_depths(probed) -> None:
    captures, _ = probed
    fib = captures[ref("fib")]
    fibs = [0, 1]
    while len(fibs) < 19:
        fibs.append(fibs[-1] + fibs[-2])
    depths = set()
    for record in fib.records:
        (n,), _ = pickle.loads(record.args)
        assert pickle.loads(record.outcome) == ("return", fibs[n], ((n,), {}))
        depths.add(n)
    assert len(depths) > 4
    put = captures[ref("Box.__put")]
    items = [pickle.loads(r.args)[0][1] for r in put.records]
    assert max(items) > 1000  # spread over the run, not only the first calls
    kind, value, ((box, item), _) = pickle.loads(put.records[-1].outcome)
    assert (kind, value, len(box.items)) == ("return", item + 1, item + 1)


@needs_monitoring
def test_a_capture_is_the_same_on_every_run(make_project) -> None:
    root = make_project(PROJECT)
    runs = [
        capture_calls("python bench.py", root, [ref("fib")], CaptureSettings(max_calls=20))
        for _ in range(2)
    ]
    assert [r.args for r in runs[0][ref("fib")].records] == [
        r.args for r in runs[1][ref("fib")].records
    ]


def test_the_next_pick_keeps_each_call_with_probability_k_over_m() -> None:
    # Algorithm R keeps call m with probability k/m; drawing the next pick directly must
    # give each call the same chance (checked over many seeded runs: deterministic)
    k, n, runs = 5, 60, 4000
    kept_at = [0] * (n + 1)
    for seed in range(runs):
        draw = random.Random(seed)
        pick = next_pick(k, k, draw)
        while pick is not None and pick <= n:
            kept_at[pick] += 1
            pick = next_pick(pick, k, draw)
    for m in (6, 10, 20, 40, 60):
        expected = runs * k / m
        assert abs(kept_at[m] - expected) < 5 * (expected**0.5), (m, kept_at[m], expected)
    assert next_pick(3, 5, random.Random(0)) == 4  # the reservoir is not full yet
    assert next_pick(10, 0, random.Random(0)) is None  # nothing can be kept


COUNTED = {
    "counted.py": """
        PICKLED = [0]

        class Token:
            def __init__(self, n):
                self.n = n

            def __reduce__(self):  # counts how often the recorder pickles one
                PICKLED[0] += 1
                return (Token, (self.n,))

        def weigh(token):
            return token.n % 7
    """,
    "bench.py": """
        import counted

        total = sum(counted.weigh(counted.Token(i)) for i in range(30000))
        with open("pickled.txt", "w") as out:
            out.write(str(counted.PICKLED[0]))
    """,
}


# on every Python: probed (3.12+) or wrapped (3.10, 3.11), where recording ~237 calls to
# keep 30 made tabulate 0.9.0's capture take 103 times its workload on 3.11
def test_with_the_profiles_count_only_the_kept_calls_are_recorded(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(COUNTED)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("counted", "weigh")
    settings = CaptureSettings(max_calls=30)
    planned = capture_calls(
        "python bench.py", root, [target], settings, expected_calls={target: 30000}
    )[target]
    pickled_planned = int((root / "pickled.txt").read_text())
    sampled = capture_calls("python bench.py", root, [target], settings)[target]
    pickled_sampled = int((root / "pickled.txt").read_text())
    assert planned.calls_seen == sampled.calls_seen == 30000
    assert len(planned.records) == len(sampled.records) == 30
    # each recorded call pickles its argument a few times (inputs, outcome, load checks);
    # the plan records 30 calls, reservoir sampling about 30 * (1 + ln(1000)) = 237
    assert pickled_planned * 4 < pickled_sampled
    if sys.version_info >= (3, 12):  # the trampoline goes away after each kept call
        assert planned.probe is not None and planned.probe.switches <= 31
    seen = sorted(pickle.loads(r.args)[0][0].n for r in planned.records)
    assert seen[0] < 10000 and seen[-1] > 20000  # spread over the run


def test_more_calls_than_the_profile_counted_are_sampled_on(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(COUNTED)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("counted", "weigh")
    capture = capture_calls(
        "python bench.py",
        root,
        [target],
        CaptureSettings(max_calls=30),
        expected_calls={target: 3000},  # the workload makes ten times as many
    )[target]
    assert capture.calls_seen == 30000
    assert len(capture.records) == 30
    assert max(pickle.loads(r.args)[0][0].n for r in capture.records) >= 3000


REPEATING = {
    "counted.py": """
        class Token:
            def __init__(self, n):
                self.n = n

        def weigh(token):
            return token.n % 7
    """,
    "bench.py": """
        import sys
        import counted

        distinct = int(sys.argv[1])
        print(sum(counted.weigh(counted.Token(i % distinct)) for i in range(30000)))
    """,
}


@pytest.mark.parametrize("distinct", [45, 12])
def test_a_planned_call_that_repeats_a_kept_one_gives_its_slot_to_the_next_call(
    make_project, monkeypatch: pytest.MonkeyPatch, distinct: int
) -> None:
    # a drawn call the same as one kept is not kept twice; the next call takes its place,
    # so the plan keeps as many distinct calls as reservoir sampling (it kept fewer), and
    # with fewer distinct calls than slots it still does not record call after call
    root = make_project(REPEATING)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("counted", "weigh")
    command, settings = f"python bench.py {distinct}", CaptureSettings(max_calls=30)
    planned = capture_calls(command, root, [target], settings, expected_calls={target: 30000})
    sampled = capture_calls(command, root, [target], settings)
    planned_calls, sampled_calls = planned[target], sampled[target]
    assert planned_calls.calls_seen == sampled_calls.calls_seen == 30000
    assert len(planned_calls.records) == len(sampled_calls.records) == min(30, distinct)
    # each repeat was recorded (pickled, run, pickled again) before it was found the same
    assert 0 < planned_calls.repeats <= 30 + REPLACED_PER_SLOT * 30  # drawn and replacing
    if distinct < 30:  # the slots never fill: reservoir sampling records every call
        assert sampled_calls.repeats == 30000 - distinct
        # the plan stops replacing once REPEATS_IN_A_ROW recorded calls were all repeats
        # (it recorded 120 replacements when it replaced up to 4 per slot regardless)
        assert planned_calls.repeats <= 30 + REPEATS_IN_A_ROW


def test_past_the_repeats_budget_free_slots_take_calls_with_reservoir_odds(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 12 distinct calls never fill 30 slots; once the repeats' pickles reach REPEAT_BYTES
    # (lowered by the workload itself, so the test is quick) calls are kept with odds
    # 30/m, and on 3.12 the probe counts the calls in between (it kept every later call
    # going through the recorder)
    root = make_project(REPEATING)
    monkeypatch.syspath_prepend(str(root))
    bench = root / "bench.py"
    bench.write_text(
        "import perfloop.runtime.recorder\n"
        "perfloop.runtime.recorder.REPEAT_BYTES = 20_000\n" + bench.read_text()
    )
    target = FunctionRef("counted", "weigh")
    capture = capture_calls("python bench.py 12", root, [target], CaptureSettings(max_calls=30))
    weigh = capture[target]
    assert weigh.calls_seen == 30000 and len(weigh.records) == 12
    assert 20 < weigh.repeats < 2000
    if sys.version_info >= (3, 12):
        assert weigh.probe is not None and weigh.probe.events > 28000


RECURSIVE = {
    "shop.py": """
        def ways(amount, coins):
            if amount == 0:
                return 1
            if amount < 0 or not coins:
                return 0
            return ways(amount - coins[0], coins) + ways(amount, coins[1:])
    """,
    "bench.py": """
        from shop import ways

        print(sum(ways(n, (1, 2, 5, 10)) for n in range(40, 43)))
    """,
}


def test_a_recursion_is_not_planned_so_its_outer_calls_are_kept(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a uniform draw from a recursion's calls is nearly all leaves: the outer calls, where
    # its time goes (and what memoizing speeds up), were never recorded
    root = make_project(RECURSIVE)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("shop", "ways")
    profile = profile_workload("python bench.py", root)
    (ways,) = [f for f in profile.functions if f.function == target]
    assert ways.calls > 10_000 and ways.recursive_calls == ways.calls - 3
    assert counts_to_plan(profile.functions, [target]) == {}
    # 228 distinct calls, all kept, the outer ones too (a plan draws from all 26,311 calls,
    # nearly all leaves; on tests/test_runs.py's ways, timing such a draw put memoizing
    # at 0.58x, and the run found nothing faster)
    capture = capture_calls(
        "python bench.py",
        root,
        [target],
        CaptureSettings(max_calls=250),
        expected_calls=counts_to_plan(profile.functions, [target]),
    )[target]
    kept = {pickle.loads(r.args)[0] for r in capture.records}
    assert {(n, (1, 2, 5, 10)) for n in (40, 41, 42)} <= kept


GENERATOR = {
    "walk.py": """
        def tokens(text):
            for word in text.split():
                yield word.upper()
    """,
    "bench.py": """
        from walk import tokens

        texts = [" ".join(f"w{i}-{j}" for j in range(2000)) for i in range(3)]
        print(sum(len("".join(tokens(text))) for text in texts))
    """,
}


def test_a_generator_counts_resumptions_so_it_is_not_planned(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # html5lib 1.1's HTMLSerializer.serialize: 10 calls, 109,080 counted by the profiler
    # (one per item yielded); a plan drew 200 of 1..109,080 and no call came to them, so
    # nothing was recorded and the run said "none of its 10 calls could be recorded: unknown"
    root = make_project(GENERATOR)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("walk", "tokens")
    profile = profile_workload("python bench.py", root)
    (walked,) = [f for f in profile.functions if f.function == target]
    assert walked.resumes and walked.calls > 6000
    assert walked.calls_text == f"{walked.calls} resumptions"
    assert counts_to_plan(profile.functions, [target]) == {}
    capture = capture_calls(
        "python bench.py",
        root,
        [target],
        CaptureSettings(max_calls=200),
        expected_calls=counts_to_plan(profile.functions, [target]),
    )[target]
    assert capture.calls_seen == 3 and len(capture.records) == 3, capture.problem
    # given a count the calls never reach, the capture says what happened, not "unknown"
    planned = capture_calls(
        "python bench.py",
        root,
        [target],
        CaptureSettings(max_calls=200),
        expected_calls={target: walked.calls},
    )[target]
    assert planned.records == ()
    assert planned.problem is not None
    assert f"drawn from the {walked.calls} the profile counted, and only 3 came" in planned.problem
