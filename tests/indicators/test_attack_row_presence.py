"""Attack: a row published with numerator and denominator 0 tells that a count is 1-9.

Under the cell-key method a count of 1-9 is published as 0 (most often) or 10-14, and a true
zero as 0, so that "0" does not say which (docs/disclosure.md: "Zero stays zero: a true zero
discloses nobody"). But an output has a row only where some data exist: a disaggregation cell
where nothing was reported is left out. On the demonstration world, in all indicators by site x
sex x age band x group for 2024Q1, every one of the 635 rows published as 0 / 0 has a true
numerator or denominator of 1-9 (none is a true 0 / 0): the row's presence says "somebody of
this sex, age band and group was tested (or diagnosed) here". Fixes: leave out the rows whose
published numerator and denominator are both 0 (a published value is the same everywhere, so
that is consistent), or list every combination of the categories.

This test fails while the leak is there. Fixed by the first: ``publish`` leaves out the rows of
``compute_indicators`` whose every published count is 0, so no row is listed as 0 / 0 (rows are
matched by their cell, not by position, since the published table has fewer rows).
"""

from __future__ import annotations

from typing import Any

from corridor.config import load_settings
from corridor.indicators import compute_indicators, publish

SETTINGS = load_settings(None, env={})
KEYS = ["indicator", "period", "place_code", "sex", "age_band", "population_group"]


def test_a_row_published_as_zero_over_zero_may_be_a_true_zero(demo_workspace: Any) -> None:
    raw = compute_indicators(
        demo_workspace.engine,
        ["all"],
        ["place", "sex", "age_band", "population_group"],
        "2024Q1",
    )
    pub = publish(raw, SETTINGS)
    r = {
        tuple(a[k] for k in KEYS): a
        for a in raw.select([*KEYS, "numerator", "denominator"]).to_pylist()
    }
    p = pub.select([*KEYS, "numerator", "denominator"]).to_pylist()
    assert len(r) == raw.num_rows  # one row per cell
    zero_rows = [
        (r[tuple(b[k] for k in KEYS)], b)
        for b in p
        if b["numerator"] == 0 and b["denominator"] == 0
    ]
    hidden = [a for a, _ in zero_rows if (a["numerator"] or 0) > 0 or (a["denominator"] or 0) > 0]
    print(
        f"rows published 0 / 0: {len(zero_rows)}; of them with a true count of 1-9: {len(hidden)}"
    )
    if len(zero_rows) < 20:
        return  # too few such rows to tell anything
    assert len(hidden) < len(zero_rows), (
        f"all {len(zero_rows)} rows published as 0 / 0 hide a count of 1-9 (no true 0 / 0 row "
        "is ever listed): the presence of the row discloses it"
    )
