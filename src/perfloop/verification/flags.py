"""The verification flags of the commands that verify (`optimize`, and any that want them).

Each flag is a setting declared in `perfloop.config.Settings` (its help, type and
default; a `[tool.perfloop]` key with dashes); a flag not given stays None so the file
or the default wins.
"""

from __future__ import annotations

import argparse

from perfloop.config import add_setting_arguments

VERIFY_FLAGS = (
    "fuzz_examples",
    "fuzz_seconds",
    "exception_messages",
    "project_tests",
    "tests_runner",
    "rollout",
    "symbolic_seconds",
    "mutants",
    "min_strength",
    "accept_weak",
    "apply_without_tests",
)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser.add_argument_group("verification"), VERIFY_FLAGS)
