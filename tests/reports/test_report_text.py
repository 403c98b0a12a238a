"""What the report's sentences say, whatever the disclosure threshold and the ranking.

A threshold of 1 made the report say "no count from 1 to 0 is published" and "counts 1–0 shown
as <1" (a range ending below its start); a ranked site that no component lifts above the median
site read "driven by none".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.config import load_settings
from corridor.hotspots import HotspotResult, rank_sites
from corridor.hotspots.disclosure import disclosure_line
from corridor.reports.hotspot_view import hotspot_rows
from corridor.reports.html import render_report
from corridor.workspace import Workspace, init_workspace
from reports.test_report import PLACES, build_workspace, services_csv, write_sources

#: "1 to 0", "1–0", "1-1", "from 1 to 1": a range of counts that ends where it starts, or below
EMPTY_RANGE = re.compile(r"(?<![\d.,])1\s*(?:to|–|-)\s*([01])(?![\d.,])")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&lt;", "<").split())


def _section(html: str, name: str) -> str:
    m = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return _text(m.group(1))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("report_text")
    ws = build_workspace(tmp / "ws", tmp)
    yield ws
    ws.close()


# ---- disclosure wording at each threshold ----------------------------------------------------
def test_small_counts_in_words() -> None:
    from corridor.reports.protect import small_counts

    assert small_counts(10) == "from 1 to 9"
    assert small_counts(5) == "from 1 to 4"
    assert small_counts(2) == "of 1"
    assert small_counts(1) == ""


@pytest.mark.parametrize("method", ["cellkey", "suppression"])
@pytest.mark.parametrize("threshold", [1, 2, 5, 10])
def test_disclosure_wording_reads_at_every_threshold(
    world: Workspace, method: str, threshold: int
) -> None:
    """The callout, the map's and the outbreak's leads and the methods name the counts that are
    never shown as a range a reader expects; a threshold of 1 withholds none, and says so."""
    settings = load_settings(
        world.path,
        env={},
        overrides={"disclosure_method": method, "suppression_threshold": threshold},
    )
    html = render_report(world, settings=settings, period="2024", draws=0)
    text = _text(html)
    assert EMPTY_RANGE.search(text) is None, EMPTY_RANGE.search(text)
    summary, methods = _section(html, "summary"), _section(html, "methods")
    outbreak, flows = _section(html, "outbreak"), _section(html, "map")
    assert re.search(r"<1(?!\d)", text) is None and "under 1 travellers" not in flows
    if threshold == 1:
        assert "withheld for being small" in summary
        assert "no count is withheld for being small" in methods
        assert "pale dashed box" not in outbreak  # no count is too small to draw as it is
    else:
        words = "of 1" if threshold == 2 else f"from 1 to {threshold - 1}"
        if method == "cellkey":
            assert f"no count {words} is published" in summary
            assert f"counts {words} become 0 or at least {threshold}" in methods
        else:
            assert f"counts {words} are shown as <{threshold}" in summary
            assert f"counts {words} shown as <{threshold}" in methods
        assert f"A pale dashed box is a count {words} (shown as <{threshold}" in outbreak
        assert f"segments under {threshold} travellers are not drawn" in flows


@pytest.mark.parametrize("method", ["cellkey", "suppression"])
@pytest.mark.parametrize("threshold", [1, 2, 5, 10])
def test_the_rankings_disclosure_line_reads_at_every_threshold(method: str, threshold: int) -> None:
    """``corridor hotspots`` prints this line under the ranking: "No count from 1 to 0"."""
    settings = load_settings(
        None, env={}, overrides={"disclosure_method": method, "suppression_threshold": threshold}
    )
    line = disclosure_line(settings)
    assert EMPTY_RANGE.search(line) is None, line
    if threshold == 1:
        assert "withheld for being small (threshold 1)" in line
    elif threshold == 2:
        assert "count of 1 " in line
    else:
        assert f"count from 1 to {threshold - 1} " in line


# ---- a site without a main driver ------------------------------------------------------------
FIVE_SITES = ("ke-mombasa", "ke-mariakani", "ke-nakuru", "ke-malaba", "ke-busia")


@pytest.fixture(scope="module")
def five_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Five Kenyan sites: the two above the median site are lifted by the service gap; no
    component lifts the other three above the median site (the ranking's main driver "none"),
    and all five are in the summary."""
    ws = build_five_sites(tmp_path_factory.mktemp("five_sites"))
    yield ws
    ws.close()


def build_five_sites(tmp: Path) -> Workspace:
    """The workspace of :func:`five_sites` in ``tmp/ws`` (2024; also used by the CLI's and the
    dashboard's wording tests): ke-mombasa and ke-mariakani lifted by the service gap (x1.20,
    and x1.09 only), ke-nakuru, ke-malaba and ke-busia lifted by no component."""
    write_sources(tmp)
    places = [
        line
        for line in PLACES.splitlines()
        if line.startswith("place_code") or ",country," in line or line.split(",")[0] in FIVE_SITES
    ]
    (tmp / "places.csv").write_text("\n".join(places) + "\n", encoding="utf-8")
    services = [
        line
        for line in services_csv().splitlines()
        if line.startswith("period") or line.split(",")[1] in FIVE_SITES
    ]
    (tmp / "services.csv").write_text("\n".join(services) + "\n", encoding="utf-8")
    ws = init_workspace(tmp / "ws")
    ws.ingest([tmp / "places.csv"], "places")
    ws.ingest([tmp / "services.csv"], "services")
    return ws


def _drivers(result: HotspotResult) -> dict[str, str]:
    codes, drivers = result.place_codes, result.table.column("main_driver").to_pylist()
    found = dict(zip(codes, drivers, strict=True))
    assert "none" in found.values(), found  # the case these tests are about
    return found


def test_a_site_without_a_main_driver_reads_as_such_in_the_report(five_sites: Workspace) -> None:
    """The summary read "...per 1,000 a year; driven by none." and the table's Main driver
    column "none"."""
    drivers = _drivers(rank_sites(five_sites.engine, period="2024", draws=0))
    undriven = sum(1 for d in drivers.values() if d == "none")
    html = render_report(five_sites, period="2024", draws=0)
    summary, body = _section(html, "summary"), _section(html, "hotspots")
    assert "driven by none" not in summary and "none" not in summary
    assert summary.count("; no component lifts it above the median site.") == undriven
    assert summary.count("; driven by service gap.") == sum(
        1 for d in drivers.values() if d == "service_gap"
    )
    # the table's Main driver column, and the explanation under each such site
    assert re.search(r"<td>none</td>", html) is None
    assert body.count("none above the median site") == undriven
    assert body.count("No component lifts the estimate above the median site.") == undriven


def test_the_dashboard_rows_name_a_site_without_a_main_driver(five_sites: Workspace) -> None:
    """``hotspot_rows`` gives the report's and the dashboard overview's rows: the same text."""
    from corridor.reports.hotspot_view import NO_DRIVER_LABEL

    result = rank_sites(five_sites.engine, period="2024", draws=0)
    drivers = _drivers(result)
    for row in hotspot_rows(result, five_sites.settings):
        if drivers[row.place_code] == "none":
            assert not row.driven and row.main_driver == NO_DRIVER_LABEL
            assert "No component lifts the estimate above the median site." in row.explanation
        else:
            assert row.driven and row.main_driver == drivers[row.place_code].replace("_", " ")
            assert "lifts the estimate most" in row.explanation
