"""The workspace's ``testing_min_age`` and ``completeness_threshold`` in every command that
ranks sites or computes indicators, as ``corridor indicators`` reads them (the settings file's
values, or the environment's over them)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from corridor.cli.demo import _hotspots
from corridor.workspace import open_workspace
from settingsworld import (
    PLACES,
    SETTINGS,
    build_workspace,
    cli_indicators,
    cli_ranking,
    ranking_at,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("settings")
    return build_workspace(tmp / "ws", tmp / "src")


def test_indicators_read_both_settings(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference the other outputs are held to: Kenya's positivity (five places of six) is
    incomplete at 95%, and testing coverage divides by the people aged 25 and over."""
    assert SETTINGS == {"testing_min_age": 25, "completeness_threshold": 95}
    rows = cli_indicators(capsys, folder)
    kenya = rows["positivity", "ken"]
    assert kenya["incomplete"] is True
    assert (kenya["places_reporting"], kenya["places_expected"]) == (5, 6)
    monkeypatch.setenv("CORRIDOR_TESTING_MIN_AGE", "15")
    monkeypatch.setenv("CORRIDOR_COMPLETENESS_THRESHOLD", "80")
    default = cli_indicators(capsys, folder)
    assert default["positivity", "ken"]["incomplete"] is False
    # fewer people aged 25 and over than 15 and over: a higher coverage
    coverage = rows["testing_coverage", "ken"]["value"]
    assert coverage > default["testing_coverage", "ken"]["value"] + 5


def test_hotspots_ranks_with_the_workspaces_testing_min_age(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at_25, at_15 = ranking_at(folder, 25), ranking_at(folder, 15)
    assert at_25 != at_15  # the world is made so that the setting moves the ranking
    assert [code for code, _ in cli_ranking(capsys, folder)] == at_25
    monkeypatch.setenv("CORRIDOR_TESTING_MIN_AGE", "15")  # the environment over the file
    assert [code for code, _ in cli_ranking(capsys, folder)] == at_15


def test_the_demos_ranking_reads_the_setting(folder: Path) -> None:
    """``corridor demo`` prints the top 10 of its own workspace, whose settings come from the
    environment (``CORRIDOR_TESTING_MIN_AGE=25 corridor demo``)."""
    out = io.StringIO()
    console = Console(file=out, width=200)
    ws = open_workspace(folder)
    try:
        top = _hotspots(console, ws)
    finally:
        ws.close()
    at_25, at_15 = ranking_at(folder, 25), ranking_at(folder, 15)
    assert top == at_25[0] != at_15[0]
    names = dict(line.split(",")[:2] for line in PLACES.splitlines()[1:])
    printed = re.findall(r"^ +\d+\. (.+?) {2,}", out.getvalue(), re.M)
    assert printed == [names[code] for code in at_25[:10]]
