"""A place's name is text on the map, never HTML: names come from imported files (a data
manager's upload), and Leaflet puts a tooltip given as a string into the page as HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webserve import ACCOUNTS, build_workspace, log_in, serving

from corridor.workspace import open_workspace

SITE = "ug-busia-osbp"
NAME = '<img id="injected" src="/static/app.css">Busia <b>border</b>'


def _rename(folder: Path) -> None:
    source = (Path(__file__).resolve().parents[2] / "examples/quickstart/places.csv").read_text()
    header, *rows = source.splitlines()
    row = next(r for r in rows if r.startswith(SITE + ","))
    fields = row.split(",")
    fields[1] = '"' + NAME.replace('"', '""') + '"'
    renamed = folder.parent / "renamed.csv"
    renamed.write_text(header + "\n" + ",".join(fields) + "\n")
    ws = open_workspace(folder)
    try:
        ws.ingest([renamed], "places")
    finally:
        ws.close()


def test_a_place_named_with_html_shows_as_text_in_map_tooltips(
    browser: Any, tmp_path: Path
) -> None:
    folder = build_workspace(tmp_path / "ws")
    _rename(folder)
    with serving(folder) as base:
        _check_tooltip(browser, base)


def _check_tooltip(browser: Any, base: str) -> None:
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        log_in(page, base, ACCOUNTS["admin"][0])
        page.goto(base + "/map", wait_until="networkidle")
        marker = page.locator(f'path[data-site="{SITE}"]')
        marker.wait_for(state="attached", timeout=15_000)
        marker.dispatch_event("mouseover")
        tooltip = page.locator(".leaflet-tooltip").filter(has_text="Busia")
        tooltip.first.wait_for(timeout=10_000)
        assert "<img" in tooltip.first.text_content()  # the characters, shown as text
        assert page.locator("#injected").count() == 0
        assert page.locator(".leaflet-tooltip b").count() == 0
    finally:
        ctx.close()
