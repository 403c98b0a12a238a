"""Row presence under the cell-key method: a row whose every published count is 0 is not listed.

An output of ``compute_indicators`` has a row only where data were reported (true zeros are not
stored), and the cell-key method publishes a count of 1-9 as 0 most often. Listed, a row
published 0 / 0 would say "a count of 1-9 is behind this" (tests/indicators/
test_attack_row_presence.py). ``publish`` leaves such rows out, as it leaves out true zeros:
rows of ratios, of one count (the other null), margins ("all" places, "total" categories)
alike. Tables whose rows are fixed by their caller (the ranking's sites, ``publish_counts``)
keep every row, and so does suppression, where ``<10`` says what it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from corridor.config import load_settings
from corridor.contract.dimensions import TOTAL
from corridor.indicators import compute_indicators, publish
from corridor.indicators.cellkey import REPORTED_ROWS, ROWS_KEY, _rows_kept, perturb_table
from corridor.indicators.disclosure import perturbation_table, publish_counts

SETTINGS = load_settings(None, env={})
SUPPRESSION = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
KEYS = ("indicator", "period", "place_code", "sex", "age_band", "population_group")

# (name, numerator, denominator): every key is 0, which picks the lowest published value of a
# count's row of the perturbation table: 0 for a count of 1-9
ROWS: tuple[tuple[str, float | None, float | None], ...] = (
    ("small/small", 3, 5),  # published 0 / 0: left out
    ("zero/zero", 0, 0),  # stored zeros, published 0 / 0: left out
    ("small/large", 3, 50),  # 0 / 46: listed
    ("one count", 4, None),  # published 0, no denominator: left out
    ("none/small", None, 2),  # no numerator, denominator published 0: left out
    ("no count", None, None),  # a place expected that did not report: listed
    ("large/large", 12, 40),  # listed
)


def _table(reported: bool) -> pa.Table:
    n = len(ROWS)
    num = [r[1] for r in ROWS]
    den = [r[2] for r in ROWS]
    table = pa.table(
        {
            "indicator": pa.array(["positivity"] * n),
            "period": pa.array(["2024Q1"] * n),
            "place_code": pa.array([r[0] for r in ROWS]),
            "sex": pa.array([TOTAL] * n),
            "age_band": pa.array([TOTAL] * n),
            "population_group": pa.array([TOTAL] * n),
            "numerator": pa.array(num, pa.float64()),
            "denominator": pa.array(den, pa.float64()),
            "numerator_element": pa.array(["hiv_positive"] * n),
            "denominator_element": pa.array(["hiv_tests"] * n),
            "numerator_key": pa.array([None if v is None else 0 for v in num], pa.int64()),
            "denominator_key": pa.array([None if v is None else 0 for v in den], pa.int64()),
            "value": pa.array(
                [100 * a / b if a is not None and b else None for _, a, b in ROWS], pa.float64()
            ),
            "target": pa.array([None] * n, pa.float64()),
            "gap": pa.array([None] * n, pa.float64()),
        }
    )
    return table.replace_schema_metadata({ROWS_KEY: REPORTED_ROWS}) if reported else table


def test_rows_whose_every_published_count_is_zero_are_left_out() -> None:
    out = publish(_table(reported=True), SETTINGS)
    got = out.select(["place_code", "numerator", "denominator", "value"]).to_pylist()
    assert [r["place_code"] for r in got] == ["small/large", "no count", "large/large"]
    small_large, no_count, large = got
    assert small_large["numerator"] == 0 and small_large["denominator"] == 46
    assert small_large["value"] == 0
    assert no_count["numerator"] is None and no_count["denominator"] is None
    assert large["numerator"] >= 10 and large["denominator"] >= 36
    assert large["value"] == pytest.approx(100 * large["numerator"] / large["denominator"])
    for name in ("numerator_flag", "denominator_flag", "value_flag"):
        assert out.column(name).null_count == out.num_rows
    assert "numerator_key" not in out.column_names


def test_a_table_whose_rows_are_fixed_by_its_caller_keeps_them() -> None:
    """The same rows without the mark of ``compute_indicators``: every row, in its order."""
    out = publish(_table(reported=False), SETTINGS)
    assert out.column("place_code").to_pylist() == [r[0] for r in ROWS]
    assert out.column("numerator").to_pylist()[:2] == [0, 0]
    assert out.column("denominator").to_pylist()[:2] == [0, 0]
    # lone counts (cases of a scope, travellers of a map segment): one answer per count
    assert publish_counts([3, 0, 50], [0, 0, 0], SETTINGS, "cases") == [0, 0, 46]


def test_suppression_keeps_every_row() -> None:
    """Under suppression ``<10`` is explicit: a row's presence adds nothing to it."""
    out = publish(_table(reported=True), SUPPRESSION)
    assert out.column("place_code").to_pylist() == [r[0] for r in ROWS]
    flags = out.select(["place_code", "numerator_flag", "denominator_flag"]).to_pylist()
    assert flags[0] == {
        "place_code": "small/small",
        "numerator_flag": "<10",
        "denominator_flag": "<10",
    }


def _listed_as_without_leaving_out(raw: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """The published table, and every row as the cell-key method publishes it with no row left
    out (``perturb_table`` keeping the rows)."""
    whole = perturb_table(raw, perturbation_table(SETTINGS), drop_zero_rows=False)
    return publish(raw, SETTINGS), whole.to_pylist()


def _numbers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without their completeness columns (``places_reporting`` counts only the
    places whose own rows are listed)."""
    skip = ("places_reporting", "places_expected", "incomplete")
    return [{k: v for k, v in r.items() if k not in skip} for r in rows]


def _all_zero(row: dict[str, Any]) -> bool:
    counts = [row[r] for r in ("numerator", "denominator") if row[r] is not None]
    return bool(counts) and all(c == 0 for c in counts)


@pytest.mark.parametrize(
    ("by", "period", "totals"),
    [
        (["place", "sex", "age_band", "population_group"], "2024Q1", False),
        (["place", "sex", "age_band", "population_group"], "2024Q1", True),
        (["country", "sex", "population_group"], "2024", True),
        (["place", "period"], "2024Q1:2024Q4", True),
    ],
)
def test_no_output_lists_a_row_published_as_zeros(
    demo_workspace: Any, by: Sequence[str], period: str, totals: bool
) -> None:
    """On the demonstration world: the rows listed are exactly those with a count published
    above 0 (or with no count), with the values they have when no row is left out; margins are
    left out by the same rule. (The completeness columns of the rows that sum places count
    only the places whose rows are listed: tests/indicators/test_cellkey_margin_reporting.py.)"""
    raw = compute_indicators(demo_workspace.engine, ["all"], by, period, totals=totals)
    pub, whole = _listed_as_without_leaving_out(raw)
    listed = pub.to_pylist()
    assert not [r for r in listed if _all_zero(r)]
    expected = [r for r in whole if not _all_zero(r)]
    # the same rows, in the same order, with the same values
    assert _numbers(listed) == _numbers(expected)
    left_out = [r for r in whole if _all_zero(r)]
    print(f"{by} {period} totals={totals}: {len(left_out)} of {len(whole)} rows left out")
    assert left_out  # the demonstration world has such rows in every one of these outputs
    if totals:
        margins = [
            r
            for r in left_out
            if r["place_code"] == "all" or TOTAL in (r["sex"], r.get("population_group"))
        ]
        assert margins  # margins published 0 / 0 are left out too
    # whatever the query, a cell that is listed has one value (and one that is left out, none)
    small = {tuple(r[k] for k in KEYS) for r in left_out}
    assert not small & {tuple(r[k] for k in KEYS) for r in listed}


@pytest.mark.parametrize("share", [0.0, 0.001, 0.003, 0.05, 0.5, 1.0])
def test_rows_left_out_by_slices_or_by_a_copy_are_the_same(share: float) -> None:
    """``_rows_kept`` slices a few rows out (at most one in 256) and copies otherwise: either
    way the rows that are left, in their order (first and last rows, runs of rows)."""
    rng = np.random.default_rng(int(share * 1000))
    n = 5000
    table = pa.table({"a": np.arange(n), "b": [f"r{i}" for i in range(n)]})
    drop = rng.random(n) < share
    drop[[0, n - 1]] = share > 0
    drop[100:103] = share > 0
    got = _rows_kept(table, drop)
    assert got.to_pydict() == table.filter(pa.array(~drop)).to_pydict()
