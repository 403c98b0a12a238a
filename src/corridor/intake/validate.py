"""Validation of every row against the contract, vectorised with polars.

Input: a RawTable (text cells). Output: the typed valid rows and every problem found, each naming
file, 1-based data-row number, column, value and reason.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from corridor.contract.countries import REASON as COUNTRY_REASON
from corridor.contract.countries import country_names, country_reason
from corridor.contract.periods import FIRST_YEAR, LAST_YEAR, RANGE_REASON, parse_period
from corridor.contract.schema import Column, TableSchema, schema_for
from corridor.errors import Problem
from corridor.intake.lookup import ID, TYPED, Spread, Steps, by_value
from corridor.intake.rawtable import ROW, RawTable

_ERR = "_err_"  # prefix of the per-column reason columns
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_NUM_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: a decimal comma (``12,5``, ``0,125``, ``1,2345``): read as a decimal point, unless ambiguous
_DECIMAL_COMMA_RE = r"^[+-]?\d+,\d+$"
#: a comma that may be a thousands separator as well as a decimal comma (``1,000``, ``12,500``,
#: ``123,456``): 1-3 digits not starting with 0, a comma, exactly three digits. Refused.
_AMBIGUOUS_RE = r"^[+-]?[1-9]\d{0,2},\d{3}$"
#: thousands separators that cannot be a decimal comma (``1,000,000``, ``1,000.5``). Refused.
_GROUPED_RE = r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?$"
#: the largest number a count or value may hold: far above any real count, and exact in a float
MAX_NUMBER = 10**15
TOO_LARGE = "too large: numbers must be finite and at most 10^15"
#: infinity as text; also what a JSON reader makes of a number beyond a float's range (``1e400``)
_INFINITE_RE = r"(?i)^[+-]?inf(inity)?$"
#: C0 and C1 control characters (tab and line breaks included) and DEL
CONTROL_RE = r"[\x00-\x1f\x7f-\x9f]"
CONTROL_REASON = "control character in a code (codes must be printable text)"
#: free-text columns whose control characters are removed (tab and line breaks become a space)
NAME_COLUMNS = frozenset({"name"})
#: columns of ISO 3166-1 alpha-3 country codes (``corridor.contract.countries``)
COUNTRY_COLUMNS = frozenset({"country_code"})
#: the most distinct refused country codes of one file whose reason suggests the nearest codes
#: (each costs about 0.2 ms); the others are refused with the bare reason
SUGGESTED_COUNTRIES = 1000


@dataclass(slots=True)
class Validated:
    """The outcome of validation: typed valid rows, and the problems of the invalid ones."""

    kind: str
    valid: pl.DataFrame  # contract columns, typed, plus _row
    problems: list[Problem]
    rows_read: int
    invalid_rows: set[int]
    raw: pl.DataFrame  # the raw text (for quarantine records)


def validate(
    raw: RawTable,
    known_places: Collection[str],
    extra_age_bands: Collection[str] = (),
    known_countries: Collection[str] = (),
) -> Validated:
    """Check every row of ``raw``; ``known_places`` are the place codes values may name,
    ``known_countries`` the country codes accepted besides ISO 3166-1 alpha-3 and XKX (those
    the warehouse's places already have: a warehouse imported before country codes were checked
    against the standard may hold a withdrawn one, and its places file must import again).

    Each column is normalised, checked and typed once per distinct value (see
    :func:`corridor.intake.lookup.by_value`): a million rows of a few hundred codes cost a few
    hash passes, not a million string operations per rule.
    """
    schema = schema_for(raw.kind)
    frame = raw.frame
    places = set(known_places)
    countries = frozenset(known_countries)
    parts: dict[str, Spread] = {}
    # place references last: a places file may name the places it defines itself
    for col in sorted(schema.columns, key=lambda c: c.place_ref):
        if raw.kind == "places" and col.place_ref and "place_code" in parts:
            places |= set(parts["place_code"].table["place_code"].drop_nulls().to_list())
        source = (
            frame[col.name]
            if col.name in frame.columns
            else pl.repeat(None, frame.height, dtype=pl.Utf8, eager=True)
        )
        parts[col.name] = by_value(
            source.alias(col.name),
            _column_steps(col, places, extra_age_bands, countries),
            ids=col.name in schema.key,
        )
    checked: pl.DataFrame | None = None
    if raw.kind in _ROW_CHECKED:
        checked = _row_checks(_checked(parts, schema, frame[ROW]), raw.kind)
        problems = _collect(checked, schema, raw.file)
    else:  # reasons are copied out only to the rows that have one
        problems = _collect_spread(parts, schema, frame[ROW], raw.file)
    # a value the reader could not translate is reported once, under the source's own field
    translated = {(p.row, (p.value or "").lower()) for p in raw.problems}
    problems = [p for p in problems if (p.row, (p.value or "").lower()) not in translated]
    problems.extend(raw.problems)
    invalid = {p.row for p in problems if p.row is not None}
    # only rows that share their key with another valid row can conflict or collapse
    shared = _shared_rows(parts, schema.key, frame[ROW], invalid)
    in_dup = frame[ROW].is_in(shared.implode())
    if checked is not None:
        dup = checked.filter(in_dup)
    else:
        cells = [parts[c.name].at(in_dup, [c.name]).to_series() for c in schema.columns]
        dup = pl.DataFrame([*cells, frame[ROW].filter(in_dup)])
    problems.extend(_conflicts(dup, schema, raw.file, set()))
    problems.sort(
        key=lambda p: (p.row or 0, schema.names.index(p.column) if p.column in schema.names else 99)
    )
    invalid = {p.row for p in problems if p.row is not None}
    # codes as Enums (a small integer a row; the engines take them as text), except for places,
    # whose codes the importer compares with other text
    pick = Spread.column if raw.kind == "places" else Spread.coded
    typed = pl.DataFrame(
        [*[pick(parts[c.name], TYPED).alias(c.name) for c in schema.columns], frame[ROW]]
    )
    if invalid:
        typed = typed.filter(~pl.col(ROW).is_in(list(invalid)))
    if dup.height:
        # identical duplicates within the file collapse to one row (first occurrence)
        same = typed.filter(pl.col(ROW).is_in(dup[ROW].to_list()))
        kept = same.unique(subset=list(schema.key), keep="first", maintain_order=True)
        drop = set(same[ROW].to_list()) - set(kept[ROW].to_list())
        if drop:
            typed = typed.filter(~pl.col(ROW).is_in(list(drop)))
    return Validated(raw.kind, typed, problems, frame.height, invalid, frame)


def checked_values(
    kind: str,
    name: str,
    values: pl.Series,
    known_places: Collection[str],
    extra_age_bands: Collection[str] = (),
) -> pl.Series | None:
    """``values`` (cells of column ``name`` of ``kind``) normalised, checked and typed as
    :func:`validate` does it: their typed values, or None when one of them is invalid."""
    col = schema_for(kind).column(name)
    frame = values.alias(name).to_frame()
    for step in _column_steps(col, set(known_places), extra_age_bands):
        frame = step(frame)
    if frame[_ERR].null_count() != frame.height:
        return None
    return frame[TYPED].alias(name)


def _shared_rows(
    parts: dict[str, Spread], names: Sequence[str], rows: pl.Series, invalid: Collection[int]
) -> pl.Series:
    """The row numbers of the valid rows that share their key with another valid row.

    Each key column's ids are taken per distinct value and spread to the rows one column at a
    time, straight into one folded integer a row (no frame of every key column is made).
    """
    keep = ~rows.is_in(list(invalid)).to_numpy() if invalid else None
    ids = [(parts[k].table[ID], parts[k].index) for k in names]
    folded = _fold(ids, rows.len(), keep)
    if folded is None:
        keys = pl.DataFrame([*[parts[k].column(ID).alias(k) for k in names], rows])
        if keep is not None:
            keys = keys.filter(pl.Series(keep))
        return keys.filter(keys.select(pl.struct(names).is_duplicated()).to_series())[ROW]
    numbers = rows.to_numpy()
    if keep is not None:
        numbers = numbers[keep]
    return pl.Series(ROW, numbers[_duplicated(folded)], pl.Int64)


def _fold(
    columns: Sequence[tuple[pl.Series, pl.Series | None]], n: int, keep: np.ndarray | None
) -> np.ndarray | None:
    """Each row's key ids folded into one integer: equal keys, equal integers.

    ``columns``: per key column its ids (``UInt32``; null for a missing value), one per row, or
    one per distinct value with ``index`` giving each row's. Only the rows where ``keep`` holds.
    None when a column's ids are not small integers or their ranges multiply past 63 bits:
    the caller then hashes the columns instead. Keys of small integer ids (the usual case) cost
    a few bytes a row this way, where hashing the struct of the columns (a row encoding of
    every key, and a hash table) took some two hundred.
    """
    tops: list[int] = []
    radix = 1
    for ids, _index in columns:
        if ids.dtype != pl.UInt32:
            return None
        top = int(ids.fill_null(0).to_numpy().max(initial=0)) + 2  # nulls as top - 1
        radix *= top
        if radix >= 1 << 63:
            return None
        tops.append(top)
    size = n if keep is None else int(keep.sum())
    folded = np.zeros(size, np.uint64)
    for (ids, index), top in zip(columns, tops, strict=True):
        values = ids.fill_null(top - 1).to_numpy()
        column = values if index is None else values[index.to_numpy()]
        if keep is not None:
            column = column[keep]
        folded *= np.uint64(top)
        folded += column
        del column
    return folded


def _duplicated(folded: np.ndarray) -> np.ndarray:
    """Which entries of ``folded`` occur more than once."""
    ranked = np.sort(folded)
    twice = np.unique(ranked[1:][ranked[1:] == ranked[:-1]])
    del ranked
    if twice.size == 0:
        return np.zeros(folded.size, bool)
    return np.isin(folded, twice)


#: kinds with checks across the columns of a row (see _row_checks)
_ROW_CHECKED = ("flows", "places")


def _checked(parts: dict[str, Spread], schema: TableSchema, rows: pl.Series) -> pl.DataFrame:
    """Every row: the normalised cells and, per column, the reason a cell is invalid."""
    return pl.DataFrame(
        [
            *[parts[c.name].column(c.name) for c in schema.columns],
            *[parts[c.name].column(_ERR).alias(_ERR + c.name) for c in schema.columns],
            rows,
        ]
    )


def _collect_spread(
    parts: dict[str, Spread], schema: TableSchema, rows: pl.Series, file: str
) -> list[Problem]:
    """As :func:`_collect`, reading the reasons per distinct value."""
    problems: list[Problem] = []
    for col in schema.columns:
        part = parts[col.name]
        bad = part.mask(pl.col(_ERR).is_not_null())
        if not bad.any():
            continue
        cells = part.at(bad, [col.name, _ERR])
        for row, value, why in zip(
            rows.filter(bad).to_list(),
            cells[col.name].to_list(),
            cells[_ERR].to_list(),
            strict=True,
        ):
            problems.append(
                Problem(file, int(row), col.name, value if value is not None else "", why)
            )
    return problems


def _column_steps(
    col: Column,
    places: set[str],
    extra_age_bands: Collection[str],
    countries: frozenset[str] = frozenset(),
) -> Steps:
    """Normalise, then check and type one column (each frame holds that column only)."""

    def normalise(f: pl.DataFrame) -> pl.DataFrame:
        return f.select(_normal(col).alias(col.name))

    def check(f: pl.DataFrame) -> pl.DataFrame:
        return f.with_columns(
            _check(col, places, extra_age_bands, countries).alias(_ERR),
            _typed_expr(col).alias(TYPED),
        )

    return (normalise, check)


def _normal(col: Column) -> pl.Expr:
    """Strip the cell, empty -> null, lower-case codes, control characters out of names."""
    e = pl.col(col.name).cast(pl.Utf8)
    if col.name in NAME_COLUMNS:
        # a line break is one space, whichever its ending (CRLF, LF or CR), as is a tab
        e = e.str.replace_all(r"\r\n|[\t\n\r]", " ").str.replace_all(CONTROL_RE, "")
    e = e.str.strip_chars()
    e = pl.when(e == "").then(None).otherwise(e)
    if col.type in ("code", "codes"):
        e = e.str.to_lowercase()
    return e


def _check(
    col: Column,
    places: set[str],
    extra_age_bands: Collection[str],
    countries: frozenset[str] = frozenset(),
) -> pl.Expr:
    """An expression giving the reason a cell is invalid, or null when it is fine.
    ``countries``: the country codes accepted besides ISO 3166-1 alpha-3 and XKX."""
    c = pl.col(col.name)
    reason: pl.Expr = pl.lit(None, dtype=pl.Utf8)

    def add(cond: pl.Expr, why: str | pl.Expr) -> None:
        nonlocal reason
        text = pl.lit(why) if isinstance(why, str) else why
        reason = pl.when(reason.is_null() & cond).then(text).otherwise(reason)

    if col.required and col.default is None:
        add(c.is_null(), "missing required value")
    if col.type in ("code", "codes", "text") and col.name not in NAME_COLUMNS:
        add(c.str.contains(CONTROL_RE), CONTROL_REASON)
    if col.codes is not None:
        allowed = [v for v in col.codes if v]
        if col.name == "age_band":
            allowed += [b for b in extra_age_bands if b not in allowed]
        add(c.is_not_null() & ~c.is_in(allowed), f"not one of: {', '.join(allowed)}")
    if col.type == "date":
        parsed = c.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        add(
            c.is_not_null() & (~c.str.contains(_DATE_RE) | parsed.is_null()),
            "not a valid ISO date (YYYY-MM-DD)",
        )
        add(parsed.is_not_null() & _out_of_range(parsed.dt.year()), f"date {RANGE_REASON}")
    elif col.type in ("float", "int", "lat", "lon"):
        num = _number(c)
        add(c.str.contains(_AMBIGUOUS_RE), _ambiguous_reason(c))
        add(c.str.contains(_GROUPED_RE), _grouped_reason(c))
        add(c.str.contains(_INFINITE_RE), TOO_LARGE)
        add(c.is_not_null() & ~_number_text(c).str.contains(_NUM_RE), "not a number")
        add(num.is_not_null() & ~(num.abs() <= MAX_NUMBER), TOO_LARGE)
        if col.type == "lat":
            add(num.is_not_null() & ((num < -90) | (num > 90)), "latitude outside -90..90")
        elif col.type == "lon":
            add(num.is_not_null() & ((num < -180) | (num > 180)), "longitude outside -180..180")
        else:
            add(num.is_not_null() & (num < 0), "negative; must be >= 0")
            if col.type == "int":
                add(num.is_not_null() & (num != num.floor()), "not a whole number")
    elif col.type == "period":
        year = c.str.slice(0, 4).cast(pl.Int32, strict=False)
        add(c.is_not_null() & _out_of_range(year), f"year {RANGE_REASON}")
        add(
            c.is_not_null() & _period_kind(c).is_null(),
            "not an ISO period (2024, 2024Q1, 2024-03, 2024W05)",
        )
    if col.place_ref:
        add(
            c.is_not_null() & (c != "") & ~c.is_in(list(places)),
            "unknown place code (import places first)",
        )
    if col.name in COUNTRY_COLUMNS:
        accepted = sorted(countries | set(country_names()))
        add(c.is_not_null() & ~c.is_in(accepted), _country_reason(c, countries))
    return reason


def _country_reason(c: pl.Expr, countries: frozenset[str]) -> pl.Expr:
    """Why each refused country code is refused (null for the others), with the nearest
    accepted codes (``countries``, the warehouse's, first): worked out once per distinct value
    (the first :data:`SUGGESTED_COUNTRIES` in order; the bare reason for any more)."""

    def reasons(values: pl.Series) -> pl.Series:
        names = country_names()
        refused = sorted(
            v
            for v in values.drop_nulls().unique().to_list()
            if v not in names and v not in countries
        )
        lookup = {
            v: country_reason(v, countries) if i < SUGGESTED_COUNTRIES else COUNTRY_REASON
            for i, v in enumerate(refused)
        }
        return values.replace_strict(lookup, default=None, return_dtype=pl.Utf8)

    return c.map_batches(reasons, return_dtype=pl.Utf8)


def _out_of_range(year: pl.Expr) -> pl.Expr:
    return year.is_not_null() & ((year < FIRST_YEAR) | (year > LAST_YEAR))


def _row_checks(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Checks across columns of one row."""
    if kind == "flows":
        start = pl.col("period_start").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        end = pl.col("period_end").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        bad = start.is_not_null() & end.is_not_null() & (end < start)
        err = pl.col(_ERR + "period_end")
        return frame.with_columns(
            pl.when(err.is_null() & bad)
            .then(pl.lit("period_end is before period_start"))
            .otherwise(err)
            .alias(_ERR + "period_end")
        )
    if kind == "places":
        parent, ptype = pl.col("parent_code"), pl.col("place_type")
        err = pl.col(_ERR + "parent_code")
        need = parent.is_null() & ptype.is_not_null() & (ptype != "country")
        selfref = parent.is_not_null() & (parent == pl.col("place_code"))
        return frame.with_columns(
            pl.when(err.is_null() & need)
            .then(pl.lit("missing: only countries may have no parent"))
            .when(err.is_null() & selfref)
            .then(pl.lit("a place cannot be its own parent"))
            .otherwise(err)
            .alias(_ERR + "parent_code"),
        )
    return frame


def _number_text(c: pl.Expr) -> pl.Expr:
    """Numbers as text, with a French-locale decimal comma accepted (``12,5``).

    The one place where a comma in a number is read, for every format and column. A comma that
    may as well be a thousands separator (``1,000``) is left as it is, so that it is no number
    (:func:`_check` says why): neither reading may be guessed.
    """
    comma = c.str.contains(_DECIMAL_COMMA_RE) & ~c.str.contains(_AMBIGUOUS_RE)
    return pl.when(comma).then(c.str.replace(",", ".")).otherwise(c)


def _ambiguous_reason(c: pl.Expr) -> pl.Expr:
    """Why ``1,000`` is refused, with both readings spelled out as they must be written."""
    plain, point = c.str.replace(",", ""), c.str.replace(",", ".")
    return pl.concat_str(
        pl.lit("ambiguous comma: a thousands separator ("),
        plain,
        pl.lit(") or a decimal comma ("),
        point,
        pl.lit(")? Write "),
        plain,
        pl.lit(" or "),
        point,
        pl.lit(": no thousands separators, and a decimal point for decimals"),
    )


def _grouped_reason(c: pl.Expr) -> pl.Expr:
    """Why ``1,000,000`` is refused, with the number as it must be written."""
    return pl.concat_str(
        pl.lit("thousands separators are not accepted: write "),
        c.str.replace_all(",", ""),
        pl.lit(" (no separators; a decimal point for decimals)"),
    )


def _number(c: pl.Expr) -> pl.Expr:
    return _number_text(c).cast(pl.Float64, strict=False)


def _period_kind(c: pl.Expr) -> pl.Expr:
    """The canonical period text (``2024q1`` -> ``2024Q1``), or null when not a period."""

    def canonical(values: pl.Series) -> pl.Series:
        lookup: dict[str, str | None] = {}
        for v in values.drop_nulls().unique().to_list():
            try:
                lookup[v] = parse_period(v).text
            except ValueError:
                lookup[v] = None
        return values.replace_strict(lookup, default=None, return_dtype=pl.Utf8)

    return c.map_batches(canonical, return_dtype=pl.Utf8)


def _collect(checked: pl.DataFrame, schema: TableSchema, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for col in schema.columns:
        errs = checked.filter(pl.col(_ERR + col.name).is_not_null()).select(
            ROW, col.name, _ERR + col.name
        )
        for row, value, why in errs.iter_rows():
            problems.append(
                Problem(file, int(row), col.name, value if value is not None else "", why)
            )
    return problems


def _conflicts(
    checked: pl.DataFrame, schema: TableSchema, file: str, already: set[int | None]
) -> list[Problem]:
    """Rows with the same key but different values within one file."""
    ok = checked.filter(~pl.col(ROW).is_in([r for r in already if r is not None]))
    if ok.height == 0 or not schema.values:
        return []
    keys = list(schema.key)
    filled = ok.with_columns([_keyed(schema.column(k)) for k in keys])
    vals = [pl.col(v).fill_null("") for v in schema.values]
    first = filled.with_columns(
        pl.col(ROW).min().over(keys).alias("_first"),
        pl.concat_str(vals, separator="\x1f").alias("_vals"),
    )
    first = first.with_columns(pl.col("_vals").n_unique().over(keys).alias("_nvals"))
    bad = first.filter((pl.col("_nvals") > 1) & (pl.col(ROW) != pl.col("_first")))
    out: list[Problem] = []
    shown = schema.values[0]
    for row, first_row, value in bad.select(ROW, "_first", shown).iter_rows():
        out.append(
            Problem(
                file,
                int(row),
                shown,
                value or "",
                f"conflicts with row {first_row} (same key, different values)",
            )
        )
    return out


def _keyed(col: Column) -> pl.Expr:
    """A key column with its default applied (so an empty sex cell equals 'total')."""
    e = pl.col(col.name)
    if col.default is not None:
        e = e.fill_null(col.default)
    if col.type == "period":
        e = _period_kind(e)
    return e


def _typed_expr(col: Column) -> pl.Expr:
    """The typed value of a valid cell (defaults applied, canonical periods)."""
    c = pl.col(col.name)
    if col.default is not None:
        c = c.fill_null(col.default)
    if col.type == "date":
        c = c.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    elif col.type in ("float", "lat", "lon"):
        c = _number(c)
    elif col.type == "int":
        c = _number(c).cast(pl.Int64, strict=False)
    elif col.type == "period":
        c = _period_kind(c)
    elif col.type == "codes":
        c = c.str.replace_all(r"\s*;\s*", ";")
    return c
