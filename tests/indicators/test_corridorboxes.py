"""Boxes across corridors (:mod:`corridor.indicators.corridorboxes`): a table by place, corridor,
sex and population group, places on one to three corridors, some groups missing at some places;
no withheld small count can be worked out from the shown counts and every equation of the table."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corridor.indicators import suppress
from corridor.indicators.corridorboxes import boxes_across, families
from corridor.indicators.suppresscells import layout

T = 10
SEXES = ("f", "m")
GROUPS = ("truckers", "miners")
CORRIDORS = ("northern", "central", "lake")
BY = ["place", "corridor", "sex", "population_group"]

# (place -> its corridors, (place, sex, group) -> count; a group missing at a place has no key),
# and whether the table has its totals (else they are published by other queries, unless small)
Case = tuple[dict[str, tuple[str, ...]], dict[tuple[str, str, str], float], bool]
Key = tuple[str, str, str, str]  # (place or "all", corridor, sex or "total", group or "total")


@st.composite
def tables(draw: st.DrawFn, totals: bool = True) -> Case:
    n = draw(st.integers(2, 6))
    routes: dict[str, tuple[str, ...]] = {}
    for i in range(n):
        on = draw(st.lists(st.sampled_from(CORRIDORS), min_size=1, max_size=3, unique=True))
        routes[f"p{i}"] = tuple(sorted(on))
    count = st.one_of(st.integers(0, 12), st.integers(0, 40))
    finest: dict[tuple[str, str, str], float] = {}
    for p in routes:
        groups = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2, unique=True))
        for g in groups:
            for s in SEXES:
                finest[(p, s, g)] = float(draw(count))
    return routes, finest, totals


def truth_of(case: Case) -> dict[Key, float]:
    """Every row of the table as ``compute_indicators(by=BY, totals=True)`` gives it, with its
    true count: per corridor, each place and the total over them, each sex and group and the
    totals; a row only where some finest count lies under it."""
    routes, finest, _totals = case
    truth: dict[Key, float] = {}
    for corridor in CORRIDORS:
        places = [p for p, on in routes.items() if corridor in on]
        for place in (*places, "all"):
            over = places if place == "all" else [place]
            for sex in (*SEXES, "total"):
                for group in (*GROUPS, "total"):
                    parts = [
                        v
                        for (p, s, g), v in finest.items()
                        if p in over and sex in (s, "total") and group in (g, "total")
                    ]
                    if parts:
                        truth[(place, corridor, sex, group)] = sum(parts)
    return truth


def is_total(key: Key) -> bool:
    return key[0] == "all" or "total" in key[2:]


def table_of(truth: dict[Key, float], totals: bool = True) -> pa.Table:
    keys = [k for k in truth if totals or not is_total(k)]
    num = [truth[k] for k in keys]
    n = len(keys)
    table = pa.table(
        {
            "indicator": ["testing_volume"] * n,
            "period": ["2024Q1"] * n,
            "place_code": [k[0] for k in keys],
            "corridor": [k[1] for k in keys],
            "sex": [k[2] for k in keys],
            "age_band": ["total"] * n,
            "population_group": [k[3] for k in keys],
            "numerator": pa.array(num, pa.float64()),
            "denominator": pa.array([None] * n, pa.float64()),
            "value": pa.array(num, pa.float64()),
            "numerator_element": ["hiv_tests"] * n,
            "denominator_element": pa.array([None] * n, pa.string()),
        }
    )
    return table.replace_schema_metadata({"corridor.by": json.dumps(BY)})


def cell_of(key: Key) -> tuple[str, ...]:
    """One count: a place's (the same on each of its corridors), or a corridor's total."""
    place, corridor, sex, group = key
    return (place, sex, group) if place != "all" else ("all", corridor, sex, group)


def worked_out(truth: dict[Key, float], shown: dict[tuple[str, ...], Any]) -> list[Any]:
    """Withheld small counts that the shown counts and every equation of the table (along the
    places of each corridor, the sexes, the groups) determine (exact: SVD null space)."""
    unknown = sorted(c for c, v in shown.items() if v is None)
    if not unknown:
        return []
    index = {c: i for i, c in enumerate(unknown)}
    rows: list[np.ndarray] = []

    def equation(total: Key, parts: list[Key]) -> None:
        present = [p for p in parts if p in truth]
        if total not in truth or not present:
            return
        row = np.zeros(len(unknown))
        for key, sign in [(total, -1.0), *((p, 1.0) for p in present)]:
            c = cell_of(key)
            if c in index:
                row[index[c]] += sign
        if row.any():
            rows.append(row)

    places = {k[0] for k in truth} - {"all"}
    for place, corridor, sex, group in truth:
        if place == "all":
            equation((place, corridor, sex, group), [(p, corridor, sex, group) for p in places])
        if sex == "total":
            equation((place, corridor, sex, group), [(place, corridor, s, group) for s in SEXES])
        if group == "total":
            equation((place, corridor, sex, group), [(place, corridor, sex, g) for g in GROUPS])
    a = np.array(rows) if rows else np.zeros((1, len(unknown)))
    _u, s, vh = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, float(s[0]))).sum()) if len(s) else 0
    null = vh[rank:].T
    free = np.linalg.norm(null, axis=1) if null.size else np.zeros(len(unknown))
    value = {cell_of(k): v for k, v in truth.items()}
    return [c for c in unknown if 0 < value[c] < T and free[index[c]] < 1e-7]


def check(case: Case) -> pa.Table:
    truth = truth_of(case)
    totals = case[2]
    out = suppress(table_of(truth, totals), T).to_pylist()
    # without its totals, a margin along one dimension is what the same query without that
    # dimension shows: known unless small, or unless over one count only (that is the same
    # count there, withheld by the same rules). Margins along two dimensions or more are not
    # taken as known (suppression's model: see the CHANGELOG)
    shown: dict[tuple[str, ...], Any] = {
        cell_of(k): None if 0 < v < T or _over_one(case, k) or _order(k) > 1 else v
        for k, v in truth.items()
        if not totals and is_total(k)
    }
    for r in out:
        key = (r["place_code"], r["corridor"], r["sex"], r["population_group"])
        true = truth[key]
        assert r["numerator"] is None or r["numerator"] == true
        assert not (0 < true < T) or r["numerator"] is None, (key, true)
        cell = cell_of(key)
        assert shown.get(cell, r["numerator"]) == r["numerator"]  # one count, shown alike
        shown[cell] = r["numerator"]
    # (a total outside the table is another query's count, protected there)
    own = {cell_of((r["place_code"], r["corridor"], r["sex"], r["population_group"])) for r in out}
    assert [c for c in worked_out(truth, shown) if c in own] == []
    return pa.Table.from_pylist(out)


def _order(key: Key) -> int:
    """Along how many dimensions a total adds up."""
    return (key[0] == "all") + (key[2] == "total") + (key[3] == "total")


def _over_one(case: Case, key: Key) -> bool:
    """Whether a total adds up one finest count only."""
    routes, finest, _totals = case
    place, corridor, sex, group = key
    under = [
        k
        for k in finest
        if place in (k[0], "all")
        and corridor in routes[k[0]]
        and sex in (k[1], "total")
        and group in (k[2], "total")
    ]
    return len(under) == 1


#: a corridor whose one place of its own has no count: its small total lies at a place on two
#: corridors, so its box is that of the place's margin there (both corridors' totals)
SHARED_TOTAL: Case = (
    {"p0": ("central", "northern"), "p1": ("central",), "p2": ("northern",), "p3": ("northern",)},
    {
        **{(p, s, "truckers"): 30.0 for p in ("p2", "p3") for s in SEXES},
        ("p0", "f", "truckers"): 3.0,
        ("p0", "m", "truckers"): 20.0,
        ("p1", "f", "truckers"): 0.0,
        ("p1", "m", "truckers"): 25.0,
    },
    True,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
@example(SHARED_TOTAL)
def test_no_small_count_of_places_on_several_corridors_can_be_worked_out(case: Case) -> None:
    check(case)


#: without totals: p1's small count of women truckers; its box kept the group axis as it is
#: where p1 has truckers only, then took p0, which has miners too: the margin over groups of
#: p0's women (0, from the query without groups) showed p0's withheld women truckers
NO_TOTALS: Case = (
    {"p0": ("northern",), "p1": ("northern",)},
    {
        ("p0", "f", "truckers"): 0.0,
        ("p0", "m", "truckers"): 0.0,
        ("p0", "f", "miners"): 0.0,
        ("p0", "m", "miners"): 0.0,
        ("p1", "f", "truckers"): 1.0,
        ("p1", "m", "truckers"): 10.0,
    },
    False,
)


def test_a_box_keeps_an_axis_as_it_is_only_where_every_corner_is_alone_on_it() -> None:
    check(NO_TOTALS)


def _layout_args(case: Case) -> tuple[Any, ...]:
    lay = layout(table_of(truth_of(case), case[2]))
    primary = (lay.values > 0) & (lay.values < T)
    linked = np.zeros(int(lay.bid.max()) + 1, bool)
    shared = np.bincount(lay.pcid) > 1
    linked[lay.bid[shared[lay.pcid]]] = True
    place = lay.axes.index("place")
    return lay, primary, linked, place


def test_a_small_total_at_a_shared_place_gets_a_box_without_the_exact_check() -> None:
    """The corridor total of 3 (central, women, truckers) lies at p0, on two corridors: the box
    of p0's margin withholds it with northern's total, and no block is left to the exact
    check; what is withheld then hides every small count from the attacker above."""
    lay, primary, linked, place = _layout_args(SHARED_TOTAL)
    hidden = primary.copy()
    hard = boxes_across(
        lay.values, lay.bid, lay.pcid, lay.coords, lay.own, place, primary, hidden, linked
    )
    assert linked.any() and not hard.any()
    assert (hidden >= primary).all() and hidden.sum() > primary.sum()
    check(SHARED_TOTAL)


def test_families_are_the_blocks_linked_through_shared_cells() -> None:
    # blocks 0-1 share cell 5, 1-2 share cell 6, block 3 alone
    bid = np.array([0, 1, 1, 2, 3, 0])
    cid = np.array([5, 5, 6, 6, 7, 8])
    assert families(bid, cid, 4).tolist() == [0, 0, 0, 3]
