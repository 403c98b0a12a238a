"""DHIS2 JSON staged inside a DuckDB warehouse: the values never leave DuckDB.

When the warehouse is DuckDB (``engine.dialect.json_files``), the values array of a usual
dataValueSet is read by DuckDB's JSON reader straight into a temporary table of the warehouse's
own connection, and the import inserts from it: no Arrow or polars copy of the values, no
hand-over back to DuckDB. Codes are translated and every cell checked once per distinct text,
in Python, by the very functions the exact reader and validation use
(:func:`corridor.intake.codes.translate`, :func:`corridor.intake.dhis2.combos`,
:func:`corridor.intake.validate.checked_values`); the translations are small tables that the
statement joins. Only the distinct texts and a few counts come back from DuckDB.

This path takes a file only when nothing about it needs a row number: the same conditions as
:mod:`corridor.intake.duckvalues` (no escape, form feed or vertical tab; valid UTF-8; every field
a string, ``true``, ``false`` or absent; the colons and commas of the array add up to the
members read), and besides: no value marked deleted, every distinct text translates and passes
validation, and no two values share a natural key. Anything else returns None, and the import
reads the file with the exact reader (:func:`corridor.intake.dhis2.read_dhis2_json`), which
names the file, row, column, value and reason of every problem, exactly as before.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from corridor.contract.periods import parse_period
from corridor.errors import CorridorError
from corridor.intake import codes
from corridor.intake.dhis2 import FIELDS, SET_DEFAULTS, _set_fields, combos
from corridor.intake.duckvalues import EXTRA_FIELDS, separators
from corridor.intake.jsonvalues import array_span
from corridor.intake.rawtable import ROW, ReadContext
from corridor.intake.validate import checked_values
from corridor.storage.engine import Engine, StorageError

#: the contract columns of services, in the order the staged rows give them
COLUMNS = (
    "period",
    "period_type",
    "period_start",
    "period_end",
    "place_code",
    "data_element",
    "sex",
    "age_band",
    "population_group",
    "value",
)
_COC, _AOC = "categoryOptionCombo", "attributeOptionCombo"
#: the fields whose texts make a value's natural key
_KEY_TEXTS = ", ".join(f'"{f}"' for f in ("period", "orgUnit", "dataElement", _COC, _AOC))
#: the staged column of the hash of those texts
_HASH = "_corridor_key_hash"
#: arrays larger than this are read as two halves, in two threads
SPLIT_BYTES = 8 << 20
#: the fields whose distinct texts are translated (the combos' pairs besides)
_SINGLE = ("dataElement", "orgUnit", "period", "value", "deleted")


@dataclass(slots=True)
class Staged:
    """Values of one file held in the warehouse's connection, translated and checked.

    ``select`` is the statement giving the contract's columns of services (:data:`COLUMNS`)
    for every value; ``rows`` how many; ``keys`` the distinct translated key parts (for the
    look-up of stored rows that could share a key). :meth:`close` drops what was made."""

    select: str
    rows: int
    mapping: dict[str, Any] | None
    keys: dict[str, list[str]]
    _stack: ExitStack = field(default_factory=ExitStack)

    def later(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn`` when closed (the last registered first)."""
        self._stack.callback(fn, *args, **kwargs)

    def close(self) -> None:
        """Drop what was made. A connection that cannot (broken by the error being raised) does
        not hide that error: temporary objects end with the connection anyway."""
        with suppress(StorageError, CorridorError):
            self._stack.close()


def stage_values(
    engine: Engine,
    data: bytes,
    ctx: ReadContext,
    places: Collection[str],
    extra_age_bands: Sequence[str],
    pool: Executor,
) -> Staged | None:
    """The values of a DHIS2 JSON dataValueSet staged in ``engine`` (DuckDB), or None when the
    file needs the exact reader. ``pool`` counts the array's separators beside DuckDB."""
    if engine.in_transaction:
        # DuckDB aborts a transaction at a failed statement: inside one already open (an import
        # through the API, whose checks share its transaction) a file DuckDB's reader refuses
        # would spoil it instead of falling back to the exact reader
        return None
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head not in (b"{", b"["):
        return None
    if data.find(b"\x0b") >= 0 or data.find(b"\x0c") >= 0:
        return None
    try:
        span = array_span(data, head, sole=False)  # the member count below refuses more
    except ValueError:
        return None
    if span is None:
        return None
    start, end = span
    if data.find(b"\\", start, end) >= 0:  # an escape (form feed and vertical tab: above)
        return None
    counted = pool.submit(separators, data, start, end)
    stack = ExitStack()
    try:
        staged = _stage(engine, data, head, (start, end), ctx, places, extra_age_bands, stack)
    except StorageError:  # a statement DuckDB could not run here: the exact reader reads it
        staged = None
    except BaseException:
        stack.close()
        raise
    if staged is None or staged[1] != counted.result():
        stack.close()
        return None
    return staged[0]


def _stage(
    engine: Engine,
    data: bytes,
    head: bytes,
    span: tuple[int, int],
    ctx: ReadContext,
    places: Collection[str],
    extra_age_bands: Sequence[str],
    stack: ExitStack,
) -> tuple[Staged, tuple[int, int] | None] | None:
    raw = f"corridor_json_{uuid.uuid4().hex}"
    if not _read(engine, data, span, raw, stack):
        return None
    counts = engine.query_rows(_counts_sql(raw), step="count JSON values")[0]
    rows, members, plain = int(counts[0]), int(counts[1]), bool(counts[2])
    if not rows or not plain or counts[6]:  # no values, or some marked deleted (see below)
        return None
    colons, commas = int(counts[3] or 0), int(counts[4] or 0)
    distinct = pl.DataFrame(engine.query(_distinct_sql(raw), step="distinct JSON texts"))
    texts: dict[str, tuple[list[str | None], list[int]]] = {}
    for i, name in enumerate((*_SINGLE, "pairs")):
        part = distinct.filter(pl.col("g") == i)
        if name == "pairs":
            pairs = (part[_COC].to_list(), part[_AOC].to_list(), part["n"].to_list())
        else:
            texts[name] = (part[name].to_list(), part["n"].to_list())
    unquoted: dict[str, list[str | None]] = {}
    fields = [*texts.items(), (_COC, (pairs[0], pairs[2])), (_AOC, (pairs[1], pairs[2]))]
    for name, (values, n) in fields:
        found = _unquoted(values, n)
        if found is None:
            return None
        unquoted[name], k, c = found
        colons += k
        commas += c
    if any(v is not None and v.strip().lower() == "true" for v in unquoted["deleted"]):
        return None  # the exact reader skips them before translation, with a warning
    defaults = _defaults(data, head, unquoted)
    tables = _translate(unquoted, texts, pairs, defaults, ctx, places, extra_age_bands)
    if tables is None:
        return None
    names: dict[str, str] = {}
    for name, table in tables.items():
        names[name] = f"{raw}_{name}"
        stack.enter_context(engine.staged(names[name], table, "", step=f"codes {name}"))
    absent = {n for n, values in unquoted.items() if None in values}
    select = _select_sql(raw, names, absent)
    if not _distinct_keys(engine, names, tables, select, rows, int(counts[5])):
        return None
    keys = {
        "period": tables["period"]["period"].to_pylist(),
        "place_code": tables["orgUnit"]["place_code"].to_pylist(),
        "data_element": tables["dataElement"]["data_element"].to_pylist(),
    }
    staged = Staged(select, rows, dict(ctx.mapping) if ctx.mapping else None, keys, stack)
    # one colon a member, a comma between members of a value and between values
    return staged, (members + colons, members - 1 + commas)


def _read(engine: Engine, data: bytes, span: tuple[int, int], raw: str, stack: ExitStack) -> bool:
    """The values array into the temporary table ``raw``, every field as raw JSON text.

    A large array is copied as two arrays, cut between two values, which DuckDB reads in two
    threads (its reader of one array reads in one)."""
    columns = [*FIELDS, *(f for f in EXTRA_FIELDS if f not in FIELDS)]
    declared = ", ".join(f"{_literal(c)}: 'JSON'" for c in columns)
    try:
        with tempfile.TemporaryDirectory(prefix="corridor-json-") as folder:
            paths = []
            for i, (start, end) in enumerate(_halves(data, *span)):
                paths.append(os.path.join(folder, f"values{i}.json"))
                with open(paths[-1], "wb") as fh:
                    fh.write(b"[")
                    fh.write(memoryview(data)[start:end])
                    fh.write(b"]")
            stack.callback(engine.execute, f"DROP TABLE IF EXISTS {raw}", step="drop JSON values")
            files = "[" + ", ".join(_literal(p) for p in paths) + "]"
            engine.execute(
                f"CREATE TEMPORARY TABLE {raw} AS SELECT {', '.join(_q(f) for f in FIELDS)}, "
                f"hash({_KEY_TEXTS}) AS {_HASH}, {_extras_sql(columns[len(FIELDS) :])} "
                f"FROM read_json({files}, format = 'array', columns = {{{declared}}})",
                step="read JSON values",
            )
    except OSError:  # no room for the copy in the temporary folder
        return False
    except (StorageError, CorridorError, UnicodeDecodeError):
        return False  # broken JSON, a doubled key, a value that is not an object, ...
    return True


def _halves(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """The array's inside (``start``, ``end``) as two parts cut at a ``},`` near its middle
    that is outside any string (an even count of quotes before it: the array holds no escape),
    or whole when small or when no such cut is found. A cut inside a nested value leaves a
    bracket open in each part: DuckDB refuses them, and the exact reader reads the file."""
    if end - start < SPLIT_BYTES:
        return [(start, end)]
    cut = data.find(b"},", (start + end) // 2, end)
    quotes, counted = 0, start
    while cut >= 0:
        quotes += data.count(b'"', counted, cut)
        counted = cut
        if quotes % 2 == 0:
            return [(start, cut + 1), (cut + 2, end)]
        cut = data.find(b"},", cut + 2, end)
    return [(start, end)]


def _extras_sql(extra: Sequence[str]) -> str:
    """What is kept of the fields read but not imported, per value (their texts are not kept):
    how many are present, whether each is a plain text (a string without escapes, ``true``,
    ``false``), and the colons and commas inside them."""
    present = " + ".join(f"CAST({_q(c)} IS NOT NULL AS INTEGER)" for c in extra)
    plain = " AND ".join(
        f"({_q(c)} IS NULL OR starts_with({_q(c)}, '\"') OR {_q(c)} IN ('true', 'false'))"
        for c in extra
    )

    def inside(sign: str) -> str:
        return " + ".join(
            f"coalesce(length({_q(c)}) - length(replace({_q(c)}, '{sign}', '')), 0)" for c in extra
        )

    return (
        f"{present or 0} AS _extra_members, {plain or 'true'} AS _extra_plain, "
        f"{inside(':') or 0} AS _extra_colons, {inside(',') or 0} AS _extra_commas"
    )


def _counts_sql(raw: str) -> str:
    """Rows, fields present, whether every extra field is a plain text, the colons and commas
    inside the extra fields, the distinct hashes of the key texts, and the values plainly
    marked deleted."""
    members = " + ".join(f"count({_q(c)})" for c in FIELDS)
    return (
        f"SELECT count(*), {members} + coalesce(sum(_extra_members), 0), "
        "coalesce(bool_and(_extra_plain), true), coalesce(sum(_extra_colons), 0), "
        f"coalesce(sum(_extra_commas), 0), count(DISTINCT {_HASH}), "
        f"""count(*) FILTER (WHERE "deleted" IN ('true', '"true"')) FROM {raw}"""
    )


def _distinct_sql(raw: str) -> str:
    """Each field's distinct texts with their counts (the option combos as pairs), one scan."""
    sets = ", ".join([*(f"({_q(c)})" for c in _SINGLE), f"({_q(_COC)}, {_q(_AOC)})"])
    ids = [f"WHEN grouping({_q(c)}) = 0 THEN {i}" for i, c in enumerate(_SINGLE)]
    cols = ", ".join(_q(c) for c in (*_SINGLE, _COC, _AOC))
    return (
        f"SELECT {cols}, count(*) AS n, CASE {' '.join(ids)} ELSE {len(_SINGLE)} END AS g "
        f"FROM {raw} GROUP BY GROUPING SETS ({sets})"
    )


def _unquoted(
    values: Sequence[str | None], counts: Sequence[int]
) -> tuple[list[str | None], int, int] | None:
    """Raw JSON texts as the texts they stand for, and the colons and commas inside the strings
    (times their rows); None when one is not a string without escapes, ``true`` or ``false``."""
    out: list[str | None] = []
    colons = commas = 0
    for text, n in zip(values, counts, strict=True):
        if text is None:
            out.append(None)
        elif text in ("true", "false"):
            out.append(text)
        elif len(text) >= 2 and text[0] == '"' and text[-1] == '"' and "\\" not in text:
            out.append(text[1:-1])
            colons += text.count(":") * n
            commas += text.count(",") * n
        else:
            return None
    return out, colons, commas


def _defaults(data: bytes, head: bytes, unquoted: dict[str, list[str | None]]) -> dict[str, Any]:
    """The dataValueSet's own period, orgUnit and attributeOptionCombo, for the fields that some
    value lacks (as :func:`corridor.intake.dhis2._set_defaults`)."""
    missing = [n for n in SET_DEFAULTS if None in unquoted[n]]
    top = _set_fields(data) if missing and head == b"{" else None
    found = {n: (top or {}).get(n) for n in missing}
    return {n: v if isinstance(v, str) else None for n, v in found.items()}


def _translate(
    unquoted: dict[str, list[str | None]],
    texts: dict[str, tuple[list[str | None], list[int]]],
    pairs: tuple[list[Any], list[Any], list[Any]],
    defaults: dict[str, Any],
    ctx: ReadContext,
    places: Collection[str],
    extra_age_bands: Sequence[str],
) -> dict[str, pa.Table] | None:
    """A table per field: its raw JSON texts and what they translate to, every result checked
    as validation checks it; None when a text fails (the exact reader says where)."""
    file, mapping = ctx.display_name, ctx.mapping

    def filled(name: str) -> list[str | None]:
        default = defaults.get(name)
        return [default if v is None else v for v in unquoted[name]]

    def frame(name: str, values: list[str | None]) -> pl.DataFrame:
        return pl.DataFrame(
            [pl.Series(name, values, pl.Utf8), pl.Series(ROW, range(len(values)), pl.Int64)]
        )

    def raw(name: str) -> pl.Series:
        return pl.Series("raw", [_key(v) for v in texts[name][0]], pl.Utf8)

    def table(*columns: pl.Series) -> pa.Table:
        # polars builds the Arrow table (pyarrow's own conversion of a list loads pandas)
        return pl.DataFrame(list(columns)).to_arrow()

    out: dict[str, pa.Table] = {}
    de, bad = codes.translate(
        frame("dataElement", unquoted["dataElement"]),
        "dataElement",
        "data_element",
        codes.data_element_resolver(mapping),
        file=file,
        label="dataElement",
        reason="",
    )
    ou, bad2 = codes.translate(
        frame("orgUnit", filled("orgUnit")),
        "orgUnit",
        "place_code",
        codes.org_unit_resolver(mapping, ctx.dhis2_places),
        file=file,
        label="orgUnit",
        reason="",
    )
    if bad or bad2:
        return None
    element = checked_values("services", "data_element", de["data_element"], places, ())
    place = checked_values("services", "place_code", ou["place_code"], places, ())
    period_text = [None if p is None else (codes.dhis2_period(p) or p) for p in filled("period")]
    period = checked_values("services", "period", pl.Series(period_text, dtype=pl.Utf8), places, ())
    value = checked_values("services", "value", pl.Series(unquoted["value"], dtype=pl.Utf8), (), ())
    if element is None or place is None or period is None or value is None:
        return None
    out["dataElement"] = table(raw("dataElement"), element.alias("data_element"))
    out["orgUnit"] = table(raw("orgUnit"), place.alias("place_code"))
    spans = [parse_period(p) for p in period.to_list()]
    out["period"] = table(
        raw("period"),
        period.alias("period"),
        pl.Series("period_type", [s.kind for s in spans], pl.Utf8),
        pl.Series("period_start", [s.start for s in spans], pl.Date),
        pl.Series("period_end", [s.end for s in spans], pl.Date),
    )
    out["value"] = table(raw("value"), value.cast(pl.Float64).alias("value"))
    aoc_default = defaults.get(_AOC)
    combo_frame = pl.DataFrame(
        [
            pl.Series(_COC, unquoted[_COC], pl.Utf8),
            pl.Series(_AOC, [aoc_default if v is None else v for v in unquoted[_AOC]], pl.Utf8),
            pl.Series(ROW, range(len(unquoted[_COC])), pl.Int64),
        ]
    )
    dims, bad = combos(combo_frame, mapping, file)
    if bad:
        return None
    combo = [
        pl.Series(_COC, [_key(v) for v in pairs[0]], pl.Utf8),
        pl.Series(_AOC, [_key(v) for v in pairs[1]], pl.Utf8),
    ]
    for name in ("sex", "age_band", "population_group"):
        typed = checked_values("services", name, dims[name], places, extra_age_bands)
        if typed is None:
            return None
        combo.append(typed.cast(pl.Utf8).alias(name))
    out["combo"] = table(*combo)
    return out


def _key(text: str | None) -> str:
    """A raw JSON text as the staged statement joins it (an absent field as the empty text,
    which no JSON text is)."""
    return "" if text is None else text


def _select_sql(raw: str, names: dict[str, str], absent: Collection[str]) -> str:
    """The staged values as the contract's columns of services."""

    def on(field: str, table: str, column: str = "raw") -> str:
        if field in absent:  # the empty text stands for an absent field (see _key)
            return f"coalesce(CAST(r.{_q(field)} AS VARCHAR), '') = {table}.{column}"
        return f"r.{_q(field)} = {table}.{column}"

    return (
        "SELECT p.period, p.period_type, p.period_start, p.period_end, o.place_code, "
        "e.data_element, c.sex, c.age_band, c.population_group, v.value "
        f"FROM {raw} r "
        f"JOIN {names['dataElement']} e ON {on('dataElement', 'e')} "
        f"JOIN {names['orgUnit']} o ON {on('orgUnit', 'o')} "
        f"JOIN {names['period']} p ON {on('period', 'p')} "
        f"JOIN {names['value']} v ON {on('value', 'v')} "
        f"JOIN {names['combo']} c ON {on(_COC, 'c', _COC)} AND {on(_AOC, 'c', _AOC)}"
    )


def _distinct_keys(
    engine: Engine,
    names: dict[str, str],
    tables: dict[str, pa.Table],
    select: str,
    rows: int,
    hashed: int,
) -> bool:
    """Whether no two values share a natural key.

    When each field's translation is one to one (different texts, different codes: the usual
    case), two values share a key only if they share the texts of their key fields: ``hashed``
    counts the distinct hashes of those texts (a collision only sends the file to the exact
    reader). Otherwise the translated keys are counted."""
    one_to_one = all(
        _distinct_rows(tables[t], names)
        for t, names in (
            ("dataElement", ("data_element",)),
            ("orgUnit", ("place_code",)),
            ("period", ("period",)),
            ("combo", ("sex", "age_band", "population_group")),
        )
    )
    if one_to_one:
        return hashed == rows
    key = "period, place_code, data_element, sex, age_band, population_group"
    sql = (
        f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {key} FROM ({select}))) "
        f"FROM ({select})"
    )
    total, distinct = engine.query_rows(sql, step="distinct keys of JSON values")[0]
    return int(total) == rows == int(distinct)


def _distinct_rows(table: pa.Table, names: Sequence[str]) -> bool:
    """Whether no two rows of ``table`` agree on ``names``."""
    return pl.DataFrame(table.select(list(names))).unique().height == table.num_rows


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
