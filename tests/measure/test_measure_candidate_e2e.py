"""measure_candidate end to end: real sandboxed timing workers on a tiny project.

No assertion depends on a close timing margin: the faster case has a true
difference of several times, the identical case asks only "not faster".
"""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from perfloop.measure import (
    MeasureSettings,
    NoiseFloor,
    measure_candidate,
    measure_noise_floor,
)
from perfloop.measure.timing import SAMPLED_PASS_NS, ProcessTimings, TimingTask, choose_sample
from perfloop.model import CallRecord, Candidate, FunctionRef, Limits, Measurement
from perfloop.sandbox.runner import run_in_worker

ORIGINAL = "def slow(xs):\n    return sorted(xs)[0]\n"
MODULE = "mslow_target"
QUICK = MeasureSettings(
    processes=2,
    max_processes=4,
    budget_seconds=8,
    pairs_per_process=5,
    min_block_seconds=0.005,
    limits=Limits(wall_seconds=60),
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / f"{MODULE}.py").write_text(ORIGINAL)
    return tmp_path


def make_records(count: int = 4, size: int = 2000, *, empty: bool = False) -> list[CallRecord]:
    rng = random.Random(7)
    inputs = [[rng.randrange(10**6) for _ in range(size)] for _ in range(count)]
    if empty:
        inputs.append([])
    records = []
    for index, xs in enumerate(inputs):
        call = ((xs,), {})
        outcome = ("return", min(xs), call) if xs else ("raise", "IndexError", "", call)
        records.append(
            CallRecord(index, pickle.dumps(call), pickle.dumps(outcome), "", f"slow(<{len(xs)}>)")
        )
    return records


def slow_with(body: str) -> str:
    return f"def slow(xs):\n{body}"


def candidate(
    project: Path, source: str, module: str = MODULE, qualname: str = "slow"
) -> Candidate:
    path = str(project / f"{module}.py")
    return Candidate(FunctionRef(module, qualname), "test", "a candidate", source, source, path)


def measure(
    project: Path,
    source: str,
    records: list[CallRecord] | None = None,
    settings: MeasureSettings = QUICK,
    original: str = ORIGINAL,
) -> Measurement:
    """Measure a candidate of mslow_target:slow against the original source."""
    records = make_records() if records is None else records
    return measure_candidate(
        candidate(project, source), original, records, root=project, settings=settings
    )


def test_a_much_faster_candidate_is_called_faster(project: Path) -> None:
    measurement = measure(project, slow_with("    return min(xs)\n"))
    assert measurement.error is None
    assert measurement.faster
    speedup = measurement.speedup
    assert speedup is not None
    assert speedup.ci_low > 1.5
    assert speedup.ci_low <= speedup.ratio <= speedup.ci_high
    assert speedup.processes is not None
    assert QUICK.processes <= speedup.processes <= QUICK.max_processes
    assert speedup.pairs == speedup.processes * QUICK.pairs_per_process  # equal, paired
    assert speedup.candidate_seconds < speedup.baseline_seconds
    assert "ABBA" in speedup.method and f"{speedup.processes} worker processes" in speedup.method
    assert speedup.p_value is not None and speedup.p_value < 0.01
    assert speedup.threshold == QUICK.min_speedup and speedup.noise_floor is None
    assert measurement.memory is not None  # sorted() copies the list, min() does not
    assert measurement.memory.baseline_bytes > measurement.memory.candidate_bytes


@pytest.mark.slow
@pytest.mark.serial  # "not faster" at 1.05x for a true 1.00x: no margin for load
def test_an_identical_candidate_is_never_called_faster(project: Path) -> None:
    for _ in range(3):
        measurement = measure(project, ORIGINAL)
        assert measurement.error is None
        assert measurement.speedup is not None
        assert not measurement.faster
        assert measurement.speedup.ci_low < 1.05


def test_a_candidate_that_sorts_in_place_is_timed_on_fresh_unsorted_copies(project: Path) -> None:
    # min() costs the same on any order; sorting a shuffled list of 2000 ints
    # costs several times more than min(), sorting an already sorted one about
    # the same. On fresh (shuffled) copies the in-place candidate is much slower;
    # were it handed the lists it had sorted before, it would look as fast.
    measurement = measure(
        project,
        slow_with("    xs.sort()\n    return xs[0]\n"),
        original=slow_with("    return min(xs)\n"),
    )
    assert measurement.error is None and measurement.speedup is not None
    assert measurement.speedup.ratio < 0.5
    assert not measurement.faster


def test_a_candidate_that_grows_its_input_never_sees_a_grown_input(project: Path) -> None:
    body = (
        "    if len(xs) != 2000:\n"
        "        raise AssertionError('saw a reused input')\n"
        "    xs.append(-1)\n"
        "    return sorted(xs)[1]\n"
    )
    measurement = measure(project, slow_with(body))
    assert measurement.error is None
    assert measurement.speedup is not None


def test_calls_raising_in_both_versions_are_timed(project: Path) -> None:
    # sorted([])[0] raises IndexError, min([]) ValueError: both raise, both are timed.
    measurement = measure(project, slow_with("    return min(xs)\n"), make_records(empty=True))
    assert measurement.error is None
    assert measurement.faster


def test_a_call_raising_only_in_the_candidate_is_an_error(project: Path) -> None:
    body = "    if len(xs) < 5:\n        raise ValueError('short')\n    return min(xs)\n"
    records = [*make_records(2), *make_records(1, size=3)]
    records = [
        CallRecord(i, r.args, r.outcome, r.stdout, r.call_repr) for i, r in enumerate(records)
    ]
    measurement = measure(project, slow_with(body), records)
    assert measurement.speedup is None and not measurement.faster
    assert measurement.error is not None
    assert "#2 (slow(<3>)) returned normally in the original but raised ValueError" in (
        measurement.error
    )


def test_a_hanging_candidate_is_stopped_by_the_time_limit(project: Path) -> None:
    settings = MeasureSettings(
        processes=3, pairs_per_process=5, min_block_seconds=0.005, limits=Limits(wall_seconds=2)
    )
    started = time.perf_counter()
    measurement = measure(project, slow_with("    while True:\n        pass\n"), settings=settings)
    elapsed = time.perf_counter() - started
    assert measurement.speedup is None and not measurement.faster
    assert measurement.error is not None
    assert "time limit" in measurement.error and "within 2 s" in measurement.error
    assert elapsed < 2 * 3  # stopped at the first process, not once per process


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def slow(xs)\n    return 1\n", "SyntaxError"),
        ("def other(xs):\n    return 1\n", "has no attribute 'slow'"),
    ],
)
def test_a_candidate_that_does_not_load_is_an_error(
    project: Path, source: str, expected: str
) -> None:
    measurement = measure(project, source, make_records(1))
    assert measurement.error is not None
    assert "candidate module could not be loaded" in measurement.error
    assert expected in measurement.error


def test_no_records_is_an_error_not_an_exception(project: Path) -> None:
    measurement = measure(project, ORIGINAL, [])
    assert measurement.error is not None and not measurement.faster


def min_timing_task(project: Path, records: list[CallRecord], pairs: int) -> TimingTask:
    """One timing process's task: `min(xs)` against the original's `sorted(xs)[0]`."""
    return TimingTask(
        module=MODULE,
        qualname="slow",
        path=str(project / f"{MODULE}.py"),
        original_source=ORIGINAL,
        candidate_source=slow_with("    return min(xs)\n"),
        call_args=tuple(r.args for r in records),
        call_reprs=tuple(r.call_repr for r in records),
        pairs=pairs,
        min_block_ns=2_000_000,
    )


def test_one_timing_process_returns_equal_paired_samples(project: Path) -> None:
    task = min_timing_task(project, make_records(2), pairs=4)
    outcome = run_in_worker(
        "perfloop.measure.timing:run_timing_task", task, root=project, limits=Limits(30)
    )
    assert outcome.ok, outcome.message
    timings = outcome.value
    assert isinstance(timings, ProcessTimings)
    assert timings.problem is None
    assert len(timings.baseline_ns) == len(timings.candidate_ns) == 4
    assert timings.loops >= 1 and timings.calls_per_pass == 2
    assert all(ns > 0 for ns in (*timings.baseline_ns, *timings.candidate_ns))


def test_the_baseline_is_the_original_source_not_the_file_on_disk(project: Path) -> None:
    # The file changed since capture (here: it hangs); the measurement still
    # times the captured original source it was given.
    (project / f"{MODULE}.py").write_text("def slow(xs):\n    while True:\n        pass\n")
    measurement = measure(project, slow_with("    return min(xs)\n"))
    assert measurement.error is None and measurement.faster


METHOD_MODULE = "mslow_methods"
METHOD_ORIGINAL = textwrap.dedent(
    """
    class Bag:
        def __init__(self, items):
            self.items = items

        def smallest(self, offset):
            return sorted(self.items)[0] + offset
    """
)


# Uses what a patched class would have: super(), isinstance on its own class, a new method.
METHOD_CANDIDATE = textwrap.dedent(
    """
    class Bag:
        def __init__(self, items):
            self.items = items

        def _least(self):
            return min(self.items)

        def smallest(self, offset):
            if not isinstance(self, Bag) or super().__repr__() is None:
                raise TypeError("not one of this module's bags")
            return self._least() + offset
    """
)


@pytest.mark.parametrize("kind", ["same class body", "class changed like a patch"])
def test_a_method_is_timed_with_the_recorded_instance(tmp_path: Path, kind: str) -> None:
    (tmp_path / f"{METHOD_MODULE}.py").write_text(METHOD_ORIGINAL)
    # Instances of the user's class are pickled in a subprocess, as capture would.
    script = (
        f"import pickle, random, sys; from {METHOD_MODULE} import Bag; "
        "rng = random.Random(3); "
        "calls = [((Bag([rng.random() for _ in range(2000)]), 1.0), {}) for _ in range(3)]; "
        "sys.stdout.buffer.write(pickle.dumps([pickle.dumps(c) for c in calls]))"
    )
    dumped = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, check=True
    ).stdout
    records = [
        CallRecord(i, args, b"", "", "Bag.smallest(...)")
        for i, args in enumerate(pickle.loads(dumped))
    ]
    faster_source = (
        METHOD_ORIGINAL.replace("sorted(self.items)[0]", "min(self.items)")
        if kind == "same class body"
        else METHOD_CANDIDATE
    )
    method = candidate(tmp_path, faster_source, METHOD_MODULE, "Bag.smallest")
    measurement = measure_candidate(method, METHOD_ORIGINAL, records, root=tmp_path, settings=QUICK)
    assert measurement.error is None
    assert measurement.faster


@pytest.mark.slow
def test_the_noise_floor_is_the_original_against_itself(project: Path) -> None:
    floor = measure_noise_floor(
        candidate(project, slow_with("    return min(xs)\n")),  # its source is ignored
        ORIGINAL,
        make_records(),
        root=project,
        settings=QUICK,
    )
    assert floor.error is None
    # 4 processes, more only if they put identical code further apart than min_speedup
    assert QUICK.noise_processes <= floor.processes <= QUICK.max_processes
    assert floor.low <= floor.ratio <= floor.high
    assert floor.floor >= 1.0 and floor.threshold >= QUICK.min_speedup
    assert floor.min_detectable > floor.threshold
    assert "A/A" in floor.method


# each loaded copy draws its own extra work: the two copies of one process differ by
# up to 2x either way, differently in every process, as under a disturbing load
UNEVEN = textwrap.dedent(
    """
    import random

    _EXTRA = random.Random().randrange(4000)

    def slow(xs):
        for _ in range(_EXTRA):
            pass
        return sorted(xs)[0]
    """
)


@pytest.mark.slow
def test_a_noise_floor_above_min_speedup_takes_more_processes_before_it_is_believed(
    project: Path,
) -> None:
    settings = replace(QUICK, max_processes=8, budget_seconds=30)
    floor = measure_noise_floor(
        candidate(project, UNEVEN), UNEVEN, make_records(), root=project, settings=settings
    )
    assert floor.error is None
    assert floor.processes > settings.noise_processes  # 4 gave a floor far above 1.05
    assert floor.floor > settings.min_speedup  # and the copies really do differ
    assert f"{floor.processes} processes" in floor.method
    assert "(4, then more while identical code looked further apart than 1.05x)" in floor.method


def test_a_noise_floor_above_the_threshold_raises_it(project: Path) -> None:
    # min() is several times faster than sorted()[0]: faster at 1.05, but not where
    # identical code has been seen to stray 100x (a made-up floor, to make the rule visible).
    huge = NoiseFloor(1.0, 0.01, 100.0, 100.0, 100.0, 200.0, 4, "A/A")
    measurement = measure_candidate(
        candidate(project, slow_with("    return min(xs)\n")),
        ORIGINAL,
        make_records(),
        root=project,
        settings=QUICK,
        noise=huge,
    )
    assert measurement.speedup is not None and measurement.speedup.ratio > 1.5
    assert measurement.speedup.threshold == 100.0 and measurement.speedup.noise_floor == 100.0
    assert not measurement.faster
    assert "noise floor 100.000x" in measurement.speedup.method


CACHING = textwrap.dedent(
    """
    _results = {}

    def slow(xs):
        key = tuple(xs)
        if key not in _results:
            _results[key] = sorted(xs)[0]
        return _results[key]
    """
)


@pytest.mark.slow
def test_a_candidate_that_caches_across_calls_is_timed_on_first_passes(project: Path) -> None:
    # Repeating the recorded calls, the cache answers in a dict lookup and looks several
    # times faster; on first passes it does the same sort as the original plus the cache.
    measurement = measure(project, CACHING)
    assert measurement.error is None and measurement.speedup is not None
    assert any("caches results across calls" in note for note in measurement.notes)
    assert "fresh module copy" in measurement.speedup.method
    assert not measurement.faster
    assert measurement.speedup.ratio < 1.3


@pytest.mark.slow
def test_memory_objective_prefers_less_memory_not_slower(project: Path) -> None:
    settings = MeasureSettings(
        processes=2,
        max_processes=4,
        budget_seconds=8,
        pairs_per_process=5,
        min_block_seconds=0.005,
        objective="memory",
    )
    measurement = measure(project, slow_with("    return min(xs)\n"), settings=settings)
    assert measurement.error is None
    assert measurement.objective == "memory"
    assert measurement.better is True and measurement.improved
    assert measurement.memory is not None and measurement.memory.ratio > 10
    assert measurement.gain == measurement.memory.ratio
    # The other way round: the sort copies the list (more memory): not better.
    worse = measure(
        project,
        ORIGINAL,
        original=slow_with("    return min(xs)\n"),
        settings=settings,
    )
    assert worse.better is False and not worse.improved


def test_a_package_init_with_relative_imports_is_timed(tmp_path: Path) -> None:
    """cachetools 5.3.3's shape: a `src/` layout whose package `__init__.py` holds the
    hot code and imports a submodule relatively (`from . import keys`). The candidate's
    path is relative to the project, as optimize gives it; the timing worker runs in a
    scratch folder, and served from there the package had no submodules: "the original
    ... could not be loaded: ImportError: cannot import name 'keys' from partially
    initialized module"."""
    package = tmp_path / "src" / "pkgslow"
    package.mkdir(parents=True)
    (package / "keys.py").write_text("def key(xs):\n    return len(xs)\n")
    original = "from . import keys\n\n\ndef slow(xs):\n    return sorted(xs)[0]\n"
    faster = "from . import keys\n\n\ndef slow(xs):\n    return min(xs)\n"
    (package / "__init__.py").write_text(original)
    relative = str(Path("src") / "pkgslow" / "__init__.py")
    made = Candidate(
        FunctionRef("pkgslow", "slow"), "test", "a candidate", faster, faster, relative
    )

    measurement = measure_candidate(made, original, make_records(), root=tmp_path, settings=QUICK)

    assert measurement.error is None, measurement.error
    assert measurement.speedup is not None and measurement.faster


def test_a_process_runs_fewer_pairs_when_its_inputs_take_its_share_of_the_budget_to_copy(
    project: Path,
) -> None:
    """mistune 3.3.2's `parse_ruby` takes 4.6 µs a call, but a fresh copy of its arguments
    220 µs to unpickle: ten pairs a process took 35 s each, 106 s for a 10 s budget. A
    function that changes a big argument needs a fresh copy for every call of every pass:
    a process whose share of the budget is gone runs MIN_PAIRS pairs, not `pairs`."""
    from dataclasses import replace

    from perfloop.measure.timing import MIN_PAIRS

    mutating = "def slow(xs):\n    xs.append(1)\n    return xs[0]\n"
    big = [list(range(200_000)) for _ in range(2)]
    calls = tuple(pickle.dumps(((xs,), {})) for xs in big)
    task = TimingTask(
        module=MODULE,
        qualname="slow",
        path=str(project / f"{MODULE}.py"),
        original_source=mutating,
        candidate_source=mutating.replace("xs[0]", "xs[-len(xs)]"),
        call_args=calls,
        call_reprs=("a", "b"),
        pairs=10,
        min_block_ns=2_000_000,
        probe=False,
        seconds=0.05,
    )
    counts = []
    for timed in (task, replace(task, seconds=0.0)):
        outcome = run_in_worker(
            "perfloop.measure.timing:run_timing_task", timed, root=project, limits=Limits(120)
        )
        assert outcome.ok, outcome.message
        timings = outcome.value
        assert isinstance(timings, ProcessTimings) and timings.problem is None
        assert len(timings.baseline_ns) == len(timings.candidate_ns)
        counts.append(len(timings.baseline_ns))
    assert counts == [MIN_PAIRS, 10]


@pytest.mark.slow
def test_a_long_pass_is_timed_on_a_new_random_sample_of_the_calls_in_each_process(
    project: Path,
) -> None:
    # six sorts of 400,000 numbers: a pass over all of them takes longer than
    # SAMPLED_PASS_NS, so each process times a few of them, not all six 20 times over
    records = make_records(count=6, size=400_000)
    task = min_timing_task(project, records, pairs=3)
    run = partial(run_in_worker, "perfloop.measure.timing:run_timing_task", root=project)
    first = run(task, limits=Limits(120)).value
    assert isinstance(first, ProcessTimings) and first.problem is None, first
    assert first.sampled and first.recorded_calls == 6 and first.calls_per_pass < 6
    assert len(first.call_ns) == 6 and sum(first.call_ns) > SAMPLED_PASS_NS
    assert 0 < first.sample_share < 1 and len(first.baseline_ns) == 3
    # a later process draws its own sample from the first one's call times, before
    # loading any recorded input, and does not time every call again
    later = run(replace(task, call_ns=first.call_ns, loops=first.loops), limits=Limits(120)).value
    assert isinstance(later, ProcessTimings) and later.problem is None, later
    assert later.sampled and later.call_ns == () and later.recorded_calls == 6

    measurement = measure(project, slow_with("    return min(xs)\n"), records)
    assert measurement.error is None and measurement.faster, measurement
    speedup = measurement.speedup
    assert speedup is not None and speedup.ci_low > 1.5
    assert "a random sample of" in speedup.method and "of the 6, drawn anew" in speedup.method
    assert speedup.baseline_seconds > SAMPLED_PASS_NS / 2e9  # a whole pass, scaled up


def test_a_sample_is_drawn_until_its_calls_take_a_pass_worth_of_time() -> None:
    assert choose_sample([10, 20, 30], pass_ns=100) is None  # short: every call, every pass
    assert choose_sample([500], pass_ns=100) is None  # one call cannot be sampled
    sample = choose_sample([40] * 10, pass_ns=100, rng=random.Random(3))
    assert sample == sorted(sample) and len(sample) == 3 and len(set(sample)) == 3
    alone = choose_sample([1000, 1, 1, 1], pass_ns=100, rng=random.Random(0))
    assert alone is not None and sum([1000, 1, 1, 1][i] for i in alone) >= 100
    draws = {tuple(choose_sample([40] * 10, pass_ns=100) or ()) for _ in range(20)}
    assert len(draws) > 1  # each process draws anew
