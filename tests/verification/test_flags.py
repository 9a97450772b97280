"""The verification flags of `perfloop optimize` reach the settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfloop.cli import optimize
from perfloop.config import load_settings
from perfloop.verification.flags import VERIFY_FLAGS


def test_verification_flags_become_settings(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    optimize.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "optimize",
            "--accept-weak",
            "--fuzz-examples",
            "0",
            "--min-strength",
            "0.5",
            "--no-project-tests",
            "--exception-messages",
        ]
    )
    settings = load_settings(tmp_path, {key: getattr(args, key) for key in VERIFY_FLAGS})
    assert settings.accept_weak and settings.exception_messages and not settings.project_tests
    assert (settings.fuzz_examples, settings.min_strength) == (0, 0.5)
    untouched = parser.parse_args(["optimize"])
    defaults = load_settings(tmp_path, {key: getattr(untouched, key) for key in VERIFY_FLAGS})
    assert not defaults.accept_weak and defaults.fuzz_examples == 200 and defaults.project_tests
