"""The self-check of a method target runs its mutants through the interaction tier too: the
recorded histories of the class's instances and a few generated sequences, and the strength
counts the mutants only a sequence of calls tells apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

from perfloop.capture import capture_calls
from perfloop.model import FunctionRef, Limits, VerificationStrength
from perfloop.verification import FuzzSettings, VerifySettings, measure_strength, prepare_target

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)

# Running statistics compared by the sensor's name only: the dataclass's __eq__ leaves out
# the running state, so per-call replay, which compares the instance after the call with
# that __eq__, sees only what add() returns (the mean); _m2 shows in a later variance().
STATS = '''
from dataclasses import dataclass, field


@dataclass
class Running:
    """Mean and spread of a stream of readings (Welford), named by its sensor."""

    sensor: str
    count: int = field(default=0, compare=False)
    mean: float = field(default=0.0, compare=False)
    _m2: float = field(default=0.0, compare=False, repr=False)

    def add(self, value):
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)
        return self.mean

    def variance(self):
        if self.count < 2:
            return 0.0
        return self._m2 / (self.count - 1)
'''

BENCH = """
from stats import Running

for n in range(30):
    r = Running(f"s{n}")
    for i in range(5 + n % 7):
        r.add(float((i * 37 + n) % 11))
    print(r.sensor, r.count, round(r.mean, 6), round(r.variance(), 6))
"""


def strength_of(
    root: Path, module: str, qualname: str, workload: str, tiers: tuple[str, ...]
) -> VerificationStrength:
    ref = FunctionRef(module, qualname)
    path = module.replace(".", "/") + ".py"
    capture = capture_calls(workload, root, [ref])[ref]
    assert capture.histories, "the workload's instances of the class were followed"
    settings = VerifySettings(tiers=tiers, mutants=30, mutant_fuzz=FuzzSettings(50, 1.0))
    source = (root / path).read_text()
    plan = prepare_target(ref, path, source, capture, root=root, settings=settings, limits=LIMITS)
    return measure_strength(plan, root=root, limits=LIMITS)


@pytest.mark.slow
def test_mutants_of_state_only_a_later_call_reads_are_killed_by_sequences(tmp_path: Path) -> None:
    (tmp_path / "stats.py").write_text(STATS)
    (tmp_path / "bench.py").write_text(BENCH)

    per_call = strength_of(tmp_path, "stats", "Running.add", "python bench.py", ("replay",))
    survivors = set(per_call.survivors)
    assert per_call.generated >= 10 and per_call.killed < per_call.generated
    assert "line 18: `+=` to `-=`" in survivors  # self._m2 -= ...
    assert "line 18: augassign statement dropped" in survivors  # the _m2 write dropped

    both = strength_of(
        tmp_path, "stats", "Running.add", "python bench.py", ("replay", "interaction")
    )
    assert both.generated == per_call.generated
    killed_by = dict(both.killed_by)
    assert killed_by["replay"] == per_call.killed  # replay runs first and kills the same
    assert killed_by["interaction"] == len(survivors) == per_call.generated - per_call.killed
    assert both.killed == both.generated and not both.weak


@pytest.mark.slow
def test_mutants_of_chardet_probers_feed_are_judged_by_the_interaction_tier(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = unpacked(
        cached_sdist("chardet==5.2.0", "chardet-5.2.0.tar.gz"), tmp_path_factory.mktemp("sdist")
    )
    workload = Path(__file__).with_name("test_interaction_real.py").read_text()
    found = re.search(r'WORKLOAD = """(.*?)"""', workload, re.S)
    assert found is not None
    (root / "workload.py").write_text(found.group(1).lstrip())
    target = ("chardet.sbcharsetprober", "SingleByteCharSetProber.feed", "python workload.py")

    per_call = strength_of(root, *target, ("replay",))
    # without per-call replay, the prober driven chunk after chunk through the recorded
    # histories tells apart the mutants of the loop that updates its state: an off-by-one
    # in a counter update, a dropped state write, a swapped comparison
    sequences = strength_of(root, *target, ("interaction",))
    assert sequences.generated == per_call.generated >= 25
    assert dict(sequences.killed_by) == {"interaction": sequences.killed}
    assert sequences.killed >= sequences.generated - 6
    loop = range(104, 122)  # `for char in byte_str:` ... `self._last_order = order`
    lines = [int(survivor.split(":")[0].split()[1]) for survivor in sequences.survivors]
    assert lines and not [line for line in lines if line in loop], sequences.survivors
    # per-call replay kills at least as many: it replays 200 calls from across the run,
    # where the 20 followed probers never reach the shortcut thresholds (lines 125-127)
    assert per_call.killed >= sequences.killed
