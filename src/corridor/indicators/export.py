"""Exporters of indicator tables: CSV, JSON, HXL, DHIS2 dataValueSets JSON and ADX XML.

Every exporter takes a table that went through :func:`corridor.indicators.suppress` and refuses
one that did not, unless told ``unsuppressed=True`` (the CLI's ``--unsuppressed``, which warns and
is audited). Withheld values are written as what they are - ``<10`` or ``suppressed`` text in
CSV, JSON and HXL; left out, with a comment, in DHIS2 and ADX - never as numbers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, Final

import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.formats import INDICATOR_FORMATS
from corridor.errors import QueryError
from corridor.indicators.disclosure import (
    NONE_SMALL,
    disclosure_note,
    is_suppressed,
    method_of,
    small_counts,
    threshold_of,
)
from corridor.indicators.exchange import (
    Codes,
    adx_period,
    codes_for,
    dhis2_period,
    to_adx,
    to_dhis2_json,
    values_for_exchange,
    write_adx,
    write_dhis2_json,
)
from corridor.indicators.exchangevalues import check_exchange_by
from corridor.indicators.exportcells import (
    affix,
    csv_field,
    join_lines,
    json_value,
    mapped,
    number,
    numbers,
    one_array,
    write_array,
)
from corridor.indicators.places import PLACE_COLUMNS
from corridor.storage.engine import Engine

#: rows formatted at a time: memory stays bounded whatever the table's size
CHUNK_ROWS: Final = 1 << 18

FORMATS: Final = INDICATOR_FORMATS
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


def _chunks(table: pa.Table) -> list[pa.Table]:
    return [table.slice(i, CHUNK_ROWS) for i in range(0, max(table.num_rows, 1), CHUNK_ROWS)]


def _null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _flag_of(chunk: pa.Table, c: str) -> pa.Array | None:
    """The flag text that stands for the number in column ``c`` (None where none)."""
    names = chunk.column_names
    if c == "gap":
        if "value_flag" not in names or "target" not in names:
            return None
        flag = one_array(chunk.column("value_flag"))
        target = one_array(chunk.column("target"))
        return pc.if_else(pc.is_valid(target), flag, _null_strings(len(flag)))
    name = f"{c}_flag"
    return one_array(chunk.column(name)) if name in names else None


def _cells(
    chunk: pa.Table,
    c: str,
    field: Any,
    null_text: str,
    key: str = "",
    end: str = "",
    *,
    nulls: bool = False,
) -> pa.Array:
    """``key`` + the text of column ``c`` + ``end``: numbers (or their flags) and other values,
    as ``rows()`` gives them. With ``nulls`` (no key, no end) a null stands for ``null_text``
    (``field(None)`` of a text) and is left for the join to write."""
    n = chunk.num_rows
    if c not in chunk.column_names:
        return pa.array([key + null_text + end] * n, pa.string())
    col = chunk.column(c)
    if c not in COUNTS and c not in RATES:
        return mapped(col, lambda v: key + field(v) + end, fill=not nulls)
    text = numbers(col, 2, null_text, json_value if field is json_value else str, fill=not nulls)
    flag = _flag_of(chunk, c)
    if flag is not None and flag.null_count < len(flag):
        flagged = mapped(flag, field, fill=False)  # null where there is no flag
        text = pc.if_else(pc.is_valid(flag), flagged, text)
    return affix(text, key, end)


def write_csv(
    table: pa.Table, stream: BinaryIO, *, unsuppressed: bool = False, hxl: bool = False
) -> None:
    """CSV (or HXL: a hashtag row under the header) of ``table``, written in chunks.

    The same bytes as ``csv.writer`` over ``rows()``, text cells neutralised against formula
    injection.
    """
    _check(table, unsuppressed)
    cols = columns_of(table)
    head = ",".join(csv_field(c) for c in cols) + "\n"
    if hxl:
        head += ",".join(csv_field(HXL_TAGS[c]) for c in cols) + "\n"
    stream.write(head.encode("utf-8"))
    if table.num_rows == 0:
        return
    for chunk in _chunks(table):
        last = len(cols) - 1
        cells = [  # (csv_field(None) is "", as a missing number: nulls are joined as "")
            _cells(chunk, c, csv_field, "", end="\n" if i == last else "", nulls=i != last)
            for i, c in enumerate(cols)
        ]
        write_array(join_lines(cells, ",", nulls=""), stream)


def to_csv(table: pa.Table, *, unsuppressed: bool = False, hxl: bool = False) -> str:
    buf = io.BytesIO()
    write_csv(table, buf, unsuppressed=unsuppressed, hxl=hxl)
    return buf.getvalue().decode("utf-8")


def write_json(
    table: pa.Table,
    stream: BinaryIO,
    *,
    unsuppressed: bool = False,
    query: Mapping[str, Any] | None = None,
) -> None:
    """``{"query", "disclosure_control", "rows"}`` as ``json.dumps(indent=2)`` writes it.

    Rates are percentages and every row says so in its ``unit`` field.
    """
    _check(table, unsuppressed)
    body = {
        "query": dict(query or {}),
        "disclosure_control": _disclosure(table, unsuppressed),
        "rows": [],
    }
    head = json.dumps(body, indent=2, default=str)
    if table.num_rows == 0:
        stream.write((head + "\n").encode("utf-8"))
        return
    assert head.endswith("[]\n}")
    stream.write((head[: -len("]\n}")] + "\n").encode("utf-8"))
    cols = columns_of(table)
    chunks = _chunks(table)
    for k, chunk in enumerate(chunks):
        last = len(cols) - 1
        pairs = [
            _cells(
                chunk,
                c,
                json_value,
                "null",
                ("    {\n      " if i == 0 else "") + f"{json.dumps(c)}: ",
                "\n    },\n" if i == last else "",
            )
            for i, c in enumerate(cols)
        ]
        rows = join_lines(pairs, ",\n      ")
        write_array(rows, stream, drop_tail=2 if k == len(chunks) - 1 else 0)
    stream.write(b"\n  ]\n}\n")


def to_json(
    table: pa.Table, *, unsuppressed: bool = False, query: Mapping[str, Any] | None = None
) -> str:
    buf = io.BytesIO()
    write_json(table, buf, unsuppressed=unsuppressed, query=query)
    return buf.getvalue().decode("utf-8")


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
    t = threshold_of(table)
    small = small_counts(t)
    return {
        "applied": True,
        "method": "suppression",
        "threshold": t,
        "withheld_counts": withheld,
        "note": f"counts {small} shown as <{t}; 'suppressed' marks counts withheld so that "
        "those cannot be worked out from totals, and rates of withheld counts"
        if small
        else NONE_SMALL,
    }


#: the HXL hashtags of the indicator registry (``corridor indicators --list --format hxl``)
REGISTRY_HXL_TAGS: Final[dict[str, str]] = {
    "id": "#indicator+code",
    "name": "#indicator+name",
    "numerator": "#x_numerator+code",
    "denominator": "#x_denominator+code",
    "unit": "#x_unit",
    "target": "#x_target+pct",
    "source": "#meta+source",
    "definition": "#description",
}


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


def write_export(
    table: pa.Table,
    fmt: str,
    stream: BinaryIO,
    *,
    engine: Engine | None = None,
    unsuppressed: bool = False,
    query: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write ``table`` in ``fmt`` (csv, json, hxl, dhis2-json, adx) to a binary stream.

    Returns notes for the user (DHIS2/ADX: values left out for want of an org unit).
    """
    if fmt == "csv":
        write_csv(table, stream, unsuppressed=unsuppressed)
    elif fmt == "hxl":
        write_csv(table, stream, unsuppressed=unsuppressed, hxl=True)
    elif fmt == "json":
        write_json(table, stream, unsuppressed=unsuppressed, query=query)
    elif fmt in ("dhis2-json", "adx"):
        codes = codes_for(engine) if engine is not None else Codes()
        if fmt == "adx":
            return write_adx(table, codes, stream, unsuppressed=unsuppressed)
        return write_dhis2_json(table, codes, stream, unsuppressed=unsuppressed)
    else:
        raise QueryError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return []


def check_export(fmt: str, by: Sequence[str]) -> None:
    """Refuse, before any work, a grouping that ``fmt`` cannot carry (DHIS2/ADX: org units)."""
    if fmt in ("dhis2-json", "adx"):
        check_exchange_by(by)


def export(
    table: pa.Table,
    fmt: str,
    *,
    engine: Engine | None = None,
    unsuppressed: bool = False,
    query: Mapping[str, Any] | None = None,
) -> str:
    """The text of ``table`` in ``fmt`` (csv, json, hxl, dhis2-json, adx)."""
    buf = io.BytesIO()
    write_export(table, fmt, buf, engine=engine, unsuppressed=unsuppressed, query=query)
    return buf.getvalue().decode("utf-8")


__all__: Sequence[str] = (
    "FORMATS",
    "REGISTRY_HXL_TAGS",
    "Codes",
    "adx_period",
    "check_export",
    "codes_for",
    "dhis2_period",
    "export",
    "number",
    "rows",
    "to_adx",
    "to_csv",
    "to_dhis2_json",
    "to_json",
    "values_for_exchange",
    "write_export",
)
