"""Recipe sources that are not there or not recipes: a clear error, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.config import ConfigError
from perfloop.recipes.library import load_library


def test_a_missing_or_foreign_source_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; give a file written by"):
        load_library(["nowhere.json"], tmp_path)
    (tmp_path / "other.json").write_text('{"schema": "perfloop.export.pie/1"}')
    with pytest.raises(ConfigError, match="not a recipe library written by `perfloop recipes"):
        load_library(["other.json"], tmp_path)
    (tmp_path / "project").mkdir()
    with pytest.raises(ConfigError, match="has no perfloop runs"):
        load_library(["project"], tmp_path)


def test_recipes_in_a_project_without_runs_says_how_to_make_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recipes", "--root", str(tmp_path)]) == 0
    assert "no recipes" in capsys.readouterr().out
    assert main(["recipes", "show", "r123", "--root", str(tmp_path)]) == 2
    assert "no recipe 'r123'" in capsys.readouterr().out
