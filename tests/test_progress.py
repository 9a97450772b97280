"""What a command shows while it works: plain lines in a log, a live line on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from perfloop.cli.progress import plain_lines, progress_shown


def test_a_log_gets_one_line_per_new_step_with_the_time_taken() -> None:
    now = [100.0]
    stream = io.StringIO()
    report = plain_lines(stream, clock=lambda: now[0])
    report("Profiling the workload")
    now[0] += 65.4
    report("Target 2 of 5: shop:cheapest")
    report("Target 2 of 5: shop:cheapest")  # the same step again: no new line
    assert stream.getvalue().splitlines() == [
        "perfloop [0:00] Profiling the workload",
        "perfloop [1:05] Target 2 of 5: shop:cheapest",
    ]


def test_a_terminal_gets_a_live_line_that_is_gone_at_the_end() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with progress_shown(console) as report:
        report("Capturing calls of 3 functions")
    shown = screen.getvalue()
    assert "Capturing calls of 3 functions" in shown
    assert "0:00:00" in shown  # the time taken so far
    assert shown.endswith("\x1b[1A\x1b[2K")  # the line is erased when the work is done


def test_the_time_left_for_the_targets_is_estimated_from_the_finished_ones() -> None:
    from perfloop.pipeline.run import time_left_text

    assert time_left_text([], 5) == ""  # nothing finished: nothing to go on
    assert time_left_text([60.0, 60.0], 5) == " (about 3 min left for the targets)"
    assert time_left_text([20.0], 3) == " (about 40 s left for the targets)"
    assert time_left_text([6.0], 2) == " (about 10 s left for the targets)"
    # a target done at once (no candidate, a reused result) says nothing about the others
    assert time_left_text([0.3], 5) == ""
    assert time_left_text([0.3, 120.0], 5) == " (about 6 min left for the targets)"
    assert time_left_text([60.0, 60.0, 60.0], 3) == ""  # all done


def test_a_detail_shows_under_its_stage_and_goes_with_the_next_stage() -> None:
    from perfloop.progress import Detail

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with progress_shown(console) as report:
        report("Target 1 of 2: shop:known")
        report(Detail("shop:known: verifying rule:set-membership: fuzz tier"))
        console.file.write("<mark>")  # what was on screen before the next stage
        report("Target 2 of 2: shop:ways")
    before, _, after = screen.getvalue().partition("<mark>")
    last = before.rpartition("\x1b[1A")[2]  # the last refresh before the mark: two lines
    assert "Target 1 of 2: shop:known" in before
    assert "verifying rule:set-membership: fuzz tier" in last
    assert "Target 2 of 2: shop:ways" in after
    assert "fuzz tier" not in after  # the next stage's display has no stale step under it


def test_a_log_gets_a_line_for_each_detail_too() -> None:
    from perfloop.progress import Detail

    stream = io.StringIO()
    report = plain_lines(stream, clock=lambda: 0.0)
    report("Target 1 of 1: shop:known")
    report(Detail("shop:known: verifying rule:x: replay tier"))
    assert stream.getvalue().splitlines()[-1] == (
        "perfloop [0:00] shop:known: verifying rule:x: replay tier"
    )


@pytest.mark.slow  # a whole run of the pipeline, about a minute
def test_the_progress_says_when_the_mutants_run_beside_the_candidates(make_project) -> None:
    # idna 3.10's check_label showed "rollout tier" for the 23 s its mutants took beside
    # the candidates, pyasn1 0.6.1's AbstractItemEncoder.encode for 61 s: the self-check
    # ran in the pool with them and never said so
    from perfloop.config import load_settings
    from perfloop.pipeline import optimize

    root = make_project(
        {
            "lib.py": """
                STOP = ["a", "the", "of"]

                def content_words(words):
                    kept = []
                    for word in words:
                        if word not in STOP:
                            kept.append(word)
                    return kept
            """,
            "bench.py": """
                from lib import content_words
                print(sum(len(content_words(["a", "cat", "of", "dog"] * 50)) for _ in range(200)))
            """,
        }
    )
    settings = {
        "workload": "python bench.py",
        "functions": ("lib:content_words",),
        "candidate_timeout": 10.0,
        "measure_processes": 2,
        "measure_budget": 2.0,
        "mutants": 3,
        "fuzz_examples": 10,
        "rollout": False,
        "project_tests": False,
        "symbolic_seconds": 0,
        "workload_runs": 2,
        "max_workload_runs": 2,
        "cache": False,
    }
    progress: list[str] = []
    optimize(load_settings(root, settings), progress=progress.append)
    said = [i for i, text in enumerate(progress) if text.endswith("(mutants)")]
    timing = [i for i, text in enumerate(progress) if ": timing " in text]
    assert said and timing, progress
    assert said[0] < timing[0], progress
