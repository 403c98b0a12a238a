"""The outbreak section: weekly counts by country through disclosure control, order of arrival."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pytest

from corridor.reports.cascade import group_kind, share_cell
from corridor.reports.outbreak import iso_week, outbreaks
from corridor.reports.protect import Cell
from corridor.storage.engine import Engine
from corridor.storage.migrations import migrate

PLACES = [
    ("ke-a", "Site A", "ken"),
    ("ke-b", "Site B", "ken"),
    ("ug-c", "Site C", "uga"),
]


def _cases(engine: Engine, cases: list[tuple[str, date, str]]) -> None:
    migrate(engine)
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": [p[0] for p in PLACES],
                "name": [p[1] for p in PLACES],
                "place_type": ["truck_stop"] * 3,
                "parent_code": [p[2] for p in PLACES],
                "country_code": [p[2] for p in PLACES],
                "lat": [0.0] * 3,
                "lon": [34.0] * 3,
                "corridor": [""] * 3,
                "population": pa.array([1000] * 3, pa.int64()),
                "dhis2_uid": [""] * 3,
                "fmp_code": [""] * 3,
                "import_id": pa.array([1] * 3, pa.int64()),
            }
        ),
    )
    n = len(cases)
    engine.insert_arrow(
        "cases",
        pa.table(
            {
                "case_id": [f"c{i}" for i in range(n)],
                "disease": ["mpox"] * n,
                "classification": [c[2] for c in cases],
                "onset_date": pa.array([c[1] for c in cases], pa.date32()),
                "report_date": pa.array([c[1] + timedelta(days=2) for c in cases], pa.date32()),
                "place_code": [c[0] for c in cases],
                "sex": ["f"] * n,
                "age_years": pa.array([30.0] * n, pa.float64()),
                "population_group": ["total"] * n,
                "origin_code": [""] * n,
                "poe_code": [""] * n,
                "outcome": [""] * n,
                "import_id": pa.array([1] * n, pa.int64()),
                "record_key": pa.array(
                    [(7919 * i * i + 104729 * i) % 2**32 for i in range(n)], pa.int64()
                ),
            }
        ),
    )


def test_curve_by_country_and_week_and_order_of_arrival(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under suppression: small counts drawn as a range, the margin that would tell withheld."""
    monkeypatch.setenv("CORRIDOR_DISCLOSURE_METHOD", "suppression")
    monday = date(2024, 7, 1)
    cases = [("ke-a", monday, "confirmed")] * 25 + [("ke-a", monday, "suspected")] * 12
    cases += [("ke-b", monday + timedelta(weeks=2), "confirmed")] * 3  # small: 1-9
    cases += [("ug-c", monday + timedelta(weeks=5), "probable")] * 14
    _cases(engine, cases)
    [o] = outbreaks(engine, date(2024, 7, 1), date(2024, 9, 29), 10, {"ken": "Kenya"})
    assert o.disease == "mpox"
    assert [c.name for c in o.curves] == ["Kenya", "UGA"]
    kenya = o.curves[0]
    assert kenya.total.text == "x"  # 40, less the 37 shown, would reveal the 3
    first = kenya.bars[0]
    assert [(colour, small) for _y, _h, colour, _t, small in first.segments] == [
        ("#b2182b", False),
        ("#f4a582", False),
    ]
    assert "25 confirmed" in first.segments[0][3]
    third = kenya.bars[2]  # 3 confirmed: drawn as the range 1-9, its value never shown
    assert [s[4] for s in third.segments] == [True]
    assert "<10 confirmed" in third.segments[0][3]
    assert all("3 " not in s[3] for b in kenya.bars for s in b.segments)
    assert [(a.site, a.week, a.weeks_after) for a in o.arrivals] == [
        ("Site A", iso_week(monday), 0),
        ("Site B", iso_week(monday + timedelta(weeks=2)), 2),
        ("Site C", iso_week(monday + timedelta(weeks=5)), 5),
    ]
    assert [a.cases.text for a in o.arrivals] == ["37", "<10", "14"]


def test_cell_key_counts_are_perturbed_cells_of_their_own(engine: Engine) -> None:
    """Cell-key (the default): no count of 1-9 anywhere, and the total minus the weeks is noise."""
    monday = date(2024, 7, 1)
    cases = [("ke-a", monday, "confirmed")] * 25 + [("ke-a", monday, "suspected")] * 12
    cases += [("ke-b", monday + timedelta(weeks=2), "confirmed")] * 3
    cases += [("ug-c", monday + timedelta(weeks=5), "probable")] * 14
    _cases(engine, cases)
    [o] = outbreaks(engine, date(2024, 7, 1), date(2024, 9, 29), 10, {"ken": "Kenya"})
    kenya = o.curves[0]
    published: list[float] = [kenya.total.value or 0.0]
    for b in kenya.bars:
        for _y, _h, _c, tip, small in b.segments:
            assert not small
            published.append(float(tip.split(": ")[1].split(" ")[0].replace(",", "")))
    published += [a.cases.value or 0.0 for a in o.arrivals]
    assert not [v for v in published if 1 <= v <= 9]
    assert abs((kenya.total.value or 0) - 40) <= 4
    assert [a.site for a in o.arrivals] == ["Site A", "Site B", "Site C"]
    # 3 cases: never shown as 3; a site reached shows a published 0 as "<10" (it has a case)
    assert o.arrivals[1].cases.value in (None, *range(10, 15))
    assert o.arrivals[1].cases.value is not None or o.arrivals[1].cases.text == "<10"
    assert all(a.cases.text != "0" for a in o.arrivals)
    again = outbreaks(engine, date(2024, 7, 1), date(2024, 9, 29), 10, {"ken": "Kenya"})
    assert again == [o]  # the same cells publish the same values


def test_no_cases_no_section(engine: Engine) -> None:
    _cases(engine, [])
    assert outbreaks(engine, date(2024, 1, 1), date(2024, 12, 31), 10, {}) == []


def test_unallocated_share_and_row_markers() -> None:
    part, whole = Cell("250", 250.0, "shown"), Cell("1,000", 1000.0, "shown")
    assert share_cell(part, whole).text == "25.0%"
    assert share_cell(Cell("<10", None, "small"), whole).state == "withheld"
    assert share_cell(Cell("–", None, "missing"), whole).state == "missing"
    assert [group_kind(g) for g in ("total", "host", "truck_driver", "sex_worker")] == [
        "total",
        "host",
        "mobile",
        "other",
    ]
    assert group_kind("unallocated") == "unallocated"


def test_the_sites_reached_last_are_kept_beside_the_first(engine: Engine) -> None:
    """With more sites reached than the report lists, the last ones are still known (the
    dashboard's overview shows them): latest first, numbered in the order of arrival."""
    monday = date(2024, 1, 1)
    cases = [(f"zz-{i:02d}", monday + timedelta(weeks=i), "confirmed") for i in range(20)]
    _cases(engine, cases * 12)
    [o] = outbreaks(engine, date(2024, 1, 1), date(2024, 6, 30), 10, {})
    assert [a.site for a in o.arrivals] == [f"zz-{i:02d}" for i in range(15)]
    assert o.more_sites == 5
    assert [(a.order, a.site, a.week) for a in o.latest] == [
        (i + 1, f"zz-{i:02d}", iso_week(monday + timedelta(weeks=i))) for i in (19, 18, 17, 16, 15)
    ]
    first = {a.site: a.cases for a in o.arrivals}
    again = outbreaks(engine, date(2024, 1, 1), date(2024, 6, 30), 10, {})[0]
    assert {a.site: a.cases for a in again.arrivals} == first  # the same cells, the same values
