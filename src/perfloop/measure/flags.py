"""The measurement flags of `perfloop optimize`: what counts as better, how long to look."""

from __future__ import annotations

import argparse

from perfloop.config import Settings

MEASURE_FLAGS = ("objective", "max_slowdown", "measure_budget", "measure_processes", "counters")


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("measurement")
    group.add_argument(
        "--objective",
        choices=("time", "memory"),
        help="make functions faster (time, the default) or need less memory per call "
        "(memory: the peak must shrink by --min-speedup and time may not get worse than "
        "--max-slowdown)",
    )
    group.add_argument(
        "--max-slowdown",
        type=float,
        help="with --objective memory: the slowest a candidate may be, as a ratio "
        f"({Settings.max_slowdown})",
    )
    group.add_argument(
        "--measure-budget",
        type=float,
        metavar="SECONDS",
        help="wall-clock seconds one candidate's A/B may extend to while undecided "
        f"({Settings.measure_budget:g})",
    )
    group.add_argument(
        "--measure-processes",
        type=int,
        help=f"worker processes every A/B runs before it may stop ({Settings.measure_processes})",
    )
    group.add_argument(
        "--counters",
        action="store_true",
        default=None,
        help="count instructions of faster candidates (perf stat, or callgrind: slow)",
    )
