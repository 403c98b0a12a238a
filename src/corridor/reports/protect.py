"""Disclosure control for the report: every count of people goes through ``publish``.

The report never formats a count or a rate of people it has not first handed to the project's
one disclosure-control function, ``corridor.indicators.publish`` (or taken from
``HotspotResult.disclosed``). With the default cell-key method each count is a little perturbed
(the same cell the same as in every other output; no count from 1 to threshold - 1) and rates
come from the published counts; with ``disclosure_method = suppression`` this module turns the
flags into display cells:

* a count from 1 to threshold - 1 shows as ``<10`` (with the workspace's threshold);
* a cell withheld so that a small one cannot be recovered from totals (secondary suppression)
  shows as ``x``;
* a rate whose numerator or denominator is withheld is withheld (``x``);
* a missing value shows as an en dash.

Counts of reports, imports and quarantined rows are not counts of people: they are shown as
they are (:func:`counts`, :func:`rates`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

if TYPE_CHECKING:
    from corridor.config import Settings

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


def report_settings(threshold: int | Settings) -> Settings:
    """The disclosure settings of the report: the workspace's settings (``render_report`` passes
    them down), or for a bare threshold the defaults and CORRIDOR_* environment variables with
    that threshold on top."""
    from corridor.config import load_settings

    if isinstance(threshold, int):
        return load_settings(None, overrides={"suppression_threshold": threshold})
    return threshold


def threshold_of(disclosure: int | Settings) -> int:
    """The threshold of the disclosure settings (counts 1 to it minus one are never shown)."""
    return disclosure if isinstance(disclosure, int) else disclosure.suppression_threshold


def small_counts(threshold: int | Settings) -> str:
    """The counts that disclosure control never shows, as every output words them after
    "count" (:func:`corridor.indicators.disclosure.small_counts`): ``"from 1 to 9"`` (threshold
    10), ``"of 1"`` (threshold 2), and ``""`` for a threshold of 1, which withholds no count for
    being small (the report then leaves the wording out, rather than print a range "1 to 0")."""
    from corridor.indicators.disclosure import small_counts as in_words

    return in_words(threshold_of(threshold))


def disclosure_method(threshold: int | Settings) -> str:
    """``cellkey`` or ``suppression``: the method the report's counts go through."""
    return report_settings(threshold).disclosure_method


def suppress_table(table: pa.Table, threshold: int | Settings) -> pa.Table:
    """The project's disclosure-control function, ``publish`` (imported here, and only here)."""
    from corridor.indicators import publish

    out: pa.Table = publish(table, report_settings(threshold))
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


def counts(values: Sequence[Any], threshold: int = 0) -> list[Cell]:
    """Counts of reports, imports or rows (not of people): shown as they are.

    ``threshold`` is accepted for the callers' sake and not used: disclosure control applies to
    counts of people, not to counts of reports, imports or quarantined rows."""
    out: list[Cell] = []
    for v in values:
        x = _num(v)
        out.append(Cell(MISSING, None, "missing") if x is None else Cell(fmt_count(x), x, "shown"))
    return out


def rates(
    numerators: Sequence[Any], denominators: Sequence[Any], threshold: int = 0
) -> list[tuple[Cell, Cell, Cell]]:
    """(numerator, denominator, percent) cells of ratios of counts of reports (not people),
    shown as they are (``threshold`` not used, as in :func:`counts`)."""
    out: list[tuple[Cell, Cell, Cell]] = []
    for num, den in zip(counts(numerators), counts(denominators), strict=True):
        if num.value is None or den.value is None:
            share = Cell(MISSING, None, "missing")
        elif den.value > 0:
            share = Cell(
                fmt_percent(100.0 * num.value / den.value), 100.0 * num.value / den.value, "shown"
            )
        else:
            share = Cell(MISSING, None, "missing")
        out.append((num, den, share))
    return out


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
