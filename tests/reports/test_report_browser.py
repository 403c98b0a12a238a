"""The report in headless Chromium at 1366x900 and 390x844 (a phone): no sideways scrolling (wide
tables scroll in their own box), no console error, no request to any host; printed on A4."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import assert_reads_well, chromium_path, open_report
from corridor.reports.html import write_report
from corridor.workspace import Workspace, init_workspace

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    chromium_path()  # skip (or fail under CI) before building anything
    folder = tmp_path_factory.mktemp("browser")
    ws = init_workspace(folder / "ws")
    try:
        for name, kind, quarantine in (
            ("places.csv", "places", False),
            ("services.csv", "services", False),
            ("flows.csv", "flows", True),
            ("cases.csv", "cases", False),
        ):
            ws.ingest([QUICKSTART / name], kind, quarantine=quarantine)
        yield ws, write_report(ws, folder / "report.html", draws=50)
    finally:
        ws.close()


def test_report_reads_on_a_laptop_and_a_phone(report: tuple[Workspace, Path]) -> None:
    _ws, html = report
    checks, pages = open_report(html, "quickstart-report")
    assert [c.viewport for c in checks] == [(1366, 900), (390, 844)]
    assert_reads_well(checks)
    assert 1 <= pages <= 12


def test_report_sections_and_names(report: tuple[Workspace, Path]) -> None:
    _ws, html = report
    text = html.read_text(encoding="utf-8")
    for section in ("summary", "map", "hotspots", "cascade", "trends", "outbreak", "quality"):
        assert f'<section id="{section}">' in text
    assert "Northern" in text and "Central" in text  # corridor names, capitalised
    assert "Lake Victoria" in text  # the landing sites sit on the lake
    assert "Not allocated to a group" not in text or "of the denominator" in text
    assert "corridor quarantine" in text
