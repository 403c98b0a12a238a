"""True mobility: traffic through points of entry and along the corridors, by stream and year.

A *stream* is a set of travellers with one origin, next and final destination, group and mode
passing a gate. Both sides of a border crossing see the same streams (outgoing on one side,
incoming on the other), so the truth conserves travellers: at every point of entry the streams
sum to the point's total traffic.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Final

import numpy as np

from corridor.demo.geography import GATES, SITES, Gate, gate_of_site, site
from corridor.demo.strata import YEARS, FloatArray

#: people per truck crossing (driver plus, on some trucks, a turn-boy) [assumed]
CREW_PER_TRUCK: Final = 1.2
#: traffic relative to 2023: COVID-19 restrictions in 2020-21, growth after [assumed]
TRAFFIC_INDEX: Final[dict[int, float]] = {
    2019: 1.0,
    2020: 0.62,
    2021: 0.83,
    2022: 0.95,
    2023: 1.0,
    2024: 1.04,
    2025: 1.07,
}
#: gate-specific factors on top of TRAFFIC_INDEX (facts sheet events)
GATE_EVENTS: Final[dict[str, dict[int, float]]] = {
    # Katuna/Gatuna closed from end of Feb 2019 to 31 Jan 2022
    "katuna": {2019: 0.17, 2020: 0.02 / 0.62, 2021: 0.02 / 0.83, 2022: 0.92},
    # Kazungula bridge opened May 2021 (ferry before)
    "kazungula": {2019: 0.6, 2020: 0.6, 2021: 0.8},
    # Chirundu open 24 h since Oct 2023
    "chirundu": {2024: 1.1, 2025: 1.1},
}
#: gates with festive-season peaks (~3x at peak days at Beitbridge, BMA 2025)
FESTIVE_GATES: Final = ("beitbridge", "lebombo", "maseru")


@dataclass(frozen=True, slots=True)
class Stream:
    gate: str
    side: str  # "ab" (side a -> b), "ba", "sea_in", "sea_out" or "transit"
    origin: str
    next: str
    final: str
    group: str
    mode: str
    per_day: float  # travellers/day in 2023

    def direction_at(self, code: str, gate: Gate) -> str:
        """incoming | outgoing | transit as seen at the point of entry ``code``."""
        if self.side == "transit":
            return "transit"
        if self.side == "sea_in":
            return "incoming"
        if self.side == "sea_out":
            return "outgoing"
        leaving_a = self.side == "ab"
        return "outgoing" if (code == gate.side_a) == leaving_a else "incoming"


def _other(gate: Gate) -> str:
    return gate.side_b or gate.country_b


def _truck_finals(base: str, beyond: tuple[str, ...]) -> list[tuple[str, float]]:
    options = list(beyond[:1])
    if not options:
        return [(base, 1.0)]
    return [(base, 0.5), *[(c, 0.5 / len(options)) for c in options]]


def gate_streams(gate: Gate) -> list[Stream]:
    """The travellers' streams of one gate (2023 volumes)."""
    crew = gate.trucks * CREW_PER_TRUCK
    out: list[Stream] = []
    if gate.is_port:
        port = gate.side_a
        beyond = gate.beyond_a[:3]
        for c in beyond:
            out.append(
                Stream(gate.key, "transit", port, gate.hubs_a[0], c, "truck_driver", "truck",
                       crew / len(beyond))
            )  # fmt: skip
        for side, o, n in (("sea_in", gate.coastal, port), ("sea_out", port, gate.coastal)):
            for group, share in (("mobile_worker", 0.5), ("migrant", 0.5)):
                out.append(
                    Stream(gate.key, side, o, n, "", group, "boat", gate.people * 0.5 * share)
                )
        return out
    other = _other(gate)
    hubs_b = gate.hubs_b or (gate.country_b,)
    # trucks: a -> b loaded from the far hub of side a, b -> a back towards it
    base_ab = hubs_b[-1] if len(hubs_b) > 1 else ""
    for final, share in _truck_finals(base_ab, gate.beyond_b):
        out.append(
            Stream(gate.key, "ab", gate.hubs_a[-1], hubs_b[0], final, "truck_driver", "truck",
                   crew * 0.5 * share)
        )  # fmt: skip
    base_ba = gate.hubs_a[-1] if len(gate.hubs_a) > 1 else ""
    for final, share in _truck_finals(base_ba, gate.beyond_a):
        out.append(
            Stream(gate.key, "ba", hubs_b[-1], gate.hubs_a[0], final, "truck_driver", "truck",
                   crew * 0.5 * share)
        )  # fmt: skip
    people = gate.people
    for side, group, origin, nxt, final, mode, share in gate.special:
        out.append(Stream(gate.key, side, origin, nxt, final, group, mode, people * share))
        people -= gate.people * share
    for side in ("ab", "ba"):
        here, there = (gate.side_a, other) if side == "ab" else (other, gate.side_a)
        near, far = (gate.hubs_a, hubs_b) if side == "ab" else (hubs_b, gate.hubs_a)
        far_final = far[-1] if len(far) > 1 else ""
        out += [
            Stream(gate.key, side, here, there, "", "cross_border_trader", "foot", people * 0.175),
            Stream(gate.key, side, near[0], far[0], far_final, "migrant", "bus", people * 0.175),
            Stream(gate.key, side, here, there, "", "host", "car", people * 0.15),
        ]
    return out


def year_factors(gate_key: str) -> FloatArray:
    """Traffic of a gate per year (YEARS order) relative to its 2023 volume."""
    events = GATE_EVENTS.get(gate_key, {})
    return np.array([TRAFFIC_INDEX[y] * events.get(y, 1.0) for y in YEARS])


def month_weights(gate_key: str, year: int) -> FloatArray:
    """Share of a gate's annual traffic falling in each month of ``year`` (sums to 1)."""
    days = np.array([calendar.monthrange(year, m)[1] for m in range(1, 13)], dtype=np.float64)
    season = np.ones(12)
    if gate_key in FESTIVE_GATES:
        season[[11, 0, 3]] = (2.0, 1.3, 1.3)
        season[2] = 1.1
    else:
        season[[11, 0]] = (1.15, 0.92)
    if year == 2020:  # COVID-19 border restrictions from late March 2020
        season *= np.repeat([1.6, 0.45, 0.8, 1.0], 3)
    elif year == 2021:
        season *= np.repeat([0.85, 0.9, 1.1, 1.15], 3)
    if gate_key == "katuna" and year == 2019:
        season[2:] = 0.0
    if gate_key == "katuna" and year == 2022:
        season[0] = 0.0
    w = days * season
    return np.asarray(w / w.sum(), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class FlowTruth:
    """True travellers per point-of-entry site, stream and year (YEARS order)."""

    streams: dict[str, list[Stream]]  # gate key -> streams
    annual: dict[str, FloatArray]  # gate key -> [stream, year] travellers per year
    poe_total: dict[str, FloatArray]  # POE site code -> travellers per year


def build_flow_truth() -> FlowTruth:
    streams: dict[str, list[Stream]] = {}
    annual: dict[str, FloatArray] = {}
    poe_total: dict[str, FloatArray] = {}
    for gate in GATES:
        ss = gate_streams(gate)
        per_day = np.array([s.per_day for s in ss])
        days = np.array([366.0 if calendar.isleap(y) else 365.0 for y in YEARS])
        table = np.rint(per_day[:, None] * days[None, :] * year_factors(gate.key)[None, :])
        streams[gate.key] = ss
        annual[gate.key] = table
        for side in (gate.side_a, gate.side_b):
            if side:
                poe_total[side] = table.sum(axis=0)
    return FlowTruth(streams, annual, poe_total)


def site_traffic() -> tuple[FloatArray, FloatArray]:
    """Trucks/day and other travellers/day at each site and year: ([S, Y], [S, Y])."""
    gates = gate_of_site()
    trucks = np.zeros((len(SITES), len(YEARS)))
    travellers = np.zeros((len(SITES), len(YEARS)))
    index = np.array([TRAFFIC_INDEX[y] for y in YEARS])
    for i, s in enumerate(SITES):
        gate = gates.get(s.code)
        if gate is not None:
            f = year_factors(gate.key)
            trucks[i] = gate.trucks * f
            travellers[i] = gate.people * f
        else:
            trucks[i] = s.trucks * index
            travellers[i] = s.travellers * index
    return trucks, travellers


def truck_dwell_days(code: str) -> float:
    """Average days a truck crew spends at a site (waiting, loading, overnight stops)."""
    t = site(code).place_type
    return {"border_crossing": 0.8, "seaport": 1.5, "truck_stop": 0.35}.get(t, 0.08)
