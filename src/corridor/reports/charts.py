"""Small hand-drawn SVG line charts (no chart library, no script): geometry for the template.

A point whose value was suppressed (``None``) is not drawn and breaks its line, so a trend never
bridges a withheld value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: series colours (Okabe-Ito), host first
SERIES_COLOURS = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#6a3d9a",
    "#000000",
)
WIDTH = 340.0
HEIGHT = 190.0
LEFT, RIGHT, TOP, BOTTOM = 40.0, 10.0, 12.0, 34.0


@dataclass(slots=True)
class Series:
    label: str
    colour: str
    dashed: bool
    bold: bool
    #: polylines ("x,y x,y ...") of consecutive drawn points
    lines: list[str]
    #: every drawn point: (x, y, tooltip)
    points: list[tuple[float, float, str]]


@dataclass(slots=True)
class LineChart:
    title: str
    unit: str
    width: float
    height: float
    series: list[Series]
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    empty: bool = False


def nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * exp:
            return step * exp
    return 10 * exp  # pragma: no cover


def fmt_tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    unit: str = "%",
    dashed: Sequence[str] = (),
    bold: Sequence[str] = (),
    colours: Mapping[str, str] | None = None,
) -> LineChart:
    """A chart of ``series`` (label -> one value or None per category) over ``categories``."""
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    values = [v for vals in series.values() for v in vals if v is not None and math.isfinite(v)]
    chart = LineChart(title, unit, WIDTH, HEIGHT, [], empty=not values)
    if not values or not categories:
        chart.empty = True
        return chart
    top = nice_max(max(values))
    n = len(categories)

    def x_of(i: int) -> float:
        return x0 + (x1 - x0) * (i + 0.5) / n

    def y_of(v: float) -> float:
        return y1 - (y1 - y0) * v / top

    chart.y_ticks = [(round(y_of(top * k / 4), 1), fmt_tick(top * k / 4)) for k in range(5)]
    every = max(1, math.ceil(n / 6))
    chart.x_ticks = [
        (round(x_of(i), 1), str(c)) for i, c in enumerate(categories) if i % every == 0
    ]
    for k, (label, vals) in enumerate(series.items()):
        colour = (colours or {}).get(label) or SERIES_COLOURS[k % len(SERIES_COLOURS)]
        lines: list[str] = []
        current: list[str] = []
        points: list[tuple[float, float, str]] = []
        for i, v in enumerate(vals):
            if v is None or not math.isfinite(v):
                if len(current) > 1:
                    lines.append(" ".join(current))
                current = []
                continue
            x, y = round(x_of(i), 1), round(y_of(v), 1)
            current.append(f"{x},{y}")
            points.append((x, y, f"{label}, {categories[i]}: {v:.1f}{unit}"))
        if len(current) > 1:
            lines.append(" ".join(current))
        chart.series.append(Series(label, colour, label in dashed, label in bold, lines, points))
    return chart
