"""The tests tier: the project's own tests that run the target, with the candidate in place."""

from __future__ import annotations

from perfloop.verification.project_tests import check_with_tests
from perfloop.verification.tiers.base import Tier

TIER = Tier("tests", "tests", "project tests", "in the project's tests", check_with_tests)
