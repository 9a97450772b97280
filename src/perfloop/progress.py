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
    """What verify_candidate calls as each tier starts: `doing: replay tier`; and, as the
    mutants of the original run after the tiers (STRENGTH_STEP), says so: `verify` on
    attrs 25.3.0's astuple showed "rollout tier" for the 8 of its 10 minutes the mutants took."""

    def tell(tier: str) -> None:
        if tier == STRENGTH_STEP:
            progress(Detail(f"{doing}: checking how strong the verification is (mutants)"))
        else:
            progress(Detail(f"{doing}: {tier} tier"))

    return tell


STRENGTH_STEP = "strength"


__all__ = ["STRENGTH_STEP", "Detail", "Progress", "tier_progress"]
