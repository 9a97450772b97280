"""measure_workload end to end: a tiny project whose workload prints a checksum."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.measure import MeasureSettings, WorkloadComparison, measure_workload
from perfloop.measure.whole_workload import compare_outputs

LIBRARY = "def checksum(n):\n    return sum(i * i for i in range(n)) % 1000003\n"
FASTER = "def checksum(n):\n    return (n - 1) * n * (2 * n - 1) // 6 % 1000003\n"
WRONG = "def checksum(n):\n    return 42\n"
SETTINGS = MeasureSettings(workload_runs=2, max_workload_runs=3)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "wlchecks.py").write_text(LIBRARY)
    (tmp_path / "bench.py").write_text(
        "import sys\nfrom wlchecks import checksum\nprint(checksum(int(sys.argv[1])))\n"
    )
    return tmp_path


def run(project: Path, source: str, command: str = "python bench.py 20000") -> WorkloadComparison:
    overrides = {"wlchecks": (str(project / "wlchecks.py"), source)}
    return measure_workload(command, project, overrides, settings=SETTINGS, runs=2, timeout=60)


@pytest.mark.slow
def test_a_correct_override_keeps_the_output(project: Path) -> None:
    comparison = run(project, FASTER)
    assert comparison.error is None
    assert comparison.output_unchanged is True
    assert comparison.note is None
    runs = len(comparison.baseline_runs)
    assert 2 <= runs <= 3 and len(comparison.candidate_runs) == runs  # paired, equal counts
    assert len(comparison.baseline_cpu_runs) == len(comparison.candidate_cpu_runs) == runs
    assert all(seconds > 0 for seconds in comparison.baseline_cpu_runs)
    speedup = comparison.speedup
    assert speedup is not None and speedup.pairs == runs
    assert speedup.ci_low <= speedup.ratio <= speedup.ci_high
    assert "warm-up" in speedup.method and "ABBA" in speedup.method
    assert "CPU time" in speedup.method and "Student's t" in speedup.method
    assert speedup.p_value is not None
    assert comparison.wall_speedup is not None and "wall time" in comparison.wall_speedup.method
    assert (project / "wlchecks.py").read_text() == LIBRARY  # the user's file is untouched


@pytest.mark.slow
def test_an_override_that_changes_the_output_is_reported(project: Path) -> None:
    comparison = run(project, WRONG)
    assert comparison.error is None
    assert comparison.output_unchanged is False


@pytest.mark.slow
def test_an_original_whose_output_varies_cannot_be_compared(project: Path) -> None:
    # it imports the changed module (a workload that does not is refused: it would time
    # the original against itself), and prints the clock
    (project / "noisy.py").write_text(
        "import time\nimport wlchecks\nprint(time.perf_counter_ns())\n"
    )
    comparison = run(project, FASTER, command="python noisy.py")
    assert comparison.error is None
    assert comparison.output_unchanged is None
    assert comparison.note is not None and "different output" in comparison.note


@pytest.mark.slow
def test_a_failing_candidate_run_is_an_error(project: Path) -> None:
    comparison = run(project, "def checksum(n):\n    raise RuntimeError('broken')\n")
    assert comparison.speedup is None
    assert comparison.error is not None
    assert "with the candidates in place" in comparison.error
    assert "RuntimeError: broken" in comparison.error


def test_a_failing_original_run_is_an_error(project: Path) -> None:
    comparison = run(project, FASTER, command="python missing_script.py")
    assert comparison.speedup is None
    assert comparison.error is not None and "(original)" in comparison.error


def test_an_unreadable_original_module_is_an_error(project: Path) -> None:
    overrides = {"nowhere": (str(project / "nowhere.py"), FASTER)}
    comparison = measure_workload("python bench.py 1", project, overrides, settings=SETTINGS)
    assert comparison.error is not None and "cannot read an original module" in comparison.error


def test_output_comparison_rules() -> None:
    assert compare_outputs(["1\n", "1\n"], ["1\n", "1\n"]) == (True, None)
    assert compare_outputs(["1\n", "1\n"], ["1\n", "2\n"]) == (False, None)
    unchanged, note = compare_outputs(["1\n", "2\n"], ["1\n", "1\n"])
    assert unchanged is None and note is not None


def test_runs_must_be_positive(project: Path) -> None:
    comparison = measure_workload("python bench.py 1", project, {}, settings=SETTINGS, runs=0)
    assert comparison.error is not None and comparison.speedup is None


SLOW_LIBRARY = "def checksum(n):\n    return sum(i * i for i in range(n * 100)) % 1000003\n"


@pytest.mark.slow
@pytest.mark.serial  # how early it stops depends on the runs' spread
def test_a_clear_whole_workload_speedup_stops_early(project: Path) -> None:
    # The original computes for ~100 ms of CPU more than the candidate, which answers at once: the
    # CPU-time interval clears the threshold early (even at the interim 99.9% level), so
    # the runs stop well before the maximum.
    (project / "wlchecks.py").write_text(SLOW_LIBRARY)
    settings = MeasureSettings(workload_runs=4, max_workload_runs=10)
    comparison = measure_workload(
        "python bench.py 20000",
        project,
        {"wlchecks": (str(project / "wlchecks.py"), FASTER)},
        settings=settings,
        timeout=60,
    )
    assert comparison.error is None and comparison.speedup is not None
    speedup = comparison.speedup
    assert speedup.threshold is not None and speedup.ci_low > speedup.threshold  # faster
    assert 4 <= comparison.speedup.pairs < 10


def test_the_wall_and_cpu_ratios_disagreeing_is_said() -> None:
    from perfloop.measure.whole_workload import clocks_disagree, workload_speedup

    cpu = workload_speedup([1.0, 1.0, 1.0], [0.5, 0.5, 0.5], SETTINGS, clock="cpu")
    wall = workload_speedup([1.0, 1.01, 0.99], [1.0, 0.99, 1.01], SETTINGS)
    assert "read the wall-time ratio" in (clocks_disagree(cpu, wall) or "")
    assert clocks_disagree(cpu, cpu) is None
