"""Output periods ("buckets") and which reported periods feed each of them.

A reported period *feeds* a bucket when it lies inside it (an ISO week by its Thursday, the ISO
rule for the year of a week). Sum elements add the periods that feed a bucket. Stock elements take
the latest of them; where none feeds it, a stock reported for a longer period that contains the
bucket (an annual population estimate for a quarter) stands for it. Lookback elements (people
counted over a trailing window) take the latest period inside the bucket, never a longer one.

An element "two quarters earlier" (the denominator of viral-load coverage) is fed by the periods
of the bucket moved back in time (:func:`lag_plan`): its feeds keep the label of the bucket.

Each feed of a sum element has a *slot*: the calendar quarter the reported period lies in (the
period itself where it is longer than a quarter). A ratio of two sum elements adds its
numerator and denominator over the slots where a place reports both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from corridor.contract.periods import Period, PeriodRange, parse_period, parse_period_range
from corridor.errors import QueryError

ALL = "all"
GRANULARITY = ("week", "month", "quarter", "year")  # finest first
DEFAULT_GRANULARITY = "quarter"


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Feed:
    """Reported ``period`` feeds ``bucket``: sums when ``inside``; stocks in ``rank`` order."""

    period: str
    bucket: str
    inside: bool
    rank: int
    period_type: str
    slot: str = ""


@dataclass(frozen=True, slots=True)
class PeriodPlan:
    buckets: tuple[Bucket, ...]
    feeds: tuple[Feed, ...]
    granularity: str | None  # None: one bucket for the whole request


def parse_request(text: str | None) -> PeriodRange | None:
    """``2024``, ``2024Q2``, ``2024-05`` or a range ``2023Q1:2024Q4``; QueryError otherwise."""
    if text is None or not text.strip():
        return None
    try:
        return parse_period_range(text.strip())
    except ValueError as exc:
        raise QueryError(f"bad period {text!r}: {exc}") from None


def published_window(request: PeriodRange) -> bool:
    """Whether one sum over ``request`` may be published (``disclosure.publish``): a calendar
    period (an ISO week, a month, a quarter, a year), or four consecutive calendar quarters (the
    12 months ending with a quarter: a rolling year, a fiscal year such as October-September).

    Any other range would be a new noisy sum of the same quarters: a reader who asked for every
    range of 28 quarters (406 sums) solved them by least squares and recovered 42% of the
    quarterly counts of 1-9 exactly (docs/disclosure.md, "Period ranges"). Such a range is
    asked by period instead, each of its periods a cell of its own."""
    for kind in GRANULARITY:
        p = bucket_of(anchor(request.first) if kind == "week" else request.start, kind)
        if (p.start, p.end) == (request.start, request.end):
            return True
    start, end = request.start, request.end
    if start.day != 1 or start.month % 3 != 1:
        return False
    return end == date(start.year + 1, start.month, 1) - timedelta(days=1)


def four_quarters_to(day: date) -> tuple[date, date]:
    """The first and last day of the 12 months ending with the calendar quarter of ``day``:
    four whole quarters, a window that :func:`published_window` lets be published (the default
    window of the ranking, the report and the dashboard)."""
    last = day.month + (-day.month) % 3
    end = date(day.year + (last == 12), last % 12 + 1, 1) - timedelta(days=1)
    return date(end.year - (last != 12), last % 12 + 1, 1), end


#: the metadata key of a table summed over a range that :func:`published_window` refuses
FREE_WINDOW_KEY = b"corridor.free_window"
#: why a range that :func:`published_window` refuses is not published (the one disclosure
#: function says it; each channel adds how to ask for it)
FREE_WINDOW_REASON = (
    "a sum over a range of periods is published only for one calendar period (a week, a month, "
    "a quarter, a year) or four consecutive quarters (12 months ending with a quarter): any "
    "other range is a new noisy sum of the same periods, and enough of them average the "
    "disclosure control's noise away. Ask for the range by period (each period is published on "
    "its own), or for one of those periods"
)


def anchor(p: Period) -> date:
    """The day that places a reported period in a bucket: a week's Thursday, else its start."""
    return p.start + timedelta(days=3) if p.kind == "week" else p.start


def bucket_of(d: date, granularity: str) -> Period:
    if granularity == "year":
        return parse_period(f"{d.year}")
    if granularity == "quarter":
        return parse_period(f"{d.year}Q{(d.month - 1) // 3 + 1}")
    if granularity == "month":
        return parse_period(f"{d.year}-{d.month:02d}")
    y, w, _ = d.isocalendar()
    return parse_period(f"{y}W{w:02d}")


def granularity_of(request: PeriodRange | None) -> str:
    if request is None:
        return DEFAULT_GRANULARITY
    kinds = (request.first.kind, request.last.kind)
    return min(kinds, key=GRANULARITY.index)


def _inside(p: Period, b: Bucket) -> bool:
    if p.kind == "week":
        return b.start <= anchor(p) <= b.end
    return b.start <= p.start and p.end <= b.end


def _covers(p: Period, b: Bucket) -> bool:
    return p.start <= b.start and b.end <= p.end


def plan_periods(reported: Iterable[str], request: PeriodRange | None, trend: bool) -> PeriodPlan:
    """Buckets of the output and the feeds of each, from the periods present in the data."""
    raw: dict[Period, list[str]] = {}
    for t in set(reported):
        try:
            raw.setdefault(parse_period(t), []).append(t)
        except ValueError:  # not written by intake; such rows are left out
            continue
    periods = sorted(raw)
    buckets: list[Bucket]
    if not trend:
        if request is None:
            if not periods:
                return PeriodPlan((), (), None)
            buckets = [Bucket(ALL, min(p.start for p in periods), max(p.end for p in periods))]
        else:
            buckets = [Bucket(request.text, request.start, request.end)]
        granularity = None
    else:
        granularity = granularity_of(request)
        found: dict[str, Bucket] = {}
        for p in periods:
            home = bucket_of(anchor(p), granularity)
            bucket = Bucket(home.text, home.start, home.end)
            if not _inside(p, bucket):
                continue  # reported at a coarser granularity than the trend: no bucket of its own
            if request is not None and not (request.start <= home.start <= home.end <= request.end):
                continue
            found[home.text] = bucket
        buckets = sorted(found.values(), key=lambda b: b.start)
    return PeriodPlan(tuple(buckets), _feeds(buckets, raw), granularity)


def slot_of(p: Period) -> str:
    """The calendar quarter that holds ``p`` (by its anchor day); ``p`` itself if longer."""
    q = bucket_of(anchor(p), "quarter")
    return q.text if _inside(p, Bucket(q.text, q.start, q.end)) else p.text


def _feeds(buckets: Iterable[Bucket], raw: dict[Period, list[str]]) -> tuple[Feed, ...]:
    periods = sorted(raw)
    feeds: list[Feed] = []
    for b in buckets:
        inside = [p for p in periods if _inside(p, b)]
        covering = [p for p in periods if not _inside(p, b) and _covers(p, b)]  # stocks only
        # latest first; of two ending the same day, the shorter one
        inside.sort(key=lambda p: (p.end, p.start), reverse=True)
        # the shortest longer period first
        covering.sort(key=lambda p: (p.end - p.start, p.start))
        for rank, p in enumerate(inside):
            feeds.extend(Feed(t, b.label, True, rank, p.kind, slot_of(p)) for t in sorted(raw[p]))
        for rank, p in enumerate(covering, start=len(inside)):
            feeds.extend(Feed(t, b.label, False, rank, p.kind, p.text) for t in sorted(raw[p]))
    return tuple(feeds)


def _months_back(d: date, months: int) -> date:
    """``d`` moved back by whole months (the first of a month stays the first)."""
    k = d.year * 12 + d.month - 1 - months
    y, m = divmod(k, 12)
    last = (date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m + 1, min(d.day, last))


def shifted(b: Bucket, quarters: int) -> Bucket:
    """The bucket moved back by ``quarters`` quarters (weeks: 13 weeks a quarter), same label."""
    if quarters == 0:
        return b
    weekly = b.start.isoweekday() == 1 and (b.end - b.start).days == 6
    if weekly:
        days = timedelta(weeks=13 * quarters)
        return Bucket(b.label, b.start - days, b.end - days)
    end = _months_back(b.end + timedelta(days=1), 3 * quarters) - timedelta(days=1)
    return Bucket(b.label, _months_back(b.start, 3 * quarters), end)


def lag_plan(plan: PeriodPlan, reported: Iterable[str], quarters: int) -> PeriodPlan:
    """The feeds of an element taken ``quarters`` quarters before each bucket of ``plan``:
    each bucket is moved back in time and fed by the reported periods of the moved window
    (latest inside first, then the shortest containing it), under the bucket's own label."""
    raw: dict[Period, list[str]] = {}
    for t in set(reported):
        try:
            raw.setdefault(parse_period(t), []).append(t)
        except ValueError:
            continue
    moved = [shifted(b, quarters) for b in plan.buckets]
    return PeriodPlan(plan.buckets, _feeds(moved, raw), plan.granularity)
