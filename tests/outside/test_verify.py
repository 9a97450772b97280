"""`perfloop verify` on rewrites perfloop did not propose: what a user sees and the exit code."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import pytest
from outside_project import EDGE, HONEST, commit_all, git

import perfloop
from perfloop.cli.main import main
from perfloop.outside import CandidateError, Decision, VerifyResult

# fewer tiers and a smaller budget where a test is not about the verification's depth
QUICK = ["--tiers", "replay,fuzz", "--fuzz-examples", "40", "--mutants", "6"]
QUICK_API = {"tiers": ("replay", "fuzz"), "fuzz_examples": 40, "mutants": 0}


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"))
    return path


@pytest.mark.slow  # every tier, the strength self-check included
def test_a_correct_rewrite_is_equivalent_with_its_evidence(shop: Path, capsys) -> None:
    candidate = write(shop / "candidate.py", HONEST)
    code = main(["verify", "shop:cheapest", "--candidate", str(candidate), "--root", str(shop)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: EQUIVALENT" in out
    assert "tiers run: replay, fuzz" in out
    assert "  replay: same on 21 recorded calls" in out
    assert "  tests: skipped" in out  # the project has no tests, and says so
    assert "inputs tried: 21 of 21 recorded calls replayed" in out
    assert "generated inputs" in out
    assert "verification strength 100%: " in out and "mutants of the original told apart" in out


@pytest.mark.slow
def test_a_faster_rewrite_that_differs_on_an_edge_case_is_rejected_with_a_pasteable_call(
    shop: Path, capsys
) -> None:
    candidate = write(shop / "candidate.py", EDGE)
    code = main(
        ["verify", "shop:cheapest", "--candidate", str(candidate), "--root", str(shop), *QUICK]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "verdict: DIFFERENT" in out
    assert "raised builtins.ValueError, where the original raised builtins.IndexError" in out
    call = "from shop import cheapest; cheapest([])"
    assert f"    {call}\n" in out
    assert "inputs tried: 1 of 21" in out  # the smallest recorded call is tried first
    # the printed call reproduces the original's side of the difference as it stands
    ran = subprocess.run(
        [sys.executable, "-c", call], cwd=shop, capture_output=True, text=True, check=False
    )
    assert "IndexError" in ran.stderr


@pytest.mark.slow
def test_a_method_given_as_an_indented_def_on_stdin(shop: Path, capsys, monkeypatch) -> None:
    import io

    monkeypatch.setattr(
        "sys.stdin", io.StringIO("    def total(self, prices):\n        return sum(prices)\n")
    )
    code = main(["verify", "shop:Cart.total", "--candidate", "-", "--root", str(shop), *QUICK])
    out = capsys.readouterr().out
    # it forgets `self.seen += 1`: the instance's state after the call differs
    assert code == 1, out
    assert "argument state after the call differs" in out
    assert "self.seen" in out


@pytest.mark.slow
def test_candidate_ref_takes_the_function_as_it_is_at_another_commit(shop: Path) -> None:
    commit_all(shop, "base")
    shop_file = shop / "shop.py"
    original = shop_file.read_text()
    fast = (
        "    if not prices:\n"
        '        raise IndexError("list index out of range")\n'
        "    return min(prices)"
    )
    rewritten = original.replace("    return sorted(prices)[0]", fast)
    shop_file.write_text(rewritten.replace("cents // 100", "cents // 10"))  # and a change elsewhere
    commit_all(shop, "faster cheapest")
    git(shop, "checkout", "-q", "HEAD~1", "--", "shop.py")  # the working tree has the original

    result = perfloop.verify("shop:cheapest", candidate_ref="HEAD", root=shop, **QUICK_API)

    assert isinstance(result, VerifyResult)
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.candidate.origin == "outside:git:HEAD"
    assert "return min(prices)" in result.candidate.function_source
    assert "cents // 100" in result.candidate.module_source  # only the function was taken


@pytest.mark.slow
def test_a_later_command_reuses_the_recorded_calls_with_run(shop: Path) -> None:
    first = perfloop.verify("shop:cheapest", HONEST, root=shop, **QUICK_API)
    # the workload is not run again: this one would fail
    second = perfloop.verify(
        "shop:cheapest", EDGE, run=first.run_id, workload="exit 7", root=shop, **QUICK_API
    )
    assert first.decision is Decision.EQUIVALENT
    assert second.decision is Decision.DIFFERENT
    assert second.calls_recorded == first.calls_recorded == 21
    assert second.counterexample is not None
    assert second.counterexample.code == "from shop import cheapest; cheapest([])"
    assert second.counterexample.exact

    db = sqlite3.connect(shop / ".perfloop" / "perfloop.db")
    runs = dict(db.execute("SELECT run_id, status FROM runs").fetchall())
    assert runs == {first.run_id: "completed", second.run_id: "completed"}
    assert db.execute(
        "SELECT status FROM verdicts WHERE run_id=?", (second.run_id,)
    ).fetchone() == ("different",)
    assert db.execute(
        "SELECT COUNT(*) FROM call_records WHERE run_id=?", (second.run_id,)
    ).fetchone() == (21,)


def test_a_signature_change_is_rejected_before_anything_runs(shop: Path) -> None:
    result = perfloop.verify(
        "shop:cheapest", "def cheapest(prices, default=None):\n    return min(prices)\n", root=shop
    )  # refused by the gate: nothing is verified
    assert result.decision is Decision.REJECTED
    assert result.exit_code == 1
    assert "changes the signature" in result.reason
    assert result.verdict is None


def test_usage_errors_exit_2_and_say_what_to_do(shop: Path, capsys) -> None:
    candidate = write(shop / "candidate.py", HONEST)
    assert main(["verify", "shop:cheapst", "--candidate", str(candidate), "--root", str(shop)]) == 2
    assert "did you mean shop:cheapest?" in capsys.readouterr().out
    assert (
        main(
            [
                "verify",
                "shop:cheapest",
                "--candidate",
                str(candidate),
                "--run",
                "nope",
                "--root",
                str(shop),
            ]
        )
        == 2
    )
    assert "there is no run 'nope'" in capsys.readouterr().out
    write(candidate, "def something_else(x):\n    return x\n")
    assert (
        main(["verify", "shop:cheapest", "--candidate", str(candidate), "--root", str(shop)]) == 2
    )
    assert "defines no function 'cheapest'" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "shop:cheapest", "--root", str(shop)])  # no candidate at all
    assert exit_info.value.code == 2


def test_giving_two_candidates_to_the_api_is_an_error(shop: Path) -> None:
    with pytest.raises(CandidateError, match="exactly one candidate"):
        perfloop.verify("shop:cheapest", HONEST, candidate_ref="HEAD", root=shop)


def test_perfloop_verify_is_a_plain_function_beside_the_verification_package() -> None:
    import perfloop.verification as verification
    from perfloop.verification import verify_candidate

    assert perfloop.verification is verification
    assert verification.verify_candidate is verify_candidate
    assert isinstance(perfloop.verify, types.FunctionType)  # importing the package kept it
    assert type(perfloop) is types.ModuleType  # no module class swapped at import


def test_a_function_the_workload_never_calls_cannot_be_decided(shop: Path, capsys) -> None:
    candidate = write(shop / "candidate.py", "def unused(x):\n    return 1 + x\n")
    code = main(
        ["verify", "shop:unused", "--candidate", str(candidate), "--root", str(shop), *QUICK]
    )
    out = capsys.readouterr().out
    assert code == 3, out
    assert "verdict: UNDECIDED (exit 3): the workload never called it" in out


@pytest.mark.slow
def test_the_progress_says_when_the_projects_tests_are_run_first(shop: Path) -> None:
    """networkx 3.6.1: verify printed "Verifying on 200 recorded calls and beyond" and then
    nothing for 8 minutes, while it ran the project's suite to index it."""
    write(
        shop / "test_shop.py",
        "from shop import cheapest\n\n\ndef test_one():\n    assert cheapest([3, 1]) == 1\n",
    )
    candidate = write(shop / "candidate.py", HONEST)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "shop:cheapest", "--candidate",
         str(candidate), "--tiers", "replay,tests", "--mutants", "0"],
        cwd=shop, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded calls and beyond: running the project's tests once" in done.stderr
    assert "tests: same on 1 project test" in done.stdout
