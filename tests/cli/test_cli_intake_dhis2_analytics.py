"""A DHIS2 analytics export (a pivot table or data visualisation downloaded as CSV,
``/api/analytics.csv``) as a user imports it.

Its header is DHIS2's display names of the analytics dimensions (``Data``, ``Period``,
``Organisation unit``, ``Value``; ``Data element`` too), not the dataValueSet export's
``dataelement,period,orgunit,...``: it was not detected as DHIS2 and the tidy reader refused it
column by column. Downloaded with identifiers (DHIS2's default), its values are the UIDs and
period ids that the DHIS2 reader translates, and a value without a combo column is DHIS2's total
over that combo; downloaded with display names (``ANC 1st visit``, ``January 2024``) it cannot be
translated safely and is refused, saying what to download instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clihelp import run
from corridor.storage.engine import connect

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAPPING = EXAMPLES / "dhis2-mapping.yaml"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    places = EXAMPLES / "places.csv"
    assert run(capsys, "-w", folder, "ingest", places, "--kind", "places").code == 0
    return folder


def services(ws: Path) -> list[dict[str, Any]]:
    eng = connect(str(ws / "warehouse.duckdb"))
    try:
        return eng.query(
            "SELECT CAST(period_start AS VARCHAR) AS period_start, place_code, data_element, "
            "sex, age_band, population_group, CAST(value AS DOUBLE) AS value FROM services "
            "ORDER BY data_element, sex",
            step="test: services",
        ).to_pylist()
    finally:
        eng.close()


def count(capsys: pytest.CaptureFixture[str], ws: Path) -> int:
    r = run(capsys, "-w", ws, "status", "--format", "json")
    assert r.code == 0, r.err
    return int(json.loads(r.out)["counts"]["services"])


@pytest.mark.parametrize(
    "header",
    ["Data element,Period,Organisation unit,Value", "Data,Period,Organisation unit,Value"],
)
def test_an_analytics_export_with_identifiers_is_imported_as_totals(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str
) -> None:
    export = tmp_path / "pivot.csv"
    export.write_text(
        f"{header}\nfbfJHSPpUQD,202403,Kb7TGDaJzQs,28.0\nHTS_TST_POS,2024Q1,Lm3RtPq8WzA,3\n"
    )
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services", "--mapping", MAPPING)
    assert r.code == 0, r.err
    assert "(dhis2-csv)" in r.out and "2 new" in r.out
    said = " ".join((r.out + r.err).split())
    assert "a DHIS2 analytics export without a category option combo and an attribute" in said
    assert "imported as totals" in said
    assert services(ws) == [
        {
            "period_start": "2024-01-01",
            "place_code": "ke-malaba-osbp",
            "data_element": "hiv_positive",
            "sex": "total",
            "age_band": "total",
            "population_group": "total",
            "value": 3.0,
        },
        {
            "period_start": "2024-03-01",
            "place_code": "ke-busia-osbp",
            "data_element": "hiv_tests",
            "sex": "total",
            "age_band": "total",
            "population_group": "total",
            "value": 28.0,
        },
    ]


def test_an_analytics_export_with_its_combo_columns_is_disaggregated(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "pivot.csv"
    export.write_text(
        "Data element,Period,Organisation unit,Category option combo,Attribute option combo,Value\n"
        "fbfJHSPpUQD,202403,Kb7TGDaJzQs,Prlt0C1RF0s,TrKdrAoc001,12\n"
        "fbfJHSPpUQD,202403,Kb7TGDaJzQs,V6L425pT3A0,TrKdrAoc001,16\n"
    )
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services", "--mapping", MAPPING)
    assert r.code == 0, r.err
    assert "(dhis2-csv)" in r.out and "2 new" in r.out and "totals" not in r.err
    got = [(s["sex"], s["age_band"], s["population_group"], s["value"]) for s in services(ws)]
    assert got == [("f", "15-24", "truck_driver", 12.0), ("m", "15-24", "truck_driver", 16.0)]


def test_an_analytics_export_with_display_names_is_refused_saying_what_to_download(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "pivot.csv"
    export.write_text(
        "Data,Period,Organisation unit,Value\n"
        "fbfJHSPpUQD,202403,Kb7TGDaJzQs,28\n"
        "HIV tests,January 2024,Busia one-stop border post,31\n"
    )
    for extra in ([], ["--quarantine"]):
        r = run(
            capsys, "-w", ws, "ingest", export, "--kind", "services", "--mapping", MAPPING, *extra
        )
        assert r.code == 2, r.err
        err = " ".join(r.err.split())
        assert f"{export}: a DHIS2 analytics export with display names, not identifiers" in err
        assert "ID scheme 'ID'" in err and "/api/dataValueSets.csv" in err
        assert (
            f"{export}, row 2, column 'Data', value 'HIV tests': a display name, not a UID or "
            "code: not in the mapping's data_elements" in err
        )
        assert (
            f"{export}, row 2, column 'Period', value 'January 2024': a period's display name, "
            "not a DHIS2 period id" in err
        )
        assert f"{export}, row 2, column 'Organisation unit', value 'Busia one-stop" in err
        assert "Traceback" not in r.err
    assert count(capsys, ws) == 0


def test_an_analytics_export_with_another_dimension_is_refused_not_summed_into_totals(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dimension the reader does not read (a category such as sex, an org unit group set)
    holds a disaggregation: without it the rows would be taken for totals."""
    export = tmp_path / "pivot.csv"
    export.write_text(
        "Data,Period,Organisation unit,Gender,Value\n"
        "fbfJHSPpUQD,202403,Kb7TGDaJzQs,rBvjJYbMCVx,12\n"
        "fbfJHSPpUQD,202403,Kb7TGDaJzQs,Mnp3oXrpAbK,16\n"
    )
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services", "--mapping", MAPPING)
    assert r.code == 2, r.err
    err = " ".join(r.err.split())
    assert f"{export}, column 'Gender': not a column of DHIS2's analytics export" in err
    assert "taken for totals" in err and "Traceback" not in r.err
    assert count(capsys, ws) == 0


def test_the_dataValueSet_header_without_its_combo_columns_is_still_refused(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dataValueSet export always has both combo columns: one without them has lost its
    disaggregation, which would turn into totals."""
    export = tmp_path / "values.csv"
    export.write_text("dataelement,period,orgunit,value\nfbfJHSPpUQD,202403,Kb7TGDaJzQs,28\n")
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services", "--mapping", MAPPING)
    assert r.code == 2
    assert "lacks column(s) categoryoptioncombo, attributeoptioncombo" in r.err
    assert count(capsys, ws) == 0
