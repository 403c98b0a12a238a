"""Output periods ("buckets") and which reported periods feed each of them.

A reported period *feeds* a bucket when it lies inside it (an ISO week by its Thursday, the ISO
rule for the year of a week). Sum elements add the periods that feed a bucket. Stock elements take
the latest of them; where none feeds it, a stock reported for a longer period that contains the
bucket (an annual population estimate for a quarter) stands for it.
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
        raise QueryError(f"bad --period {text!r}: {exc}") from None


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
    feeds: list[Feed] = []
    for b in buckets:
        inside = [p for p in periods if _inside(p, b)]
        covering = [p for p in periods if not _inside(p, b) and _covers(p, b)]  # stocks only
        # latest first; of two ending the same day, the shorter one
        inside.sort(key=lambda p: (p.end, p.start), reverse=True)
        # the shortest longer period first
        covering.sort(key=lambda p: (p.end - p.start, p.start))
        for rank, p in enumerate(inside):
            feeds.extend(Feed(t, b.label, True, rank, p.kind) for t in sorted(raw[p]))
        for rank, p in enumerate(covering, start=len(inside)):
            feeds.extend(Feed(t, b.label, False, rank, p.kind) for t in sorted(raw[p]))
    return PeriodPlan(tuple(buckets), tuple(feeds), granularity)
