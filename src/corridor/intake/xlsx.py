"""XLSX workbooks in the tidy contract, read with openpyxl (no Excel, no network).

The sheet named like the kind (``services``, any case) is read, else the first sheet. Formulas are
never evaluated: the value Excel stored with the formula is taken, and a formula cell without a
stored value (a file written by a program that does not calculate) is a problem for its row.
Merged cells that span several data rows (or several contract columns) are problems for those
rows: the value is stored once, for all of them, and no reading of it is safe. Every row and
column the sheet holds is read, whatever the sheet's ``<dimension>`` claims (programs that write
workbooks often leave it stale). Cells become text faithfully: whole numbers without ``.0``,
other numbers as Python writes them, dates as ``YYYY-MM-DD``. Then the grid is read like a tidy
CSV (header names or HXL tags).

A workbook holding a DTM flow-monitoring registry (``--format dtm-fmr-xlsx``) is read by the same
functions (:func:`sheet_rows`, :func:`cell_problems`) and then by the DTM reader's rules
(:func:`corridor.intake.dtm.read_dtm_xlsx`).
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from corridor.contract.schema import schema_for
from corridor.errors import InputError, Problem, file_error
from corridor.intake.rawtable import RawTable, ReadContext
from corridor.intake.tidy import frame_from_grid, is_tag_row, resolve_header

_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)\"")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_xlsx(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    file = ctx.display_name
    # (dates shown without their day found too: a tidy column holds them as days)
    sheet = sheet_rows(data, kind, file, coarse_dates=True)
    rows = sheet.rows
    require_tidy_sheet(data, sheet, kind, file)  # a DTM registry given --format xlsx
    table = frame_from_grid(grid_of(rows), kind, file, "xlsx")
    table.format = "xlsx"
    if sheet.formulas or sheet.merged or sheet.coarse_dates:
        table.problems.extend(_tidy_cell_problems(sheet, kind, file))
    return table


def grid_of(rows: list[list[str | None]]) -> pl.DataFrame:
    """The cells of a sheet as a grid of text columns (``column_1``, ...), as the delimited
    readers' grids."""
    width = max((len(r) for r in rows), default=0)
    return pl.DataFrame(
        {f"column_{i + 1}": [r[i] if i < len(r) else None for r in rows] for i in range(width)},
        schema={f"column_{i + 1}": pl.Utf8 for i in range(width)},
    )


def header_index(rows: list[list[str | None]]) -> int:
    """The index of the header row: the first row that is not blank (0 when all are)."""
    return next((i for i, r in enumerate(rows) if not _blank(r)), 0)


def require_tidy_sheet(data: bytes, sheet: Sheet, kind: str, file: str) -> None:
    """Refuse, for ``--format xlsx``, a sheet whose header is a DTM flow-monitoring registry's
    and that the tidy reader would refuse anyway (:func:`corridor.intake.wrongformat.
    require_tidy`'s rule, as for a CSV file): its columns would be reported one by one as
    missing, which never says what the file is."""
    from corridor.intake.formats import is_dtm_header, workbook_format
    from corridor.intake.wrongformat import dtm_layout_refusal

    rows = sheet.rows
    if not rows:
        return
    top = header_index(rows)
    if len(rows) > top + 1 and is_tag_row(rows[top + 1]):
        return  # a header over HXL tags: the tags decide
    header = [(c or "").strip() for c in rows[top]]
    if not is_dtm_header(header):
        return
    found = dtm_layout_refusal(
        header,
        kind,
        f"its header (sheet {sheet.title!r}, row {top + 1})",
        detected=workbook_format(data) == "dtm-fmr-xlsx",
    )
    if found is not None:
        raise file_error(file, f"not a tidy workbook: {found}")


def _not_a_workbook(data: bytes, file: str) -> None:
    """A zip archive that is not a workbook (a DHIS2 export often comes zipped): say so and
    what it holds, rather than that a workbook is broken."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError):
        return  # openpyxl's own error says what is wrong
    if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise file_error(
        file,
        f"a zip archive, not an XLSX workbook (it holds {shown or 'nothing'}): extract the "
        "file from it and import that",
    )


#: a range of merged cells: its text (``D2:D4``) and its first and last row and column (0-based)
Merged = tuple[str, int, int, int, int]


@dataclass(slots=True)
class Sheet:
    """The worksheet a reader reads: its cells as text (rows, 0-based), the cells holding a
    formula without a stored value, its merged cells, and (when asked for) the date cells that
    the sheet shows without their day, as a month or a year (:func:`date_shown_as`), with
    their number format."""

    title: str
    rows: list[list[str | None]]
    formulas: dict[tuple[int, int], str]
    merged: list[Merged]
    coarse_dates: dict[tuple[int, int], str] = field(default_factory=dict)


def sheet_rows(data: bytes, kind: str, file: str, *, coarse_dates: bool = False) -> Sheet:
    """The sheet read for ``kind`` (named like it, else the first): see :class:`Sheet`.
    ``coarse_dates``: also find the date cells shown without their day, as a month or a year
    (cell by cell: slower)."""
    if data[:8] == _OLE:
        raise file_error(file, "an old Excel 97-2003 (.xls) file: save it as .xlsx and retry")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise file_error(file, "not an XLSX file (not a zip archive); save it as .xlsx or CSV")
    _not_a_workbook(data, file)
    from openpyxl import load_workbook  # imported late: openpyxl is slow to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = _choose(book, kind, file)
                # every row and column the sheet holds: read-only mode otherwise stops where the
                # sheet's <dimension> says, and a stale one would drop rows without a word
                sheet.reset_dimensions()
                coarse: dict[tuple[int, int], str] = {}
                if coarse_dates:
                    rows = _rows_and_coarse_dates(sheet, coarse)
                else:
                    rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
                title = sheet.title
                titles = [s.title for s in book.worksheets]
                part = getattr(sheet, "_worksheet_path", None)
            finally:
                book.close()
            missing: dict[tuple[int, int], str] = {}
            if _has_formulas(data):
                missing = _formulas_without_value(data, title, rows)
            merged = _merged_cells(data, part) if isinstance(part, str) else []
    except InputError:
        raise
    except Exception as exc:  # zipfile, KeyError, XML errors...: a corrupt or foreign file
        raise file_error(
            file, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})"
        ) from None
    while rows and all(c is None or not c.strip() for c in rows[-1]):
        rows.pop()
    if not rows and len(titles) > 1:
        raise file_error(
            file,
            f"the worksheet {title!r} is empty; the workbook's sheets are "
            + ", ".join(repr(t) for t in titles)
            + f": name the sheet that holds the data {kind!r} (or move it first)",
        )
    return Sheet(title, rows, missing, merged, coarse)


def _rows_and_coarse_dates(
    sheet: Any, coarse: dict[tuple[int, int], str]
) -> list[list[str | None]]:
    """The cells of ``sheet`` as text, cell by cell, noting in ``coarse`` the date cells whose
    number format shows no day (``mmm-yy``, ``yyyy-mm``, ``mmmm``, ``yyyy``): the sheet shows
    them as months or years (:func:`date_shown_as`)."""
    rows: list[list[str | None]] = []
    shown_as: dict[str, str | None] = {}
    for r, cells in enumerate(sheet.iter_rows()):
        row: list[str | None] = []
        for c, cell in enumerate(cells):
            value = cell.value
            if isinstance(value, date):  # datetime too
                fmt = cell.number_format
                if fmt not in shown_as:
                    shown_as[fmt] = date_shown_as(fmt)
                if shown_as[fmt] is not None:
                    coarse[(r, c)] = fmt
            row.append(_text(value))
        rows.append(row)
    return rows


#: what a number format shows as it is: quoted text, escaped characters, [...] sections
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def date_shown_as(number_format: str) -> str | None:
    """What an Excel number format shows of a date when it shows less than the day and no
    time: ``"month"`` for a month, with or without the year (``mmm-yy``, ``yyyy-mm``, ``mmmm
    yyyy``, ``mmmm``), ``"year"`` for the year alone (``yyyy``, ``yy``); None when it shows the
    day (``d``, ``dd``, ``ddd``...) or a time (``h``, ``s``), or no part of a date."""
    codes = _FORMAT_LITERALS.sub("", number_format).lower()
    if any(c in codes for c in "dhs"):
        return None
    if "m" in codes:
        return "month"
    return "year" if "y" in codes else None


def coarse_date_reason(number_format: str) -> str:
    """Why a date cell shown without its day (:func:`date_shown_as`) is a problem: the sheet
    shows a month or a year, the cell holds a day."""
    unit = date_shown_as(number_format) or "month"
    return (
        f"a date shown as a {unit} (number format {number_format!r}): the sheet shows the "
        f"{unit}, the cell holds the day; write the {unit} as text "
        f"({'YYYY-MM' if unit == 'month' else 'YYYY'}) or show the day"
    )


def format_text(number_format: str) -> str:
    """The text that an Excel number format shows as it is (quoted text, escaped characters),
    without its codes, its ``[...]`` sections and its padding."""
    out: list[str] = []
    for m in _FORMAT_LITERALS.finditer(number_format):
        part = m.group()
        if part.startswith('"'):
            out.append(part[1:-1])
        elif part.startswith("\\"):
            out.append(part[1:])
    return "".join(out)


def sheet_header(data: bytes, kind: str) -> tuple[list[str], list[str]] | None:
    """The header (the first row that is not blank) of the sheet read for ``kind``, and the
    workbook's sheet titles; None when ``data`` is not a readable workbook (its reader says
    why). For format detection: only the rows down to the header are read."""
    if data[:4] != b"PK\x03\x04" or not zipfile.is_zipfile(io.BytesIO(data)):
        return None
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheets = list(book.worksheets)
                if not sheets:
                    return None
                sheet = _choose(book, kind, "")
                sheet.reset_dimensions()
                header: list[str] = []
                for values in sheet.iter_rows(values_only=True):
                    row = [_text(v) for v in values]
                    if not _blank(row):
                        header = [(c or "").strip() for c in row]
                        break
                return header, [s.title for s in sheets]
            finally:
                book.close()
    except Exception:  # a corrupt or foreign file: its reader says what is wrong
        return None


def _choose(book: Any, kind: str, file: str) -> Any:
    sheets = list(book.worksheets)
    if not sheets:
        raise file_error(file, "the workbook has no worksheet")
    for sheet in sheets:
        if sheet.title.strip().lower() == kind:
            return sheet
    return sheets[0]


def _has_formulas(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as f:
                    if _FORMULA.search(f.read()):
                        return True
    return False


def _formulas_without_value(
    data: bytes, title: str, rows: list[list[str | None]]
) -> dict[tuple[int, int], str]:
    """Cells (0-based row, column) holding a formula whose stored value is empty."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        out: dict[tuple[int, int], str] = {}
        sheet = book[title]
        sheet.reset_dimensions()  # as the values were read (see sheet_rows)
        for r, row in enumerate(sheet.iter_rows(values_only=True)):
            for c, value in enumerate(row):
                if isinstance(value, str) and value.startswith("="):
                    cached = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
                    if cached is None:
                        out[(r, c)] = value
        return out
    finally:
        book.close()


def _merged_cells(data: bytes, part: str) -> list[Merged]:
    """The ranges of merged cells of the worksheet stored at ``part`` in the archive (read-only
    mode does not read them)."""
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        try:
            body = z.read(part.lstrip("/"))
        except KeyError:
            return []
    out: list[Merged] = []
    for m in _MERGE.finditer(body):
        ref = m.group(1).decode("ascii").upper()
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_col is None or min_row is None or max_col is None or max_row is None:
            continue
        out.append((ref, min_row - 1, min_col - 1, max_row - 1, max_col - 1))
    return out


def _blank(row: list[str | None]) -> bool:
    return all(c is None or not c.strip() for c in row)


def _tidy_cell_problems(sheet: Sheet, kind: str, file: str) -> list[Problem]:
    """:func:`cell_problems` in the columns the contract reads, named by the contract."""
    rows = sheet.rows
    top = header_index(rows)
    header = list(rows[top])
    tags: list[str | None] | None = None
    start = top + 1
    if is_tag_row(header):
        tags, header = header, [None] * len(header)
    elif len(rows) > start and is_tag_row(rows[start]):
        tags, start = rows[start], start + 1
    positions, _ = resolve_header(header, tags, schema_for(kind), file)
    return cell_problems(sheet, positions, top, start, file, coarse_dates=True)


def cell_problems(
    sheet: Sheet,
    positions: dict[int, str],
    top: int,
    start: int,
    file: str,
    *,
    coarse_dates: bool = False,
) -> list[Problem]:
    """Problems for formula cells without a stored value, for merged cells and for date cells
    shown without their day (``coarse_dates``: ``sheet.coarse_dates``), in the columns
    a reader reads (``positions``: column index -> the column name its problems give), data
    rows only (from index ``start``), numbered as :func:`frame_from_grid` numbers the rows:
    the first data row after a header at index ``top`` is row ``top + 1`` (empty rows before
    the header keep their numbers)."""
    rows, formulas, merged = sheet.rows, sheet.formulas, sheet.merged
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for (r, c), formula in sorted(formulas.items()):
        if r >= start and c in positions:
            found[(r, c)] = (formula, "formula without a stored value")
    for (r, c), number_format in sorted(sheet.coarse_dates.items() if coarse_dates else []):
        # a date that the sheet shows as a month or a year holds a day: read as the day, a
        # month's or a year's count would be one day's (``coarse_dates``: the tidy reader's
        # rule; the DTM reader reads such cells as the sheet shows them)
        if r >= start and c in positions and r < len(rows) and c < len(rows[r]):
            found[(r, c)] = (rows[r][c] or "", coarse_date_reason(number_format))
    for ref, r0, c0, r1, c1 in merged:
        # a merged cell holds its value once, in its first cell, for every row and column it
        # spans: given to each it would be counted again, given to the first only the others
        # would silently be empty (a total)
        data_rows = [r for r in range(max(r0, start), min(r1, len(rows) - 1) + 1)]
        data_rows = [r for r in data_rows if not _blank(rows[r])]
        columns = [c for c in range(c0, c1 + 1) if c in positions]
        if not data_rows or not columns or (len(data_rows) == 1 and len(columns) == 1):
            continue
        first = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
        reason = (
            f"in the merged cells {ref}, whose value is stored once for all of their rows and "
            "columns: unmerge the cells and fill in each one"
        )
        for r in data_rows:
            for c in columns:
                found.setdefault((r, c), (first or "", reason))
    return [
        Problem(file, r - start + top + 1, positions[c], value, reason)
        for (r, c), (value, reason) in sorted(found.items())
    ]


def _text(value: Any) -> str | None:
    """A cell value as text, faithfully."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
