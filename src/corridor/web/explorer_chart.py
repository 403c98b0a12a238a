"""The explorer's chart: horizontal bars of the rows shown, drawn as SVG on the server (no
script; the report's axis helpers and Okabe-Ito colours). One colour per indicator; a withheld
value (``<10``, ``suppressed``) draws no bar and says so; a target is a tick on its bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from corridor.reports.charts import SERIES_COLOURS, fmt_tick, nice_max

MAX_BARS: Final = 40
BAR: Final = 18.0
GAP: Final = 6.0
LABEL_W: Final = 260.0
PLOT_W: Final = 380.0
VALUE_W: Final = 70.0
TOP: Final = 24.0
#: dimension columns that tell rows apart in a label (the export's columns)
LABEL_PARTS: Final = (
    "period",
    "place_name",
    "corridor",
    "place_type",
    "sex",
    "age_band",
    "population_group",
)


@dataclass(slots=True)
class Bar:
    label: str
    y: float
    width: float | None  # None: withheld or missing
    value_text: str
    colour: str
    target_x: float | None = None


@dataclass(slots=True)
class BarChart:
    width: float
    height: float
    label_w: float
    plot_w: float
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    legend: list[tuple[str, str]]
    unit: str
    shown: int
    total: int
    notes: list[str] = field(default_factory=list)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def label_of(row: dict[str, Any], vary: Sequence[str]) -> str:
    parts = [str(row.get(c)) for c in vary if row.get(c) not in (None, "", "total")]
    return " · ".join(parts) or str(row.get("place_name") or row.get("place_code") or "all")


def bar_chart(rows: Sequence[dict[str, Any]]) -> BarChart:
    # a margin row (place "all") has no place name: call it what it is
    shown = [
        {
            **r,
            "place_name": r.get("place_name")
            or ("all places" if r.get("place_code") == "all" else r.get("place_code")),
        }
        for r in rows[:MAX_BARS]
    ]
    indicators = list(dict.fromkeys(str(r.get("indicator")) for r in shown))
    colours = {ind: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, ind in enumerate(indicators)}
    # only the columns that differ between rows make the labels
    vary = [c for c in LABEL_PARTS if len({str(r.get(c)) for r in shown}) > 1]
    if len(indicators) > 1:
        vary = ["indicator", *vary]
    values = [v for r in shown for v in (_number(r.get("value")), _number(r.get("target"))) if v]
    top = nice_max(max(values, default=1.0))
    units = {str(r.get("unit") or "") for r in shown}
    unit = units.pop() if len(units) == 1 else ""
    bars: list[Bar] = []
    for i, r in enumerate(shown):
        v = _number(r.get("value"))
        t = _number(r.get("target"))
        text = fmt_tick(v) if v is not None else str(r.get("value") or "no value")
        bars.append(
            Bar(
                label=label_of(r, vary or ["place_name"]),
                y=TOP + i * (BAR + GAP),
                width=None if v is None else PLOT_W * max(v, 0.0) / top,
                value_text=text,
                colour=colours[str(r.get("indicator"))],
                target_x=None if t is None else PLOT_W * t / top,
            )
        )
    ticks = [(PLOT_W * k / 4, fmt_tick(top * k / 4)) for k in range(5)]
    notes = []
    if len(rows) > MAX_BARS:
        notes.append(f"the chart shows the first {MAX_BARS} of {len(rows)} rows; the table has all")
    return BarChart(
        width=LABEL_W + PLOT_W + VALUE_W,
        height=TOP + len(shown) * (BAR + GAP) + 8,
        label_w=LABEL_W,
        plot_w=PLOT_W,
        bars=bars,
        ticks=ticks,
        legend=[(ind, colours[ind]) for ind in indicators],
        unit=unit,
        shown=len(shown),
        total=len(rows),
        notes=notes,
    )
