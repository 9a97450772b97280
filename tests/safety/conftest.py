"""A read-only folder for the safety tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only for real: a read-only bind mount as root, else chmod."""
    mounted: list[Path] = []
    chmodded: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() == 0:
            done = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
            mounted.append(path)
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        else:
            for item in [path, *path.rglob("*")]:
                item.chmod(item.stat().st_mode & ~0o222)
                chmodded.append(item)

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", str(path)], check=False)
    for item in chmodded:
        item.chmod(item.stat().st_mode | 0o200)
