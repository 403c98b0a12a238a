"""Disclosure control: primary and secondary suppression, and that nothing withheld leaks."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.indicators import complements, disclosure, suppress
from corridor.indicators.disclosure import is_suppressed, withheld

T = 10
AXES = {
    "place": ["p1", "p2", "p3", "p4"],
    "sex": ["f", "m", "x"],
    "population_group": ["host", "migrant", "miner"],
}
MARGIN = {"place": "all", "sex": "total", "population_group": "total"}


def table_of(
    cells: dict[tuple[str, str, str], tuple[float | None, float | None]],
    by: Sequence[str],
    *,
    indicator: str = "positivity",
    elements: tuple[str, str] = ("hiv_positive", "hiv_tests"),
) -> pa.Table:
    """An indicator table (as compute_indicators makes it) from (place, sex, group) cells."""
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "indicator",
            "period",
            "place_code",
            "sex",
            "age_band",
            "population_group",
            "numerator",
            "denominator",
            "value",
            "target",
            "gap",
            "numerator_element",
            "denominator_element",
        )
    }
    for (place, sex, group), (num, den) in cells.items():
        rows["indicator"].append(indicator)
        rows["period"].append("2024Q1")
        rows["place_code"].append(place)
        rows["sex"].append(sex)
        rows["age_band"].append("total")
        rows["population_group"].append(group)
        rows["numerator"].append(num)
        rows["denominator"].append(den)
        value = 100.0 * num / den if num is not None and den else None
        rows["value"].append(value)
        rows["target"].append(90.0)
        rows["gap"].append(None if value is None else 90.0 - value)
        rows["numerator_element"].append(elements[0])
        rows["denominator_element"].append(elements[1])
    types = {c: pa.float64() for c in ("numerator", "denominator", "value", "target", "gap")}
    table = pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in rows.items()})
    return table.replace_schema_metadata({"corridor.by": json.dumps(list(by))})


def grid(
    finest: dict[tuple[str, ...], tuple[float, float]], by: Sequence[str], totals: bool
) -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
    """Cells keyed (place, sex, group) with the margins of every order when ``totals``."""
    out: dict[tuple[str, str, str], tuple[float | None, float | None]] = {}
    axes = [a for a in AXES if a in by]
    for key, v in finest.items():
        full = {a: MARGIN[a] for a in AXES}
        full.update(zip(axes, key, strict=True))
        subsets = (
            [s for k in range(len(axes) + 1) for s in itertools.combinations(axes, k)]
            if totals
            else [()]
        )
        for s in subsets:
            coords = dict(full)
            for a in s:
                coords[a] = MARGIN[a]
            k3 = (coords["place"], coords["sex"], coords["population_group"])
            n0, d0 = out.get(k3, (0.0, 0.0))
            out[k3] = ((n0 or 0.0) + v[0], (d0 or 0.0) + v[1])
    return out


def flags(table: pa.Table) -> dict[tuple[str, str, str], tuple[Any, Any, Any]]:
    return {
        (r["place_code"], r["sex"], r["population_group"]): (
            r["numerator_flag"],
            r["denominator_flag"],
            r["value_flag"],
        )
        for r in table.to_pylist()
    }


def test_primary_suppression_and_rates() -> None:
    cells = {
        ("all", "f", "total"): (0.0, 40.0),
        ("all", "m", "total"): (5.0, 50.0),
        ("all", "x", "total"): (12.0, 60.0),
    }
    out = suppress(table_of(cells, ["sex"]))  # the sex margin is assumed published elsewhere
    got = {(r["sex"]): r for r in out.to_pylist()}
    assert got["f"]["numerator"] == 0 and got["f"]["numerator_flag"] is None  # zero is shown
    assert got["f"]["value"] == 0.0 and got["f"]["value_flag"] is None
    assert got["m"]["numerator"] is None and got["m"]["numerator_flag"] == "<10"
    assert got["m"]["value"] is None and got["m"]["value_flag"] == "suppressed"
    assert got["m"]["gap"] is None and got["m"]["denominator"] == 50
    # m would be the published total minus f and x: x goes too (a non-zero cell before a zero)
    assert got["x"]["numerator_flag"] == "suppressed" and got["x"]["numerator"] is None
    assert is_suppressed(out) and not is_suppressed(table_of(cells, ["sex"]))
    assert out.schema.metadata[b"corridor.threshold"] == b"10"
    assert withheld(out) == 2


def test_a_small_denominator_hides_the_rate() -> None:
    cells = {("p1", "total", "total"): (3.0, 9.0), ("p2", "total", "total"): (20.0, 90.0)}
    out = suppress(table_of(cells, ["place"])).to_pylist()
    assert [r["denominator_flag"] for r in out] == ["<10", "suppressed"]
    assert [r["value"] for r in out] == [None, None]


def test_secondary_suppression_with_the_margin_in_the_output() -> None:
    finest = {("f",): (5.0, 100.0), ("m",): (20.0, 100.0), ("x",): (30.0, 100.0)}
    out = suppress(table_of(grid(finest, ["sex"], totals=True), ["sex"]))
    f = flags(out)
    assert f[("all", "f", "total")][0] == "<10"
    assert f[("all", "m", "total")][0] == "suppressed"  # the next smallest
    assert f[("all", "x", "total")][0] is None
    assert f[("all", "total", "total")][0] is None  # the total stays
    assert sorted(out.column("numerator").to_pylist(), key=str) == [30.0, 55.0, None, None]


def test_one_count_is_withheld_in_every_indicator_it_enters() -> None:
    a = table_of(
        {("p1", "total", "total"): (4.0, 50.0), ("p2", "total", "total"): (30.0, 60.0)}, ["place"]
    )
    b = table_of(
        {("p1", "total", "total"): (3.0, 4.0), ("p2", "total", "total"): (25.0, 30.0)},
        ["place"],
        indicator="linkage_proxy",
        elements=("art_initiated", "hiv_positive"),
    )
    out = suppress(pa.concat_tables([a, b]).replace_schema_metadata(a.schema.metadata))
    rows = {(r["indicator"], r["place_code"]): r for r in out.to_pylist()}
    # hiv_positive at p2 (30) is withheld to protect p1 (4) in positivity AND in linkage_proxy
    assert rows[("positivity", "p2")]["numerator_flag"] == "suppressed"
    assert rows[("linkage_proxy", "p2")]["denominator_flag"] == "suppressed"
    assert rows[("linkage_proxy", "p1")]["denominator_flag"] == "<10"


def test_tables_without_metadata_and_empty_tables() -> None:
    t = table_of({("p1", "total", "total"): (4.0, 50.0)}, ["place"])
    bare = t.replace_schema_metadata({})
    assert suppress(bare).column("numerator_flag").to_pylist() == ["<10"]
    empty = suppress(t.slice(0, 0))
    assert empty.num_rows == 0 and "value_flag" in empty.column_names
    with pytest.raises(ValueError, match="threshold"):
        suppress(t, 0)
    assert suppress(t, threshold=3).column("numerator_flag").to_pylist() == [None]


# ---- the property: nothing withheld can be worked out --------------------------------------
def _determined(
    finest: dict[tuple[str, ...], float],
    shown: dict[tuple[str, ...], float | None],
    axes: list[str],
    threshold: int,
    published: bool,
) -> list[tuple[str, ...]]:
    """Small counts an attacker determines by adding and subtracting what is shown.

    ``finest``: the true values of the finest cells; ``shown``: what the output shows for
    every cell it has, finest and margins (None: withheld). With ``published``, the attacker
    also knows the margins along one dimension that are not in the output but that the same
    query without that dimension shows (those that are not small).
    """
    n_axes = len(axes)
    unknown: dict[tuple[str, Any], int] = {}
    rows: list[dict[int, float]] = []
    for k in range(0, n_axes + 1):
        for subset in itertools.combinations(range(n_axes), k):
            slabs: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
            for key in finest:
                proj = tuple("*" if i in subset else v for i, v in enumerate(key))
                slabs.setdefault(proj, []).append(key)
            for proj, members in slabs.items():
                row: dict[int, float] = {}
                for m in members:
                    if shown.get(m) is None:
                        row[unknown.setdefault(("c", m), len(unknown))] = 1.0
                total = sum(finest[m] for m in members)
                if k == 0:
                    continue
                if proj in shown:
                    if shown[proj] is None:
                        row[unknown.setdefault(("c", proj), len(unknown))] = -1.0
                elif not published or k > 1 or len(members) == 1 or 0 < total < threshold:
                    # not in the output: unknown, unless published (by a query with fewer
                    # dimensions) and not small; the margin of one cell is that cell, withheld
                    # there by the same rules
                    row[unknown.setdefault(("m", proj), len(unknown))] = -1.0
                if row:
                    rows.append(row)
    if not unknown:
        return []
    a = np.zeros((max(1, len(rows)), len(unknown)))
    for j, row in enumerate(rows):
        for k, v in row.items():
            a[j, k] = v
    _u, s, vh = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, float(s[0]))).sum())
    null = vh[rank:].T
    free = np.linalg.norm(null, axis=1) if null.size else np.zeros(len(unknown))
    values = dict(finest)
    out = []
    for (kind, key), k in unknown.items():
        if kind != "c":
            continue
        if key not in values:  # a margin cell of the output
            idx = [i for i, v in enumerate(key) if v == "*"]
            values[key] = sum(
                v
                for m, v in finest.items()
                if all(m[i] == key[i] for i in range(n_axes) if i not in idx)
            )
        if 0 < values[key] < threshold and free[k] < 1e-7:
            out.append(key)
    return out


small = st.one_of(st.integers(0, 12), st.integers(0, 60), st.just(0))


@st.composite
def outputs(draw: st.DrawFn) -> tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]]:
    by = draw(st.lists(st.sampled_from(list(AXES)), min_size=1, max_size=3, unique=True))
    by = [a for a in AXES if a in by]
    sizes = {a: draw(st.integers(1, len(AXES[a]))) for a in by}
    keys = list(itertools.product(*(AXES[a][: sizes[a]] for a in by)))
    finest = {}
    for key in keys:
        if draw(st.integers(0, 9)) == 0:
            continue  # not reported
        finest[key] = (float(draw(small)), float(draw(small)))
    return by, draw(st.booleans()), finest


def _check_withheld(
    out: pa.Table,
    cells: dict[tuple[str, str, str], tuple[float | None, float | None]],
    finest: dict[tuple[str, ...], tuple[float, float]],
    by: list[str],
    *,
    exactly_small: bool,
) -> None:
    """What is shown is the true count, and no withheld small count can be worked out from the
    shown cells; with ``exactly_small``, the small counts (and only they) are flagged ``<10``."""
    axes = [a for a in AXES if a in by]
    for role, col in ((0, "numerator"), (1, "denominator")):
        true = {k: v[role] for k, v in finest.items()}
        shown: dict[tuple[str, ...], float | None] = {}
        for r in out.to_pylist():
            coords = {
                "place": r["place_code"],
                "sex": r["sex"],
                "population_group": r["population_group"],
            }
            key = tuple("*" if coords[a] == MARGIN[a] else coords[a] for a in axes)
            shown[key] = r[col]
            original = cells[(r["place_code"], r["sex"], r["population_group"])][role]
            flag = r[f"{col}_flag"]
            if exactly_small:
                assert (flag == "<10") == (0 < original < T)  # exactly the small counts are <10
            if flag is None:
                assert r[col] == original  # what is shown is the true count
            elif exactly_small:
                assert r[col] is None and r["value"] is None
        assert _determined(true, shown, axes, T, published=False) == []


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_no_withheld_small_count_can_be_worked_out(
    case: tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]],
) -> None:
    by, totals, finest = case
    cells = grid(finest, by, totals)
    out = suppress(table_of(cells, by), T)
    _check_withheld(out, cells, finest, by, exactly_small=True)


@settings(max_examples=240, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_too_large_for_the_exact_check_withholds_more_not_less(
    case: tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]],
) -> None:
    """With the exact check's limit at 1 every linked group is 'too large': the blocks are
    withheld whole, and still no withheld small count can be worked out."""
    by, totals, finest = case
    cells = grid(finest, by, totals)
    with mock.patch.object(complements, "EXACT_CHECK_LIMIT", 1):
        out = suppress(table_of(cells, by), T)
    _check_withheld(out, cells, finest, by, exactly_small=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs(), st.integers(0, 6))
def test_a_block_too_linked_is_seen_so_before_its_cells_are_built(
    case: tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]], limit: int
) -> None:
    """protect() withholds whole a block whose one-dimensional margins link more withheld
    cells than the exact check takes, from the layout's arrays: the same answer as the exact
    check's own test on the block's cells (which it then need not build)."""
    by, totals, finest = case
    cells = grid(finest, by, totals)
    lay = disclosure.layout(table_of(cells, by))
    if len(lay.values) == 0:
        return
    hidden = (lay.values > 0) & (lay.values < T)
    built, ids = lay.cells(T)
    assert (ids == np.arange(len(ids))).all()  # each cell placed once, in cell order
    protector = complements.Protector(built, T, withheld=hidden)
    # Cells numbers the blocks by their first placement
    _u, first = np.unique(lay.bid, return_index=True)
    number = np.empty(len(first), np.int64)
    number[np.argsort(first)] = np.arange(len(first))
    arrays = (lay.values, lay.bid, lay.coords, lay.own)
    with mock.patch.object(complements, "EXACT_CHECK_LIMIT", limit):
        for b in range(len(first)):
            if lay.own[lay.bid == b][0] == 0:
                continue
            early = disclosure._links_too_many(*arrays, hidden, b, T)
            assert early == protector._too_large_alone([int(number[b])])
