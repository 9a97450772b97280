"""Progress as the stages report it: a text per step, and a detail inside the current step.

Below the pipeline and the outside-candidate commands, which both report tiers."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


class Detail(str):
    """A progress step inside the current one (the candidate being verified, its tier):
    a terminal shows it on a second live line under the stage or target it belongs to,
    which stays; a log gets a line for it like for any step. Still a plain str, so any
    Progress (a list's append) takes it."""


def tier_progress(progress: Progress, doing: str) -> Callable[[str], None]:
    """What verify_candidate calls as each tier starts: `doing: replay tier`."""
    return lambda tier: progress(Detail(f"{doing}: {tier} tier"))


__all__ = ["Detail", "Progress", "tier_progress"]
