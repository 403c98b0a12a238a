"""Disclosure control for the report: every number goes through ``corridor.indicators.suppress``.

The report never formats a count or a rate it has not first handed to the project's one
disclosure-control function (or taken from ``HotspotResult.disclosed``). This module turns the
function's output into display cells:

* a count from 1 to threshold - 1 shows as ``<10`` (with the workspace's threshold);
* a cell withheld so that a small one cannot be recovered from totals (secondary suppression)
  shows as ``x``;
* a rate whose numerator or denominator is withheld is withheld (``x``);
* a missing value shows as an en dash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from corridor.contract.dimensions import TOTAL

State = Literal["shown", "small", "withheld", "missing"]
WITHHELD = "x"
MISSING = "–"


@dataclass(frozen=True, slots=True)
class Cell:
    """One number as the report shows it: ``text``; ``value`` only when it may be shown."""

    text: str
    value: float | None
    state: State

    @property
    def shown(self) -> bool:
        return self.state == "shown"


def suppress_table(table: pa.Table, threshold: int) -> pa.Table:
    """The project's disclosure-control function (imported here, and only here)."""
    from corridor.indicators import suppress

    out: pa.Table = suppress(table, threshold=threshold)
    return out


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_count(v: float) -> str:
    return f"{v:,.0f}"


def fmt_percent(v: float) -> str:
    return f"{v:.1f}%" if abs(v) < 1000 else f"{v:,.0f}%"


def count_cell(original: Any, protected: Any, flag: str | None, threshold: int) -> Cell:
    """A count cell from its value before and after disclosure control and its flag."""
    before, after = _num(original), _num(protected)
    if before is None:
        return Cell(MISSING, None, "missing")
    if flag is not None or after is None or (0 < after < threshold):
        if 0 < before < threshold:
            return Cell(f"<{threshold}", None, "small")
        return Cell(WITHHELD, None, "withheld")
    return Cell(fmt_count(after), after, "shown")


def rate_cell(protected_value: Any, flag: str | None, numerator: Cell, denominator: Cell) -> Cell:
    """A rate (percent) cell: shown only when disclosure control left it and both counts."""
    v = _num(protected_value)
    if numerator.state == "missing" or denominator.state == "missing":
        return Cell(MISSING, None, "missing")
    if flag is not None or v is None or not numerator.shown or not denominator.shown:
        return Cell(WITHHELD, None, "withheld")
    return Cell(fmt_percent(v), v, "shown")


def _frame(numerators: Sequence[Any], denominators: Sequence[Any], tag: str) -> pa.Table:
    """Indicator-shaped rows, one per value. Each row is its own indicator over no grouping,
    so the rows form no totals with each other: only the primary rule applies to them."""
    n = len(numerators)
    num = [_num(v) for v in numerators]
    den = [_num(v) for v in denominators]
    value = [
        (100.0 * a / b) if a is not None and b else None for a, b in zip(num, den, strict=True)
    ]
    return pa.table(
        {
            "indicator": pa.array([f"report.{tag}.{i}" for i in range(n)], pa.string()),
            "period": pa.array([""] * n, pa.string()),
            "place_code": pa.array(["all"] * n, pa.string()),
            "sex": pa.array([TOTAL] * n, pa.string()),
            "age_band": pa.array([TOTAL] * n, pa.string()),
            "population_group": pa.array([TOTAL] * n, pa.string()),
            "numerator": pa.array(num, pa.float64()),
            "denominator": pa.array(den, pa.float64()),
            "value": pa.array(value, pa.float64()),
            "target": pa.array([None] * n, pa.float64()),
            "gap": pa.array([None] * n, pa.float64()),
        },
        # stand-alone cells: no grouping, so none of them is a total of the others
        metadata={"corridor.by": json.dumps([])},
    )


def counts(values: Sequence[Any], threshold: int) -> list[Cell]:
    """Stand-alone counts (file rows, reports) through the disclosure rule."""
    if not values:
        return []
    table = _frame(values, [None] * len(values), "count")
    out = suppress_table(table, threshold)
    protected = out.column("numerator").to_pylist()
    flags = _flags(out, "numerator")
    return [
        count_cell(a, b, f, threshold) for a, b, f in zip(values, protected, flags, strict=True)
    ]


def rates(
    numerators: Sequence[Any], denominators: Sequence[Any], threshold: int
) -> list[tuple[Cell, Cell, Cell]]:
    """(numerator, denominator, percent) cells of stand-alone ratios through the rule."""
    if not numerators:
        return []
    table = _frame(numerators, denominators, "rate")
    return indicator_cells(table, suppress_table(table, threshold), threshold)


def _flags(table: pa.Table, column: str) -> list[str | None]:
    name = f"{column}_flag"
    if name in table.column_names:
        return [None if v is None else str(v) for v in table.column(name).to_pylist()]
    return [None] * table.num_rows


def indicator_cells(
    raw: pa.Table, protected: pa.Table, threshold: int
) -> list[tuple[Cell, Cell, Cell]]:
    """(numerator, denominator, value) cells of an indicator table, row by row, from the table
    before and after ``suppress`` (which keeps the rows and their order)."""
    if raw.num_rows != protected.num_rows:
        raise RuntimeError("suppress() changed the number of rows")  # pragma: no cover
    before = {c: raw.column(c).to_pylist() for c in ("numerator", "denominator")}
    after = {c: protected.column(c).to_pylist() for c in ("numerator", "denominator")}
    flags = {c: _flags(protected, c) for c in ("numerator", "denominator", "value")}
    values = protected.column("value").to_pylist()
    out: list[tuple[Cell, Cell, Cell]] = []
    for i in range(raw.num_rows):
        num = count_cell(
            before["numerator"][i], after["numerator"][i], flags["numerator"][i], threshold
        )
        den = count_cell(
            before["denominator"][i], after["denominator"][i], flags["denominator"][i], threshold
        )
        out.append((num, den, rate_cell(values[i], flags["value"][i], num, den)))
    return out
