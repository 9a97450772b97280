"""Settings come from [tool.perfloop], and flags win."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.config import ConfigError, load_settings


def pyproject(root: Path, body: str) -> Path:
    (root / "pyproject.toml").write_text(f"[tool.perfloop]\n{body}\n")
    return root


def test_file_settings_are_read_and_flags_win(tmp_path: Path) -> None:
    root = pyproject(tmp_path, 'workload = "python bench.py"\ntop = 3\nmin-speedup = 1.2')
    settings = load_settings(root, {"top": 7, "min_speedup": None})
    assert settings.workload == "python bench.py"
    assert settings.top == 7
    assert settings.min_speedup == 1.2


def test_a_misspelt_key_is_named_with_the_closest_known_key(tmp_path: Path) -> None:
    root = pyproject(tmp_path, "min-speedp = 1.2")
    with pytest.raises(ConfigError, match=r"unknown key 'min-speedp'.*did you mean 'min-speedup'"):
        load_settings(root, {})


def test_invalid_values_say_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"min-speedup must be a number of at least 1\.0"):
        load_settings(tmp_path, {"min_speedup": 0.5})
    with pytest.raises(ConfigError, match="top must be a whole number"):
        load_settings(tmp_path, {"top": 0})


def test_broken_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.perfloop\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(tmp_path, {})


def test_verification_settings_come_from_the_file_and_flags_and_are_checked(tmp_path: Path) -> None:
    root = pyproject(tmp_path, "fuzz-examples = 50\nmin-strength = 0.9\naccept-weak = true")
    settings = load_settings(root, {"fuzz_seconds": 2.5, "mutants": None})
    assert (settings.fuzz_examples, settings.min_strength, settings.accept_weak) == (50, 0.9, True)
    assert settings.fuzz_seconds == 2.5 and settings.mutants == 30
    with pytest.raises(ConfigError, match="min-strength must be a share between 0 and 1"):
        load_settings(tmp_path, {"min_strength": 80})
    with pytest.raises(ConfigError, match="fuzz-examples must be a whole number of at least 0"):
        load_settings(tmp_path, {"fuzz_examples": -1})


def test_every_stage_takes_its_defaults_from_the_one_settings_declaration(tmp_path: Path) -> None:
    """A stage used as a library (perfloop.verify, MeasureSettings()) behaves as the command
    does with no flags: the defaults are declared once, in Settings."""
    from perfloop.capture import CaptureSettings
    from perfloop.llm.settings import LLMSettings, llm_settings
    from perfloop.measure import MeasureSettings, settings_from
    from perfloop.verification import VerifySettings
    from perfloop.verification.compare import DEFAULT_POLICY

    defaults = load_settings(tmp_path, {})
    assert VerifySettings.from_settings(defaults, DEFAULT_POLICY) == VerifySettings()
    assert settings_from(defaults) == MeasureSettings()
    assert CaptureSettings.of(defaults) == CaptureSettings()
    with_model = load_settings(tmp_path, {"llm": "openai:some-model"})
    assert llm_settings(with_model) == LLMSettings(backend="openai", model="some-model")


def test_every_number_and_switch_is_checked_and_a_wrong_value_is_named(tmp_path: Path) -> None:
    import dataclasses

    from perfloop.config import Settings

    for setting in dataclasses.fields(Settings):
        if setting.name in {"apply", "force"}:  # flags only: argparse gives a bool
            continue
        if setting.name == "llm_prices":  # "0.15,0.60" or two numbers: read by llm_settings
            continue
        kind = str(setting.type)
        if not any(word in kind for word in ("int", "float", "bool")):
            continue
        assert "check" in setting.metadata, f"{setting.name} has no check"
        name = setting.name.replace("_", "-")
        with pytest.raises(ConfigError, match=f"^{name} must be .*, not 'lots'$"):
            load_settings(tmp_path, {setting.name: "lots"})
