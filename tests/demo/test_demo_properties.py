"""Property tests of the generator's building blocks."""

from __future__ import annotations

import dataclasses

import numpy as np
from demo_helpers import UID
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.demo.geography import GATES, Gate
from corridor.demo.ids import dhis2_uid
from corridor.demo.mobility import CREW_PER_TRUCK, gate_streams, month_weights


@given(st.text(max_size=40))
def test_dhis2_uids_are_well_formed(key: str) -> None:
    assert UID.match(dhis2_uid(key))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(GATES),
    st.floats(min_value=0, max_value=50_000),
    st.floats(min_value=0, max_value=50_000),
)
def test_streams_conserve_a_gates_travellers(gate: Gate, trucks: float, people: float) -> None:
    g = dataclasses.replace(gate, trucks=trucks, people=people)
    streams = gate_streams(g)
    total = sum(s.per_day for s in streams)
    assert np.isclose(total, trucks * CREW_PER_TRUCK + people, rtol=1e-9, atol=1e-6)
    assert all(s.per_day >= 0 for s in streams)
    side_a_only = {s.direction_at(g.side_a, g) for s in streams}
    assert side_a_only <= {"incoming", "outgoing", "transit"}


@given(st.sampled_from(GATES), st.integers(min_value=2019, max_value=2025))
def test_month_weights_sum_to_one(gate: Gate, year: int) -> None:
    w = month_weights(gate.key, year)
    assert w.shape == (12,) and np.isclose(w.sum(), 1.0) and (w >= 0).all()


def test_both_sides_see_each_stream_in_opposite_directions() -> None:
    for gate in GATES:
        if not gate.side_b:
            continue
        for s in gate_streams(gate):
            a, b = s.direction_at(gate.side_a, gate), s.direction_at(gate.side_b, gate)
            assert {a, b} == {"incoming", "outgoing"}
