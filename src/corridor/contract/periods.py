"""ISO periods of the contract: ``2024``, ``2024Q1``, ``2024-03``, ``2024W05`` and ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})W(0[1-9]|[1-4]\d|5[0-3])$")

#: the years a period or date may fall in (docs/data-contract.md); outside them, dates overflow
#: Python's calendar (9999W52) or land before the common era (0000-01-01) on some engines
FIRST_YEAR = 1900
LAST_YEAR = 2100
RANGE_REASON = f"outside the accepted years {FIRST_YEAR}-{LAST_YEAR}"


def check_year(year: int) -> None:
    """Raise ValueError when ``year`` is outside the accepted range."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} is {RANGE_REASON}")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A reporting period: its canonical text, type and first/last day (inclusive)."""

    start: date
    end: date
    text: str
    kind: str  # year | quarter | month | week

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end


@lru_cache(maxsize=65536)
def parse_period(text: str) -> Period:
    """Parse a period; raises ValueError with a reason when it is not one."""
    raw = text.strip().upper()
    m = re.match(r"^(\d{4})", raw)
    if m and any(r.match(raw) for r in (_YEAR, _QUARTER, _MONTH, _WEEK)):
        check_year(int(m.group(1)))
    if m := _YEAR.match(raw):
        y = int(m.group(1))
        return Period(date(y, 1, 1), date(y, 12, 31), f"{y}", "year")
    if m := _QUARTER.match(raw):
        y, q = int(m.group(1)), int(m.group(2))
        start = date(y, 3 * q - 2, 1)
        end = _month_end(y, 3 * q)
        return Period(start, end, f"{y}Q{q}", "quarter")
    if m := _MONTH.match(raw):
        y, mo = int(m.group(1)), int(m.group(2))
        return Period(date(y, mo, 1), _month_end(y, mo), f"{y}-{mo:02d}", "month")
    if m := _WEEK.match(raw):
        y, w = int(m.group(1)), int(m.group(2))
        try:
            start = date.fromisocalendar(y, w, 1)
        except ValueError:
            raise ValueError(f"ISO year {y} has no week {w}") from None
        return Period(start, start + timedelta(days=6), f"{y}W{w:02d}", "week")
    raise ValueError("not an ISO period (expected 2024, 2024Q1, 2024-03 or 2024W05)")


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PeriodRange:
    """A period or a range ``2023Q1:2024Q4`` (both ends inclusive)."""

    first: Period
    last: Period

    @property
    def start(self) -> date:
        return self.first.start

    @property
    def end(self) -> date:
        return self.last.end

    @property
    def text(self) -> str:
        if self.first == self.last:
            return self.first.text
        return f"{self.first.text}:{self.last.text}"


def parse_period_range(text: str) -> PeriodRange:
    """Parse ``P`` or ``P1:P2``; raises ValueError with a reason."""
    if ":" in text:
        a, b = text.split(":", 1)
        first, last = parse_period(a), parse_period(b)
        if last.end < first.start:
            raise ValueError(f"range ends ({last.text}) before it starts ({first.text})")
        return PeriodRange(first, last)
    p = parse_period(text)
    return PeriodRange(p, p)


def quarter_of(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def parse_iso_date(text: str) -> date:
    """Parse an ISO date ``YYYY-MM-DD``; raises ValueError with a reason."""
    raw = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ValueError("not an ISO date (expected YYYY-MM-DD)")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError("not a valid calendar date") from None
    check_year(day.year)
    return day
