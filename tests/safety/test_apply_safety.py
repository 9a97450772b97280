"""Safe apply: git checks, a new branch instead of the working tree, the journal that
lets a killed apply be undone, and `perfloop revert`."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.patch import (
    ApplyRefused,
    FileChange,
    apply_changes,
    check_git_clean,
    commit_to_branch,
    journal_state,
    mark_journal,
    recover_interrupted,
)

ORIGINAL = "def cheapest(prices):\n    return sorted(prices)[0]\n"
NEW = "def cheapest(prices):\n    return min(prices)\n"
CHANGE = FileChange("shop.py", ORIGINAL, NEW)
RUN = "20260101-000000-abcd"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "shop.py").write_text(ORIGINAL)
    (root / "notes.txt").write_text("unrelated\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start")
    return root


def backup_of(root: Path) -> Path:
    return root / ".perfloop" / "runs" / RUN / "backup"


def test_uncommitted_changes_in_a_target_file_refuse_the_apply(repo: Path) -> None:
    (repo / "shop.py").write_text(ORIGINAL + "# work in progress\n")
    change = FileChange("shop.py", ORIGINAL + "# work in progress\n", NEW)
    with pytest.raises(ApplyRefused, match=r"shop\.py has uncommitted changes in git; nothing"):
        check_git_clean(repo, [change], force=False)
    check_git_clean(repo, [change], force=True)  # --force: the user's call


def test_uncommitted_changes_elsewhere_do_not_matter(repo: Path) -> None:
    (repo / "notes.txt").write_text("edited\n")
    check_git_clean(repo, [CHANGE], force=False)


def test_outside_git_there_is_nothing_to_check(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ORIGINAL)
    check_git_clean(tmp_path, [CHANGE], force=False)


def test_branch_gets_the_patch_and_the_working_tree_and_index_stay_as_they_were(
    repo: Path,
) -> None:
    (repo / "notes.txt").write_text("edited, not staged\n")
    status_before = git(repo, "status", "--porcelain")
    commit = commit_to_branch(repo, [CHANGE], "perfloop/faster", "perfloop run x")
    assert git(repo, "show", "perfloop/faster:shop.py") == NEW
    assert git(repo, "show", "perfloop/faster:notes.txt") == "unrelated\n"
    assert git(repo, "rev-parse", "perfloop/faster").strip() == commit
    parent = git(repo, "rev-parse", "perfloop/faster^").strip()
    assert parent == git(repo, "rev-parse", "main").strip()
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert (repo / "shop.py").read_text() == ORIGINAL
    assert git(repo, "status", "--porcelain") == status_before


def test_branch_refuses_an_existing_branch_and_a_file_that_differs_from_head(repo: Path) -> None:
    git(repo, "branch", "taken")
    with pytest.raises(ApplyRefused, match="the branch 'taken' already exists"):
        commit_to_branch(repo, [CHANGE], "taken", "m")
    (repo / "shop.py").write_text(ORIGINAL + "# edited\n")
    edited = FileChange("shop.py", ORIGINAL + "# edited\n", NEW)
    with pytest.raises(ApplyRefused, match=r"shop\.py at HEAD is not the version this run"):
        commit_to_branch(repo, [edited], "fresh", "m")
    with pytest.raises(ApplyRefused, match="not a valid git branch name"):
        commit_to_branch(repo, [CHANGE], "no..dots", "m")


def test_branch_needs_git(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ORIGINAL)
    with pytest.raises(ApplyRefused, match="--branch needs a git repository"):
        commit_to_branch(tmp_path, [CHANGE], "b", "m")


def test_an_apply_keeps_a_journal_and_revert_puts_the_original_back(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_changes(repo, [CHANGE], backup_of(repo))
    assert journal_state(backup_of(repo)) == "applied"
    mark_journal(backup_of(repo), "confirmed")
    assert (repo / "shop.py").read_text() == NEW
    assert main(["revert", RUN, "--root", str(repo)]) == 0
    assert "restored the originals of run" in capsys.readouterr().out
    assert (repo / "shop.py").read_text() == ORIGINAL
    assert journal_state(backup_of(repo)) == "reverted"
    assert main(["revert", RUN, "--root", str(repo)]) == 0  # twice: nothing to do
    assert "already undone" in capsys.readouterr().out


def test_revert_json_says_what_it_restored(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apply_changes(repo, [CHANGE], backup_of(repo))
    mark_journal(backup_of(repo), "confirmed")
    assert main(["revert", RUN, "--root", str(repo), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "schema": "perfloop.revert/1",
        "run_id": RUN,
        "outcome": "restored",
        "restored": ["shop.py"],
        "message": f"restored the originals of run {RUN}: shop.py",
    }
    assert main(["revert", RUN, "--root", str(repo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "already-undone"


@pytest.mark.parametrize("mode", [0o644, 0o755, 0o640])
def test_apply_and_revert_keep_each_file_s_mode(repo: Path, mode: int) -> None:
    (repo / "shop.py").chmod(mode)  # once, `perfloop revert` left a 0644 file as 0600
    status = git(repo, "status", "--porcelain")
    apply_changes(repo, [CHANGE], backup_of(repo))
    assert stat.S_IMODE((repo / "shop.py").stat().st_mode) == mode
    mark_journal(backup_of(repo), "confirmed")
    assert main(["revert", RUN, "--root", str(repo)]) == 0
    assert (repo / "shop.py").read_text() == ORIGINAL
    assert stat.S_IMODE((repo / "shop.py").stat().st_mode) == mode
    assert git(repo, "status", "--porcelain") == status + "?? .perfloop/\n"
    assert sorted(p.name for p in repo.iterdir()) == [".git", ".perfloop", "notes.txt", "shop.py"]


def test_revert_leaves_a_file_edited_since_the_apply_alone_unless_forced(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_changes(repo, [CHANGE], backup_of(repo))
    mark_journal(backup_of(repo), "confirmed")
    (repo / "shop.py").write_text(NEW + "# my edit\n")
    assert main(["revert", RUN, "--root", str(repo)]) == 1
    said = " ".join(capsys.readouterr().out.split())
    assert "shop.py changed after perfloop patched it; nothing was written" in said
    assert (repo / "shop.py").read_text() == NEW + "# my edit\n"
    assert main(["revert", RUN, "--root", str(repo), "--force"]) == 0
    assert (repo / "shop.py").read_text() == ORIGINAL


def test_an_apply_killed_before_it_was_confirmed_is_undone_by_the_next_run(repo: Path) -> None:
    apply_changes(repo, [CHANGE], backup_of(repo))  # then "killed": never confirmed
    messages = recover_interrupted(repo)
    assert (repo / "shop.py").read_text() == ORIGINAL
    assert messages == [
        f"run {RUN} was stopped while applying its patch before it was confirmed; "
        "the original files were restored (shop.py)"
    ]
    assert journal_state(backup_of(repo)) == "rolled-back"
    assert recover_interrupted(repo) == []  # once


def test_a_killed_apply_that_renamed_only_some_files_is_undone_whole(repo: Path) -> None:
    (repo / "other.py").write_text("x = 1\n")
    other = FileChange("other.py", "x = 1\n", "x = 2\n")
    apply_changes(repo, [CHANGE, other], backup_of(repo))
    (repo / "other.py").write_text("x = 1\n")  # as if killed between the two renames
    journal = backup_of(repo) / "journal.json"
    document = json.loads(journal.read_text())
    document["state"] = "applying"
    journal.write_text(json.dumps(document))
    recover_interrupted(repo)
    assert (repo / "shop.py").read_text() == ORIGINAL
    assert (repo / "other.py").read_text() == "x = 1\n"


def test_a_confirmed_apply_is_left_alone(repo: Path) -> None:
    apply_changes(repo, [CHANGE], backup_of(repo))
    mark_journal(backup_of(repo), "confirmed")
    assert recover_interrupted(repo) == []
    assert (repo / "shop.py").read_text() == NEW
