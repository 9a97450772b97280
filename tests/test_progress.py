"""What a command shows while it works: plain lines in a log, a live line on a terminal."""

from __future__ import annotations

import io

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
