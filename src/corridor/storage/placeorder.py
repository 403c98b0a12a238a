"""Rows of services a place at a time, where the engine's dialect asks for it
(``Dialect.services_by_place``: PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def place_order(places: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The positions that bring each place's rows together: places in the order they are
    first met, a place's rows in the order they came (a stable grouping by the place's code,
    not a sort of text); None where they are together already."""
    if len(places) < 2:
        return None
    if pa.types.is_dictionary(places.type):  # (chunks may each have their own dictionary)
        places = places.cast(places.type.value_type)
    codes = pc.dictionary_encode(places, null_encoding="encode")
    chunks = codes.chunks if isinstance(codes, pa.ChunkedArray) else [codes]
    order = np.argsort(np.concatenate([np.asarray(c.indices) for c in chunks]), kind="stable")
    if (order[1:] > order[:-1]).all():
        return None
    return order


def by_place(rows: pa.Table) -> pa.Table:
    """``rows`` (plain Arrow types) with each place's rows together (:func:`place_order`)."""
    if "place_code" not in rows.column_names:
        return rows
    order = place_order(rows.column("place_code"))
    return rows if order is None else rows.take(pa.array(order))
