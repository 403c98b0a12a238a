"""The report lists the rows that ``publish`` lists: a cascade row whose every published count is
0 is left out of the report as it is of every other output (docs/disclosure.md, "Rows published
as 0"), and the cells that are shown are the published ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clihelp import run
from corridor import open_workspace
from corridor.indicators import compute_indicators, publish
from corridor.reports.cascade import CASCADE_IDS, cascade, trends
from corridor.reports.protect import MISSING, fmt_count
from corridor.storage.recordkeys import derive_record_keys
from corridor.workspace import Workspace

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor
ken,Kenya,country,,ken,0.1,37.9,
ke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275,northern
ke-busia,Busia,truck_stop,ken,ken,0.46,34.1,northern
"""
# (group, tests, positive) at each place: few people in every group but the host community
GROUPS = (
    ("host", 200, 20),
    ("migrant", 3, 1),
    ("sex_worker", 1, 1),
    ("truck_driver", 2, 1),
    ("fisherfolk", 4, 1),
    ("miner", 1, 1),
)


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Workspace]:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for place in ("ke-malaba", "ke-busia"):
        for group, tests, positive in GROUPS:
            lines.append(f"2024Q1,{place},hiv_tests,,,{group},{tests}")
            lines.append(f"2024Q1,{place},hiv_positive,,,{group},{positive}")
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text("\n".join(lines) + "\n")
    for name, kind in (("places.csv", "places"), ("services.csv", "services")):
        assert run(capsys, "-w", folder, "ingest", tmp_path / name, "--kind", kind).code == 0
    w = open_workspace(folder)
    derive_record_keys(w.engine, 3)  # reproducible keys
    yield w
    w.close()


def test_the_cascade_shows_the_published_rows_only(ws: Workspace) -> None:
    raw = compute_indicators(
        ws.engine, CASCADE_IDS, ["country", "population_group"], "2024Q1", totals=True
    )
    pub = publish(raw, ws.settings)
    cell = ("indicator", "country", "population_group")
    listed = {tuple(r[c] for c in cell): r for r in pub.to_pylist() if r["country"] != "all"}
    every = {tuple(r[c] for c in cell) for r in raw.to_pylist() if r["country"] != "all"}
    left_out = every - set(listed)
    assert left_out  # rows published 0 / 0 (with these keys)
    view = cascade(ws.engine, "2024Q1", ws.settings, {"ken": "Kenya"})
    shown = {
        (ind, country.code, row.group): c
        for country in view.countries
        for row in country.rows
        for ind, c in row.cells.items()
    }
    assert not set(shown) & left_out
    for key, c in shown.items():
        r = listed[key]
        for role, got in (("numerator", c.numerator), ("denominator", c.denominator)):
            assert got.text == (MISSING if r[role] is None else fmt_count(r[role])), (key, role)
    assert ("positivity", "ken", "host") in shown
    charts, _ = trends(ws.engine, ws.settings)  # the trends take the same path
    assert charts
