"""The streaming exporters write the same bytes as the row-by-row writers they replaced.

``legacy_export`` is the 0.1.0 writer (text cells neutralised, as now). A fixture world with
awkward names (quotes, commas, new lines, non-ASCII, formula-leading text) and a property test over
random tables (halfway roundings, whole numbers, huge and negative values, flags) compare them.
"""

from __future__ import annotations

import json
import random
from datetime import datetime

import legacy_export as old
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indhelpers import load_places, load_services

from corridor.indicators import compute_indicators, suppress
from corridor.indicators.export import Codes, codes_for, to_adx, to_csv, to_dhis2_json, to_json
from corridor.storage.engine import Engine

NAMES = (
    "Malaba, (KE)",
    'Busia "north"',
    "Line\nbreak",
    "Névé Ñ 中",
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "plain",
)
GROUPS = ("total", "refugee", "truck_driver", "migrant", "sex_worker")


@pytest.fixture
def world(engine: Engine) -> Engine:
    places = [("ken", "Kenya", "country", "", "ken", "", "")]
    places += [
        (f"ke-s{i}", NAMES[i % len(NAMES)], "truck_stop", "ken", "ken", "northern", f"OU{i:09d}")
        for i in range(30)
    ]
    load_places(engine, places)
    rnd = random.Random(7)
    rows = []
    for q in ("2024Q1", "2024Q2"):
        for i in range(30):
            for g in GROUPS:
                for s in ("f", "m"):
                    tests = rnd.choice([0, 3, 12, 57, 140, 999, 2000])
                    rows.append((q, f"ke-s{i}", "hiv_tests", s, "", g, tests))
                    rows.append((q, f"ke-s{i}", "hiv_positive", s, "", g, rnd.randint(0, tests)))
    load_services(engine, rows)
    return engine


def test_every_format_matches_the_old_writer_on_a_world(world: Engine) -> None:
    for by in (["place", "sex", "population_group", "period"], ["place"], ["sex"]):
        raw = compute_indicators(world, ["positivity"], by=by, period="2024", totals=True)
        for table in (suppress(raw), raw):
            unsup = table is raw
            assert to_csv(table, unsuppressed=unsup) == old.to_csv(table, unsuppressed=unsup)
            assert to_csv(table, unsuppressed=unsup, hxl=True) == old.to_csv(
                table, unsuppressed=unsup, hxl=True
            )
            q = {"by": by, "when": datetime(2024, 1, 1)}
            assert to_json(table, unsuppressed=unsup, query=q) == old.to_json(
                table, unsuppressed=unsup, query=q
            )
            if "place" not in by:
                continue
            for codes in (Codes(), codes_for(world)):
                assert to_dhis2_json(table, codes, unsuppressed=unsup) == old.to_dhis2_json(
                    table, codes, unsuppressed=unsup
                )
                stamp = "2024-06-01T00:00:00Z"
                assert to_adx(table, codes, unsuppressed=unsup, stamp=stamp) == old.to_adx(
                    table, codes, unsuppressed=unsup, stamp=stamp
                )


number = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6).map(float),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-(10**7), 10**7).map(lambda k: k / 1000),  # halfway cases like 2.675
    st.integers(-(10**6), 10**6).map(lambda k: k / 200),
    st.sampled_from([0.0, -0.0, 1e15 + 0.5, 123456789012.345, 2.675, 1.005, -0.004, 1e300]),
)
text = st.sampled_from((*NAMES, "", "a,b", "x" * 3))
flag = st.sampled_from([None, None, None, "<10", "suppressed"])


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 25))
    row = st.tuples(text, text, number, number, number, number, number, flag, flag, flag)
    rows = draw(st.lists(row, min_size=n, max_size=n))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 10
    place = ["all" if i % 7 == 6 else f"p{i % 3}" for i in range(n)]
    data = {
        "indicator": ["positivity"] * n,
        "period": ["2024Q1" if i % 2 else "2024-05" for i in range(n)],
        "place_code": place,
        "place_name": pa.array(cols[0], pa.string()),
        "sex": ["f" if i % 3 else "total" for i in range(n)],
        "age_band": ["total"] * n,
        "population_group": pa.array(cols[1], pa.string()),
        "numerator": pa.array(cols[2], pa.float64()),
        "denominator": pa.array(cols[3], pa.float64()),
        "value": pa.array(cols[4], pa.float64()),
        "unit": ["percent"] * n,
        "target": pa.array(cols[5], pa.float64()),
        "gap": pa.array(cols[6], pa.float64()),
        "numerator_flag": pa.array(cols[7], pa.string()),
        "denominator_flag": pa.array(cols[8], pa.string()),
        "value_flag": pa.array(cols[9], pa.string()),
        "numerator_element": ["hiv_positive"] * n,
        "denominator_element": [
            "hiv_tests" if i % 5 else "art_current two quarters earlier" for i in range(n)
        ],
        "places_reporting": pa.array([i % 4 for i in range(n)], pa.int64()),
        "places_expected": pa.array([3] * n, pa.int64()),
        "incomplete": pa.array([i % 4 < 3 if i % 6 else None for i in range(n)], pa.bool_()),
    }
    meta = {b"corridor.by": json.dumps(["place", "sex"]).encode()}
    return pa.table(data).replace_schema_metadata(meta)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_are_written_byte_for_byte_as_before(table: pa.Table) -> None:
    assert to_csv(table, unsuppressed=True) == old.to_csv(table, unsuppressed=True)
    assert to_csv(table, unsuppressed=True, hxl=True) == old.to_csv(
        table, unsuppressed=True, hxl=True
    )
    assert to_json(table, unsuppressed=True) == old.to_json(table, unsuppressed=True)
    codes = Codes(org_units={"p1": "OU-one"}, data_elements={"hiv_tests": 'DE"x'})
    assert to_dhis2_json(table, codes, unsuppressed=True) == old.to_dhis2_json(
        table, codes, unsuppressed=True
    )
    stamp = "2024-06-01T00:00:00Z"
    assert to_adx(table, codes, unsuppressed=True, stamp=stamp) == old.to_adx(
        table, codes, unsuppressed=True, stamp=stamp
    )


@st.composite
def exchange_tables(draw: st.DrawFn) -> pa.Table:
    """Tables whose indicators share data elements (a count goes out once), with groups, ages,
    withheld values, codes with "--" and incomplete reporting: what DHIS2/ADX pick and map."""
    n = draw(st.integers(0, 40))
    pairs = [
        ("positivity", "hiv_positive", "hiv_tests"),
        ("linkage_proxy", "art_initiated", "hiv_positive"),
        ("second_95", "art_current", "plhiv_diagnosed"),
    ]
    rows = []
    for i in range(n):
        ind, num, den = draw(st.sampled_from(pairs))
        rows.append(
            (
                ind,
                num,
                den,
                draw(st.sampled_from(["2024Q1", "2024Q2", "2024-05"])),
                draw(st.sampled_from(["all", "p-1", "p--2", "p3"])),
                draw(st.sampled_from(["f", "m", "total"])),
                draw(st.sampled_from(["total", "15-24", "<15"])),
                draw(st.sampled_from(["total", "migrant", "sex--worker"])),
                draw(number),
                draw(number),
                draw(number),
                draw(flag),
                draw(flag),
                draw(flag),
                draw(st.sampled_from([None, True, False])),
                i,
            )
        )
    cols = list(zip(*rows, strict=True)) if rows else [()] * 16
    floats = {c: pa.array(cols[k], pa.float64()) for k, c in ((8, "n"), (9, "d"), (10, "v"))}
    data = {
        "indicator": pa.array(cols[0], pa.string()),
        "period": pa.array(cols[3], pa.string()),
        "place_code": pa.array(cols[4], pa.string()),
        "place_name": pa.array(cols[4], pa.string()),
        "sex": pa.array(cols[5], pa.string()),
        "age_band": pa.array(cols[6], pa.string()),
        "population_group": pa.array(cols[7], pa.string()),
        "numerator": floats["n"],
        "denominator": floats["d"],
        "value": floats["v"],
        "unit": ["percent"] * n,
        "target": pa.nulls(n, pa.float64()),
        "gap": pa.nulls(n, pa.float64()),
        "numerator_flag": pa.array(cols[11], pa.string()),
        "denominator_flag": pa.array(cols[12], pa.string()),
        "value_flag": pa.array(cols[13], pa.string()),
        "numerator_element": pa.array(cols[1], pa.string()),
        "denominator_element": pa.array(cols[2], pa.string()),
        "places_reporting": pa.array([i % 3 for i in cols[15]], pa.int64()),
        "places_expected": pa.array([None if i % 5 == 4 else 2 for i in cols[15]], pa.int64()),
        "incomplete": pa.array(cols[14], pa.bool_()),
    }
    by = draw(st.sampled_from([["place", "sex", "age_band", "population_group"], ["place"]]))
    meta = {b"corridor.by": json.dumps(by).encode()}
    return pa.table(data).replace_schema_metadata(meta)


MAPPED = Codes(
    org_units={"p3": "OU--3", "p-1": 'OU"1'},
    data_elements={"hiv_positive": "DE-pos", "art_current": "DE--curr"},
    combos={
        ("f", "15-24", "migrant"): ("COC1", None),
        ("m", "total", "migrant"): ("COC2", "AOC--1"),
        ("f", "<15", "total"): ("COC3", "AOC2"),
    },
    dim_codes={"sex": {"f": "F--x"}, "population_group": {"migrant": "MIG"}},
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchange_tables(), st.sampled_from([Codes(), MAPPED]))
def test_exchange_formats_pick_and_map_as_before(table: pa.Table, codes: Codes) -> None:
    """Counts shared by indicators go out once (the first), margins stay out, codes are mapped,
    withheld values and incomplete reporting are commented: byte for byte as the old writer."""
    assert to_dhis2_json(table, codes, unsuppressed=True) == old.to_dhis2_json(
        table, codes, unsuppressed=True
    )
    stamp = "2024-06-01T00:00:00Z"
    assert to_adx(table, codes, unsuppressed=True, stamp=stamp) == old.to_adx(
        table, codes, unsuppressed=True, stamp=stamp
    )
