"""Exports: CSV, JSON, HXL, DHIS2 dataValueSets and ADX; withheld values never as numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from defusedxml import ElementTree
from indhelpers import PLACES, load_places, load_services

from corridor.errors import QueryError
from corridor.indicators import compute_indicators, suppress
from corridor.indicators.export import adx_period, dhis2_period, export
from corridor.storage.engine import Engine

ROWS = [
    ("2024-05", "ke-malaba", "hiv_tests", "f", "", "", 120),
    ("2024-05", "ke-malaba", "hiv_tests", "m", "", "", 80),
    ("2024-05", "ke-malaba", "hiv_positive", "f", "", "", 4),
    ("2024-05", "ke-malaba", "hiv_positive", "m", "", "", 16),
    ("2024-05", "ke-busia", "hiv_tests", "f", "", "", 60),
    ("2024-05", "ke-busia", "hiv_tests", "m", "", "", 50),
    ("2024-05", "ke-busia", "hiv_positive", "f", "", "", 30),
    ("2024-05", "ke-busia", "hiv_positive", "m", "", "", 45),
    ("2024-05", "ke-mombasa", "hiv_tests", "f", "", "", 70),
    ("2024-05", "ke-mombasa", "hiv_tests", "m", "", "", 60),
    ("2024-05", "ke-mombasa", "hiv_positive", "f", "", "", 12),
    ("2024-05", "ke-mombasa", "hiv_positive", "m", "", "", 14),
]


@pytest.fixture
def eng(engine: Engine) -> Engine:
    places = [(*p, "OU" + p[0].replace("-", "")) for p in PLACES]
    load_places(engine, places)
    load_services(engine, ROWS)
    return engine


def table(eng: Engine, by: list[str], period: str | None = "2024-05") -> object:
    return suppress(compute_indicators(eng, ["positivity"], by=by, period=period, totals=True))


def test_csv_and_hxl(eng: Engine) -> None:
    text = export(table(eng, ["place", "sex"]), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:7] == [
        "indicator",
        "period",
        "place_code",
        "place_name",
        "sex",
        "age_band",
        "population_group",
    ]
    malaba_f = next(r for r in rows if r["place_code"] == "ke-malaba" and r["sex"] == "f")
    assert malaba_f["numerator"] == "<10" and malaba_f["value"] == "suppressed"
    assert malaba_f["denominator"] == "120" and malaba_f["unit"] == "percent"
    assert malaba_f["gap"] == ""  # no target, no gap
    malaba_m = next(r for r in rows if r["place_code"] == "ke-malaba" and r["sex"] == "m")
    assert malaba_m["numerator"] == "suppressed"  # 20 - 16 would give the 4 away
    # and the women of another site, else the women of all sites minus them would
    mombasa = [r for r in rows if r["place_code"] == "ke-mombasa" and r["sex"] != "total"]
    assert [r["numerator"] for r in mombasa] == ["suppressed", "suppressed"]
    busia = [r for r in rows if r["place_code"] == "ke-busia"]
    assert [r["numerator"] for r in busia] == ["30", "45", "75"]
    assert "4" not in {r["numerator"] for r in rows} and "16" not in {r["numerator"] for r in rows}
    hxl = list(csv.reader(io.StringIO(export(table(eng, ["place", "sex"]), "hxl"))))
    assert hxl[1][:5] == [
        "#indicator+code",
        "#date+period",
        "#loc+code",
        "#loc+name",
        "#gender+code",
    ]
    assert "#x_numerator+num" in hxl[1] and "#indicator+value+pct" in hxl[1]
    assert hxl[2:] == [row for row in csv.reader(io.StringIO(text))][1:]


def test_json_and_refusing_unsuppressed(eng: Engine) -> None:
    body = json.loads(export(table(eng, ["sex"]), "json", query={"by": ["sex"]}))
    assert body["query"] == {"by": ["sex"]}
    assert body["disclosure_control"]["applied"] is True
    assert body["disclosure_control"]["threshold"] == 10
    total = next(r for r in body["rows"] if r["sex"] == "total")
    assert (total["numerator"], total["denominator"], total["value"]) == (121, 440, 27.5)
    raw = compute_indicators(eng, ["positivity"], by=["sex"])
    with pytest.raises(ValueError, match="unsuppressed"):
        export(raw, "csv")
    body = json.loads(export(raw, "json", unsuppressed=True))
    assert body["disclosure_control"]["applied"] is False
    assert {r["numerator"] for r in body["rows"]} == {46, 75}


def test_dhis2_json_through_the_mapping_of_the_latest_import(eng: Engine) -> None:
    mapping = {
        "data_elements": {"DEtests0001": "hiv_tests", "DEpos000001": "hiv_positive"},
        "category_option_combos": {"COCfemale01": {"sex": "f"}, "COCmale0001": {"sex": "m"}},
        "org_units": {"OUbusiaMap": "ke-busia"},
    }
    eng.execute(
        "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, "
        "imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
        "rows_quarantined, status, mapping) VALUES (?, 'x.json', 'h', 'services', 'dhis2-json', "
        "'x', 'u', ?, 0, 0, 0, 0, 0, 0, 'imported', ?)",
        (7, datetime(2024, 6, 1), json.dumps(mapping)),
    )
    body = json.loads(export(table(eng, ["place", "sex"]), "dhis2-json", engine=eng))
    values = body["dataValues"]
    assert {v["period"] for v in values} == {"202405"}
    assert {v["orgUnit"] for v in values} == {"OUkemalaba", "OUbusiaMap", "OUkemombasa"}
    tests = [v for v in values if v["dataElement"] == "DEtests0001"]
    assert {(v["orgUnit"], v["categoryOptionCombo"], v["value"]) for v in tests} == {
        ("OUkemalaba", "COCfemale01", "120"),
        ("OUkemalaba", "COCmale0001", "80"),
        ("OUbusiaMap", "COCfemale01", "60"),
        ("OUbusiaMap", "COCmale0001", "50"),
        ("OUkemombasa", "COCfemale01", "70"),
        ("OUkemombasa", "COCmale0001", "60"),
    }
    positives = {(v["orgUnit"], v["value"]) for v in values if v["dataElement"] == "DEpos000001"}
    assert positives == {("OUbusiaMap", "30"), ("OUbusiaMap", "45")}  # the others withheld
    assert body["comment"].startswith("8 value(s) withheld by disclosure control")
    rates = [v for v in values if v["dataElement"] == "positivity"]
    assert {v["value"] for v in rates} == {"50", "90"}
    assert all("all" not in (v["orgUnit"], v["categoryOptionCombo"]) for v in values)


def test_adx_and_corridor_codes_without_a_mapping(eng: Engine) -> None:
    text = export(table(eng, ["place", "sex", "period"], "2024Q2"), "adx", engine=eng)
    root = ElementTree.fromstring(text.encode())
    ns = {"adx": "urn:ihe:qrph:adx:2015"}
    groups = root.findall("adx:group", ns)
    assert {g.get("period") for g in groups} == {"2024-04-01/P3M"}
    assert {g.get("orgUnit") for g in groups} == {"OUkemalaba", "OUkebusia", "OUkemombasa"}
    busia = next(g for g in groups if g.get("orgUnit") == "OUkebusia")
    got = {
        (v.get("dataElement"), v.get("sex"), v.get("value"))
        for v in busia.findall("adx:dataValue", ns)
    }
    assert got == {
        ("hiv_tests", "f", "60"),
        ("hiv_tests", "m", "50"),
        ("hiv_positive", "f", "30"),
        ("hiv_positive", "m", "45"),
        ("positivity", "f", "50"),
        ("positivity", "m", "90"),
    }
    assert "withheld by disclosure control (&lt;10)" not in text
    assert '<!-- withheld by disclosure control (<10): dataElement="hiv_positive"' in text
    body = json.loads(export(table(eng, ["place", "sex"]), "dhis2-json", engine=eng))
    assert {v["categoryOptionCombo"] for v in body["dataValues"]} == {"sex=f", "sex=m"}


def test_exchange_formats_need_places_and_single_periods(eng: Engine) -> None:
    with pytest.raises(QueryError, match="add place"):
        export(table(eng, ["sex"]), "dhis2-json", engine=eng)
    with pytest.raises(QueryError, match="single reporting periods"):
        export(table(eng, ["place"], "2024Q1:2024Q2"), "adx", engine=eng)
    assert dhis2_period("2024W05") == "2024W5"
    assert dhis2_period("2024") == "2024"
    assert adx_period("2024W05") == "2024-01-29/P7D"
    assert adx_period("2024") == "2024-01-01/P1Y"


@pytest.mark.parametrize("fmt", ["dhis2-json", "adx"])
@pytest.mark.parametrize(
    ("by", "dim"),
    [
        (["country", "corridor"], "corridor"),
        (["place", "corridor"], "corridor"),
        (["country", "place_type"], "place_type"),
    ],
)
def test_exchange_formats_refuse_groupings_that_are_not_org_units(
    eng: Engine, fmt: str, by: list[str], dim: str
) -> None:
    """A corridor or place type is not an org unit: its groups would share org unit, period,
    data element and combo, and DHIS2 would keep whichever value it imports last."""
    t = table(eng, by)
    rows = list(csv.DictReader(io.StringIO(export(t, "csv"))))  # CSV carries the groups apart
    cells = [r for r in rows if r[dim] not in ("total", "all")]
    assert len({r["place_code"] for r in cells}) < len(cells)
    with pytest.raises(QueryError, match=f"cannot be grouped by {dim}") as caught:
        export(t, fmt, engine=eng)
    assert f"Drop {dim} from --by" in str(caught.value)
    assert "csv, json or hxl" in str(caught.value)


def test_exchange_formats_leave_out_places_with_no_admin1_area(eng: Engine) -> None:
    """ke-mombasa lies in no admin1 area: its cells (admin1 `none`) have no org unit."""
    t = table(eng, ["admin1"])
    rows = list(csv.DictReader(io.StringIO(export(t, "csv"))))
    assert {r["place_code"] for r in rows} == {"ke-west", "none", "all"}  # CSV keeps them
    body = json.loads(export(t, "dhis2-json", engine=eng))
    values = body["dataValues"]
    assert {v["orgUnit"] for v in values} == {"OUkewest"}
    assert {(v["dataElement"], v["value"]) for v in values} == {
        ("hiv_tests", "310"),
        ("hiv_positive", "95"),
        ("positivity", "30.6452"),
    }
    assert "3 value(s) of places with no admin1 area" in body["comment"]
    text = export(t, "adx", engine=eng)
    root = ElementTree.fromstring(text.encode())
    groups = root.findall("adx:group", {"adx": "urn:ihe:qrph:adx:2015"})
    assert [g.get("orgUnit") for g in groups] == ["OUkewest"]
    assert "<!-- 3 value(s) of places with no admin1 area" in text
    # grouped by country, every place has an org unit: nothing is left out
    body = json.loads(export(table(eng, ["country"]), "dhis2-json", engine=eng))
    assert "admin1" not in body.get("comment", "")
    assert {(v["dataElement"], v["value"]) for v in body["dataValues"]} >= {
        ("hiv_tests", "440"),
        ("hiv_positive", "121"),
    }
