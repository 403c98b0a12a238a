"""ADX XML: periods, disaggregation attributes, translation and XML safety."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.contract.periods import parse_period
from corridor.errors import InputError
from corridor.intake.adx import read_adx
from corridor.intake.codes import adx_period
from corridor.intake.rawtable import RawTable, ReadContext

MAPPING: dict[str, Any] = {
    "data_elements": {"HTS_TST": "hiv_tests"},
    "org_units": {"OU_BUSIA": "ke-busia-osbp"},
    "sex": {"FEM": "f"},
    "age": {"Y15T24": "15-24"},
    "population_group": {"TRUCKERS": "truck_driver"},
}


def adx(body: str, root: str = '<adx xmlns="urn:ihe:qrph:adx:2015">') -> bytes:
    return f'<?xml version="1.0"?>\n{root}{body}</adx>'.encode()


def read(data: bytes, mapping: dict[str, Any] | None = MAPPING) -> RawTable:
    ctx = ReadContext("f.xml", mapping, dhis2_places={"Dr4Pt6Yu8Io": "tz-dar-port"})
    return read_adx(Path("f.xml"), data, "services", ctx)


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2024-01-01/P1Y", "2024"),
        ("2024-04-01/P3M", "2024Q2"),
        ("2024-03-01/P1M", "2024-03"),
        ("2024-01-29/P7D", "2024W05"),
        ("2024-12-30/P7D", "2025W01"),
        ("2024-01-29/P1W", "2024W05"),
        ("2024Q1", "2024Q1"),
        ("2024-02-01/P3M", None),  # not a calendar quarter
        ("2024-01-30/P7D", None),  # weeks start on Monday
        ("2024-01-15/P1M", None),
        ("2024-07-01/P6M", None),
        ("2024-13-01/P1M", None),
        ("garbage", None),
    ],
)
def test_adx_periods(text: str, period: str | None) -> None:
    assert adx_period(text) == period


def test_adx_values_and_disaggregations() -> None:
    t = read(
        adx(
            '<group orgUnit="OU_BUSIA" period="2024-01-01/P3M" dataSet="X" completeDate="2024-04-02">'
            '<dataValue dataElement="HTS_TST" SEX="FEM" AGE="Y15T24" POPULATION_GROUP="TRUCKERS" '
            'value="17"/>'
            '<dataValue dataElement="hiv_positive" sex="M" age_band="50+" value="2">'
            "<annotation>checked</annotation></dataValue>"
            "</group>"
            '<group orgUnit="Dr4Pt6Yu8Io" period="2024-05-01/P1M" POPULATION_GROUP="sex_worker">'
            '<dataValue dataElement="hiv_tests" AGE="25-34" value="3"/>'
            "</group>"
        )
    )
    assert t.format == "adx" and t.problems == []
    assert t.frame.to_dicts() == [
        {"period": "2024Q1", "place_code": "ke-busia-osbp", "data_element": "hiv_tests",
         "sex": "f", "age_band": "15-24", "population_group": "truck_driver", "value": "17",
         "_row": 1},
        {"period": "2024Q1", "place_code": "ke-busia-osbp", "data_element": "hiv_positive",
         "sex": "m", "age_band": "50+", "population_group": None, "value": "2", "_row": 2},
        {"period": "2024-05", "place_code": "tz-dar-port", "data_element": "hiv_tests",
         "sex": None, "age_band": "25-34", "population_group": "sex_worker", "value": "3",
         "_row": 3},
    ]  # fmt: skip


def test_adx_problems_name_row_attribute_and_value() -> None:
    t = read(
        adx(
            '<group orgUnit="OU_BUSIA" period="2024-02-01/P3M">'
            '<dataValue dataElement="HTS_TST" value="1"/>'
            "</group>"
            '<group orgUnit="NOPE" period="2024-01-01/P1M">'
            '<dataValue dataElement="UNKNOWN_DE" SEX="Q" AGE="adults" FUNDER="usaid" value="1"/>'
            "</group>"
        )
    )
    got = {(p.row, p.column, p.value) for p in t.problems}
    assert got == {
        (1, "period", "2024-02-01/P3M"),
        (2, "orgUnit", "NOPE"),
        (2, "dataElement", "UNKNOWN_DE"),
        (2, "sex", "Q"),
        (2, "age", "adults"),
        (2, "FUNDER", "usaid"),
    }


def test_adx_without_namespace_is_read() -> None:
    t = read(
        adx(
            '<group orgUnit="OU_BUSIA" period="2024"><dataValue dataElement="HTS_TST" value="1"/></group>',
            "<adx>",
        )
    )
    assert t.frame["period"].to_list() == ["2024"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<adx xmlns="urn:ihe:qrph:adx:2015">&lol2;</adx>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE adx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="&xxe;" period="2024"/></adx>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "XML entities/DTD are not allowed"),
        (EXTERNAL, "XML entities/DTD are not allowed"),
        (b"<adx><group orgUnit='a' period='2024'>", "not well-formed XML"),
        (b"<html><body>login</body></html>", "expected <adx"),
        (adx('<group period="2024"/>'), "group 1 has no orgUnit"),
    ],
)
def test_adx_file_errors(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as err:
        read(data)
    (p,) = err.value.problems
    assert p.file == "f.xml" and reason in p.reason


def test_adx_values_outside_a_top_level_group_are_refused() -> None:
    """A group inside a wrapper element was skipped without a word (0 rows, exit 0)."""
    value = '<dataValue dataElement="HTS_TST" value="3"/>'
    data = adx(
        f'<group orgUnit="OU_BUSIA" period="2024">{value}</group>'
        f'<groups><group orgUnit="OU_BUSIA" period="2023">{value}{value}</group></groups>'
    )
    with pytest.raises(InputError) as err:
        read(data)
    (p,) = err.value.problems
    assert p.reason.startswith(
        "2 of the file's 3 <dataValue> element(s) are not inside a <group> directly under <adx>"
    )


def test_adx_only_for_services() -> None:
    with pytest.raises(InputError, match="--kind services"):
        read_adx(Path("f.xml"), adx(""), "flows", ReadContext("f.xml"))


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_adx_periods_cover_exactly_their_span(day: date) -> None:
    """Every calendar year, quarter, month and ISO week written as ADX maps to that period."""
    monday = day - timedelta(days=day.weekday())
    cases = [
        (date(day.year, 1, 1), "P1Y", date(day.year, 12, 31)),
        (date(day.year, 3 * ((day.month - 1) // 3) + 1, 1), "P3M", None),
        (date(day.year, day.month, 1), "P1M", None),
        (monday, "P7D", monday + timedelta(days=6)),
    ]
    for start, duration, end in cases:
        text = adx_period(f"{start.isoformat()}/{duration}")
        assert text is not None
        period = parse_period(text)
        assert period.start == start
        assert period.start <= day <= period.end
        if end is not None:
            assert period.end == end
