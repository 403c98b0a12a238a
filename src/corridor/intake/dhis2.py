"""DHIS2 dataValueSets as JSON or CSV (and XML, via adx.py) -> services rows; and the CSV of
DHIS2's analytics export (a pivot table downloaded as CSV: ``Data,Period,Organisation
unit,Value``), whose identifiers are the same, a combo column it lacks meaning DHIS2's total.

Identifiers are translated with the mapping file (docs/data-contract.md): data elements by UID or
code (or already a Corridor element name), org units by the mapping then places.dhis2_uid, and
category/attribute option combos to sex, age band and population group. Values marked
``deleted`` are skipped (a warning says how many). Row numbers are the 1-based position of the
data value in the file (for CSV: the data line after the header).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ijson
import polars as pl

from corridor.errors import InputError, Problem, file_error
from corridor.intake import codes
from corridor.intake.duckvalues import duck_values
from corridor.intake.jsondepth import nesting_depth
from corridor.intake.jsonvalues import array_span, arrow_values
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.text import UTF16_REASON, is_utf16
from corridor.intake.tidy import header_row, read_grid
from corridor.intake.wrongformat import first_character, refuse_start, require_delimited

#: the raw columns every DHIS2 reader produces before translation (DHIS2's own field names)
FIELDS = (
    "dataElement",
    "period",
    "orgUnit",
    "categoryOptionCombo",
    "attributeOptionCombo",
    "value",
    "deleted",
)
#: fields a dataValueSet may give once, at the top level, for all of its values
SET_DEFAULTS = ("period", "orgUnit", "attributeOptionCombo")
#: a CSV header cell (lower case, without blanks and ``_``) -> the DHIS2 field it names: the
#: dataValueSet export's names (``dataelement``, ``orgunit``, ...) and the analytics export's
#: display names (:data:`ANALYTICS_NAMES`)
CSV_ALIASES = {
    "dataelement": "dataElement",
    "data": "dataElement",
    "period": "period",
    "orgunit": "orgUnit",
    "organisationunit": "orgUnit",
    "organizationunit": "orgUnit",
    "categoryoptioncombo": "categoryOptionCombo",
    "catoptcombo": "categoryOptionCombo",
    "datadetails": "categoryOptionCombo",
    "attributeoptioncombo": "attributeOptionCombo",
    "attroptcombo": "attributeOptionCombo",
    "value": "value",
    "deleted": "deleted",
}
#: the names of the columns of DHIS2's analytics export (a pivot table or data visualisation
#: downloaded as CSV, ``/api/analytics.csv``: ``Data``, ``Period``, ``Organisation unit``,
#: ``Data details`` or ``Category option combo``, ``Attribute option combo``, ``Value``) that
#: its dataValueSet export never writes: a header with one of them is an analytics export's
ANALYTICS_NAMES = frozenset({"data", "organisationunit", "organizationunit", "datadetails"})
#: columns an analytics export may add that describe its value, not a disaggregation of it
ANALYTICS_EXTRAS = frozenset({"numerator", "denominator", "factor", "multiplier", "divisor"})
#: the fields that make a header DHIS2's (each under one of its names)
CSV_CORE = ("dataElement", "period", "orgUnit")
CSV_ORDER = FIELDS[:6]  # the headerless export: dataelement,period,orgunit,coc,aoc,value,...
_COMBOS = ("categoryOptionCombo", "attributeOptionCombo")
_SCHEMA = {f: pl.Utf8 for f in FIELDS}


def require_services(kind: str, file: str, fmt: str) -> None:
    if kind != "services":
        raise file_error(file, f"{fmt} holds data values: import it with --kind services")


# ---- JSON --------------------------------------------------------------------------------------


def read_dhis2_json(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    """``{"dataValues": [...]}`` (with set-level defaults) or a top-level list of values.

    Flat values of text fields are parsed by DuckDB's JSON reader
    (:mod:`corridor.intake.duckvalues`) or, where it cannot tell that it reads them exactly
    (escapes, numbers, other keys, ...), by Arrow's a slice at a time
    (:mod:`corridor.intake.jsonvalues`); other common shapes are streamed (ijson's C parser, a
    chunk of values at a time, never the whole document as Python objects); anything unusual -
    a list of dataValueSets, a value that is not an object, a nested value, broken JSON - is
    read whole by :func:`load_json`, whose messages name the line and column where a file
    breaks.
    """
    file = ctx.display_name
    require_services(kind, file, "DHIS2 JSON")
    frame = _stream_values(data)
    if frame is not None:
        return translate(frame, kind, ctx, "dhis2-json", [])
    doc = load_json(data, file)
    sets = _value_sets(doc, file)
    frames: list[pl.DataFrame] = []
    problems: list[Problem] = []
    offset = 0
    for defaults, values in sets:
        part, bad = _values_frame(values, offset, file)
        for name in SET_DEFAULTS:
            if isinstance(defaults.get(name), str):
                part = part.with_columns(pl.col(name).fill_null(defaults[name]))
        frames.append(part)
        problems.extend(bad)
        offset += len(values)
    frame = pl.concat(frames) if frames else _values_frame([], 0, file)[0]
    return translate(frame, kind, ctx, "dhis2-json", problems)


class _Unusual(Exception):
    """The document is not one of the shapes the streaming reader takes."""


_CHUNK = 50_000  # values turned into a frame at a time
_MAX_DEPTH = 64  # a dataValueSet nests 3 deep (a nested value a few more)


def _stream_values(data: bytes) -> pl.DataFrame | None:
    """The values of a dataValueSet object or of a list of values, streamed; None when the
    document has another shape or is not valid JSON (the whole-document reader then explains)."""
    start = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start not in (b"{", b"["):
        return None
    if data.find(b"\x0b") >= 0 or data.find(b"\x0c") >= 0:
        return None  # blanks to the streaming parsers, not to Python's json: it explains
    # flat values of text fields: DuckDB's JSON reader, or else Arrow's parser in slices
    fast = duck_values(data, FIELDS)
    if fast is None:
        fast = arrow_values(data, FIELDS)
    if fast is None and nesting_depth(data, _MAX_DEPTH) > _MAX_DEPTH:
        return None  # the whole-document reader refuses it without the parser's deep prefixes
    prefix = "dataValues.item" if start == b"{" else "item"
    try:
        frames = [fast] if fast is not None else _stream_frames(data, prefix)
        if not frames:
            return None  # no values, or dataValues missing or not a list: say which
        frame = pl.concat(frames)
        if start == b"{":
            frame = _set_defaults(data, frame)
    except (_Unusual, ijson.JSONError, pl.exceptions.PolarsError, ValueError, TypeError):
        return None  # UnicodeDecodeError is a ValueError
    if ROW in frame.columns:
        return frame
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def _stream_frames(data: bytes, prefix: str) -> list[pl.DataFrame]:
    frames: list[pl.DataFrame] = []
    chunk: list[dict[str, Any]] = []
    for value in ijson.items(data, prefix, use_float=True):
        if type(value) is not dict or "dataValues" in value:
            raise _Unusual
        chunk.append(value)
        if len(chunk) == _CHUNK:
            frames.append(_chunk_frame(chunk))
            chunk = []
    if chunk:
        frames.append(_chunk_frame(chunk))
    return frames


def _chunk_frame(chunk: list[dict[str, Any]]) -> pl.DataFrame:
    # as the whole-document reader's fast path: polars builds the frame from the dicts, and a
    # nested value it cannot take sends the file to that reader (which writes it as JSON text)
    frame = pl.from_dicts(chunk, schema=_SCHEMA, strict=False)
    if frame.height != len(chunk):
        raise _Unusual
    return frame


def _set_defaults(data: bytes, frame: pl.DataFrame) -> pl.DataFrame:
    """Fill period, orgUnit and attributeOptionCombo from the set's top level where a value
    lacks them: from the document without its values when the fast paths found them (as
    ``json.loads`` reads it, a doubled key's last value included), else by a further pass over
    the document for each field some value lacks."""
    missing = [name for name in SET_DEFAULTS if frame[name].null_count()]
    if not missing:
        return frame
    top = _set_fields(data)
    for name in missing:
        found = top.get(name) if top is not None else next(ijson.items(data, name), None)
        if isinstance(found, str):
            frame = frame.with_columns(pl.col(name).fill_null(found))
    return frame


def _set_fields(data: bytes) -> dict[str, Any] | None:
    """The top level of a dataValueSet with its values left out (None when the values array
    cannot be told apart from the bytes; see :func:`corridor.intake.jsonvalues.array_span`)."""
    try:
        span = array_span(data, b"{")
    except ValueError:
        return None
    if span is None:
        return None
    doc = json.loads(data[: span[0]] + data[span[1] :])  # array_span parsed it already
    return doc if isinstance(doc, dict) else None


def load_json(data: bytes, file: str) -> Any:
    """Parse JSON; a file error names the line, column and character where it breaks, or says
    that the file is not JSON at all (a CSV given ``--format dhis2-json``) and which format it
    looks like."""
    require_json(data, file)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise file_error(file, f"not UTF-8 text (byte {exc.start}): not a JSON file") from None
    except json.JSONDecodeError as exc:
        tail = exc.doc.rstrip()[-1:] if exc.doc.strip() else ""
        hint = "; the file looks truncated" if tail not in ("}", "]") else ""
        raise file_error(
            file,
            f"not valid JSON ({exc.msg}) at line {exc.lineno}, column {exc.colno} "
            f"(character {exc.pos + 1}){hint}",
        ) from None
    except RecursionError:
        raise file_error(file, "not valid JSON: nested too deeply") from None


def require_json(data: bytes, file: str) -> None:
    """Refuse a file that is not JSON from its first character that is not blank: JSON data
    starts with ``{`` or ``[`` (or is a plain JSON value, which the readers refuse as such).
    The message says what the file looks like and the ``--format`` that reads it."""
    if is_utf16(data):  # Python's json reads UTF-16 as well, but no format is read from it
        raise file_error(file, UTF16_REASON)
    at, bom = first_character(data)
    if data[at : at + 1] in (b"{", b"[", b""):
        return
    head = data[at : at + 4096].decode("utf-8", errors="replace")
    try:
        end = json.JSONDecoder().raw_decode(head)[1]
    except ValueError:
        end = -1
    if end >= 0 and not head[end:].strip():
        return  # a JSON value alone: the reader says that it expected an object or a list
    refuse_start(data, at, bom, file, "JSON", "where JSON starts with '{' or '['")


def _value_sets(doc: Any, file: str) -> list[tuple[dict[str, Any], list[Any]]]:
    if isinstance(doc, dict):
        if "dataValues" not in doc:
            raise file_error(file, 'not a DHIS2 dataValueSet: no "dataValues" member')
        values = doc["dataValues"]
        if not isinstance(values, list):
            raise file_error(file, '"dataValues" must be a list of data values')
        return [(doc, values)]
    if isinstance(doc, list):
        if doc and all(isinstance(v, dict) and "dataValues" in v for v in doc):
            return [s for one in doc for s in _value_sets(one, file)]
        return [({}, doc)]
    raise file_error(file, "not a DHIS2 dataValueSet: expected a JSON object or list")


def _values_frame(values: list[Any], offset: int, file: str) -> tuple[pl.DataFrame, list[Problem]]:
    """Data values -> a frame of text columns (fast path: polars builds it from the dicts)."""
    problems: list[Problem] = []
    frame: pl.DataFrame | None = None
    if values and all(type(v) is dict for v in values):
        try:
            frame = pl.from_dicts(values, schema=_SCHEMA, strict=False)
        except (pl.exceptions.PolarsError, TypeError, ValueError, AttributeError):
            frame = None  # nested values: the slow path below writes them as JSON text
    if frame is None or frame.height != len(values):
        columns: dict[str, list[str | None]] = {f: [] for f in FIELDS}
        for i, v in enumerate(values, start=offset + 1):
            if not isinstance(v, dict):
                problems.append(
                    Problem(file, i, None, _short(v), "data value is not a JSON object")
                )
                # reported once: no second problem about its (absent) option combos
                v = {
                    "categoryOptionCombo": codes.DEFAULT_COC,
                    "attributeOptionCombo": codes.DEFAULT_COC,
                }
            for f in FIELDS:
                columns[f].append(_text(v.get(f)))
        frame = pl.DataFrame(columns, schema=_SCHEMA)
    return frame.with_columns(
        pl.int_range(offset + 1, offset + len(values) + 1, dtype=pl.Int64).alias(ROW)
    ), problems


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return json.dumps(v)


def _short(v: Any) -> str:
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- CSV ---------------------------------------------------------------------------------------


def read_dhis2_csv(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    """The dataValueSet CSV export, with a header (any case) or without one (DHIS2's order), or
    the analytics export (:data:`ANALYTICS_NAMES`; :func:`_analytics_columns`)."""
    file = ctx.display_name
    require_services(kind, file, "DHIS2 CSV")
    require_delimited(data, file)
    grid = read_grid(data, file)
    top = header_row(grid, file)  # empty lines before the header (or first value) are skipped
    labels = [(c or "").strip() for c in grid.row(top)]
    first = [c.lower().replace(" ", "").replace("_", "") for c in labels]
    named = {CSV_ALIASES.get(c) for c in first}
    analytics = False
    totals: list[str] = []
    if first and (first[0] in CSV_ALIASES or set(CSV_CORE) <= named):
        names: dict[int, str] = {}
        twice: list[Problem] = []
        for i, c in enumerate(first):
            if c not in CSV_ALIASES:
                continue
            if CSV_ALIASES[c] in names.values():  # which of the two holds the values?
                twice.append(
                    Problem(file, None, labels[i], None, f"duplicate column for {CSV_ALIASES[c]!r}")
                )
            else:
                names[i] = CSV_ALIASES[c]
        if twice:
            raise InputError(
                twice, summary=f"{file}: the DHIS2 CSV header names a column more than once"
            )
        analytics = bool(set(first) & ANALYTICS_NAMES)
        if analytics:
            _analytics_columns(grid, top, first, file)
            totals = [f for f in _COMBOS if f not in names.values()]
        missing = [f for f in CSV_ORDER if f not in names.values() and f not in totals]
        if missing:
            raise file_error(
                file,
                "DHIS2 CSV header lacks column(s) "
                + ", ".join(m.lower() for m in missing)
                + " (expected dataelement,period,orgunit,categoryoptioncombo,"
                "attributeoptioncombo,value,...)",
            )
        body, number = grid.slice(top + 1), top + 1
    else:
        if grid.width < len(CSV_ORDER):
            raise file_error(
                file,
                f"a headerless DHIS2 CSV needs at least {len(CSV_ORDER)} columns "
                "(dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value); "
                f"found {grid.width}",
            )
        order = (*CSV_ORDER, "storedBy", "lastUpdated", "comment", "followup", "deleted")
        names = {i: f for i, f in enumerate(order) if i < grid.width and f in FIELDS}
        body, number = grid.slice(top), top + 1
    cols = grid.columns
    frame = body.select(
        *[pl.col(cols[i]).alias(f) for i, f in names.items()],
        *[pl.lit(None, dtype=pl.Utf8).alias(f) for f in FIELDS if f not in names.values()],
    ).with_columns(pl.int_range(number, number + body.height, dtype=pl.Int64).alias(ROW))
    filled = [pl.col(f).fill_null("").str.strip_chars() != "" for f in FIELDS]
    frame = frame.filter(pl.any_horizontal(filled)).select(*FIELDS, ROW)
    if analytics:
        shown = {f: labels[i] for i, f in names.items()}
        _refuse_display_names(frame, ctx, shown)
        # an analytics value without a combo column is summed over that combo's options by
        # DHIS2: a total (the dataValueSet export always has both columns)
        if totals:
            frame = frame.with_columns(*[pl.lit(codes.DEFAULT_COC).alias(f) for f in totals])
    table = translate(frame, kind, ctx, "dhis2-csv", [])
    if totals:
        table.warnings.append(
            "a DHIS2 analytics export without "
            + " and ".join(_COMBO_COLUMNS[f] for f in totals)
            + f" column: its values are DHIS2's totals over {_COMBO_OPTIONS[totals[0]]}"
            + (f" and over {_COMBO_OPTIONS[totals[1]]}" if len(totals) > 1 else "")
            + ", imported as totals"
        )
    return table


_COMBO_COLUMNS = {
    "categoryOptionCombo": "a category option combo",
    "attributeOptionCombo": "an attribute option combo",
}
_COMBO_OPTIONS = {
    "categoryOptionCombo": "the data elements' disaggregations",
    "attributeOptionCombo": "the attribute options",
}


def _analytics_columns(grid: pl.DataFrame, top: int, keys: list[str], file: str) -> None:
    """Refuse a column of an analytics export that is not read: another dimension of the
    analytics query (a category such as sex or age, an org unit group set) holds a
    disaggregation of the value, and the value imported without it would be taken for a total
    (two rows that differ only in it for one row) - unless it only describes the value
    (numerator, denominator, ...) or is empty."""
    other: list[Problem] = []
    for i, (col, key) in enumerate(zip(grid.columns, keys, strict=True)):
        if key in CSV_ALIASES or key in ANALYTICS_EXTRAS:
            continue
        label = (grid[col][top] or "").strip()
        if not label:
            cells = grid[col].slice(top + 1).fill_null("").str.strip_chars()
            if not (cells != "").any():
                continue  # an empty column (a trailing delimiter)
            label = f"column {i + 1} (no header)"
        other.append(
            Problem(
                file,
                None,
                label,
                None,
                "not a column of DHIS2's analytics export that Corridor reads (Data, Period, "
                "Organisation unit, Category option combo, Attribute option combo, Value): if "
                "it is a dimension (a category such as sex or age, an org unit group set), its "
                "values would be lost and the values taken for totals; download the data "
                "without it, or as a dataValueSet CSV (/api/dataValueSets.csv)",
            )
        )
    if other:
        raise InputError(
            other, summary=f"{file}: a DHIS2 analytics export with a column that is not read"
        )


def _refuse_display_names(frame: pl.DataFrame, ctx: ReadContext, labels: dict[str, str]) -> None:
    """Refuse an analytics export downloaded with display names (ID scheme 'Name': ``ANC 1st
    visit``, ``January 2024``, ``Ngelehun CHC``) rather than identifiers: a name that the
    mapping does not translate is found by its blanks, which no UID, code or DHIS2 period id
    has. Names cannot be read safely: an org unit's name is not unique, names change with the
    language of the export, and a period's name is no period id."""
    resolvers: dict[str, tuple[codes.Resolve, str]] = {
        "dataElement": (
            codes.data_element_resolver(ctx.mapping),
            "a display name, not a UID or code: not in the mapping's data_elements",
        ),
        "period": (
            codes.dhis2_period,
            "a period's display name, not a DHIS2 period id (2024, 2024Q1, 202401, 2024W5)",
        ),
        "orgUnit": (
            codes.org_unit_resolver(ctx.mapping, ctx.dhis2_places),
            "a display name, not a UID or code: not in the mapping's org_units nor any "
            "place's dhis2_uid",
        ),
    }
    found: list[Problem] = []
    for field, (resolve, reason) in resolvers.items():
        names = [
            v
            for v in frame[field].drop_nulls().unique(maintain_order=True).to_list()
            if any(ch.isspace() for ch in v.strip()) and resolve(v.strip()) is None
        ]
        if names:
            row = frame.filter(pl.col(field) == names[0])[ROW][0]
            found.append(Problem(ctx.display_name, int(row), labels[field], names[0], reason))
    if found:
        raise InputError(
            found,
            summary=f"{ctx.display_name}: a DHIS2 analytics export with display names, not "
            "identifiers: names cannot be translated safely (an org unit's name is not "
            "unique, names change with the language of the export, a period's name is not a "
            "period). Download it with identifiers (in Data Visualizer: Download, Plain data "
            "source, ID scheme 'ID'; the analytics API's default outputIdScheme=UID), or "
            "export the data values as a dataValueSet CSV (/api/dataValueSets.csv)",
        )


# ---- translation (shared by JSON, CSV and XML) ------------------------------------------------


def translate(
    frame: pl.DataFrame, kind: str, ctx: ReadContext, fmt: str, problems: list[Problem]
) -> RawTable:
    """Raw DHIS2 columns (FIELDS + _row) -> contract columns, with translation problems."""
    file, mapping = ctx.display_name, ctx.mapping
    warnings: list[str] = []
    # identifiers are stripped when translated (on unique values), values by validation
    deleted = (
        pl.col("deleted").cast(pl.Utf8).str.strip_chars().str.to_lowercase() == "true"
    ).fill_null(False)
    n_deleted = int(frame.select(deleted.sum()).item() or 0)
    if n_deleted:
        frame = frame.filter(~deleted)
        warnings.append(f"skipped {n_deleted} value(s) marked deleted")
    out = list(problems)
    frame, bad = codes.translate(
        frame,
        "dataElement",
        "data_element",
        codes.data_element_resolver(mapping),
        file=file,
        label="dataElement",
        reason="unknown data element: not in the mapping's data_elements, nor a Corridor element",
    )
    out += bad
    frame, bad = codes.translate(
        frame,
        "orgUnit",
        "place_code",
        codes.org_unit_resolver(mapping, ctx.dhis2_places),
        file=file,
        label="orgUnit",
        reason="unknown org unit: not in the mapping's org_units nor any place's dhis2_uid",
    )
    out += bad
    periods = {
        p: codes.dhis2_period(p) or p for p in frame["period"].drop_nulls().unique().to_list()
    }
    frame = frame.with_columns(pl.col("period").replace(periods))
    frame, bad = combos(frame, mapping, file)
    out += bad
    columns = ("period", "place_code", "data_element", "sex", "age_band", "population_group")
    table = RawTable(
        file,
        fmt,
        kind,
        frame.select(*columns, "value", ROW),
        problems=out,
        mapping=dict(mapping) if mapping else None,
        warnings=warnings,
    )
    return table


def combos(
    frame: pl.DataFrame, mapping: Mapping[str, Any] | None, file: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """Category and attribute option combos -> sex, age_band, population_group."""
    cocs = codes.section(mapping, "category_option_combos")
    aocs = codes.section(mapping, "attribute_option_combos")
    keys = ["categoryOptionCombo", "attributeOptionCombo"]
    pairs = frame.select(keys).unique()
    dims: dict[str, list[str | None]] = {k: [] for k in ("sex", "age_band", "population_group")}
    reasons: list[list[tuple[str, str, str | None]]] = []
    for coc, aoc in pairs.iter_rows():
        c_dims, c_bad = codes.combo_dims(coc, cocs, "categoryOptionCombo")
        a_dims, a_bad = codes.combo_dims(aoc, aocs, "attributeOptionCombo")
        found: list[tuple[str, str, str | None]] = []
        if c_bad is not None:
            found.append((*c_bad, coc))
        if a_bad is not None:
            found.append((*a_bad, aoc))
        for k in sorted(set(c_dims) & set(a_dims)):
            if c_dims[k] != a_dims[k]:
                found.append((keys[1], f"disagrees with the categoryOptionCombo on {k}", aoc))
        merged = {**c_dims, **a_dims}
        for k, values in dims.items():
            values.append(merged.get(k))
        reasons.append(found)
    pairs = pairs.with_columns(
        *[_dimension(pl.Series(k, v, dtype=pl.Utf8), frame) for k, v in dims.items()],
        pl.Series("_bad", [bool(r) for r in reasons], dtype=pl.Boolean),
        pl.int_range(0, pairs.height).alias("_pair"),
    )
    # only the keys go through the join (a join copies every column it carries)
    joined = frame.select(*keys, ROW).join(
        pairs, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )
    problems: list[Problem] = []
    if any(reasons):
        for row, pair in joined.filter(pl.col("_bad")).select(ROW, "_pair").iter_rows():
            for col, why, value in reasons[pair]:
                problems.append(Problem(file, int(row), col, value, why))
    return frame.hstack(joined.select(*dims)), problems


def _dimension(values: pl.Series, frame: pl.DataFrame) -> pl.Series:
    """A dimension's value per option combo pair, as Categorical when the reader's cells are (a
    number a row after the join, not a text)."""
    if isinstance(frame.schema["categoryOptionCombo"], pl.Categorical):
        return values.cast(pl.Categorical(pl.Categories.random()))
    return values
