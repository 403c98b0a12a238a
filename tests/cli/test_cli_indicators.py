"""``corridor indicators`` as a user sees it: list, formats, disclosure control, errors, audit."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clihelp import run
from corridor import open_workspace

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor
ken,Kenya,country,,ken,0.1,37.9,
ke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275,northern
ke-busia,Busia,truck_stop,ken,ken,0.46,34.1,northern;lake
"""
SERVICES = """period,place_code,data_element,sex,age_band,population_group,value
2024Q1,ke-malaba,hiv_tests,,,migrant,150
2024Q1,ke-malaba,hiv_tests,,,host,200
2024Q1,ke-malaba,hiv_positive,,,migrant,6
2024Q1,ke-malaba,hiv_positive,,,host,30
2024Q1,ke-busia,hiv_tests,,,migrant,120
2024Q1,ke-busia,hiv_tests,,,host,90
2024Q1,ke-busia,hiv_positive,,,migrant,25
2024Q1,ke-busia,hiv_positive,,,host,18
2024Q2,ke-busia,hiv_tests,,,,300
2024Q2,ke-busia,hiv_positive,,,,40
"""


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", str(folder)).code == 0
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text(SERVICES)
    r = run(capsys, "-w", str(folder), "ingest", str(tmp_path / "places.csv"), "--kind", "places")
    assert r.code == 0, r.err
    r = run(
        capsys, "-w", str(folder), "ingest", str(tmp_path / "services.csv"), "--kind", "services"
    )
    assert r.code == 0, r.err
    return folder


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_list_prints_the_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "indicators", "--list")
    assert r.code == 0, r.err
    for ind in ("positivity", "first_95", "third_95", "screening_coverage", "mpox_positivity"):
        assert f"{ind}:" in r.out
    assert "= plhiv_diagnosed / plhiv_estimated" in r.out
    assert "UNAIDS Global AIDS Monitoring" in r.out
    r = run(capsys, "indicators", "--list", "--format", "json")
    listed = json.loads(r.out)
    assert {"id", "numerator", "denominator", "source", "target"} <= set(listed[0])


def test_migrants_and_hosts_side_by_side_with_suppression(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRIDOR_DISCLOSURE_METHOD", "suppression")
    r = run(
        capsys, "-w", str(ws), "indicators", "--indicator", "positivity",
        "--by", "place,population_group", "--period", "2024Q1", "--format", "csv",
    )  # fmt: skip
    assert r.code == 0, r.err
    rows = rows_of(r.out)
    got = {(x["place_code"], x["population_group"]): x for x in rows}
    assert got[("ke-malaba", "migrant")]["numerator"] == "<10"
    assert got[("ke-malaba", "migrant")]["value"] == "suppressed"
    assert got[("ke-malaba", "host")]["numerator"] == "suppressed"
    assert got[("all", "total")]["numerator"] == "79"
    assert got[("all", "total")]["denominator"] == "560"
    assert "6" not in {x["numerator"] for x in rows}
    assert {x["sex"] for x in rows} == {"total"} and {x["period"] for x in rows} == {"2024Q1"}


def test_migrants_and_hosts_side_by_side_with_cell_key(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default: every count published, none from 1 to 9, rates from published counts."""
    r = run(
        capsys, "-w", str(ws), "indicators", "--indicator", "positivity",
        "--by", "place,population_group", "--period", "2024Q1", "--format", "csv",
    )  # fmt: skip
    assert r.code == 0, r.err
    rows = rows_of(r.out)
    got = {(x["place_code"], x["population_group"]): x for x in rows}
    small = got[("ke-malaba", "migrant")]["numerator"]  # 6 in truth
    assert small == "0" or int(small) >= 10
    for x in rows:
        num, den = float(x["numerator"]), float(x["denominator"])
        assert not 0 < num < 10 and not 0 < den < 10
        if den > 0:
            assert float(x["value"]) == pytest.approx(100 * num / den, abs=0.01)
    assert "totals need not equal the sum of their parts" in " ".join(r.err.split())


def test_table_trend_and_out_file(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", str(ws), "indicators", "-i", "positivity", "--by", "period")
    assert r.code == 0, r.err
    assert "2024Q1" in r.out and "2024Q2" in r.out
    assert "totals need not equal the sum of their parts" in " ".join(r.err.split())
    out = tmp_path / "out" / "p.hxl.csv"
    r = run(
        capsys, "-w", str(ws), "indicators", "-i", "positivity", "--by", "place",
        "--format", "hxl", "--out", str(out),
    )  # fmt: skip
    assert r.code == 0, r.err
    lines = out.read_text().splitlines()
    assert lines[1].startswith("#indicator+code,#date+period,#loc+code")


def test_a_table_with_out_goes_to_the_file(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out`` without ``--format`` writes the table to the file (it was printed on the
    terminal and no file was written, with exit 0); ``--list`` likewise."""
    out = tmp_path / "table.txt"
    r = run(capsys, "-w", str(ws), "indicators", "-i", "positivity", "--by", "period",
            "--out", str(out))  # fmt: skip
    assert r.code == 0, r.err
    text = out.read_text()
    assert "2024Q1" in text and "2024Q2" in text and "positivity" in text
    assert "2024Q1" not in r.out and "wrote" in r.err  # (the path may wrap on stderr)
    assert "totals need not equal the sum of their parts" in " ".join(r.err.split())
    listed = tmp_path / "list.txt"
    r = run(capsys, "-w", str(ws), "indicators", "--list", "--out", str(listed))
    assert r.code == 0, r.err
    assert "positivity:" in listed.read_text() and "positivity:" not in r.out


def test_threshold_comes_from_the_settings(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRIDOR_SUPPRESSION_THRESHOLD", "5")
    monkeypatch.setenv("CORRIDOR_DISCLOSURE_METHOD", "suppression")
    r = run(
        capsys, "-w", str(ws), "indicators", "-i", "positivity",
        "--by", "place,population_group", "--period", "2024Q1", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    body = json.loads(r.out)
    assert body["disclosure_control"]["threshold"] == 5
    malaba = [x for x in body["rows"] if x["place_code"] == "ke-malaba"]
    assert {x["population_group"]: x["numerator"] for x in malaba} == {
        "host": 30,
        "migrant": 6,
        "total": 36,
    }


def test_unsuppressed_warns_and_is_audited(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run(
        capsys, "-w", str(ws), "indicators", "-i", "positivity", "--by", "place,population_group",
        "--period", "2024Q1", "--format", "csv", "--unsuppressed",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "UNSUPPRESSED" in r.err
    got = {(x["place_code"], x["population_group"]): x["numerator"] for x in rows_of(r.out)}
    assert got[("ke-malaba", "migrant")] == "6"
    with open_workspace(ws) as w:
        audit = w.table("audit_log").to_pylist()
    assert [a["action"] for a in audit] == ["unsuppressed_output"]
    detail = json.loads(audit[0]["detail"])
    assert detail["indicators"] == ["positivity"]
    assert detail["by"] == ["place", "population_group"]
    assert detail["out"] == "stdout" and detail["format"] == "csv"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "nope"], "unknown indicator 'nope'"),
        (["-i", "positivity", "--by", "district"], "unknown dimension 'district'"),
        (["-i", "positivity", "--period", "2024Q7"], "bad period '2024Q7'"),
        ([], "name the indicators with --indicator"),
        (["-i", "positivity", "--target", "positivity"], "bad --target 'positivity'"),
        (["-i", "positivity", "--format", "dhis2-json"], "add place"),
    ],
)
def test_user_errors_exit_2(
    ws: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    r = run(capsys, "-w", str(ws), "indicators", *args)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err


def test_completeness_in_every_format_and_its_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ws"
    assert run(capsys, "init", str(folder)).code == 0
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text(
        "period,place_code,data_element,sex,age_band,population_group,value\n"
        "2024Q1,ke-malaba,hiv_tests,,,,150\n"
        "2024Q1,ke-malaba,hiv_positive,,,,30\n"
        "2024Q1,ke-busia,hiv_tests,,,,120\n"  # positives not reported: not reporting
    )
    for kind in ("places", "services"):
        r = run(capsys, "-w", str(folder), "ingest", str(tmp_path / f"{kind}.csv"), "--kind", kind)
        assert r.code == 0, r.err
    args = ("-w", str(folder), "indicators", "-i", "positivity", "--unsuppressed")
    r = run(capsys, *args, "--format", "csv")
    assert r.code == 0, r.err
    (row,) = rows_of(r.out)
    assert (row["numerator"], row["denominator"], row["value"]) == ("30", "150", "20")
    assert (row["places_reporting"], row["places_expected"], row["incomplete"]) == (
        "1",
        "2",
        "True",
    )
    r = run(capsys, *args, "--format", "json")
    assert json.loads(r.out)["rows"][0]["incomplete"] is True
    r = run(capsys, *args, "--format", "hxl")
    assert "#x_places+reporting+num" in r.out and "#x_incomplete" in r.out
    r = run(capsys, *args, "--by", "country", "--format", "dhis2-json", "--period", "2024Q1")
    comments = [v.get("comment", "") for v in json.loads(r.out)["dataValues"]]
    assert "Corridor indicator value (percent); incomplete: 1 of 2 expected places reported" in (
        comments
    )
    r = run(capsys, *args, "--by", "country", "--format", "adx", "--period", "2024Q1")
    assert "<!-- incomplete: 1 of 2 expected places reported -->" in r.out
    # the threshold is a workspace setting
    (folder / "corridor.toml").write_text("[settings]\ncompleteness_threshold = 50\n")
    r = run(capsys, *args, "--format", "csv")
    assert rows_of(r.out)[0]["incomplete"] == "False"
    (folder / "corridor.toml").write_text("[settings]\ncompleteness_threshold = 120\n")
    r = run(capsys, *args, "--format", "csv")
    assert r.code == 2 and "completeness_threshold" in r.err and "Traceback" not in r.err


def test_list_as_hxl_has_the_hashtag_row(capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "indicators", "--list", "--format", "csv")
    assert r.code == 0, r.err
    plain = list(csv.reader(io.StringIO(r.out)))
    r = run(capsys, "indicators", "--list", "--format", "hxl")
    assert r.code == 0, r.err
    hxl = list(csv.reader(io.StringIO(r.out)))
    assert hxl[0] == plain[0]
    assert hxl[1] == [
        "#indicator+code",
        "#indicator+name",
        "#x_numerator+code",
        "#x_denominator+code",
        "#x_unit",
        "#x_target+pct",
        "#meta+source",
        "#description",
    ]
    assert hxl[2:] == plain[1:]


@pytest.mark.parametrize("fmt", ["dhis2-json", "adx"])
@pytest.mark.parametrize(
    ("by", "dim"),
    [
        ("country,corridor", "corridor"),
        ("place,corridor", "corridor"),
        ("country,place_type", "place_type"),
    ],
)
def test_dhis2_and_adx_refuse_groupings_that_are_not_org_units(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, by: str, dim: str
) -> None:
    """Busia is on two corridors: grouped by corridor, Kenya's values went out twice (once per
    corridor, with a corridor's counts) under the same org unit and combo."""
    out = tmp_path / "x.out"
    args = ("-w", str(ws), "indicators", "-i", "positivity", "--by", by, "--period", "2024Q1")
    r = run(capsys, *args, "--format", fmt, "--out", str(out))
    assert r.code == 2
    assert f"cannot be grouped by {dim}" in r.err and f"Drop {dim} from --by" in r.err
    assert "Traceback" not in r.err
    assert not out.exists()
    r = run(capsys, *args, "--format", "csv")  # what the message offers instead
    assert r.code == 0, r.err


ADMIN1_PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor
ken,Kenya,country,,ken,0.1,37.9,
ke-west,Western,admin1,ken,ken,0.5,34.5,
ke-malaba,Malaba,border_crossing,ke-west,ken,0.636,34.275,northern
ke-busia,Busia,truck_stop,ken,ken,0.46,34.1,northern;lake
"""


def test_dhis2_and_adx_leave_out_places_with_no_admin1_area(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Busia lies in no admin1 area: grouped by admin1 its values were sent as orgUnit "none"."""
    folder = tmp_path / "ws"
    assert run(capsys, "init", str(folder)).code == 0
    (tmp_path / "places.csv").write_text(ADMIN1_PLACES)
    (tmp_path / "services.csv").write_text(SERVICES)
    for kind in ("places", "services"):
        r = run(capsys, "-w", str(folder), "ingest", str(tmp_path / f"{kind}.csv"), "--kind", kind)
        assert r.code == 0, r.err
    args = ("-w", str(folder), "indicators", "-i", "positivity", "--by", "admin1")
    args += ("--period", "2024Q1", "--unsuppressed")
    out = tmp_path / "a1.json"
    r = run(capsys, *args, "--format", "dhis2-json", "--out", str(out))
    assert r.code == 0, r.err
    assert "3 value(s) of places with no admin1 area" in " ".join(r.err.split())
    body = json.loads(out.read_text())
    assert {v["orgUnit"] for v in body["dataValues"]} == {"ke-west"}
    assert {(v["dataElement"], v["value"]) for v in body["dataValues"]} == {
        ("hiv_tests", "350"),
        ("hiv_positive", "36"),
        ("positivity", "10.2857"),
    }
    assert "3 value(s) of places with no admin1 area" in body["comment"]
    r = run(capsys, *args, "--format", "adx")
    assert r.code == 0, r.err
    assert 'orgUnit="none"' not in r.out and 'orgUnit="ke-west"' in r.out
    assert "3 value(s) of places with no admin1 area" in " ".join(r.err.split())
    r = run(capsys, *args, "--format", "csv")  # CSV keeps the places with no admin1 area
    assert {row["place_code"] for row in rows_of(r.out)} == {"ke-west", "none", "all"}
