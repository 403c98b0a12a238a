"""The report follows the workspace's ``completeness_threshold`` and ``testing_min_age`` as
``corridor indicators`` and ``corridor hotspots`` do, and says the threshold it applies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.config import load_settings
from corridor.reports.html import render_report
from corridor.workspace import Workspace, open_workspace
from settingsworld import PLACES, build_workspace, cli_indicators, cli_ranking

DEFAULTS = {"testing_min_age": 15, "completeness_threshold": 80}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report_settings")
    return build_workspace(tmp / "ws", tmp / "src")


@pytest.fixture(scope="module")
def ws(folder: Path) -> Iterator[Workspace]:
    ws = open_workspace(folder)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def html(ws: Workspace) -> str:
    return render_report(ws, draws=0)  # the workspace's settings


@pytest.fixture(scope="module")
def default_html(ws: Workspace, folder: Path) -> str:
    """The same warehouse under the settings' defaults."""
    return render_report(ws, settings=load_settings(folder, env={}, overrides=DEFAULTS), draws=0)


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _section(html: str, name: str) -> str:
    m = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return m.group(1)


def _all_groups(html: str, country: str) -> list[str]:
    """The cascade's cells (first, second, third 95, positivity, testing coverage) of the
    country's "All groups" row, as text."""
    bodies = _section(html, "cascade").split('<tbody class="country">')[1:]
    body = next(b for b in bodies if f'<th colspan="6">{country}</th>' in b)
    row = re.search(r'<tr class="group-total">(.*?)</tr>', body, re.S)
    assert row, body
    return [_text(c) for c in re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)]


def _percent(cell: str) -> float:
    m = re.match(r"([\d.]+)%", cell)
    assert m, cell
    return float(m.group(1))


def test_the_cascade_says_the_settings_it_applies(html: str, default_html: str) -> None:
    lead = _text(_section(html, "cascade"))
    assert "fewer than 95% of the places expected reported" in lead
    assert "of the ages offered testing (25 and over)" in lead
    default = _text(_section(default_html, "cascade"))
    assert "fewer than 80% of the places expected reported" in default
    assert "(15 and over)" in default


def test_the_threshold_is_printed_as_set(ws: Workspace, folder: Path) -> None:
    for value, words in ((92.5, "fewer than 92.5% of the places"), (0, "no cell is marked")):
        settings = load_settings(folder, env={}, overrides={"completeness_threshold": value})
        assert words in _text(_section(render_report(ws, settings=settings, draws=0), "cascade"))


def test_cascade_cells_are_the_clis(
    html: str, default_html: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kenya's positivity (five places of six) is incomplete at 95% and not at 80%; testing
    coverage divides by the people aged 25 and over: the values of ``corridor indicators``."""
    cli = cli_indicators(capsys, folder)
    kenya, default = _all_groups(html, "Kenya"), _all_groups(default_html, "Kenya")
    assert cli["positivity", "ken"]["incomplete"] is True
    assert "incomplete reporting" in kenya[3] and "5 of 6 places reported" in html
    assert "incomplete reporting" not in default[3]
    coverage = cli["testing_coverage", "ken"]["value"]
    assert _percent(kenya[4]) == pytest.approx(coverage, abs=0.051)
    assert abs(_percent(default[4]) - coverage) > 5


def _ranked(html: str) -> list[str]:
    body = _section(html, "hotspots")
    return re.findall(r'<td class="num">\d+</td>\s*<td><strong>(.*?)</strong></td>', body)


def test_the_ranking_is_the_clis(
    html: str, default_html: str, capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    names = dict(line.split(",")[:2] for line in PLACES.splitlines()[1:])
    assert _ranked(html) == [names[code] for code, _ in cli_ranking(capsys, folder)]
    assert _ranked(default_html) != _ranked(html)  # testing from 15 ranks otherwise
