"""GET /indicators lists no row whose every published count is 0 (cell-key method).

Rows exist only where data were reported, and a count of 1-9 is published as 0 most often: a
listed row published 0 / 0 would say "a count of 1-9 is behind this" (tests/indicators/
test_attack_row_presence.py). ``publish`` leaves such rows out, so the API (JSON and CSV) does
too; the unsuppressed view (audited) keeps them."""

from __future__ import annotations

import csv
import io
from typing import Any

from hubdata import auth

QUERY = "indicator=linkage_proxy,positivity&by=place,sex,population_group&period=2024Q1"
CELL = ("indicator", "period", "place_code", "sex", "age_band", "population_group")


def _get(hub: Any, query: str) -> Any:
    r = hub.client.get(f"/api/v1/indicators?{query}", headers=auth(hub.tokens["admin1"]))
    assert r.status_code == 200, r.text
    return r


def _all_zero(row: dict[str, Any]) -> bool:
    counts = [row[c] for c in ("numerator", "denominator") if row[c] not in (None, "")]
    return bool(counts) and all(float(c) == 0 for c in counts)


def test_no_row_is_listed_with_every_count_published_zero(duck_hub: Any) -> None:
    shown = _get(duck_hub, QUERY).json()["rows"]
    true = _get(duck_hub, QUERY + "&unsuppressed=true").json()["rows"]
    assert shown and not [r for r in shown if _all_zero(r)]
    listed = {tuple(r[c] for c in CELL) for r in shown}
    every = {tuple(r[c] for c in CELL): r for r in true}
    assert listed < set(every)  # rows are left out, none added
    left_out = [every[c] for c in set(every) - listed]
    # only rows whose counts are all below the threshold (published 0), margins among them
    for r in left_out:
        assert all((r[c] or 0) < 10 for c in ("numerator", "denominator")), r
    print(f"{len(left_out)} of {len(every)} rows left out")
    # CSV: the same rows
    text = _get(duck_hub, QUERY + "&format=csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {tuple(r[c] for c in CELL) for r in rows} == listed
    assert not [r for r in rows if _all_zero(r)]
