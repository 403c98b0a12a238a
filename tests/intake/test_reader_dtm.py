"""DTM flow-monitoring registry (long CSV) -> flows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corridor.errors import InputError
from corridor.intake import codes
from corridor.intake.codes import age_band
from corridor.intake.dtm import read_dtm
from corridor.intake.rawtable import RawTable, ReadContext

MAPPING: dict[str, Any] = {
    "fmp": {"BSA": "ke-busia-osbp"},
    "locations": {"Kampala": "uga"},
    "sex": {"FEM": "f"},
    "age": {"kids": "<15"},
    "population_group": {"truckers": "truck_driver"},
    "movement": {"arrivals": "incoming"},
    "mode": {"boda-boda": "other"},
}
HEADER = "t,fmp,fmp_country,movement,origin,next,final,sex,age,n,group,mode\n"
#: what the warning about ignored columns says of them
IGNORED_SAYS = (
    "their values are not imported and no count is summed over them (the flows contract has "
    "no such dimension): rows that differ only in them are problems"
)


def read(text: str, mapping: dict[str, Any] | None = MAPPING, encoding: str = "utf-8") -> RawTable:
    ctx = ReadContext("f.csv", mapping, fmp_places={"fmp-ke-002": "ke-malaba-osbp"})
    return read_dtm(Path("f.csv"), text.encode(encoding), "flows", ctx)


def test_dtm_rows_are_translated() -> None:
    t = read(
        HEADER
        + "2024-03,BSA,KEN,incoming,UGA,,Kampala,M,25-34,412,truck_driver,truck\n"
        + "2024-02-29,FMP-KE-002,KEN,exit,KEN,UGA,,FEM,0-14,6,truckers,boda-boda\n"
        + "202404,ke-mombasa-port,KEN,arrivals,TZA,ke-nairobi,,female,50-,3,,lorry\n"
    )
    assert t.format == "dtm-fmr" and t.problems == []
    assert t.frame.to_dicts() == [
        {"period_start": "2024-03-01", "period_end": "2024-03-31",
         "observation_code": "ke-busia-osbp", "direction": "incoming", "origin_code": "uga",
         "destination_code": "uga", "sex": "m", "age_band": "25-34",
         "population_group": "truck_driver", "mode": "truck", "count": "412", "_row": 1},
        {"period_start": "2024-02-29", "period_end": "2024-02-29",
         "observation_code": "ke-malaba-osbp", "direction": "outgoing", "origin_code": "ken",
         "destination_code": "uga", "sex": "f", "age_band": "<15",
         "population_group": "truck_driver", "mode": "other", "count": "6", "_row": 2},
        {"period_start": "2024-04-01", "period_end": "2024-04-30",
         "observation_code": "ke-mombasa-port", "direction": "incoming", "origin_code": "tza",
         "destination_code": "ke-nairobi", "sex": "f", "age_band": "50+",
         "population_group": None, "mode": "truck", "count": "3", "_row": 3},
    ]  # fmt: skip


def test_dtm_semicolons_tabs_case_and_cp1252() -> None:
    text = "T;FMP;Movement;Origin;Final;Sex;Age;N;Remark\n2024-03;BSA;in;UGA;KEN;m;15-24;5;Café\n"
    t = read(text, encoding="cp1252")
    assert t.problems == []
    assert t.frame["direction"].to_list() == ["incoming"]
    assert t.warnings == [f"ignored column(s) not in the DTM registry: remark; {IGNORED_SAYS}"]
    tab = read(text.replace(";", "\t"))
    assert tab.frame["observation_code"].to_list() == ["ke-busia-osbp"]


def test_dtm_without_mapping_keeps_place_codes() -> None:
    t = read(HEADER + "2024-03,ke-busia-osbp,KEN,transit,uga,,tza,,,1,,\n", mapping=None)
    assert t.problems == []
    (r,) = t.frame.to_dicts()
    assert (r["observation_code"], r["origin_code"], r["destination_code"]) == (
        "ke-busia-osbp",
        "uga",
        "tza",
    )


def test_dtm_unmappable_values_are_problems() -> None:
    t = read(
        HEADER
        + "2024/03,BSA,KEN,sideways,UGA,,KEN,Q,adults,1,aliens,hovercraft\n"
        + "2024-03,BSA,KEN,in,UGA,,KEN,F,15-24,2,,\n"
    )
    got = {(p.row, p.column, p.value) for p in t.problems}
    assert got == {
        (1, "t", "2024/03"),
        (1, "movement", "sideways"),
        (1, "sex", "Q"),
        (1, "age", "adults"),
        (1, "group", "aliens"),
        (1, "mode", "hovercraft"),
    }


def test_dtm_missing_columns_is_a_file_error() -> None:
    with pytest.raises(InputError) as err:
        read("t,fmp,origin\n2024-03,BSA,UGA\n")
    assert {p.column for p in err.value.problems} == {"movement", "n"}
    assert "DTM" in str(err.value)


def test_dtm_column_given_twice_is_refused() -> None:
    """A second ``n`` column (or ``date`` beside ``t``) was ignored with a warning that called
    it "not in the DTM registry"; which one holds the counts cannot be told."""
    with pytest.raises(InputError) as err:
        read(HEADER.strip() + ",n\n2024-03,BSA,KEN,incoming,UGA,,,M,25-34,412,,,999\n")
    assert [(p.row, p.column, p.reason) for p in err.value.problems] == [
        (None, "n", "duplicate column for 'n'")
    ]
    with pytest.raises(InputError) as err:
        read("t,date,fmp,movement,n\n2024-03,2024-04,BSA,in,5\n")
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("date", "duplicate column for 't'")
    ]


def test_dtm_only_for_flows() -> None:
    with pytest.raises(InputError, match="--kind flows"):
        read_dtm(Path("f.csv"), HEADER.encode(), "services", ReadContext("f.csv"))


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("0-14", "<15"),
        ("15-24", "15-24"),
        ("15 - 24 years", "15-24"),
        ("50+", "50+"),
        ("50-", "50+"),
        ("<15", "<15"),
        ("15-19", "15-19"),  # accepted when the workspace declares it
        ("total", "total"),
        ("24-15", None),
        ("adult", None),
    ],
)
def test_age_bands(text: str, band: str | None) -> None:
    assert age_band(text) == band


# ---- gender: DTM's other name for sex ------------------------------------------------------------
# A DTM registry with a `gender` column (as many DTM exports name it) had it ignored with a
# warning ("ignored column(s) not in the DTM registry: gender"): every row became a total (sex
# summed away) and rows that differed only by gender collided. The flows contract has a sex
# dimension: the column is read into it.

GENDERED = (
    "t,fmp,movement,Gender,n\n"
    "2024-03,BSA,in,Male,5\n"
    "2024-03,BSA,in,Female,3\n"
    "2024-03,BSA,out,M,2\n"
    "2024-03,BSA,out,f,1\n"
    "2024-03,BSA,transit,total,9\n"
    "2024-03,BSA,transit,,4\n"
)


def test_dtm_gender_column_is_read_as_sex() -> None:
    t = read(GENDERED)
    assert t.problems == [] and t.warnings == []
    assert t.frame["sex"].to_list() == ["m", "f", "m", "f", "total", None]  # None: total


def test_dtm_gender_value_that_is_not_a_sex_names_row_column_and_value() -> None:
    t = read("t,fmp,movement,gender,n\n2024-03,BSA,in,Male,5\n2024-03,BSA,in,Unknown,3\n")
    assert [(p.file, p.row, p.column, p.value, p.reason) for p in t.problems] == [
        ("f.csv", 2, "gender", "Unknown", codes.DIMENSION_REASONS["sex"])
    ]
    # a column under an alias is named as the file names it
    t = read("date,fmp,movement,n\n2024/03,BSA,in,5\n")
    assert [(p.row, p.column, p.value) for p in t.problems] == [(1, "date", "2024/03")]


def test_dtm_sex_beside_gender_is_refused() -> None:
    with pytest.raises(InputError) as err:
        read("t,fmp,movement,sex,gender,n\n2024-03,BSA,in,M,F,5\n")
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("gender", "duplicate column for 'sex'")
    ]


def test_dtm_gender_is_imported_by_sex_or_not_at_all(tmp_path: Path) -> None:
    from corridor.intake.importer import ingest
    from corridor.storage.duckdb import DuckDBEngine
    from corridor.storage.migrations import migrate

    examples = Path(__file__).parents[2] / "examples"
    lines = GENDERED.replace("BSA", "ke-busia-osbp").splitlines(keepends=True)[:-1]
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        ingest(eng, [examples / "places.csv"], "places")
        bad = tmp_path / "bad.csv"  # one value that is not a sex: nothing is imported
        bad.write_text("".join(lines) + "2024-03,ke-busia-osbp,in,Unknown,7\n")
        with pytest.raises(InputError) as err:
            ingest(eng, [bad], "flows", fmt="dtm-fmr")
        assert [(p.row, p.column, p.value) for p in err.value.problems] == [
            (6, "gender", "Unknown")
        ]
        assert eng.scalar("SELECT COUNT(*) FROM flows") == 0
        good = tmp_path / "good.csv"
        good.write_text("".join(lines))
        [result] = ingest(eng, [good], "flows", fmt="dtm-fmr")
        assert result.rows_new == 5 and result.warnings == []
        got = eng.query_rows("SELECT direction, sex, count FROM flows ORDER BY direction, sex")
        assert got == [
            ("incoming", "f", 3),
            ("incoming", "m", 5),
            ("outgoing", "f", 1),
            ("outgoing", "m", 2),
            ("transit", "total", 9),
        ]
    finally:
        eng.close()


# ---- age_group, age_band, key_population: the flows contract's dimensions -----------------------
# The DTM reader knew only `age` and `group` (and `population_group`): a registry whose columns
# are `age_group`, `age_band` or `key_population` had them ignored with a warning. Nothing was
# summed: rows that differed only by the column had one key, so validation kept one of two equal
# counts without a word (10 men of two age groups became 5) and called two others a conflict.
# The flows contract has an age band and a population group dimension: the columns are read
# into them, under any case and spelling of the name.


@pytest.mark.parametrize(
    ("age", "group"),
    [
        ("age_group", "key_population"),
        ("age_band", "population_group"),
        ("Age Group", "Key Population"),
        ("AGE-RANGE", "key_population"),
    ],
)
def test_dtm_dimension_columns_under_other_names_are_read(age: str, group: str) -> None:
    t = read(
        f"t,fmp,movement,sex,{age},{group},n\n"
        "2024-03,BSA,in,M,15-24,truck driver,5\n"
        "2024-03,BSA,in,M,25-34,truck driver,5\n"
        "2024-03,BSA,in,M,kids,truckers,2\n"
    )
    assert t.problems == [] and t.warnings == []
    assert t.frame.select("age_band", "population_group", "count").rows() == [
        ("15-24", "truck_driver", "5"),
        ("25-34", "truck_driver", "5"),
        ("<15", "truck_driver", "2"),
    ]


def test_dtm_dimension_values_that_are_none_name_the_files_column() -> None:
    t = read("t,fmp,movement,Age_Group,key_population,n\n2024-03,BSA,in,adults,aliens,1\n")
    assert [(p.row, p.column, p.value, p.reason) for p in t.problems] == [
        (1, "age_group", "adults", codes.DIMENSION_REASONS["age_band"]),
        (1, "key_population", "aliens", codes.DIMENSION_REASONS["population_group"]),
    ]


@pytest.mark.parametrize(
    ("header", "second"),
    [("age,age_group", "age_group"), ("group,key_population", "key_population")],
)
def test_dtm_dimension_beside_its_other_name_is_refused(header: str, second: str) -> None:
    with pytest.raises(InputError) as err:
        read(f"t,fmp,movement,{header},n\n2024-03,BSA,in,a,b,5\n")
    [p] = err.value.problems
    assert p.column == second and p.reason.startswith("duplicate column for")


def test_dtm_age_group_is_imported_by_age_band(tmp_path: Path) -> None:
    from corridor.intake.importer import ingest
    from corridor.storage.duckdb import DuckDBEngine
    from corridor.storage.migrations import migrate

    examples = Path(__file__).parents[2] / "examples"
    path = tmp_path / "dtm.csv"
    path.write_text(
        "t,fmp,movement,sex,age_group,n\n"
        "2024-03,ke-busia-osbp,in,m,15-24,5\n"
        "2024-03,ke-busia-osbp,in,m,25-34,5\n"
        "2024-03,ke-busia-osbp,in,f,15-24,3\n"
    )
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        ingest(eng, [examples / "places.csv"], "places")
        [result] = ingest(eng, [path], "flows")
        assert (result.format, result.rows_new, result.warnings) == ("dtm-fmr", 3, [])
        got = eng.query_rows("SELECT sex, age_band, count FROM flows ORDER BY sex, age_band")
        assert got == [("f", "15-24", 3), ("m", "15-24", 5), ("m", "25-34", 5)]
    finally:
        eng.close()


# ---- columns the flows contract has no dimension for --------------------------------------------
# Such a column (nationality) is still ignored with a warning, which now says that its values are
# not imported and nothing is summed over them. Rows that differ only in it would be one flow
# (one count kept without a word, or a conflict that did not say why): each such row after the
# first is a problem naming the column.

NATIONALITY = (
    "t,fmp,movement,sex,nationality,n\n"
    "2024-03,BSA,in,M,UGA,5\n"
    "2024-03,BSA,in,M,KEN,5\n"
    "2024-03,BSA,in,F,KEN,3\n"
    "2024-03,BSA,in,M,TZA,1\n"
)


def test_dtm_rows_that_differ_only_in_an_ignored_column_are_problems() -> None:
    t = read(NATIONALITY)
    assert t.warnings == [f"ignored column(s) not in the DTM registry: nationality; {IGNORED_SAYS}"]
    assert [(p.file, p.row, p.column, p.value) for p in t.problems] == [
        ("f.csv", 2, "nationality", "KEN"),
        ("f.csv", 4, "nationality", "TZA"),
    ]
    assert t.problems[0].reason == (
        "the same flow as row 1, which has 'UGA' in this column: the column is not imported "
        "(the flows contract has no such dimension), so the two rows would be one flow and a "
        "count would be lost; add their counts up in one row"
    )
    # rows that are different flows, or the same in that column too, are not
    t = read(NATIONALITY.replace("KEN,5", "UGA,5").replace("M,TZA", "X,TZA"))
    assert t.problems == []


def test_dtm_next_where_final_is_given_and_unnamed_columns_are_compared_too() -> None:
    t = read(
        "t,fmp,movement,origin,next,final,n,\n"
        "2024-03,BSA,in,UGA,KEN,TZA,5,\n"
        "2024-03,BSA,in,UGA,RWA,TZA,5,\n"  # next differs, final the same: one flow
        "2024-03,BSA,in,UGA,RWA,,5,\n"  # no final: next is the destination
        "2024-03,BSA,out,UGA,,,5,a\n"
        "2024-03,BSA,out,UGA,,,5,b\n"  # differs only in the column without a header
    )
    assert [(p.row, p.column, p.value) for p in t.problems] == [
        (2, "next", "RWA"),
        (5, "column 8 (no header)", "b"),
    ]
    assert "(the flows contract keeps the final destination only)" in t.problems[0].reason
    assert t.warnings == [
        f"ignored column(s) not in the DTM registry: column 8 (no header); {IGNORED_SAYS}"
    ]


def test_dtm_rows_that_differ_only_in_an_ignored_column_are_not_imported(tmp_path: Path) -> None:
    from corridor.intake.importer import ingest
    from corridor.storage.duckdb import DuckDBEngine
    from corridor.storage.migrations import migrate

    examples = Path(__file__).parents[2] / "examples"
    path = tmp_path / "dtm.csv"
    path.write_text(NATIONALITY.replace("BSA", "ke-busia-osbp"))
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        ingest(eng, [examples / "places.csv"], "places")
        with pytest.raises(InputError) as err:
            ingest(eng, [path], "flows")
        assert [(p.row, p.column, p.value) for p in err.value.problems] == [
            (2, "nationality", "KEN"),
            (4, "nationality", "TZA"),
        ]
        assert eng.scalar("SELECT COUNT(*) FROM flows") == 0
        [result] = ingest(eng, [path], "flows", quarantine=True)
        assert (result.rows_new, len(result.problems)) == (2, 2)
        assert eng.query_rows("SELECT sex, count FROM flows ORDER BY sex") == [("f", 3), ("m", 5)]
    finally:
        eng.close()


#: why a ``t`` value is not read
T_REASON = "not a year (YYYY), a month (YYYY-MM) or a date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    ("t", "span"),
    [
        ("2024", ("2024-01-01", "2024-12-31")),  # a year: never its first day alone
        (" 2024 ", ("2024-01-01", "2024-12-31")),
        ("2024-02", ("2024-02-01", "2024-02-29")),
        ("202402", ("2024-02-01", "2024-02-29")),
        ("2024-02-29", ("2024-02-29", "2024-02-29")),
        ("1899", "year 1899 is outside the accepted years 1900-2100"),
        ("2101-01", "year 2101 is outside the accepted years 1900-2100"),
        ("2024-13", T_REASON),
        ("2023-02-29", T_REASON),
        ("2024Q1", T_REASON),
        ("2024W05", T_REASON),
        ("24", T_REASON),
    ],
)
def test_dtm_t_is_a_year_a_month_or_a_day(t: str, span: tuple[str, str] | str) -> None:
    got = read(f"t,fmp,movement,n\n{t},BSA,in,5\n")
    if isinstance(span, tuple):
        assert got.problems == []
        assert got.frame.select("period_start", "period_end").rows() == [span]
    else:
        assert [(p.row, p.column, p.value, p.reason) for p in got.problems] == [(1, "t", t, span)]
