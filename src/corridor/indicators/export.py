"""Exporters of indicator tables: CSV, JSON, HXL, DHIS2 dataValueSets JSON and ADX XML.

Every exporter takes a table that went through :func:`corridor.indicators.suppress` and refuses
one that did not, unless told ``unsuppressed=True`` (the CLI's ``--unsuppressed``, which warns and
is audited). Withheld values are written as what they are - ``<10`` or ``suppressed`` text in
CSV, JSON and HXL; left out, with a comment, in DHIS2 and ADX - never as numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import quoteattr

import pyarrow as pa

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.contract.periods import parse_period
from corridor.errors import QueryError
from corridor.indicators.disclosure import (
    disclosure_note,
    is_suppressed,
    method_of,
    threshold_of,
)
from corridor.indicators.places import ALL, PLACE_COLUMNS
from corridor.storage.engine import Engine

FORMATS: Final = ("table", "csv", "json", "hxl", "dhis2-json", "adx")
DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
COUNTS: Final = ("numerator", "denominator")
RATES: Final = ("value", "target", "gap")

HXL_TAGS: Final[dict[str, str]] = {
    "indicator": "#indicator+code",
    "period": "#date+period",
    "place_code": "#loc+code",
    "place_name": "#loc+name",
    "country": "#country+code",
    "admin1": "#adm1+code",
    "corridor": "#x_corridor+name",
    "place_type": "#loc+type",
    "sex": "#gender+code",
    "age_band": "#age+range",
    "population_group": "#population_group+code",
    "numerator": "#x_numerator+num",
    "denominator": "#x_denominator+num",
    "value": "#indicator+value+pct",
    "unit": "#x_unit",
    "target": "#x_target+pct",
    "gap": "#x_gap+pct",
    "places_reporting": "#x_places+reporting+num",
    "places_expected": "#x_places+expected+num",
    "incomplete": "#x_incomplete",
}
#: reporting completeness (counts of places, not of people: not protected)
COMPLETENESS: Final = ("places_reporting", "places_expected", "incomplete")


def columns_of(table: pa.Table) -> list[str]:
    """The columns written to CSV / JSON / HXL, in order."""
    cols = ["indicator", "period", "place_code", "place_name"]
    cols += [c for c in PLACE_COLUMNS.values() if c in table.column_names]
    cols += [*DISAGGREGATIONS, *COUNTS, "value", "unit", "target", "gap"]
    cols += [c for c in COMPLETENESS if c in table.column_names]
    return cols


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
        w.writerow(["" if r[c] is None else r[c] for c in cols])
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
        "note": f"counts 1-{threshold_of(table) - 1} shown as <{threshold_of(table)}; "
        "'suppressed' marks counts withheld so that those cannot be worked out from totals, "
        "and rates of withheld counts",
    }


# ---- DHIS2 and ADX ------------------------------------------------------------------------
@dataclass
class Codes:
    """How Corridor's codes are written for DHIS2/ADX: through the intake mapping where known."""

    data_elements: dict[str, str] = field(default_factory=dict)  # corridor code -> uid
    org_units: dict[str, str] = field(default_factory=dict)  # place_code -> uid
    combos: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)
    dim_codes: dict[str, dict[str, str]] = field(default_factory=dict)  # ADX attribute values

    def data_element(self, code: str) -> str:
        return self.data_elements.get(code, code)

    def org_unit(self, place: str) -> str:
        return self.org_units.get(place, place)

    def combo(self, sex: str, age: str, group: str) -> tuple[str, str | None]:
        """(categoryOptionCombo, attributeOptionCombo or None)."""
        key = (sex, age, group)
        if key in self.combos:
            return self.combos[key]
        parts = [f"{n}={v}" for n, v in zip(DISAGGREGATIONS, key, strict=True) if v != TOTAL]
        return (";".join(parts) or TOTAL, None)


def latest_mapping(engine: Engine) -> dict[str, Any] | None:
    """The mapping used by the latest services import that used one (imports.mapping)."""
    text = engine.scalar(
        "SELECT mapping FROM imports WHERE mapping IS NOT NULL AND kind = 'services' "
        "ORDER BY import_id DESC LIMIT 1",
        step="latest mapping",
    )
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def codes_for(engine: Engine) -> Codes:
    mapping = latest_mapping(engine) or {}
    codes = Codes()
    for uid, code in sorted((mapping.get("data_elements") or {}).items()):
        codes.data_elements.setdefault(str(code), str(uid))
    # org units: the mapping used on intake, else the place's dhis2_uid, else its code
    for uid, place in sorted((mapping.get("org_units") or {}).items()):
        codes.org_units.setdefault(str(place), str(uid))
    for place, uid in engine.query_rows(
        "SELECT place_code, dhis2_uid FROM places WHERE dhis2_uid <> ''", step="dhis2 uids"
    ):
        codes.org_units.setdefault(place, uid)
    cocs = mapping.get("category_option_combos") or {}
    aocs = mapping.get("attribute_option_combos") or {}

    def dims(d: Mapping[str, str]) -> dict[str, str]:
        return {k: str(v) for k, v in d.items() if str(v) != TOTAL}

    for uid, d in sorted(cocs.items()):
        full = tuple(dims(d).get(k, TOTAL) for k in DISAGGREGATIONS)
        codes.combos.setdefault(full, (uid, None))  # type: ignore[arg-type]
    for c_uid, cd in sorted(cocs.items()):
        for a_uid, ad in sorted(aocs.items()):
            a, b = dims(cd), dims(ad)
            if set(a) & set(b):
                continue
            full = tuple({**a, **b}.get(k, TOTAL) for k in DISAGGREGATIONS)
            codes.combos.setdefault(full, (c_uid, a_uid))  # type: ignore[arg-type]
    for dim, section in (
        ("sex", "sex"),
        ("age_band", "age"),
        ("population_group", "population_group"),
    ):
        for ext, code in sorted((mapping.get(section) or {}).items()):
            codes.dim_codes.setdefault(dim, {}).setdefault(str(code), str(ext))
    return codes


def dhis2_period(text: str) -> str:
    p = _single_period(text)
    if p.kind == "month":
        return f"{p.start.year}{p.start.month:02d}"
    if p.kind == "week":
        return f"{p.text[:4]}W{int(p.text[5:])}"
    return p.text


def adx_period(text: str) -> str:
    p = _single_period(text)
    duration = {"year": "P1Y", "quarter": "P3M", "month": "P1M", "week": "P7D"}[p.kind]
    return f"{p.start.isoformat()}/{duration}"


def _single_period(text: str) -> Any:
    try:
        return parse_period(text)
    except ValueError:
        raise QueryError(
            f"DHIS2 and ADX exports need single reporting periods, not {text!r}: "
            "use --period with one period, or add period to --by"
        ) from None


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
            f"{withheld} value(s) withheld by disclosure control (counts 1-{t - 1}, "
            "complementary cells and their rates) are left out of dataValues"
        )
    elif not unsuppressed and method_of(table) == "cellkey":
        body["comment"] = disclosure_note(table)
    return json.dumps(body, indent=2) + "\n"


def to_adx(table: pa.Table, codes: Codes, *, unsuppressed: bool = False) -> str:
    values = values_for_exchange(table, unsuppressed=unsuppressed)
    groups: dict[tuple[str, str], list[Value]] = {}
    for v in values:
        groups.setdefault((v.place, v.period), []).append(v)
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
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


def registry_rows() -> list[dict[str, Any]]:
    from corridor.indicators.registry import INDICATORS

    return [
        {
            "id": i.id,
            "name": i.name,
            "numerator": i.numerator,
            "denominator": i.denominator,
            "unit": i.unit,
            "target": i.target,
            "source": i.source,
            "definition": i.definition,
        }
        for i in INDICATORS
    ]


def export(
    table: pa.Table,
    fmt: str,
    *,
    engine: Engine | None = None,
    unsuppressed: bool = False,
    query: Mapping[str, Any] | None = None,
) -> str:
    """The text of ``table`` in ``fmt`` (csv, json, hxl, dhis2-json, adx)."""
    if fmt == "csv":
        return to_csv(table, unsuppressed=unsuppressed)
    if fmt == "hxl":
        return to_csv(table, unsuppressed=unsuppressed, hxl=True)
    if fmt == "json":
        return to_json(table, unsuppressed=unsuppressed, query=query)
    if fmt in ("dhis2-json", "adx"):
        codes = codes_for(engine) if engine is not None else Codes()
        if fmt == "adx":
            return to_adx(table, codes, unsuppressed=unsuppressed)
        return to_dhis2_json(table, codes, unsuppressed=unsuppressed)
    raise QueryError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__: Sequence[str] = ("FORMATS", "export", "rows", "to_csv", "to_json")
