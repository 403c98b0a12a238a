"""Rows of services a place at a time (corridor.storage.placeorder)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from corridor.storage.placeorder import by_place, place_order

PLACES = st.lists(st.sampled_from(["ke-malaba", "ug-malaba", "ke-mombasa", None]), max_size=40)


@given(places=PLACES, cut=st.integers(0, 40), coded=st.booleans())
def test_each_places_rows_come_together_in_the_order_they_came(
    places: list[str | None], cut: int, coded: bool
) -> None:
    """A permutation of the rows (chunks or not, text or each chunk a dictionary of its own);
    each place's rows together, places in the order first met (null a place of its own), a
    place's rows in their own order; None where the rows are together already."""
    cut = min(cut, len(places))
    chunks = [pa.array(places[:cut], pa.string()), pa.array(places[cut:], pa.string())]
    column = pa.chunked_array([c.dictionary_encode() for c in chunks] if coded else chunks)
    table = pa.table({"place_code": column, "row": list(range(len(places)))})
    out = by_place(table)
    got = out.column("place_code").to_pylist()
    first = list(dict.fromkeys(places))
    assert got == sorted(places, key=first.index)
    assert out.column("row").to_pylist() == sorted(
        range(len(places)), key=lambda i: first.index(places[i])
    )
    order = place_order(table.column("place_code"))
    together = got == places
    assert (order is None) == together or len(places) < 2
    if together:
        assert out is table


def test_a_table_without_places_is_left_as_it_is() -> None:
    table = pa.table({"indicator": ["a", "b"]})
    assert by_place(table) is table
