"""A tidy file (CSV, HXL, XLSX) whose column carries a well-known other name of a contract column
it lacks (``gender`` for ``sex``, ``age_group`` for ``age_band``, ``site`` for ``place_code``, ...)
is refused, naming the column and the contract column it probably is: read as it was, the column
was ignored with a warning and every row became a total (or rows collided). With the contract
column beside it, the other column is still only a warning. DHIS2, ADX and DTM files, which have
their own headers, are not affected."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import write
from openpyxl import Workbook

from corridor.contract.schema import (
    FLOWS,
    OTHER_NAMES,
    PLACES,
    SCHEMAS,
    SERVICES,
    normalised_name,
    probable_column,
)
from corridor.errors import InputError, Problem
from corridor.intake.dhis2 import read_dhis2_csv
from corridor.intake.dtm import read_dtm
from corridor.intake.rawtable import RawTable, ReadContext
from corridor.intake.tidy import read_delimited, scan_delimited
from corridor.intake.xlsx import read_xlsx

FLOWS_HEADER = (
    "period_start,period_end,observation_code,direction,origin_code,destination_code,sex,"
    "age_band,population_group,mode,count"
)


def read(path: Path, kind: str) -> RawTable:
    return read_delimited(path, path.read_bytes(), kind, ReadContext(str(path)))


def refusal(path: Path, kind: str) -> InputError:
    with pytest.raises(InputError) as err:
        read(path, kind)
    # the batch reader (the one `corridor ingest` uses for CSV files) refuses it the same way
    with pytest.raises(InputError) as scanned:
        scan_delimited(path, path.read_bytes()[:65536], kind, ReadContext(str(path)))
    assert scanned.value.problems == err.value.problems
    return err.value


def only(problems: list[Problem], column: str) -> Problem:
    found = [p for p in problems if p.column == column]
    assert len(found) == 1, problems
    return found[0]


def services_with(tmp_path: Path, other: str, drop: str, cells: tuple[str, str]) -> Path:
    """Two services rows whose ``drop`` column is under the header ``other`` instead."""
    header = ["period", "place_code", "data_element", "sex", "age_band", "population_group"]
    header += ["value"]
    values = {"period": "2024Q1", "place_code": "ke-malaba", "data_element": "hiv_tests"}
    values |= {"sex": "f", "age_band": "15-24", "population_group": "truck_driver", "value": "3"}
    rows = []
    for cell in cells:
        row = dict(values) | {drop: cell}
        rows.append(",".join(row[c] for c in header))
    text = ",".join(other if c == drop else c for c in header) + "\n" + "\n".join(rows) + "\n"
    return write(tmp_path, "services.csv", text)


@pytest.mark.parametrize(
    ("other", "column", "cells"),
    [
        ("gender", "sex", ("f", "m")),
        ("Gender", "sex", ("f", "m")),
        ("age", "age_band", ("15-24", "25-34")),
        ("age_group", "age_band", ("15-24", "25-34")),
        ("agegroup", "age_band", ("15-24", "25-34")),
        ("Age Group", "age_band", ("15-24", "25-34")),
        ("age-range", "age_band", ("15-24", "25-34")),
        ("Age Band", "age_band", ("15-24", "25-34")),  # the contract's own name, spelt otherwise
        ("group", "population_group", ("truck_driver", "sex_worker")),
        ("population", "population_group", ("truck_driver", "sex_worker")),
        ("key_population", "population_group", ("truck_driver", "sex_worker")),
        ("Key Population", "population_group", ("truck_driver", "sex_worker")),
    ],
)
def test_a_dimension_under_another_name_is_refused_not_read_as_totals(
    tmp_path: Path, other: str, column: str, cells: tuple[str, str]
) -> None:
    path = services_with(tmp_path, other, column, cells)
    err = refusal(path, "services")
    assert len(err.problems) == 1
    p = only(err.problems, other)
    assert (p.file, p.row, p.value) == (str(path), None, None)
    default = SERVICES.column(column).default
    assert p.reason == (
        f"not a column of the contract, but probably its column {column!r} (header {column!r} "
        f"or tag {SERVICES.column(column).hxl}), which the file lacks: read as it is, it would "
        f"be ignored and every row would have {column} {default!r}. To import it, rename the "
        f"header {other!r} to {column!r}; if it holds something else, remove the column"
    )
    assert err.summary == (
        f"{path}: the header does not match the services contract: column {other!r} is "
        f"probably {column!r}"
    )
    # renamed, the same file reads, with its breakdown
    renamed = path.read_text().replace(other, column, 1)
    t = read(write(tmp_path, "renamed.csv", renamed), "services")
    assert t.frame[column].to_list() == list(cells)
    assert t.warnings == []


@pytest.mark.parametrize(
    ("other", "column"),
    [
        ("indicator", "data_element"),
        ("dataelement", "data_element"),
        ("DataElement", "data_element"),
        ("orgunit", "place_code"),
        ("org_unit", "place_code"),
        ("site", "place_code"),
        ("count", "value"),
    ],
)
def test_a_required_column_under_another_name_says_which_it_probably_is(
    tmp_path: Path, other: str, column: str
) -> None:
    path = services_with(tmp_path, other, column, ("a", "b"))
    err = refusal(path, "services")
    # one problem, in place of "required column missing", which would not say where it is
    assert len(err.problems) == 1
    p = only(err.problems, other)
    assert p.reason.startswith(
        f"not a column of the contract, but probably its column {column!r} (header {column!r} "
        f"or tag {SERVICES.column(column).hxl}), which the file lacks: the file has no "
        f"{column!r} column. To import it, rename the header {other!r} to {column!r}"
    )


def test_flows_columns_under_other_names(tmp_path: Path) -> None:
    row = "2024-04-01,2024-04-30,ke-malaba,incoming,uga,ke-mombasa,m,25-34,truck_driver,truck,5"
    for other, column in [
        ("gender", "sex"),
        ("age_group", "age_band"),
        ("group", "population_group"),
        ("origin", "origin_code"),
        ("destination", "destination_code"),
        ("value", "count"),
    ]:
        header = FLOWS_HEADER.replace(column, other)
        path = write(tmp_path, "flows.csv", f"{header}\n{row}\n")
        err = refusal(path, "flows")
        assert [p.column for p in err.problems] == [other], err.problems
        assert f"probably its column {column!r}" in err.problems[0].reason
    p = refusal(
        write(tmp_path, "f.csv", FLOWS_HEADER.replace("origin_code", "origin") + "\n"), "flows"
    )
    assert "every row would have no origin_code" in p.problems[0].reason


def test_several_other_names_are_each_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.csv",
        "period,site,indicator,gender,age,group,count\n2024Q1,ke-malaba,hiv_tests,f,15-24,migrant,3\n",
    )
    err = refusal(path, "services")
    assert [(p.column, p.reason.split("'")[1]) for p in err.problems] == [
        ("site", "place_code"),
        ("indicator", "data_element"),
        ("gender", "sex"),
        ("age", "age_band"),
        ("group", "population_group"),
        ("count", "value"),
    ]
    assert "required column missing" not in str(err)


def test_beside_the_contract_column_another_name_is_only_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.csv",
        "period,place_code,data_element,sex,gender,age_band,age_group,value,site\n"
        "2024Q1,ke-malaba,hiv_tests,f,female,15-24,youth,3,Malaba\n",
    )
    t = read(path, "services")
    assert t.frame["sex"].to_list() == ["f"]
    assert t.frame["age_band"].to_list() == ["15-24"]
    assert t.warnings == ["ignored column(s) not in the services contract: gender, age_group, site"]


def test_a_contract_column_of_the_kind_is_never_another_name(tmp_path: Path) -> None:
    # count is a flows column, population a places column: they read as themselves
    flows = write(
        tmp_path,
        "f.csv",
        FLOWS_HEADER + "\n2024-04-01,2024-04-30,ke-malaba,incoming,,,m,25-34,truck_driver,,5\n",
    )
    assert read(flows, "flows").frame["count"].to_list() == ["5"]
    places = write(
        tmp_path,
        "p.csv",
        "place_code,name,place_type,parent_code,country_code,population,count,site\n"
        "ken,Kenya,country,,ken,50000000,3,x\n",
    )
    t = read(places, "places")
    assert t.frame["population"].to_list() == ["50000000"]
    # value, count, site, gender: no places column has them as other names (place_code is there)
    assert t.warnings == ["ignored column(s) not in the places contract: count, site"]
    assert probable_column("count", PLACES) is None
    assert probable_column("count", FLOWS) == "count"
    assert probable_column("population", PLACES) == "population"
    assert probable_column("count", SERVICES) == "value"
    assert probable_column("age", SCHEMAS["cases"]) == "age_years"
    assert probable_column("comment", SERVICES) is None


def test_hxl_tags_under_another_name(tmp_path: Path) -> None:
    tags = "#date+period,#loc+code,#indicator+code,#gender,#x_value+num"
    path = write(tmp_path, "t.csv", f"{tags}\n2024Q1,ke-malaba,hiv_tests,f,3\n")
    err = refusal(path, "services")
    assert [p.column for p in err.problems] == ["#gender"]
    assert err.problems[0].reason.endswith(
        "To import it, change its tag #gender to #gender+code; if it holds something else, "
        "remove the column"
    )
    # header and tags: the tag says what the column is, whatever the header's language
    text = (
        "Période,Site,Indicateur,Sexe,Âge,Valeur\n"
        "#date+period,#loc+code,#indicator+code,#sex,#age+years,#x_value+num\n"
        "2024Q1,ke-malaba,hiv_tests,f,15-24,3\n"
    )
    err = refusal(write(tmp_path, "h.csv", text), "services")
    assert [(p.column, p.reason.split("'")[1]) for p in err.problems] == [
        ("Sexe", "sex"),
        ("Âge", "age_band"),
    ]
    assert "change its tag #sex to #gender+code" in err.problems[0].reason
    # a tag that is not another name keeps the column out, whatever its header says
    text = "period,place_code,data_element,gender,value\n#date+period,#loc+code,#indicator+code,#meta+comment,#x_value+num\n2024Q1,ke-malaba,hiv_tests,note,3\n"
    t = read(write(tmp_path, "m.csv", text), "services")
    assert t.warnings == ["ignored column(s) not in the services contract: gender"]


def workbook(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "services"
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_workbook_column_under_another_name_is_refused() -> None:
    data = workbook(
        [
            ["period", "place_code", "data_element", "Gender", "age_band", "value"],
            ["2024Q1", "ke-malaba", "hiv_tests", "f", "15-24", 3],
            ["2024Q1", "ke-malaba", "hiv_tests", "m", "15-24", 4],
        ]
    )
    with pytest.raises(InputError) as err:
        read_xlsx(Path("f.xlsx"), data, "services", ReadContext("f.xlsx"))
    assert [(p.file, p.column) for p in err.value.problems] == [("f.xlsx", "Gender")]
    assert "probably its column 'sex'" in err.value.problems[0].reason


def test_the_list_of_other_names_is_documented() -> None:
    """docs/data-contract.md lists exactly OTHER_NAMES, and no other name is, as compared, a
    column of a kind that has its contract column."""
    doc = (Path(__file__).parents[2] / "docs" / "data-contract.md").read_text(encoding="utf-8")
    table = doc.split("<!-- other-names: start -->")[1].split("<!-- other-names: end -->")[0]
    documented: dict[str, tuple[str, ...]] = {}
    for line in table.strip().splitlines()[2:]:
        cell, names = (c.strip() for c in line.strip("|").split("|"))
        documented[cell.split("`")[1]] = tuple(n.strip().strip("`") for n in names.split(","))
    assert documented == OTHER_NAMES
    for column, others in OTHER_NAMES.items():
        kinds = [s for s in SCHEMAS.values() if column in s.names]
        assert kinds, column
        for schema in kinds:  # never a column of a kind that has the contract column
            own = {normalised_name(n) for n in schema.names}
            assert not {normalised_name(o) for o in others} & own, (column, schema.kind)


def test_dhis2_and_dtm_headers_are_not_affected(tmp_path: Path) -> None:
    """Their readers have their own headers: DTM's `age` and `group`, DHIS2's `orgunit` and
    `dataelement` are their columns, not other names."""
    dtm = (
        "t,fmp,fmp_country,movement,origin,next,final,sex,age,n,group,mode\n"
        "2024-03,ke-malaba,KEN,incoming,uga,,ken,M,25-34,4,truck_driver,truck\n"
    )
    t = read_dtm(Path("d.csv"), dtm.encode(), "flows", ReadContext("d.csv"))
    assert t.problems == [] and t.warnings == []
    assert t.frame["age_band"].to_list() == ["25-34"]
    assert t.frame["population_group"].to_list() == ["truck_driver"]
    export = (
        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
        "hiv_tests,202402,OrgMalabaK1,HllvX50cXC0,HllvX50cXC0,5\n"
    )
    ctx = ReadContext("e.csv", dhis2_places={"OrgMalabaK1": "ke-malaba"})
    t = read_dhis2_csv(Path("e.csv"), export.encode(), "services", ctx)
    assert t.problems == []
    assert t.frame["place_code"].to_list() == ["ke-malaba"]
