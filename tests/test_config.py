from __future__ import annotations

from pathlib import Path

import pytest

from corridor.config import SETTINGS_FILE, load_settings, settings_template
from corridor.errors import ConfigError


def test_layers_in_order(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(
        '[settings]\nsuppression_threshold = 5\nextra_age_bands = ["15-19"]\n'
    )
    s = load_settings(tmp_path, env={})
    assert s.suppression_threshold == 5 and s.sources["suppression_threshold"] == str(
        tmp_path / SETTINGS_FILE
    )
    s = load_settings(tmp_path, env={"CORRIDOR_SUPPRESSION_THRESHOLD": "7"})
    assert s.suppression_threshold == 7 and s.sources["suppression_threshold"] == "environment"
    s = load_settings(
        tmp_path,
        env={"CORRIDOR_SUPPRESSION_THRESHOLD": "7"},
        overrides={"suppression_threshold": 3},
    )
    assert s.suppression_threshold == 3
    assert s.extra_age_bands == ("15-19",)


def test_errors_name_the_source(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text("[settings]\nsuppression_threshold = 0\n")
    with pytest.raises(ConfigError, match=SETTINGS_FILE):
        load_settings(tmp_path, env={})
    (tmp_path / SETTINGS_FILE).write_text("[settings]\ncolour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(tmp_path, env={})
    (tmp_path / SETTINGS_FILE).write_text("not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path, env={})


def test_template_is_valid_and_default(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(settings_template())
    s = load_settings(tmp_path, env={})
    assert s.suppression_threshold == 10 and s.db == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # a mistyped section or a setting outside [settings] would leave the default in force
        ("[setting]\nsuppression_threshold = 50\n", "unknown key(s) or section(s) setting"),
        ("suppression_threshold = 50\n", "section(s) suppression_threshold"),
        ("settings = 5\n", "must be a section"),
        # true is not 1 (a threshold of 1 turns disclosure control off), nor 2.5 two
        ("[settings]\nsuppression_threshold = true\n", "expected a whole number, got True"),
        ("[settings]\nsuppression_threshold = 12.5\n", "expected a whole number, got 12.5"),
    ],
)
def test_a_settings_file_written_wrong_is_refused(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / SETTINGS_FILE).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, env={})
    assert reason in str(err.value)


def test_whole_numbers_from_the_environment_and_toml_still_read(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text("[settings]\nsuppression_threshold = 12.0\n")
    assert load_settings(tmp_path, env={}).suppression_threshold == 12
    s = load_settings(tmp_path, env={"CORRIDOR_SUPPRESSION_THRESHOLD": "11"})
    assert s.suppression_threshold == 11
