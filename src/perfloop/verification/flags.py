"""The verification flags of the commands that verify (`optimize`, and any that want them).

Each flag maps to a Settings field of the same name (and a `[tool.perfloop]` key
with dashes); a flag not given stays None so the file or the default wins.
"""

from __future__ import annotations

import argparse

from perfloop.config import Settings

VERIFY_FLAGS = (
    "fuzz_examples",
    "fuzz_seconds",
    "exception_messages",
    "project_tests",
    "symbolic_seconds",
    "mutants",
    "min_strength",
    "accept_weak",
    "apply_without_tests",
)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("verification")
    group.add_argument(
        "--fuzz-examples",
        type=int,
        help=f"inputs fuzzed per candidate ({Settings.fuzz_examples}; 0: no fuzzing)",
    )
    group.add_argument(
        "--fuzz-seconds", type=float, help=f"fuzzing time per candidate ({Settings.fuzz_seconds:g})"
    )
    group.add_argument(
        "--exception-messages",
        action="store_true",
        default=None,
        help="exception messages must match too, not only their types",
    )
    group.add_argument(
        "--no-project-tests",
        dest="project_tests",
        action="store_false",
        default=None,
        help="do not run the project's tests against candidates",
    )
    group.add_argument(
        "--symbolic-seconds",
        type=float,
        help="symbolic check per candidate, needs perfloop[symbolic] "
        f"({Settings.symbolic_seconds:g}; 0: off)",
    )
    group.add_argument(
        "--mutants",
        type=int,
        help="mutants of each target for the self-check of verification strength "
        f"({Settings.mutants}; 0: off)",
    )
    group.add_argument(
        "--min-strength",
        type=float,
        help="verification strength below which a target is weakly verified "
        f"({Settings.min_strength})",
    )
    group.add_argument(
        "--accept-weak",
        action="store_true",
        default=None,
        help="let --apply write changes of weakly verified targets too",
    )
    group.add_argument(
        "--apply-without-tests",
        action="store_true",
        default=None,
        help="let --apply write changes although the project's tests could not run "
        "(the report marks them)",
    )
