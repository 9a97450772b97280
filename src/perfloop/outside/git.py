"""The few git questions outside candidates need: a file at a commit, and what changed since."""

from __future__ import annotations

import subprocess
from pathlib import Path

from perfloop.config import ConfigError


def git(root: Path, *args: str) -> str:
    """Run git in `root`; ConfigError with git's own message if it fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError as exc:
        raise ConfigError(
            "git is not installed; install it or pass the candidate as a file"
        ) from exc
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit code {done.returncode}"
        raise ConfigError(f"`git {' '.join(args)}` failed in {root}: {message}")
    return done.stdout


def check_ref(root: Path, ref: str) -> str:
    """The commit `ref` names; ConfigError if it names none (a typo, or a shallow clone)."""
    try:
        git(root, "rev-parse", "--show-toplevel")
    except ConfigError as exc:
        raise ConfigError(
            f"{root} is not in a git repository; --candidate-ref and check --base read the "
            "code at a commit, so run them in a clone (or pass the candidate as a file)"
        ) from exc
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except ConfigError as exc:
        raise ConfigError(
            f"{ref!r} is not a commit in the repository at {root}; give a branch, tag or commit "
            "(in CI, fetch it first: `git fetch origin main` and pass origin/main)"
        ) from exc


def file_at(root: Path, ref: str, relative: str) -> str | None:
    """The text of `relative` (to `root`) as it was at `ref`, or None if it did not exist then."""
    check_ref(root, ref)
    try:
        git(root, "cat-file", "-e", f"{ref}:./{relative}")
    except ConfigError:
        return None
    return git(root, "show", f"{ref}:./{relative}")


def changed_files(root: Path, ref: str) -> list[str]:
    """Files under `root` (relative to it) that differ between `ref` and the working tree."""
    check_ref(root, ref)
    output = git(root, "diff", "--name-only", "--relative", ref, "--", ".")
    return sorted(line for line in output.splitlines() if line.strip())
