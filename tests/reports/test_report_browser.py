"""The report in headless Chromium at 1366x900 and 390x844 (a phone): no sideways scrolling (wide
tables scroll in their own box), no console error, no request to any host; printed on A4."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import assert_reads_well, chromium_path, off_loop, open_report
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


#: a site name without a space to break at (a code, a long compound, a name run together)
LONG_NAME = "KisumuDungaBeachManagementUnitFishLandingSiteAndMarket" * 4
#: A4 (210 mm) less the print CSS's side margins (2 x 12 mm), in CSS pixels
A4_TEXT_WIDTH = round((210 - 24) / 25.4 * 96)


def test_a_long_name_neither_widens_the_page_nor_runs_off_paper(tmp_path: Path) -> None:
    """A long name without spaces (in the summary, the map's key and the tables) wrapped
    nowhere: the page scrolled sideways at 1366 and 390 px, and in print the ranking was wider
    than the A4 page (Chromium cut it off, or shrank every page to fit)."""

    def run() -> None:
        from playwright.sync_api import sync_playwright

        from reports.test_report import write_sources

        executable = chromium_path()
        src = tmp_path / "src"
        src.mkdir()
        write_sources(src)
        places = src / "places.csv"
        places.write_text(places.read_text().replace("Nakuru,", f"{LONG_NAME},"), encoding="utf-8")
        ws = init_workspace(tmp_path / "ws")
        try:
            for kind in ("places", "services", "flows", "cases"):
                ws.ingest([src / f"{kind}.csv"], kind)
            html = write_report(ws, tmp_path / "report.html", period="2024", draws=20)
        finally:
            ws.close()
        assert LONG_NAME in html.read_text(encoding="utf-8")
        widths = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                for width, height in ((1366, 900), (390, 844)):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(html.resolve().as_uri(), wait_until="load")
                    scroll, client = page.evaluate(widths)
                    assert scroll <= client, f"{width} px: the page scrolls sideways to {scroll} px"
                    page.close()
                page = browser.new_page(viewport={"width": A4_TEXT_WIDTH, "height": 1000})
                page.emulate_media(media="print")
                page.goto(html.resolve().as_uri(), wait_until="load")
                scroll, client = page.evaluate(widths)
                assert scroll <= client, f"printed: {scroll} px wide on a page of {client} px"
                page.close()
            finally:
                browser.close()

    off_loop(run)  # (Playwright's sync API in a thread of its own: browser.off_loop)


def test_the_demo_report_prints_full_size_on_at_most_twelve_pages(
    demo_workspace: Workspace, tmp_path: Path
) -> None:
    """The demonstration world's report printed shrunk to 71%: the cascade's row of people not
    allocated to a group ("46.5% of the denominator 10,679 / 11,310" in every column) did not
    wrap, and Chromium shrinks every page of a document with anything wider than the paper.
    Letting it wrap printed 13 pages; the report is documented to print on at most 12."""

    def run() -> None:
        from playwright.sync_api import sync_playwright

        from browser import ARTEFACTS, _count_pdf_pages

        executable = chromium_path()
        html = write_report(demo_workspace, tmp_path / "report.html")  # as `corridor demo` does
        widths = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page(viewport={"width": A4_TEXT_WIDTH, "height": 1000})
                page.emulate_media(media="print")
                page.goto(html.resolve().as_uri(), wait_until="load")
                scroll, client = page.evaluate(widths)
                wide = page.evaluate(
                    "[...document.querySelectorAll('table')].filter(t => "
                    "t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                    ".map(t => t.className)"
                )
                page.close()
                page = browser.new_page()
                page.goto(html.resolve().as_uri(), wait_until="load")
                pdf = page.pdf(format="A4", print_background=True)
            finally:
                browser.close()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        (ARTEFACTS / "demo-report-full-size.pdf").write_bytes(pdf)
        scale = min(1.0, client / scroll)
        assert scale >= 0.95, f"printed at {scale:.0%}: wider than the paper: {wide}"
        pages = _count_pdf_pages(pdf)
        assert pages <= 12, f"the demo report prints on {pages} A4 pages"

    off_loop(run)  # (Playwright's sync API in a thread of its own: browser.off_loop)
