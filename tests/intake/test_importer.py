"""Import semantics on both engines: atomic, idempotent, replacing, quarantine, dry run."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PLACES_CSV, SERVICES_HEADER, write

from corridor.errors import InputError
from corridor.intake.importer import ingest
from corridor.storage.engine import Engine


def counts(engine: Engine) -> dict[str, int]:
    return {
        t: int(engine.scalar(f"SELECT COUNT(*) FROM {t}"))
        for t in ("places", "services", "flows", "cases", "imports", "quarantine")
    }


@pytest.fixture
def places(engine: Engine, tmp_path: Path) -> Engine:
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    return engine


def test_places_import_lowercases_codes(places: Engine) -> None:
    rows = places.query_rows(
        "SELECT place_code, country_code, parent_code FROM places ORDER BY place_code"
    )
    assert ("ken", "ken", "") in rows
    assert ("ke-malaba", "ken", "ken") in rows


def test_reimport_changes_nothing(places: Engine, tmp_path: Path) -> None:
    before = counts(places)
    [r] = ingest(places, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    assert r.status == "unchanged"
    assert counts(places) == before


def test_corrected_file_replaces_and_records(places: Engine, tmp_path: Path) -> None:
    v1 = (
        SERVICES_HEADER
        + "2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,10\n2024Q1,ke-malaba,hiv_tests,m,15-24,truck_driver,20\n"
    )
    v2 = (
        SERVICES_HEADER
        + "2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,11\n2024Q1,ke-malaba,hiv_tests,m,15-24,truck_driver,20\n"
    )
    [r1] = ingest(places, [write(tmp_path, "s1.csv", v1)], "services")
    [r2] = ingest(places, [write(tmp_path, "s2.csv", v2)], "services")
    assert (r2.rows_new, r2.rows_replaced, r2.rows_unchanged) == (0, 1, 1)
    assert r2.replaced_imports == [r1.import_id]
    assert sorted(places.query_rows("SELECT sex, value FROM services")) == [
        ("f", 11.0),
        ("m", 20.0),
    ]
    assert places.query_rows("SELECT replaced_import_id, rows_replaced FROM replacements") == [
        (r1.import_id, 1)
    ]


def test_invalid_row_rejects_everything(places: Engine, tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", SERVICES_HEADER + "2024Q1,ke-malaba,hiv_tests,,,,5\n")
    bad = write(
        tmp_path,
        "bad.csv",
        SERVICES_HEADER + "2024Q1,ke-malaba,hiv_tests,,,,5\n2024Q1,nowhere,hiv_tests,,,,5\n",
    )
    before = counts(places)
    with pytest.raises(InputError) as info:
        ingest(places, [good, bad], "services")
    msg = str(info.value)
    assert "bad.csv, row 2, column 'place_code', value 'nowhere': unknown place code" in msg
    assert "nothing was imported" in msg
    assert counts(places) == before


def test_quarantine_keeps_invalid_rows_with_reasons(places: Engine, tmp_path: Path) -> None:
    text = SERVICES_HEADER + "2024Q1,ke-malaba,hiv_tests,,,,5\n2024Q5,ke-malaba,hiv_tests,,,,-1\n"
    [r] = ingest(places, [write(tmp_path, "q.csv", text)], "services", quarantine=True)
    assert r.rows_new == 1 and r.rows_quarantined == 1
    rows = places.query_rows(
        "SELECT row_number, column_name, value, reason FROM quarantine ORDER BY column_name"
    )
    assert [(x[0], x[1], x[2]) for x in rows] == [(2, "period", "2024Q5"), (2, "value", "-1")]
    # re-importing the same file does not quarantine the rows twice
    [r2] = ingest(places, [write(tmp_path, "q.csv", text)], "services", quarantine=True)
    assert r2.status == "unchanged"
    assert places.scalar("SELECT COUNT(*) FROM quarantine") == 2


def test_dry_run_changes_nothing(places: Engine, tmp_path: Path) -> None:
    before = counts(places)
    [r] = ingest(
        places,
        [write(tmp_path, "d.csv", SERVICES_HEADER + "2024,ke-malaba,hiv_tests,,,,5\n")],
        "services",
        dry_run=True,
    )
    assert r.status == "validated" and r.rows_valid == 1
    assert counts(places) == before


def test_conflicting_duplicates_within_a_file(places: Engine, tmp_path: Path) -> None:
    text = (
        SERVICES_HEADER
        + "2024Q1,ke-malaba,hiv_tests,,,,5\n2024q1,KE-MALABA,hiv_tests,total,,,6\n2024Q1,ke-malaba,hiv_tests,,,,5\n"
    )
    with pytest.raises(InputError) as info:
        ingest(places, [write(tmp_path, "c.csv", text)], "services")
    assert "row 2" in str(info.value) and "conflicts with row 1" in str(info.value)


def test_identical_duplicates_collapse(places: Engine, tmp_path: Path) -> None:
    text = SERVICES_HEADER + "2024Q1,ke-malaba,hiv_tests,,,,5\n2024Q1,ke-malaba,hiv_tests,,,,5\n"
    [r] = ingest(places, [write(tmp_path, "c.csv", text)], "services")
    assert r.rows_new == 1


def test_places_in_the_same_command_are_known(engine: Engine, tmp_path: Path) -> None:
    countries = write(
        tmp_path,
        "c.csv",
        "place_code,name,place_type,parent_code,country_code\nken,Kenya,country,,ken\n",
    )
    sites = write(
        tmp_path,
        "s.csv",
        "place_code,name,place_type,parent_code,country_code\nke-x,X,truck_stop,ken,ken\n",
    )
    ingest(engine, [countries, sites], "places")
    assert engine.scalar("SELECT COUNT(*) FROM places") == 2


def test_place_rules(engine: Engine, tmp_path: Path) -> None:
    text = (
        "place_code,name,place_type,parent_code,country_code,lat,lon\n"
        "ken,Kenya,country,,ken,0,37\n"
        "ke-a,A,truck_stop,,ken,0,37\n"
        "ke-b,B,truck_stop,ken,KENYA,0,37\n"
        "ke-c,C,spaceport,ken,ken,95,37\n"
        "ke-d,D,truck_stop,nowhere,ken,0,200\n"
    )
    with pytest.raises(InputError) as info:
        ingest(engine, [write(tmp_path, "p.csv", text)], "places")
    msg = str(info.value)
    assert "row 2, column 'parent_code'" in msg and "only countries may have no parent" in msg
    assert "row 3, column 'country_code', value 'kenya'" in msg
    assert "row 4, column 'place_type', value 'spaceport'" in msg
    assert "row 4, column 'lat', value '95': latitude outside" in msg
    assert "row 5, column 'lon', value '200'" in msg


def test_flows_period_order(places: Engine, tmp_path: Path) -> None:
    text = (
        "period_start,period_end,observation_code,direction,origin_code,destination_code,sex,age_band,population_group,mode,count\n"
        "2024-01-01,2024-01-31,ke-malaba,incoming,uga,ken,m,25-34,truck_driver,truck,120\n"
        "2024-02-01,2024-01-31,ke-malaba,incoming,uga,ken,m,25-34,truck_driver,truck,120\n"
        "2024-02-30,2024-03-31,ke-malaba,sideways,uga,ken,m,25-34,truck_driver,truck,1.5\n"
    )
    with pytest.raises(InputError) as info:
        ingest(places, [write(tmp_path, "f.csv", text)], "flows")
    msg = str(info.value)
    assert "row 2, column 'period_end'" in msg and "before period_start" in msg
    assert "row 3, column 'period_start', value '2024-02-30'" in msg
    assert "row 3, column 'direction', value 'sideways'" in msg
    assert "row 3, column 'count', value '1.5': not a whole number" in msg


def test_cases_import(places: Engine, tmp_path: Path) -> None:
    text = (
        "case_id,disease,classification,onset_date,report_date,place_code,sex,age_years,population_group,origin_code,poe_code,outcome\n"
        "C1,mpox,confirmed,2024-07-20,2024-07-29,ke-mombasa,m,34,truck_driver,uga,ke-malaba,recovered\n"
        "C2,mpox,suspected,,2024-08-02,ke-malaba,f,,sex_worker,,,\n"
    )
    [r] = ingest(places, [write(tmp_path, "cases.csv", text)], "cases")
    assert r.rows_new == 2
    rows = places.query_rows(
        "SELECT case_id, onset_date, age_years, poe_code FROM cases ORDER BY case_id"
    )
    assert rows[0][0] == "C1" and rows[0][3] == "ke-malaba"
    assert rows[1][1] is None and rows[1][2] is None


def test_file_not_found(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        ingest(engine, [tmp_path / "nope.csv"], "places")
    assert "nope.csv" in str(info.value) and "file not found" in str(info.value)


def test_a_replaced_row_keeps_its_record_key(places: Engine, tmp_path: Path) -> None:
    """A corrected value keeps the record key of the row it replaces (its cells' keys, and so
    their noise, change only with their counts): a fresh key at each replacement let a writer
    import the same row again and again and average the fresh noise of every cell holding it
    away (tests/api/test_attack_rekey_imports.py). A new row gets a key of its own."""
    row = "2024Q1,ke-malaba,hiv_tests,{sex},15-24,truck_driver,{value}\n"
    keys = "SELECT sex, record_key FROM services ORDER BY sex"
    ingest(
        places,
        [write(tmp_path, "s1.csv", SERVICES_HEADER + row.format(sex="f", value=10))],
        "services",
    )
    before = dict(places.query_rows(keys))
    for value in (11, 12, 10):
        body = SERVICES_HEADER + row.format(sex="f", value=value) + row.format(sex="m", value=5)
        [r] = ingest(places, [write(tmp_path, f"s{value}.csv", body)], "services")
        assert r.rows_replaced == 1
        after = dict(places.query_rows(keys))
        assert after["f"] == before["f"]
    assert after["m"] is not None and after["m"] != after["f"]
    assert places.scalar("SELECT value FROM services WHERE sex = 'f'") == 10.0
