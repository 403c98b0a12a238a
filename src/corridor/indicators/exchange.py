"""DHIS2 dataValueSets JSON and ADX XML exports of indicator tables, streamed from Arrow.

Only the finest cells go out (DHIS2 adds up margins itself): each count of a data element once,
then the indicator values (percentages, said so in a comment). Withheld values are left out, with
a comment. Codes go through the mapping of the latest import that used one.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO, Final
from xml.sax.saxutils import quoteattr

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.contract.periods import parse_period
from corridor.errors import QueryError
from corridor.indicators.disclosure import (
    disclosure_note,
    is_suppressed,
    method_of,
    threshold_of,
)
from corridor.indicators.exportcells import affix, join_lines, mapped, numbers, write_array
from corridor.indicators.places import ALL
from corridor.storage.engine import Engine

DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
COUNTS: Final = ("numerator", "denominator")
_KEY: Final = ("period", "place_code", *DISAGGREGATIONS)
INDICATOR_COMMENT: Final = "Corridor indicator value (percent)"
_STRING: Final = pa.string()


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
    if not unsuppressed and not is_suppressed(table):
        raise ValueError("refusing to export an unsuppressed table: pass it through suppress()")
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


def exchange_table(table: pa.Table, *, unsuppressed: bool = False) -> pa.Table:
    """``values_for_exchange`` as an Arrow table, computed column-wise.

    Columns: data_element, period, place, sex, age_band, population_group, value, flag, kind.
    """
    if not unsuppressed and not is_suppressed(table):
        raise ValueError("refusing to export an unsuppressed table: pass it through suppress()")
    meta = table.schema.metadata or {}
    by = json.loads(meta.get(b"corridor.by", b"[]"))
    grouped = [d for d in DISAGGREGATIONS if d in by]
    if not any(d in by for d in ("place", "admin1", "country")):
        raise QueryError(
            "DHIS2 and ADX exports need organisation units: add place (or admin1, country) to --by"
        )
    keep = pc.not_equal(table.column("place_code"), ALL)
    for d in grouped:
        keep = pc.and_(keep, pc.not_equal(table.column(d), TOTAL))
    wanted = [
        *_KEY,
        *_COMPLETENESS,
        "indicator",
        "value",
        "value_flag",
        *(f"{r}{s}" for r in COUNTS for s in ("", "_flag", "_element")),
    ]
    t = table.select([c for c in wanted if c in table.column_names])
    t = t.filter(pc.fill_null(keep, True))
    n = t.num_rows
    names = t.column_names

    def col(name: str, type_: pa.DataType = _STRING) -> pl.Series:
        arr = t.column(name).combine_chunks().cast(type_) if name in names else pa.nulls(n, type_)
        return pl.Series(name, arr)

    # counts: each once, where it first appears (row by row, numerator before denominator);
    # done in polars, which keeps the first of each key in order many times faster than Arrow
    keys = {k: col(k) for k in _KEY}
    rows = np.arange(n, dtype=np.int64)
    parts = [
        pl.DataFrame(
            {
                "data_element": col(f"{role}_element"),
                **keys,
                "value": col(role, pa.float64()),
                "flag": col(f"{role}_flag"),
                "pos": rows * 2 + i,
            }
        )
        for i, role in enumerate(COUNTS)
    ]
    counts = (
        pl.concat(parts)
        .filter(
            pl.col("data_element").is_in(list(DATA_ELEMENTS))  # not another period's value
            & (pl.col("value").is_not_null() | pl.col("flag").is_not_null())
        )
        .sort("pos")
        .unique(subset=["data_element", *_KEY], keep="first", maintain_order=True)
        .drop("pos")
        .with_columns(pl.lit("count").alias("kind"), pl.lit("").alias("note"))
    )
    indicators = pl.DataFrame(
        {
            "data_element": col("indicator"),
            **keys,
            "value": col("value", pa.float64()),
            "flag": col("value_flag"),
            "note": _notes(t),
        }
    ).filter(pl.col("value").is_not_null() | pl.col("flag").is_not_null())
    indicators = indicators.with_columns(pl.lit("indicator").alias("kind")).select(counts.columns)
    out = pl.concat([counts, indicators])
    schema = pa.schema(
        [
            *((c, _STRING) for c in ("data_element", "period", "place", *DISAGGREGATIONS)),
            ("value", pa.float64()),
            ("flag", _STRING),
            ("kind", _STRING),
            ("note", _STRING),
        ]
    )
    return out.rename({"place_code": "place"}).to_arrow().cast(schema)


_COMPLETENESS: Final = ("places_reporting", "places_expected", "incomplete")


def _notes(t: pa.Table) -> pl.Series:
    """The completeness note of each row ("" where reporting is complete or not measured)."""
    if "incomplete" not in t.column_names:
        return pl.Series("note", [""] * t.num_rows, pl.String)
    cols = {c: t.column(c).to_pylist() for c in _COMPLETENESS if c in t.column_names}
    notes = (
        [_completeness_note({c: cols[c][i] for c in cols}) for i in range(t.num_rows)]
        if any(cols["incomplete"])
        else [""] * t.num_rows
    )
    return pl.Series("note", notes, pl.String)


def _q(text: str) -> str:
    return json.dumps(text)


def write_dhis2_json(
    table: pa.Table, codes: Codes, stream: BinaryIO, *, unsuppressed: bool = False
) -> None:
    """A DHIS2 dataValueSet: ``json.dumps(indent=2)`` bytes, built column by column."""
    values = exchange_table(table, unsuppressed=unsuppressed)
    withheld = values.num_rows - values.column("flag").null_count
    values = values.filter(pc.is_null(values.column("flag")))
    tail: dict[str, Any] = {}
    if withheld:
        t = threshold_of(table)
        tail["comment"] = (
            f"{withheld} value(s) withheld by disclosure control (counts 1-{t - 1}, "
            "complementary cells and their rates) are left out of dataValues"
        )
    elif not unsuppressed and method_of(table) == "cellkey":
        tail["comment"] = disclosure_note(table)
    if values.num_rows == 0:
        stream.write((json.dumps({"dataValues": [], **tail}, indent=2) + "\n").encode())
        return
    stream.write(b'{\n  "dataValues": [\n')
    combo = join_lines(
        [
            values.column("sex").combine_chunks(),
            "\x00",
            values.column("age_band").combine_chunks(),
            "\x00",
            values.column("population_group").combine_chunks(),
        ]
    )

    def combo_text(k: str) -> str:
        coc, aoc = codes.combo(*k.split("\x00"))
        text = f'      "categoryOptionCombo": {_q(coc)},\n'
        if aoc is not None:
            text += f'      "attributeOptionCombo": {_q(aoc)},\n'
        return text

    # the constant texts are folded into the formats of the mapped columns: no extra passes
    lines = join_lines(
        [
            mapped(
                values.column("data_element"),
                lambda v: (
                    f'    {{\n      "dataElement": {_q(codes.data_element(v))},\n      "period": '
                ),
            ),
            mapped(values.column("period"), lambda v: f'{_q(dhis2_period(v))},\n      "orgUnit": '),
            mapped(values.column("place"), lambda v: f"{_q(codes.org_unit(v))},\n"),
            mapped(combo, lambda k: combo_text(k) + '      "value": "'),
            numbers(values.column("value"), 4, "None"),
            mapped(
                join_lines(
                    [
                        values.column("kind").combine_chunks(),
                        "\x00",
                        values.column("note").combine_chunks(),
                    ]
                ),
                _dhis2_tail,
            ),
        ]
    )
    write_array(lines, stream, drop_tail=2)
    rest = "".join(f",\n  {_q(k)}: {_q(v)}" for k, v in tail.items())
    stream.write(f"\n  ]{rest}\n}}\n".encode())


def _dhis2_tail(kind_note: str) -> str:
    """The end of a DHIS2 data value: an indicator's comment (with a completeness note)."""
    kind, note = kind_note.split("\x00")
    if kind != "indicator":
        return '"\n    },\n'
    text = INDICATOR_COMMENT + (f"; {note}" if note else "")
    return f'",\n      "comment": {_q(text)}\n    }},\n'


def write_adx(
    table: pa.Table,
    codes: Codes,
    stream: BinaryIO,
    *,
    unsuppressed: bool = False,
    stamp: str | None = None,
) -> None:
    """ADX XML: one group per org unit and period, in order of first appearance."""
    values = exchange_table(table, unsuppressed=unsuppressed)
    stamp = stamp or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    stream.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015" '
        f'exported="{stamp}">\n'.encode()
    )
    if not unsuppressed and method_of(table) == "cellkey":
        stream.write(f"  <!-- {disclosure_note(table)} -->\n".encode())
    if values.num_rows:
        group = pc.dictionary_encode(
            join_lines(
                [
                    values.column("place").combine_chunks(),
                    "\x00",
                    values.column("period").combine_chunks(),
                ]
            )
        )
        order = pc.sort_indices(group.indices)  # stable: groups in order of first appearance
        values = values.take(order)
        ids = group.indices.take(order).to_numpy()
        starts = np.flatnonzero(np.diff(ids, prepend=-1))

        def dims(v: pa.Table) -> list[pa.Array]:
            return [mapped(v.column(d), partial(_dim_attr, codes, d)) for d in DISAGGREGATIONS]

        notes = values.column("note").combine_chunks()
        noted = (
            [mapped(notes, lambda n: f"    <!-- {n} -->\n" if n else "")]
            if pc.any(pc.not_equal(notes, "")).as_py()
            else []
        )
        shown = join_lines(
            [
                *noted,
                mapped(
                    values.column("data_element"),
                    lambda v: f"    <dataValue dataElement={quoteattr(codes.data_element(v))}",
                ),
                *dims(values),
                affix(numbers(values.column("value"), 4, "None"), ' value="', '"/>\n'),
            ]
        )
        held = pc.is_valid(values.column("flag").combine_chunks())
        lines = shown
        if pc.any(held).as_py():  # withheld values: a comment naming what was left out
            sub = values.filter(held)
            attrs = join_lines(
                [
                    mapped(
                        sub.column("data_element"),
                        lambda v: f"dataElement={quoteattr(codes.data_element(v))}",
                    ),
                    *dims(sub),
                ]
            )
            withheld = join_lines(
                [
                    mapped(
                        sub.column("flag"),
                        lambda f: f"    <!-- withheld by disclosure control ({f}): ",
                    ),
                    affix(pc.replace_substring(attrs, "--", "- -"), suffix=" -->\n"),
                ]
            )
            lines = pc.replace_with_mask(shown, held, withheld)
        dictionary = group.dictionary.to_pylist()
        ends = [*starts[1:], values.num_rows]
        for start, end in zip(starts, ends, strict=True):
            place, period = dictionary[ids[start]].split("\x00")
            stream.write(
                f"  <group orgUnit={quoteattr(codes.org_unit(place))} "
                f'period={quoteattr(adx_period(period))} dataSet="CORRIDOR_INDICATORS">\n'.encode()
            )
            write_array(lines.slice(int(start), int(end - start)), stream)
            stream.write(b"  </group>\n")
    stream.write(b"</adx>\n")


def _dim_attr(codes: Codes, dim: str, code: str | None) -> str:
    if code is None or code == TOTAL:
        return ""
    shown = codes.dim_codes.get(dim, {}).get(code, code)
    return f" {dim}={quoteattr(shown)}"


def to_dhis2_json(table: pa.Table, codes: Codes, *, unsuppressed: bool = False) -> str:
    buf = io.BytesIO()
    write_dhis2_json(table, codes, buf, unsuppressed=unsuppressed)
    return buf.getvalue().decode("utf-8")


def to_adx(
    table: pa.Table, codes: Codes, *, unsuppressed: bool = False, stamp: str | None = None
) -> str:
    buf = io.BytesIO()
    write_adx(table, codes, buf, unsuppressed=unsuppressed, stamp=stamp)
    return buf.getvalue().decode("utf-8")


__all__ = (
    "Codes",
    "Value",
    "adx_period",
    "codes_for",
    "dhis2_period",
    "exchange_table",
    "to_adx",
    "to_dhis2_json",
    "values_for_exchange",
    "write_adx",
    "write_dhis2_json",
)
