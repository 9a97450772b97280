"""The shop project (see outside_project.py) as a fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from outside_project import BENCH, PYPROJECT, SHOP


@pytest.fixture
def shop(make_project) -> Path:
    return make_project(
        {
            "shop.py": SHOP,
            "bench.py": BENCH,
            "pyproject.toml": PYPROJECT,
            ".gitignore": ".perfloop/\n",
        }
    )
