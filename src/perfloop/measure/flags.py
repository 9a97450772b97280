"""The measurement flags of `perfloop optimize`: what counts as better, how long to look.

Each is a setting declared in `perfloop.config.Settings` (its help, type and default).
"""

from __future__ import annotations

import argparse

from perfloop.config import add_setting_arguments

MEASURE_FLAGS = ("objective", "max_slowdown", "measure_budget", "measure_processes", "counters")


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser.add_argument_group("measurement"), MEASURE_FLAGS)
