"""SiteTotals (numpy) sums exactly what a pandas group-by per place sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.hotspots.sitetotals import SiteTotals
from corridor.storage.recordkeys import KEY_MODULUS

PLACES = ["a", "b", "c", "d", "area"]
ELEMENTS = ["hiv_tests", "hiv_positive"]
GROUPS = ["total", "migrant", "host", "sex_worker"]

rows = st.lists(
    st.tuples(
        st.sampled_from(PLACES),
        st.sampled_from(ELEMENTS),
        st.sampled_from(GROUPS),
        st.one_of(st.integers(0, 10**9).map(float), st.just(float("nan"))),
        st.integers(0, KEY_MODULUS - 1).map(float),
    ),
    max_size=40,
)


def pandas_lookup(frame: pd.DataFrame, element: str, groups: tuple[str, ...]) -> pd.DataFrame:
    """The group-by the ranking used before (the reference)."""
    part = frame[(frame["data_element"] == element) & frame["population_group"].isin(groups)]
    out = part.groupby("place_code").agg(value=("value", "sum"), key=("key", "sum"))
    out["key"] = out["key"] % KEY_MODULUS
    return out


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from(ELEMENTS), st.sets(st.sampled_from(GROUPS), min_size=1))
def test_site_totals_equal_the_group_by(data: list, element: str, groups: set[str]) -> None:
    frame = pd.DataFrame(
        data, columns=["place_code", "data_element", "population_group", "value", "key"]
    )
    frame = frame.astype({"value": float, "key": float})
    sites = pd.Index(["a", "b", "c", "d", "e"])  # "area" is not a site, "e" has no row
    wanted = tuple(sorted(groups))
    value, key = SiteTotals(frame, sites)(element, wanted)
    ref = pandas_lookup(frame, element, wanted).reindex(sites)
    np.testing.assert_array_equal(value, ref["value"].to_numpy(dtype=float))
    np.testing.assert_array_equal(key, ref["key"].to_numpy(dtype=float))
