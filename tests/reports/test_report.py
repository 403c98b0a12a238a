"""``corridor report``: one self-contained HTML file, with every number disclosure-controlled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clihelp import run
from corridor.config import load_settings
from corridor.intake.importer import ingest
from corridor.reports.html import ReportError, render_report, write_report
from corridor.reports.mapview import spanning_tree
from corridor.reports.protect import counts, rates
from corridor.reports.quality import generic_reason
from corridor.storage.engine import Engine
from corridor.workspace import Workspace, init_workspace

# ---- a small world: two countries, eight sites on two corridors ------------------------------
PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor,population
ken,Kenya,country,,ken,0.2,37.9,,
uga,Uganda,country,,uga,1.3,32.3,,
tza,Tanzania,country,,tza,-6.3,34.8,,
ke-mombasa,Mombasa Port,seaport,ken,ken,-4.04,39.67,northern,1200000
ke-mariakani,Mariakani,truck_stop,ken,ken,-3.86,39.47,northern,40000
ke-nakuru,Nakuru,truck_stop,ken,ken,-0.30,36.07,northern,500000
ke-malaba,Malaba KE,border_crossing,ken,ken,0.64,34.28,northern;western,30000
ke-busia,Busia KE,border_crossing,ken,ken,0.46,34.11,western,50000
ug-malaba,Malaba UG,border_crossing,uga,uga,0.64,34.26,northern,20000
ug-kampala,Kampala Hub,truck_stop,uga,uga,0.31,32.58,northern;western,1500000
ug-migori,Lake Site,fishing_site,uga,uga,-0.10,33.20,,8000
tz-namanga,Namanga TZ,border_crossing,tza,tza,-2.55,36.79,,20000
"""

SITES = [
    "ke-mombasa",
    "ke-mariakani",
    "ke-nakuru",
    "ke-malaba",
    "ke-busia",
    "ug-malaba",
    "ug-kampala",
    "ug-migori",
    "tz-namanga",
]
GROUPS = ("host", "truck_driver")
QUARTERS = ("2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4")
#: a count between 1 and 9 that must never appear as a number in the cascade
SMALL = 7


def services_csv() -> str:
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for s_i, site in enumerate(SITES):
        for g_i, group in enumerate(GROUPS):
            base = 400 + 90 * s_i + 150 * g_i
            for q_i, q in enumerate(QUARTERS):
                if site == "ug-migori" and q in ("2024Q2", "2024Q3"):
                    continue  # missing reports
                tests = base + 13 * q_i
                pos = tests // (12 + s_i + 3 * g_i)
                lines += [
                    f"{q},{site},hiv_tests,,,{group},{tests}",
                    f"{q},{site},hiv_positive,,,{group},{pos}",
                    f"{q},{site},art_initiated,,,{group},{pos - 3}",
                    f"{q},{site},vl_tested,,,{group},{2 * pos + 5}",
                    f"{q},{site},vl_suppressed,,,{group},{2 * pos - 4}",
                ]
        for g_i, group in enumerate(GROUPS):
            plhiv = 300 + 40 * s_i + 60 * g_i
            diagnosed = SMALL if (site == "tz-namanga" and group == "truck_driver") else plhiv - 50
            lines += [
                f"2024,{site},plhiv_estimated,,,{group},{plhiv}",
                f"2024,{site},plhiv_diagnosed,,,{group},{diagnosed}",
                f"2024,{site},art_current,,,{group},{max(diagnosed - 30, 3)}",
                f"2024,{site},pop_estimated,,,{group},{5000 + 700 * s_i + 900 * g_i}",
            ]
    return "\n".join(lines) + "\n"


FLOWS = """period_start,period_end,observation_code,direction,origin_code,destination_code,sex,age_band,population_group,mode,count
2024-01-01,2024-06-30,ke-malaba,outgoing,ke-mombasa,ug-kampala,,,truck_driver,truck,5400
2024-07-01,2024-12-31,ke-malaba,outgoing,ke-mombasa,ug-kampala,,,truck_driver,truck,5100
2024-01-01,2024-12-31,ke-busia,incoming,ug-kampala,ke-nakuru,,,migrant,bus,2300
2024-01-01,2024-12-31,ug-malaba,transit,ke-nakuru,ug-kampala,,,truck_driver,truck,3
"""

CASES = """case_id,disease,classification,onset_date,report_date,place_code,sex,age_years,population_group,origin_code,poe_code,outcome
c1,mpox,confirmed,2024-03-02,2024-03-05,ke-malaba,m,31,truck_driver,ug-kampala,ke-malaba,
c2,mpox,probable,2024-04-10,2024-04-12,ke-busia,f,24,host,,,
"""

BAD_SERVICES = """period,place_code,data_element,sex,age_band,population_group,value
2024Q1,ke-nakuru,hiv_tests,,,host,12
2024Q5,ke-nakuru,hiv_tests,,,host,12
2024Q1,nowhere,hiv_tests,,,host,12
"""


def write_sources(tmp: Path) -> None:
    files = {
        "places.csv": PLACES,
        "services.csv": services_csv(),
        "flows.csv": FLOWS,
        "cases.csv": CASES,
        "services_bad.csv": BAD_SERVICES,
    }
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")


def build_workspace(folder: Path, tmp: Path) -> Workspace:
    write_sources(tmp)
    ws = init_workspace(folder)
    ws.ingest([tmp / "places.csv"], "places")
    ws.ingest([tmp / "services.csv"], "services")
    ws.ingest([tmp / "flows.csv"], "flows")
    ws.ingest([tmp / "cases.csv"], "cases")
    ws.ingest([tmp / "services_bad.csv"], "services", quarantine=True)
    return ws


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("report")
    ws = build_workspace(tmp / "ws", tmp)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def html(world: Workspace) -> str:
    return render_report(world, threshold=10, draws=40)


def _section(html: str, name: str) -> str:
    m = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return m.group(1)


def _text(fragment: str) -> str:
    return re.sub(r"<[^>]+>", " ", fragment)


# ---- the file -----------------------------------------------------------------------------
def test_report_has_every_section(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    for name in ("summary", "map", "hotspots", "cascade", "trends", "quality", "methods"):
        _section(html, name)
    assert "<svg" in _section(html, "map")
    assert 'fill-rule="evenodd"' in html
    assert "Mombasa Port" in _section(html, "hotspots")
    assert "@media print" in html


def test_report_is_self_contained(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    targets = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", html, re.I)
    assert targets and all(t.startswith("#") for t in targets), "only links within the file"
    assert "@import" not in html
    assert "url(" not in html
    assert "<script" not in html and "<link" not in html and "<img" not in html


def test_map_draws_sites_corridors_and_only_large_flows(world: Workspace, html: str) -> None:
    from corridor.config import load_settings
    from corridor.indicators.disclosure import publish_counts
    from corridor.reports.html import _map_inputs, report_window
    from corridor.reports.mapview import build_map

    svg = _section(html, "map")
    assert svg.count('class="site"') == len(SITES)
    assert 'class="corridor"' in svg
    # the segments drawn are those whose published volume reaches the threshold (Nakuru -
    # Malaba UG carries 3 travellers: drawn only where the disclosure function publishes 10+,
    # as every output that shows that count would)
    flows = re.findall(r'<line class="flow"[^>]*><title>([^<]*)</title>', svg)
    places, rows = _map_inputs(world.engine, report_window(world.engine, None))
    settings = load_settings(None, env={})
    expected = build_map(
        [],
        places,
        rows,
        threshold=10,
        disclose=lambda v, k: publish_counts(v, k, settings, "travellers"),
    )
    assert flows and sorted(flows) == sorted(f.title for f in expected.flows)
    assert not re.search(r"\d", " ".join(flows)), "flow tooltips carry no numbers"
    # the top 10 are labelled (all eight here)
    assert len(re.findall(r'class="site-label"', svg)) == len(SITES)


def test_hotspot_table_ranks_and_explains(html: str) -> None:
    body = _section(html, "hotspots")
    ranks = [int(r) for r in re.findall(r'<tr[^>]*>\s*<td class="num">(\d+)</td>', body)]
    assert ranks == list(range(1, len(SITES) + 1))
    assert body.count('class="why"') == len(SITES) + 0
    assert "lifts the estimate most" in body and "median site" in body


def test_no_draws_shows_no_intervals(world: Workspace, html: str) -> None:
    """--draws 0 is "no intervals": no 16.2-16.2, no "in the top 10 in 100% of the draws"."""
    plain = render_report(world, threshold=10, period="2024", draws=0)
    summary, body = _text(_section(plain, "summary")), _text(_section(plain, "hotspots"))
    for text in (summary, body):
        assert "interval 1" not in text and "of the draws" not in text, text
        assert "in the top 10 in" not in text and "P(top" not in text
    assert "Rank interval" not in body and "new HIV infections per 1,000 a year; driven by" in (
        " ".join(summary.split())
    )
    assert "without uncertainty intervals (0 draws)" in " ".join(body.split())
    # every hotspot row: the estimate alone, and the explanation spans the columns shown
    head = re.search(r"<thead>(.*?)</thead>", _section(plain, "hotspots"), re.S)
    assert head and head.group(1).count("<th") == 6
    assert 'colspan="5" class="why"' in _section(plain, "hotspots")
    assert re.search(r'<span class="sub">[^<]*</span>', _section(plain, "hotspots")) is None
    methods = " ".join(_text(_section(plain, "methods")).split())
    assert "no uncertainty draws, so no intervals" in methods and "0 draws (seed" not in methods
    assert "% interval" not in _section(plain, "map") and "rank 1–1" not in plain
    # with draws: intervals, rank intervals and P(top 10) as before
    summary, body = _text(_section(html, "summary")), _text(_section(html, "hotspots"))
    assert "90% interval" in summary and "of the draws" in summary
    assert "Rank interval" in body and "P(top 10)" in body and "40 draws" in body
    assert 'colspan="7" class="why"' in _section(html, "hotspots")
    assert "90% interval" in _section(html, "map")


def test_cascade_never_shows_a_small_count(html: str) -> None:
    body = _section(html, "cascade")
    assert "Kenya" in body and "Uganda" in body and "Tanzania" in body
    assert "Host community" in body and "Truck driver" in body
    # Tanzania's truck drivers: 7 diagnosed; the cell-key method publishes 0 or at least 10
    assert "&lt;10" not in body
    numbers = re.findall(r"(?<![\w.,<;])(\d[\d,]*)(?![\w.,%])", _text(body))
    small = [n for n in numbers if n.isdigit() and 1 <= int(n) <= 9]
    assert not small, f"small counts shown: {small}"


def test_every_count_in_the_report_is_protected(html: str) -> None:
    # the quality section counts files, reports and rows, not people: shown as they are
    for name in ("cascade",):
        cells = re.findall(r'<td class="num">(.*?)</td>', _section(html, name), re.S)
        for c in cells:
            counts_only = re.sub(r"\d[\d,.]*%", "", _text(c))  # rates (e.g. 1,045%) are not counts
            for n in re.findall(r"(?<![\w.,<;])(\d[\d,]*)(?![\w.%])", counts_only):
                assert not (n.isdigit() and 1 <= int(n) <= 9), f"{name}: {c!r}"


def test_data_quality_section(html: str) -> None:
    body = _section(html, "quality")
    assert "services_bad.csv" in body
    assert "not an ISO period" in body and "unknown place code" in body
    assert "2024Q5" not in body and "nowhere" not in body, "no quarantined values"
    uganda = re.search(r"<tr><td>Uganda</td>(.*?)</tr>", body, re.S)
    assert uganda and re.findall(r'class="num"><span class="shown">([^<]*)<', uganda.group(1)) == [
        "12",  # expected: 3 sites x 4 quarters
        "10",  # received: Lake Site missed two quarters (its yearly estimates are no report)
        "83.3%",
    ]
    missing = re.search(r'<ul class="tight note missing-sites">(.*?)</ul>', body, re.S)
    assert missing and "Lake Site (Uganda): 2024Q2, 2024Q3" in missing.group(1)


def test_trends_skip_withheld_points(html: str) -> None:
    body = _section(html, "trends")
    assert body.count('class="chart"') >= 2
    assert "Host community" in body and "Truck driver" in body


def test_report_on_each_engine(engine: Engine, tmp_path: Path) -> None:
    """The same report from DuckDB and PostgreSQL (portable SQL only)."""
    write_sources(tmp_path)
    for name, kind in (
        ("places.csv", "places"),
        ("services.csv", "services"),
        ("flows.csv", "flows"),
        ("cases.csv", "cases"),
    ):
        ingest(engine, [tmp_path / name], kind)
    ingest(engine, [tmp_path / "services_bad.csv"], "services", quarantine=True)
    html = render_report(engine, threshold=10, period="2024", draws=0)
    assert "Mombasa Port" in _section(html, "hotspots")
    assert "&lt;10" not in _section(html, "cascade")
    assert "totals need not equal the sum of their parts" in html
    assert "services_bad.csv" in _section(html, "quality")


# ---- errors and the Python API -------------------------------------------------------------
def test_bad_period_is_a_user_error(world: Workspace) -> None:
    # "bad period", not a CLI option's name: the dashboard's pages show this message too
    with pytest.raises(ReportError, match=r"^bad period '2024Q7'") as caught:
        render_report(world, threshold=10, period="2024Q7", draws=0)
    assert "--" not in str(caught.value)
    with pytest.raises(ReportError, match="nothing to report for period 2019"):
        render_report(world, threshold=10, period="2019", draws=0)


def test_empty_warehouse_is_a_user_error(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "empty")
    try:
        with pytest.raises(ReportError, match="empty"):
            render_report(ws, threshold=10)
    finally:
        ws.close()


def test_write_report_defaults_to_the_workspace(world: Workspace) -> None:
    path = write_report(world, period="2024", draws=0, title="Malaba <b>& Busia</b>")
    assert path == world.path / "report.html"
    text = path.read_text(encoding="utf-8")
    assert "Period 2024" in text
    assert "Malaba &lt;b&gt;&amp; Busia&lt;/b&gt;" in text and "<b>" not in text


# ---- pieces --------------------------------------------------------------------------------
def test_spanning_tree_joins_every_point_once() -> None:
    pts = [(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (10.0, 10.0)]
    edges = spanning_tree(pts)
    assert len(edges) == 3
    assert {frozenset(e) for e in edges} == {
        frozenset((0, 1)),
        frozenset((1, 2)),
        frozenset((1, 3)),
    }


def test_reasons_lose_their_values() -> None:
    assert generic_reason("conflicts with row 12 (same key, different values)") == (
        "conflicts with row N (same key, different values)"
    )
    assert generic_reason("unknown sex 'U': not in the mapping's sex section", "U") == (
        "unknown sex '…': not in the mapping's sex section"
    )
    assert generic_reason("unknown org unit j61Z9wNpkIo", "j61Z9wNpkIo") == "unknown org unit …"


def test_counts_of_reports_are_not_protected() -> None:
    """Disclosure control applies to counts of people, not of reports, imports or rows."""
    cells = counts([0, 3, 12, None, 9, 10], threshold=10)
    assert [c.text for c in cells] == ["0", "3", "12", "–", "9", "10"]
    (num, den, val), (num2, den2, val2) = rates([5, 40], [100, 80], threshold=10)
    assert (num.text, den.text, val.text) == ("5", "100", "5.0%")
    assert (num2.text, den2.text, val2.text) == ("40", "80", "50.0%")


def test_suppression_setting_reaches_the_report(world: Workspace) -> None:
    settings = load_settings(world.path, env={}, overrides={"disclosure_method": "suppression"})
    html = render_report(world, settings=settings, period="2024", draws=0)
    assert "&lt;10" in _section(html, "cascade")  # Tanzania's truck drivers: 7 diagnosed
    assert "secondary suppression" in html


# ---- the command line ----------------------------------------------------------------------
def test_cli_writes_the_report(
    world: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "r.html"
    r = run(capsys, "-w", str(world.path), "report", "--out", str(out), "--draws", "20")
    assert r.code == 0, r.err
    assert out.is_file() and str(out) in r.out
    assert '<section id="cascade">' in out.read_text(encoding="utf-8")


def test_cli_empty_warehouse_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", str(tmp_path / "e")).code == 0
    r = run(capsys, "-w", str(tmp_path / "e"), "report")
    assert r.code == 2
    assert "nothing to report" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "e" / "report.html").exists()


def test_cli_bad_period_exits_2(
    world: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(
        capsys,
        "-w",
        str(world.path),
        "report",
        "--period",
        "24Q1",
        "--out",
        str(tmp_path / "x.html"),
    )
    assert r.code == 2 and "bad period '24Q1'" in r.err


def test_cli_never_writes_the_report_over_the_workspace(
    world: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out corridor.toml`` (or the warehouse, or a link to it) is refused with exit 2, as
    for every other --out: the report was written over the settings, and the workspace no
    longer opened."""
    files = (world.path / "corridor.toml", world.path / "warehouse.duckdb")
    keep = {p: p.read_bytes() for p in files}
    link = tmp_path / "link.html"
    link.symlink_to(world.path / "corridor.toml")
    try:
        for out in (*files, link):
            r = run(capsys, "-w", str(world.path), "report", "--out", str(out), "--draws", "0")
            assert r.code == 2, (out, r.err)
            assert "workspace's own file" in r.err and "Traceback" not in r.err, r.err
        assert {p: p.read_bytes() for p in files} == keep
    finally:  # the old code wrote over them: put them back for the other tests of the module
        for p, data in keep.items():
            if p.read_bytes() != data:
                p.write_bytes(data)
    assert not [p for p in world.path.iterdir() if p.name.endswith(".part")]


def test_write_report_replaces_the_file_whole(world: Workspace, tmp_path: Path) -> None:
    """The report goes to a temporary file renamed into place: a write that fails leaves the
    report that was there, never half a file."""
    import corridor.output

    out = tmp_path / "r.html"
    out.write_text("the report before", encoding="utf-8")

    class Full(OSError):
        pass

    real = corridor.output.os.fdopen

    def failing(fd: int, *args: object, **kwargs: object) -> object:
        fh = real(fd, *args, **kwargs)  # type: ignore[call-overload]

        def write(data: bytes) -> int:
            fh.raw.write(data[:100])
            raise Full(28, "No space left on device")

        fh.write = write
        return fh

    mp = pytest.MonkeyPatch()
    mp.setattr(corridor.output.os, "fdopen", failing)
    try:
        with pytest.raises(ReportError, match="No space left"):
            write_report(world, out, period="2024", draws=0)
    finally:
        mp.undo()
    assert out.read_text(encoding="utf-8") == "the report before"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_cascade_gap_is_the_difference_of_the_values_shown() -> None:
    """The summary's gap is what a reader gets by subtracting the two values printed beside
    it: host 100.1% and truck drivers 79.2% is a gap of 20.9 points (from the unrounded values,
    100.06 - 79.24, it was printed as 20.8)."""
    from corridor.reports.cascade import (
        Cascade,
        CascadeCell,
        CascadeRow,
        CountryCascade,
        largest_gaps,
    )
    from corridor.reports.protect import Cell, fmt_percent

    def cc(value: float) -> CascadeCell:
        n = Cell("1,000", 1000.0, "shown")
        return CascadeCell(n, n, Cell(fmt_percent(value), value, "shown"), 95.0)

    rows = [
        CascadeRow("host", "Host community", False, {"first_95": cc(100.06)}, "host"),
        CascadeRow("truck_driver", "Truck driver", True, {"first_95": cc(79.24)}, "mobile"),
    ]
    view = Cascade([("first_95", "First 95", 95.0)], [CountryCascade("ken", "Kenya", rows)], "2024")
    (gap,) = largest_gaps(view)
    assert (gap.host_value, gap.group_value) == ("100.1%", "79.2%")
    assert f"{gap.points:.1f}" == "20.9"
