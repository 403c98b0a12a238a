"""The default windows of the report, the dashboard (``report_window``) and the ranking
(``resolve_window``): the 12 months ending with the calendar quarter of the latest data, a window
whose sums may be published (``indicators.buckets.published_window``). The report's window ended
with the month of the latest data: with data to November, ``2023-12:2024-11``, which ``publish``
refuses, so ``corridor report`` and the dashboard's overview failed on such data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corridor.contract.periods import parse_period_range
from corridor.hotspots.warehouse import resolve_window
from corridor.indicators.buckets import published_window
from corridor.reports.html import report_window


class _Latest:
    """An engine whose services end on ``day`` (the only query the windows ask)."""

    def __init__(self, day: date) -> None:
        self.day = day

    def scalar(self, sql: str, *args: Any, **kwargs: Any) -> date:
        return self.day


def _quarter_end(d: date) -> date:
    last = d.month + (-d.month) % 3
    return date(d.year + (last == 12), 1 if last == 12 else last + 1, 1) - timedelta(days=1)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2090, 12, 31)))
def test_the_default_windows_are_four_whole_quarters_ending_with_the_latest_data(
    day: date,
) -> None:
    for window in (report_window(_Latest(day), None), resolve_window(_Latest(day), None)):  # type: ignore[arg-type]
        rng = parse_period_range(window.text)
        assert published_window(rng), window.text
        assert rng.end == _quarter_end(day) >= day
        assert rng.start == date(rng.end.year - (rng.end.month != 12), rng.end.month % 12 + 1, 1)


def test_data_to_november_report_the_calendar_year() -> None:
    assert report_window(_Latest(date(2024, 11, 30)), None).text == "2024"  # type: ignore[arg-type]
    assert resolve_window(_Latest(date(2024, 11, 30)), None).text == "2024-01:2024-12"  # type: ignore[arg-type]
    assert report_window(_Latest(date(2025, 2, 28)), None).text == "2024-04:2025-03"  # type: ignore[arg-type]
