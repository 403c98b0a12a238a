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


def test_trusted_proxies_are_ip_addresses_or_networks(tmp_path: Path) -> None:
    assert load_settings(tmp_path, env={}).api_trusted_proxies == ()  # none by default
    (tmp_path / SETTINGS_FILE).write_text(
        '[settings]\napi_trusted_proxies = ["127.0.0.1", "10.0.0.0/24", "0:0::1"]\n'
    )
    s = load_settings(tmp_path, env={})
    assert s.api_trusted_proxies == ("127.0.0.1", "10.0.0.0/24", "::1")
    s = load_settings(tmp_path, env={"CORRIDOR_API_TRUSTED_PROXIES": " 10.0.0.5, fd00::/8,"})
    assert s.api_trusted_proxies == ("10.0.0.5", "fd00::/8")
    s = load_settings(tmp_path, env={}, overrides={"api_trusted_proxies": ""})
    assert s.api_trusted_proxies == () and s.sources["api_trusted_proxies"] == "command line"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('["10.0.0.x"]', "'10.0.0.x' is not an IP address or network"),
        ('["proxy.example"]', "'proxy.example' is not an IP address or network"),
        ('"*"', "'*' is not an IP address or network: to trust every address"),
        ('["10.0.0.5/24"]', "'10.0.0.5/24' is not a network address: its host bits are set"),
        ('["10.0.0.0/99"]', "'10.0.0.0/99' is not an IP network"),
        ("true", "expected a list of IP addresses or networks, got True"),
    ],
)
def test_a_bad_trusted_proxy_is_refused_naming_setting_source_value_and_reason(
    tmp_path: Path, value: str, reason: str
) -> None:
    (tmp_path / SETTINGS_FILE).write_text(f"[settings]\napi_trusted_proxies = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, env={})
    assert f"setting 'api_trusted_proxies' from {tmp_path / SETTINGS_FILE}: {reason}" in str(
        err.value
    )
