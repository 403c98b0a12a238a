"""The row-by-row exporters as they were before the streaming rewrite (0.1.0), kept only as the
reference that the streaming writers must match byte for byte (tests/indicators/test_export_bytes.py).
The changes: text cells of CSV/HXL pass through the formula neutralisation, as the new writers do;
the disclosure notes word the small counts as every output does ("counts from 1 to 9", not "1-9").
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import pyarrow as pa

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.errors import QueryError
from corridor.indicators.disclosure import (
    disclosure_note,
    is_suppressed,
    method_of,
    small_counts,
    threshold_of,
)
from corridor.indicators.export import (
    COUNTS,
    DISAGGREGATIONS,
    HXL_TAGS,
    RATES,
    Codes,
    adx_period,
    columns_of,
    dhis2_period,
)
from corridor.indicators.places import ALL
from corridor.output import neutralise


def _check(table: pa.Table, unsuppressed: bool) -> None:
    if not unsuppressed and not is_suppressed(table):
        raise ValueError("refusing to export an unsuppressed table: pass it through suppress()")


def number(v: float | None, digits: int = 2) -> int | float | None:
    """A count or rate as written: whole numbers as integers, others rounded."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if float(v).is_integer():
        return int(v)
    return round(float(v), digits)


def rows(table: pa.Table, *, unsuppressed: bool = False, digits: int = 2) -> list[dict[str, Any]]:
    """Rows as written: withheld numbers replaced by their flag text (``<10``, ``suppressed``)."""
    _check(table, unsuppressed)
    cols = columns_of(table)
    data = table.to_pylist()
    out: list[dict[str, Any]] = []
    for r in data:
        row: dict[str, Any] = {}
        for c in cols:
            v = r.get(c)
            if c in COUNTS or c in RATES:
                if c == "gap":
                    flag = r.get("value_flag") if r.get("target") is not None else None
                else:
                    flag = r.get(f"{c}_flag")
                row[c] = flag if flag is not None else number(v, digits)
            else:
                row[c] = v
        out.append(row)
    return out


def to_csv(table: pa.Table, *, unsuppressed: bool = False, hxl: bool = False) -> str:
    cols = columns_of(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    if hxl:
        w.writerow([HXL_TAGS[c] for c in cols])
    for r in rows(table, unsuppressed=unsuppressed):
        w.writerow(
            [
                "" if r[c] is None else neutralise(r[c]) if isinstance(r[c], str) else r[c]
                for c in cols
            ]
        )
    return buf.getvalue()


def to_json(
    table: pa.Table, *, unsuppressed: bool = False, query: Mapping[str, Any] | None = None
) -> str:
    body = {
        "query": dict(query or {}),
        "disclosure_control": _disclosure(table, unsuppressed),
        "rows": rows(table, unsuppressed=unsuppressed),
    }
    return json.dumps(body, indent=2, default=str) + "\n"


def _disclosure(table: pa.Table, unsuppressed: bool) -> dict[str, Any]:
    if not is_suppressed(table):
        return {"applied": False, "note": "UNSUPPRESSED: small counts are shown"}
    withheld = sum(
        table.num_rows - table.column(f"{c}_flag").null_count
        for c in COUNTS
        if f"{c}_flag" in table.column_names
    )
    if method_of(table) == "cellkey":
        meta = table.schema.metadata or {}
        return {
            "applied": True,
            "method": "cellkey",
            "threshold": threshold_of(table),
            "max_noise": int(meta.get(b"corridor.max_noise", b"0")),
            "variance": float(meta.get(b"corridor.variance", b"0")),
            "note": disclosure_note(table),
        }
    return {
        "applied": True,
        "method": "suppression",
        "threshold": threshold_of(table),
        "withheld_counts": withheld,
        "note": f"counts {small_counts(threshold_of(table))} shown as <{threshold_of(table)}; "
        "'suppressed' marks counts withheld so that those cannot be worked out from totals, "
        "and rates of withheld counts",
    }


@dataclass(frozen=True, slots=True)
class Value:
    """One value for DHIS2/ADX: a count of a data element or an indicator value (percent)."""

    data_element: str
    period: str
    place: str
    sex: str
    age_band: str
    population_group: str
    value: float | None
    flag: str | None
    kind: str  # count | indicator
    note: str = ""  # incomplete reporting, for indicator values


def _completeness_note(r: Mapping[str, Any]) -> str:
    if not r.get("incomplete"):
        return ""
    return (
        f"incomplete: {r.get('places_reporting')} of {r.get('places_expected')} expected "
        "places reported"
    )


def values_for_exchange(table: pa.Table, *, unsuppressed: bool = False) -> list[Value]:
    """The finest cells of the output (no margins), counts once each, then indicator values."""
    _check(table, unsuppressed)
    meta = table.schema.metadata or {}
    by = json.loads(meta.get(b"corridor.by", b"[]"))
    grouped = [d for d in DISAGGREGATIONS if d in by]
    if not any(d in by for d in ("place", "admin1", "country")):
        raise QueryError(
            "DHIS2 and ADX exports need organisation units: add place (or admin1, country) to --by"
        )
    counts: dict[tuple[str, ...], Value] = {}
    indicators: list[Value] = []
    for r in table.to_pylist():
        if r["place_code"] == ALL or any(r[d] == TOTAL for d in grouped):
            continue  # a margin: DHIS2 adds up the cells itself
        key = (r["period"], r["place_code"], r["sex"], r["age_band"], r["population_group"])
        for role in COUNTS:
            element = r.get(f"{role}_element")
            if element is None or (r[role] is None and r.get(f"{role}_flag") is None):
                continue
            if element not in DATA_ELEMENTS:  # another period's value or a part of the count
                continue
            counts.setdefault(
                (element, *key),
                Value(element, *key, r[role], r.get(f"{role}_flag"), "count"),
            )
        if r["value"] is not None or r.get("value_flag") is not None:
            indicators.append(
                Value(
                    r["indicator"],
                    *key,
                    r["value"],
                    r.get("value_flag"),
                    "indicator",
                    _completeness_note(r),
                )
            )
    return [*counts.values(), *indicators]


def _text_value(v: Value) -> str:
    n = number(v.value, 4)
    return str(n)


def to_dhis2_json(table: pa.Table, codes: Codes, *, unsuppressed: bool = False) -> str:
    values = values_for_exchange(table, unsuppressed=unsuppressed)
    out: list[dict[str, str]] = []
    withheld = 0
    for v in values:
        if v.flag is not None:
            withheld += 1
            continue
        coc, aoc = codes.combo(v.sex, v.age_band, v.population_group)
        dv = {
            "dataElement": codes.data_element(v.data_element),
            "period": dhis2_period(v.period),
            "orgUnit": codes.org_unit(v.place),
            "categoryOptionCombo": coc,
        }
        if aoc is not None:
            dv["attributeOptionCombo"] = aoc
        dv["value"] = _text_value(v)
        if v.kind == "indicator":
            dv["comment"] = "Corridor indicator value (percent)" + (f"; {v.note}" if v.note else "")
        out.append(dv)
    body: dict[str, Any] = {"dataValues": out}
    if withheld:
        t = threshold_of(table)
        body["comment"] = (
            f"{withheld} value(s) withheld by disclosure control (counts {small_counts(t)}, "
            "complementary cells and their rates) are left out of dataValues"
        )
    elif not unsuppressed and method_of(table) == "cellkey":
        body["comment"] = disclosure_note(table)
    return json.dumps(body, indent=2) + "\n"


def to_adx(table: pa.Table, codes: Codes, *, unsuppressed: bool = False, stamp: str = "") -> str:
    values = values_for_exchange(table, unsuppressed=unsuppressed)
    groups: dict[tuple[str, str], list[Value]] = {}
    for v in values:
        groups.setdefault((v.place, v.period), []).append(v)
    stamp = stamp or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<adx xmlns="urn:ihe:qrph:adx:2015" exported="{stamp}">',
    ]
    if not unsuppressed and method_of(table) == "cellkey":
        lines.append(f"  <!-- {disclosure_note(table)} -->")
    for (place, period), vals in groups.items():
        lines.append(
            f"  <group orgUnit={quoteattr(codes.org_unit(place))} "
            f'period={quoteattr(adx_period(period))} dataSet="CORRIDOR_INDICATORS">'
        )
        for v in vals:
            attrs = [f"dataElement={quoteattr(codes.data_element(v.data_element))}"]
            for dim in DISAGGREGATIONS:
                code = getattr(v, dim)
                if code != TOTAL:
                    shown = codes.dim_codes.get(dim, {}).get(code, code)
                    attrs.append(f"{dim}={quoteattr(shown)}")
            if v.flag is not None:
                what = " ".join(a for a in attrs).replace("--", "- -")
                lines.append(f"    <!-- withheld by disclosure control ({v.flag}): {what} -->")
                continue
            if v.note:
                lines.append(f"    <!-- {v.note} -->")
            attrs.append(f"value={quoteattr(_text_value(v))}")
            lines.append(f"    <dataValue {' '.join(attrs)}/>")
        lines.append("  </group>")
    lines.append("</adx>")
    return "\n".join(lines) + "\n"
