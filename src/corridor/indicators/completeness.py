"""Reporting completeness: which places were expected to report an indicator, which sources
drop zeros, and the flag on rows where too few places reported.

* A place is **expected** to report an indicator in an output period when it has reported its
  numerator or its denominator for some period that starts on or before the end of the output
  period (a place reports from its first report on; a place that stops reporting stays
  expected, and counts as not reporting).
* A place **reports** a row when it gives both the numerator and the denominator (see
  :mod:`corridor.indicators.margins`).
* A row is **incomplete** when fewer than the completeness threshold (a setting, 80% by
  default) of its expected places reported.
* A source **drops zeros** when its mapping file says ``drop_zeros: true``, or, without that
  setting, when it is a DHIS2 export (DHIS2 does not store zero values by default).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Final

import pyarrow as pa

from corridor.indicators.buckets import PeriodPlan
from corridor.indicators.cells import in_list
from corridor.indicators.places import ALL
from corridor.indicators.registry import Indicator
from corridor.storage.engine import Engine

#: formats whose sources drop zero values unless their mapping file says otherwise
ZERO_DROPPING_FORMATS: Final = ("dhis2-json", "dhis2-csv", "dhis2-xml", "adx")
DEFAULT_COMPLETENESS: Final = 80.0
SEP: Final = "\x1f"


def drops_zeros(fmt: str, mapping_json: str | None) -> bool:
    """Whether an import's source drops zero values (its mapping's ``drop_zeros``, else by
    format)."""
    if mapping_json:
        try:
            mapping = json.loads(mapping_json)
        except ValueError:
            mapping = {}
        if isinstance(mapping, dict) and isinstance(mapping.get("drop_zeros"), bool):
            return bool(mapping["drop_zeros"])
    return fmt in ZERO_DROPPING_FORMATS


def zero_places(engine: Engine, elements: Sequence[str]) -> dict[str, set[str]]:
    """element -> the places whose values of it come from a source that drops zeros."""
    if not elements:
        return {}
    imports = engine.query_rows(
        "SELECT import_id, format, mapping FROM imports", step="read import sources"
    )
    ids = sorted(int(r[0]) for r in imports if drops_zeros(str(r[1]), r[2]))
    if not ids:
        return {}
    rows = engine.query_rows(
        "SELECT DISTINCT data_element, place_code FROM services "
        f"WHERE data_element IN {in_list(elements)} "
        f"AND import_id IN ({', '.join(map(str, ids))})",
        step="places of zero-dropping sources",
    )
    out: dict[str, set[str]] = {}
    for element, place in rows:
        out.setdefault(element, set()).add(place)
    return out


def group_keys(
    map_table: pa.Table | None, place_cols: Sequence[str], by_place: bool
) -> dict[str, list[tuple[str, ...]]]:
    """place -> the keys (``place_code``, then ``place_cols``) of the output rows it counts in:
    its own group(s) and the margin over places (place columns ``all``, corridor kept)."""
    keys: dict[str, set[tuple[str, ...]]] = {}
    if map_table is None:
        return {}
    cols = ["g_code", *place_cols]
    data = {c: map_table.column(c).to_pylist() for c in ["place_code", *cols]}
    for i, place in enumerate(data["place_code"]):
        full = tuple(str(data[c][i]) for c in cols)
        margin = tuple(
            v if c == "corridor" else ALL
            for c, v in zip(["place_code", *place_cols], full, strict=True)
        )
        keys.setdefault(place, set()).update((full, margin))
    return {p: sorted(k) for p, k in keys.items()}


def expected_counts(
    indicators: Sequence[Indicator],
    plan: PeriodPlan,
    first: Mapping[str, Mapping[str, date]],
    keys: Mapping[str, Iterable[tuple[str, ...]]],
    by_place: bool,
    place_cols: Sequence[str] = (),
) -> dict[str, dict[str, int]]:
    """indicator id -> (period + key, joined by :data:`SEP`) -> number of places expected.

    ``keys``: place -> its output keys (:func:`group_keys`); empty when the output is not
    grouped by a place column other than ``place``: then each place is its own key (with
    ``by_place``) and all count in the ``all`` row."""
    names = ["place_code", *place_cols]
    unknown: list[tuple[str, ...]] = [
        ("unknown",) * len(names),
        tuple("unknown" if c == "corridor" else ALL for c in names),
    ]
    out: dict[str, dict[str, int]] = {}
    for ind in indicators:
        since: dict[str, date] = {}
        for element in ind.elements:
            for place, start in first.get(element, {}).items():
                if place not in since or start < since[place]:
                    since[place] = start
        counts: dict[str, int] = {}
        for b in plan.buckets:
            for place, start in since.items():
                if start > b.end:
                    continue
                if keys:
                    own = keys.get(place) or unknown
                else:
                    own = [(place,), (ALL,)] if by_place else [(ALL,)]
                for key in own:
                    k = SEP.join((b.label, *key))
                    counts[k] = counts.get(k, 0) + 1
        out[ind.id] = counts
    return out
