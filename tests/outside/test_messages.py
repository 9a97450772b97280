"""What verify, bench and optimize tell a user on real code: each message true and actionable.

The project is shaped like humanize 4.9.0's `filesize.naturalsize` (see sizes_project.py),
where these messages were met.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sizes_project import FILES, OWN_IMPORT

from perfloop.cli import main

TARGET = "sizes.filesize:naturalsize"
REPLAY_ONLY = ["--tiers", "replay", "--mutants", "0"]


@pytest.fixture
def sizes(make_project) -> Path:
    return make_project(FILES)


def verify(root: Path, target: str, candidate: str, capsys, *extra: str) -> tuple[int, str]:
    path = root / "candidate.py"
    path.write_text(candidate.lstrip("\n"))
    code = main(["verify", target, "--candidate", str(path), "--root", str(root), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_candidate_may_import_the_projects_own_modules(sizes: Path, capsys) -> None:
    imports = (
        "from sizes.units import base_of\nfrom tools import magnitude",  # absolute, own modules
        "from .units import base_of\nfrom tools import magnitude",  # relative, inside sizes/
    )
    code, out = verify(sizes, TARGET, OWN_IMPORT.format(imports=imports[0]), capsys, *REPLAY_ONLY)
    assert code == 0, out
    assert "verdict: EQUIVALENT" in out and "replay: same on 40 recorded calls" in out
    run = out.split("reuse these calls: --run ")[1].split()[0]
    again = OWN_IMPORT.format(imports=imports[1])
    code, out = verify(sizes, TARGET, again, capsys, "--run", run, *REPLAY_ONLY)
    assert code == 0, out
    assert "verdict: EQUIVALENT" in out


@pytest.mark.parametrize(
    ("imports", "refused"),
    [
        ("import sortedcontainers\nfrom tools import magnitude", "sortedcontainers, which is"),
        ("from ..units import base_of", "..units (a relative import), which climbs out"),
    ],
)
def test_an_import_from_outside_the_project_is_still_refused(
    sizes: Path, capsys, imports: str, refused: str
) -> None:
    candidate = OWN_IMPORT.format(imports=imports).replace("base_of(binary)", "1000")
    code, out = verify(sizes, TARGET, candidate, capsys, *REPLAY_ONLY)
    assert code == 1, out
    assert f"verdict: REJECTED (exit 1): the candidate imports {refused}" in out


def test_a_function_the_workload_never_calls_offers_no_calls_to_reuse(sizes: Path, capsys) -> None:
    candidate = "def unused(value):\n    return value + 0\n"
    code, out = verify(sizes, "sizes.filesize:unused", candidate, capsys, *REPLAY_ONLY)
    assert code == 3, out
    assert "verdict: UNDECIDED (exit 3): the workload never called it" in out
    assert "reuse these calls" not in out  # the run has none
    assert "no calls of sizes.filesize:unused were recorded" in out
    assert "give a --workload that calls it" in out
    assert "verification strength: none: nothing was verified" in out
    assert "not measured" not in out  # the candidate never ran: there was nothing to measure


def test_an_unknown_module_names_no_flag_verify_does_not_have(sizes: Path, capsys) -> None:
    code, out = verify(
        sizes, "sizes.nothere:naturalsize", "def naturalsize(v):\n    return v\n", capsys
    )
    assert code == 2, out
    assert "no module 'sizes.nothere'" in out
    assert "--function" not in out
    assert "name the function as module:qualname" in out
