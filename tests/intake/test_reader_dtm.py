"""DTM flow-monitoring registry (long CSV) -> flows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corridor.errors import InputError
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
    assert t.warnings == ["ignored column(s) not in the DTM registry: remark"]
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
