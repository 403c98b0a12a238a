"""Attack: a margin's ``places_reporting`` tells that a place whose row is left out reported.

Under the cell-key method ``publish`` leaves out a row whose every count is published 0, so that
a row that is not listed may be a place that reported nothing as well as one whose counts are 0
or 1-9 (tests/indicators/test_attack_row_presence.py). But a row that sums places (the ``all``
row over places, a country, an admin1 area, a corridor, a place type; or every row of an output
that is not by place) counted in ``places_reporting`` every place that reported, from the true
data. The attacker asks the same indicators by place (the same cells: the same published value
in every output, so the same rows listed), counts the places listed at each row's coordinates,
and compares: a row that counts more places than are listed there says that a place whose row is
left out reported, its counts 0 or 1-9 (docs/disclosure.md, "Rows published as 0"). On the
demonstration world, 2024Q1, all indicators by site x sex with totals: 6 of the 50 ``all`` rows
did; by country x sex x group, 2024, with totals: 169 of 2,622 rows (and by admin1 area,
corridor, place type and quarter alike).

This test fails while the leak is there. Fixed in ``publish``: a row that sums places counts
only the places whose own row at its coordinates is listed (:func:`corridor.indicators.cellkey.
count_listed_places`), and ``incomplete`` follows that count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from corridor.config import load_settings
from corridor.contract.dimensions import DISAGGREGATIONS
from corridor.indicators import compute_indicators, publish
from corridor.indicators.places import ALL

SETTINGS = load_settings(None, env={})
#: the place columns of the groupings besides place_code
GROUP_COLUMNS = {"country": "country", "admin1": "admin1", "corridor": "corridor"}
GROUP_COLUMNS["place_type"] = "place_type"


def _key(row: dict[str, Any], groups: Sequence[str], margin: bool = False) -> tuple[Any, ...]:
    """A row's coordinates: indicator, period, its place groups (``all`` in the margin over
    places, but a corridor, which has no margin), its disaggregations."""
    places = tuple(ALL if margin and g != "corridor" else row[GROUP_COLUMNS[g]] for g in groups)
    return (row["indicator"], row["period"], *places, *(row[d] for d in DISAGGREGATIONS))


def _listed_places(by_place: list[dict[str, Any]], groups: Sequence[str]) -> Counter[Any]:
    """What the output by place lists: per coordinates of a row that sums places, the places
    that reported there (``places_reporting`` of their own listed rows)."""
    additive = any(g != "corridor" for g in groups)
    count: Counter[Any] = Counter()
    for r in by_place:
        if r["place_code"] == ALL:
            continue
        count[_key(r, groups)] += r["places_reporting"]
        if additive:
            count[_key(r, groups, margin=True)] += r["places_reporting"]
    return count


def _revealed(rows: list[dict[str, Any]], listed: Counter[Any], groups: Sequence[str]) -> list:
    """The rows that count more places than the output by place lists at their coordinates:
    each says that a place whose row is left out reported (its counts 0 or 1-9)."""
    return [
        (_key(r, groups), r["places_reporting"], listed[_key(r, groups)])
        for r in rows
        if r["places_reporting"] > listed[_key(r, groups)]
    ]


@pytest.mark.parametrize(
    ("groups", "dims", "period"),
    [
        ((), ("sex",), "2024Q1"),
        (("country",), ("sex", "population_group"), "2024"),
        (("admin1",), ("age_band",), "2024Q1"),
        (("corridor",), ("population_group",), "2024Q1"),
        (("place_type",), ("sex",), "2024Q1"),
        (("country",), ("period",), "2024Q1:2024Q4"),
    ],
)
def test_no_row_counts_a_place_whose_row_is_left_out(
    demo_workspace: Any, groups: Sequence[str], dims: Sequence[str], period: str
) -> None:
    eng = demo_workspace.engine
    by_place = publish(
        compute_indicators(eng, ["all"], ["place", *groups, *dims], period, totals=True),
        SETTINGS,
    ).to_pylist()
    grouped = publish(
        compute_indicators(eng, ["all"], [*groups, *dims], period, totals=True), SETTINGS
    ).to_pylist()
    listed = _listed_places(by_place, groups)
    # the output by place's own margins over places, then the rows of the grouped output
    margins = [r for r in by_place if r["place_code"] == ALL]
    own = _revealed(margins, _listed_places(by_place, groups), groups)
    found = _revealed(grouped, listed, groups)
    print(
        f"by place x {'/'.join((*groups, *dims))} {period}: {len(own)} of {len(margins)} margins "
        f"over places, and by {'/'.join((*groups, *dims))}: {len(found)} of {len(grouped)} rows "
        "count a place whose row is left out"
    )
    assert not own, f"the margins over places count places whose rows are left out: {own[:5]}"
    assert not found, f"rows count places whose rows are left out: {found[:5]}"
    # and a row counts no place whose row is not listed (every place it counts is listed)
    assert all(r["places_reporting"] == listed[_key(r, groups)] for r in grouped)
    assert all(r["places_reporting"] == listed[_key(r, groups)] for r in margins)


def test_incomplete_follows_the_places_counted(demo_workspace: Any) -> None:
    """A margin's ``incomplete`` flag says no more than its count: under the completeness
    threshold of the places expected exactly where the places counted are (a margin flagged
    complete while it counts fewer places would say that the others reported)."""
    raw = compute_indicators(
        demo_workspace.engine, ["all"], ["country", "sex"], "2024Q1", totals=True
    )
    share = float(raw.schema.metadata[b"corridor.completeness_threshold"])
    rows = publish(raw, SETTINGS).to_pylist()
    assert rows
    for r in rows:
        assert r["incomplete"] == (r["places_reporting"] * 100 < r["places_expected"] * share)


def test_the_report_cascade_notes_the_places_publish_counts(demo_workspace: Any) -> None:
    """The report's cascade notes "3 of 8 places reported" on an incomplete cell. It should say
    what ``publish`` says; on the demonstration world, 2024, the truck drivers of South Africa
    read "4 of 8" where ``publish`` counts 3 (one place's row is left out)."""
    from corridor.reports.cascade import CASCADE_IDS, cascade

    eng = demo_workspace.engine
    view = cascade(eng, "2024", SETTINGS, {})
    raw = compute_indicators(
        eng, list(CASCADE_IDS), ["country", "population_group"], "2024", totals=True
    )
    said = {
        (r["country"], r["population_group"], r["indicator"]): (
            f"{r['places_reporting']} of {r['places_expected']} places reported"
            if r["incomplete"]
            else ""
        )
        for r in publish(raw, SETTINGS).to_pylist()
    }
    notes = {
        (c.code, row.group, ind): cell.incomplete
        for c in view.countries
        for row in c.rows
        for ind, cell in row.cells.items()
    }
    assert notes
    assert {k: v for k, v in notes.items() if said.get(k) != v} == {}
