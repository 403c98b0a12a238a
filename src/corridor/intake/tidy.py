"""The tidy contract as delimited text: header names, an HXL tag row after them, or tags only."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from corridor.contract.schema import Column, TableSchema, probable_column, schema_for
from corridor.errors import InputError, Problem, file_error
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.text import (
    StrayQuote,
    UnclosedQuote,
    decode,
    has_text,
    printable,
    read_rows,
    sniff_delimiter,
)
from corridor.intake.wrongformat import require_delimited, require_tidy


def is_tag_row(cells: list[str | None]) -> bool:
    """An HXL hashtag row: every non-empty cell starts with '#', and at least one does."""
    filled = [c.strip() for c in cells if c is not None and c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def _tag_key(tag: str) -> tuple[str, frozenset[str]]:
    parts = [p.strip().lower() for p in tag.replace(" ", "").split("+")]
    return parts[0], frozenset(p for p in parts[1:] if p)


def match_tag(tag: str, schema: TableSchema) -> str | None:
    """The contract column for an HXL tag: exact attributes, else the most specific subset."""
    name, attrs = _tag_key(tag)
    best: tuple[int, str] | None = None
    for col in schema.columns:
        cname, cattrs = _tag_key(col.hxl)
        if cname != name:
            continue
        if cattrs == attrs:
            return col.name
        if cattrs <= attrs and (best is None or len(cattrs) > best[0]):
            best = (len(cattrs), col.name)
    return best[1] if best else None


def resolve_header(
    header: list[str | None], tags: list[str | None] | None, schema: TableSchema, file: str
) -> tuple[dict[int, str], list[str]]:
    """Map column positions to contract names. Returns (positions, ignored column labels)."""
    known = set(schema.names)
    positions: dict[int, str] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    maybe: list[tuple[str, str, str]] = []  # (label, tag, the contract column it probably is)
    for i, raw in enumerate(header):
        label = (raw or "").strip()
        tag = (tags[i] or "").strip() if tags is not None and i < len(tags) else ""
        name: str | None = None
        if tag:
            name = match_tag(tag, schema)
        if name is None and label.lower() in known:
            name = label.lower()
        if name is None:
            if label or tag:
                ignored.append(printable(label or tag))
                probable = _probable(label, tag, schema)
                if probable is not None:
                    maybe.append((label, tag, probable))
            continue
        if name in positions.values():
            problems.append(
                Problem(file, None, label or tag, None, f"duplicate column for {name!r}")
            )
            continue
        positions[i] = name
    # a well-known other name of a column the file lacks: ignored, its values would be lost
    # (a `gender` column: every row a total); with the contract column beside it, a warning
    other = [(label, tag, name) for label, tag, name in maybe if name not in positions.values()]
    problems.extend(
        _other_name_problem(file, label, tag, schema.column(name)) for label, tag, name in other
    )
    explained = {name for _, _, name in other}
    missing = [
        c.name
        for c in schema.columns
        if c.required and c.name not in positions.values() and c.name not in explained
    ]
    for name in missing:
        hxl = schema.column(name).hxl
        problems.append(
            Problem(
                file, None, name, None, f"required column missing (header {name!r} or tag {hxl})"
            )
        )
    if problems:
        summary = f"{file}: the header does not match the {schema.kind} contract"
        if other:
            summary += ": " + ", ".join(
                f"column {printable(label or tag)!r} is probably {name!r}"
                for label, tag, name in other
            )
        raise InputError(problems, summary=summary)
    return positions, ignored


def _probable(label: str, tag: str, schema: TableSchema) -> str | None:
    """The contract column that a column matching none probably is (see
    :data:`corridor.contract.schema.OTHER_NAMES`): by its tag's hashtag when it has a tag (the
    tag says what the column is: ``#gender`` is ``sex``, ``#age+years`` in services
    ``age_band``), else by its header."""
    if tag:
        return probable_column(_tag_key(tag)[0].removeprefix("#"), schema)
    return probable_column(label, schema)


def _other_name_problem(file: str, label: str, tag: str, col: Column) -> Problem:
    """A column under another name of the contract column ``col``, which the file lacks."""
    if col.required:
        lost = f"the file has no {col.name!r} column"
    elif col.default:
        lost = f"read as it is, it would be ignored and every row would have {col.name} "
        lost += repr(col.default)
    else:
        lost = f"read as it is, it would be ignored and every row would have no {col.name}"
    if tag:
        fix = f"change its tag {printable(tag)} to {col.hxl}"
    else:
        fix = f"rename the header {printable(label)!r} to {col.name!r}"
    return Problem(
        file,
        None,
        printable(label or tag),
        None,
        f"not a column of the contract, but probably its column {col.name!r} (header "
        f"{col.name!r} or tag {col.hxl}), which the file lacks: {lost}. To import it, {fix}; "
        "if it holds something else, remove the column",
    )


def frame_from_grid(
    grid: pl.DataFrame, kind: str, file: str, fmt: str, *, skipped: int = 0
) -> RawTable:
    """A grid of text cells (the header row, maybe a tag row, then data) -> RawTable.

    Fully empty rows are skipped, before the header too (``skipped``: empty lines the reader
    already left out before the grid's first row). Row numbers count data rows from 1 after the
    header rows, empty rows included, so that they keep referring to the file's own rows: after
    one empty line and the header, the first data row is row 2 (line 3).
    """
    schema = schema_for(kind)
    # text, except the categorical columns of the file reader (a number a cell, each text once)
    grid = grid.select(
        pl.col(c) if isinstance(t, pl.Categorical) else pl.col(c).cast(pl.Utf8)
        for c, t in grid.schema.items()
    )
    names = grid.columns
    if grid.height == 0 or not names:
        raise file_error(file, "empty file: no header row")
    blank = blank_rows(grid, names)
    first = first_filled(blank)
    if first is None:
        raise file_error(file, "empty file: every row is blank (no header row)")
    header: list[str | None] = list(grid.row(first))
    tags: list[str | None] | None = None
    start = first + 1
    if is_tag_row(header):
        tags, header = header, [None] * len(header)
    elif grid.height > start and is_tag_row(list(grid.row(start))):
        tags, start = list(grid.row(start)), start + 1
    positions, ignored = resolve_header(header, tags, schema, file)
    body = grid.slice(start)
    # the first data row's number: empty rows before the header keep their numbers
    top = skipped + first + 1
    rows = pl.int_range(top, top + body.height, dtype=pl.Int64, eager=True).alias(ROW)
    # built from the Series as they are: a select over columns chunked differently (the
    # parser's chunks, one for the row numbers) would first copy every column into one chunk
    frame = pl.DataFrame([*[body[names[i]].alias(name) for i, name in positions.items()], rows])
    blank = blank.slice(start)
    if blank.any():  # else no copy of every column
        frame = frame.filter(~blank)
    table = RawTable(file, "hxl" if tags is not None else fmt, kind, frame)
    if ignored:
        table.warnings.append(f"ignored column(s) not in the {kind} contract: {', '.join(ignored)}")
    unnamed = [
        i + 1
        for i in range(len(names))
        if i not in positions
        and not (header[i] or "").strip()
        and not (tags is not None and i < len(tags) and (tags[i] or "").strip())
        and _holds_values(body[names[i]])
    ]
    if unnamed:  # values under an empty header cell: ignored like any unknown column, but said
        table.warnings.append(
            f"ignored the values of column(s) {', '.join(map(str, unnamed))} (counted from 1), "
            "which have no header"
        )
    return table


def _holds_values(column: pl.Series) -> bool:
    """Whether a column holds a cell that is not empty or blank (each distinct text once)."""
    if isinstance(column.dtype, pl.Categorical):
        column = column.unique()
    return bool((column.cast(pl.Utf8).str.strip_chars().fill_null("") != "").any())


def blank_rows(frame: pl.DataFrame, names: list[str]) -> pl.Series:
    """Rows whose cells are all empty or blanks.

    Only rows whose first cell is empty or blank can be blank rows, so the others are spared the
    string work of stripping every cell.
    """
    first = frame[names[0]]  # a Series: a frame's expression would first rechunk every column
    if isinstance(first.dtype, pl.Categorical):  # each distinct text checked once
        blank = first.unique().drop_nulls()
        blank = blank.filter(blank.cast(pl.Utf8).str.contains(r"^\s*$"))
        maybe = first.is_null() | first.is_in(blank.implode())
    else:
        maybe = first.is_null() | first.str.contains(r"^\s*$")
    if not maybe.any():
        return maybe
    filled = [pl.col(c).cast(pl.Utf8).fill_null("").str.strip_chars() != "" for c in names]
    part = frame.filter(maybe).select(~pl.any_horizontal(filled)).to_series()
    return maybe.scatter(maybe.arg_true(), part)


def first_filled(blank: pl.Series) -> int | None:
    """The index of the first row that is not blank (the header row), or None."""
    if not blank.any():
        return 0
    filled = (~blank).arg_true()
    return int(filled[0]) if filled.len() else None


def header_row(grid: pl.DataFrame, file: str) -> int:
    """The index of the header row of ``grid``: its first row that is not empty."""
    if grid.height == 0 or grid.width == 0:
        raise file_error(file, "empty file: no header row")
    first = first_filled(blank_rows(grid, grid.columns))
    if first is None:
        raise file_error(file, "empty file: every row is blank (no header row)")
    return first


def leading_blank_lines(data: bytes, delim: str) -> int:
    """How many fully empty lines ``data`` starts with (after a UTF-8 BOM): lines of nothing
    but blanks and delimiters, which the parsers are then told to skip."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    blank = re.compile(rb"(?:[ \t" + re.escape(delim.encode()) + rb"]*\r?\n)*")
    end = blank.match(data, start)
    return data.count(b"\n", start, end.end()) if end else 0


def grid_from_rows(rows: list[list[str]], file: str) -> pl.DataFrame:
    """Rows of cells (ragged allowed when the extra cells are empty) -> a text grid.

    The header is the first row that is not empty; the rows before it are empty rows.
    """
    if not rows:
        return pl.DataFrame()
    first = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if first is None:
        first = max(range(len(rows)), key=lambda i: len(rows[i]))
    width = len(rows[first])
    for n, row in enumerate(rows[first + 1 :], start=first + 1):
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise InputError(
                [Problem(file, n, None, None, f"{len(row)} cells but the header has {width}")]
            )
    columns = {f"column_{i + 1}": [r[i] if i < len(r) else "" for r in rows] for i in range(width)}
    return pl.DataFrame(columns, schema={k: pl.Utf8 for k in columns})


def read_grid(data: bytes, file: str) -> pl.DataFrame:
    """Delimited text (encoding and delimiter detected) -> a grid of text cells, header included.

    UTF-8 goes to polars as it is (no decoding in Python); other encodings, ragged rows and odd
    quoting take the slower path through Python's csv module, which says where a file breaks.
    """
    if b"\r" in data and b"\n" not in data:  # old Mac line endings (CR only): lines as any
        data = data.replace(b"\r", b"\n")  # (a CR is never part of a UTF-8 or 1252 character)
    head = decode(data[:_HEAD], file, partial=True)
    if not has_text(data):
        raise file_error(file, "empty file")
    delim = sniff_delimiter(head)
    lead = leading_blank_lines(data, delim)
    try:
        return _with_blank_rows(_polars_grid(data, delim, lead), lead)
    except pl.exceptions.PolarsError:
        pass
    text = decode(data, file)
    if not text.isascii():  # UTF-8 that polars refused for its quoting, or Windows-1252
        try:
            return _with_blank_rows(_polars_grid(text.encode("utf-8"), delim, lead), lead)
        except pl.exceptions.PolarsError:
            pass
    # polars refuses ragged or oddly quoted files: the csv module reads them or says where
    try:
        rows = read_rows(text, delim)
    except UnclosedQuote as exc:
        raise unclosed_error(exc, text, delim, file) from None
    except StrayQuote as exc:
        raise stray_error(exc, text, delim, file) from None
    except Exception as exc:
        raise file_error(file, f"not a readable delimited text file: {exc}") from None
    return grid_from_rows(rows, file)


def stray_error(exc: StrayQuote, text: str, delim: str, file: str) -> InputError:
    """Text after a closing quote, named by the data row and column of its field."""
    reason = (
        f"text after the closing quote on line {exc.line}: quote the whole value and double "
        'any quote inside it ("a ""b"" c")'
    )
    row, column = _record_cell(exc.record, exc.field, text, delim)
    return InputError([Problem(file, row, column, exc.value, reason)])


def _record_cell(
    record: int, field: int | None, text: str, delim: str
) -> tuple[int | None, str | None]:
    """The data row (None for the header) and the column name of a record's field. Empty lines
    before the header keep their numbers (records count them, as rows do)."""
    at, lines = 0, text.split("\n", 64)
    while at < len(lines) - 1 and not lines[at].strip():
        at += 1
    header = _cells(lines[at], delim)
    row: int | None = record
    if record == at:
        row = None
    elif record > at + 1 and is_tag_row(list(_cells(lines[at + 1], delim))):
        row = record - 1
    if field is None:
        return row, None
    column = header[field].strip() if field < len(header) else ""
    return row, column or f"#{field + 1}"


def unclosed_error(exc: UnclosedQuote, text: str, delim: str, file: str) -> InputError:
    """A truncated quoted field, named by the data row and column where its quote opened."""
    reason = (
        f"a quoted value opened on line {exc.line} is never closed "
        "(the file ends inside it: truncated?)"
    )
    row, column = _record_cell(exc.record, exc.field, text, delim)
    return InputError([Problem(file, row, column, exc.value, reason)])


def _cells(line: str, delim: str) -> list[str]:
    """The cells of one line (a carriage return in it, which the csv module refuses outside
    quotes, splits plainly)."""
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:
        return line.split(delim)


_HEAD = 65536
#: the magic bytes of an XLSX (zip) and of an old .xls workbook
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _polars_grid(data: bytes, delim: str, skip: int = 0) -> pl.DataFrame:
    """The cells of ``data``, its first ``skip`` lines (empty ones) left out."""
    return pl.read_csv(
        data,
        has_header=False,
        separator=delim,
        infer_schema=False,
        encoding="utf8",
        skip_lines=skip,
    )


def _with_blank_rows(grid: pl.DataFrame, lead: int) -> pl.DataFrame:
    """``grid`` after ``lead`` empty rows, so that its rows are the file's lines again."""
    if not lead:
        return grid
    empty = pl.DataFrame({c: [None] * lead for c in grid.columns}, schema=grid.schema)
    return pl.concat([empty, grid])


def scan_delimited(path: Path, head: bytes, kind: str, ctx: ReadContext) -> RawTable | None:
    """As :func:`read_delimited`, from the file itself (``head``: its first bytes), in batches.

    polars' streaming engine parses the file a batch of rows at a time and keeps each cell as a
    number into its column's distinct texts (``Categorical``): neither the file's bytes nor a
    text column of every cell is ever held whole. The same parser as :func:`read_grid`'s, so the
    same cells. None when the file needs :func:`read_grid` (not UTF-8, ragged rows, odd quoting),
    which reads such files as before and says where they break.
    """
    file = ctx.display_name
    if head.startswith(_WORKBOOKS):
        return None  # read_delimited refuses it, with what format detection finds in all of it
    require_delimited(head, file)  # JSON or XML given --format csv
    require_tidy(head, kind, file)  # a DTM registry or a DHIS2 CSV export given --format csv
    delim = sniff_delimiter(decode(head, file, partial=True))  # refuses binary content
    if b"\r" in head and b"\n" not in head:
        return None  # old Mac line endings (CR only): read_grid reads them as lines
    lead = leading_blank_lines(head, delim)
    try:
        lazy = pl.scan_csv(
            path,
            has_header=False,
            separator=delim,
            infer_schema=False,
            encoding="utf8",
            skip_lines=lead,
        )
        names = lazy.collect_schema().names()
        grid = lazy.select(
            pl.col(c).cast(pl.Categorical(pl.Categories.random())) for c in names
        ).collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError):
        return None
    return frame_from_grid(grid, kind, file, "csv", skipped=lead)


def read_delimited(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    """CSV/TSV in the tidy contract (header names, HXL tag row, or tags only)."""
    require_delimited(data, ctx.display_name)
    require_tidy(data, kind, ctx.display_name)
    grid = read_grid(data, ctx.display_name)
    return frame_from_grid(grid, kind, ctx.display_name, "csv")


__all__ = [
    "first_filled",
    "frame_from_grid",
    "grid_from_rows",
    "header_row",
    "is_tag_row",
    "match_tag",
    "read_delimited",
    "read_grid",
    "scan_delimited",
]
