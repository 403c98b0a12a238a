"""The DTM flow-monitoring registry as a long table -> flows rows.

Header (any case, ``,`` ``;`` or tab): ``t, fmp, fmp_country, movement, origin, next, final, sex,
age, n`` and optionally ``group`` and ``mode``. ``t`` is a year (``2024``: 1 January to 31
December, never its first day alone), a month (``2024-03``: first to last day) or a day
(``2024-03-15``). ``fmp`` is a flow-monitoring point code (mapping ``fmp``, then
places.fmp_code) or a place code. ``origin`` and ``final`` (``next`` when ``final`` is empty)
are place codes or ISO3 country codes, or translated by the mapping's ``locations``.
``fmp_country`` is informative only. Row numbers count data lines after the header from 1.

Other names (:data:`ALIASES`, compared in any case and without blanks, ``_``, ``-`` and ``.``,
as :func:`corridor.contract.schema.normalised_name` compares them): ``date``/``month`` of
``t``, ``count`` of ``n``, and the names of the flows contract's dimensions that DTM exports
use: ``gender`` of ``sex``, ``age_band``/``age_group``/``age_range`` of ``age``,
``population_group``/``key_population`` of ``group``. Their values are read into the dimension
(a value that is not one is a problem naming its row, the file's column and the value), never
summed into totals.

Columns that are not read (a dimension the flows contract does not have, ``nationality``; and
``next`` where ``final`` is given, ``fmp_country``) are not imported: two rows that differ only
in them would be one flow, so each such row after the first is a problem naming the column
(validation would otherwise keep one of two equal counts, or call them a conflict).

The same registry saved as an Excel workbook (``dtm-fmr-xlsx``, :func:`read_dtm_xlsx`) is read
by the XLSX reader's functions and then by these rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from corridor.contract.schema import FLOWS, normalised_name
from corridor.errors import InputError, Problem, file_error
from corridor.intake import codes
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.tidy import header_row, read_grid
from corridor.intake.wrongformat import format_hint, require_delimited

REQUIRED = ("t", "fmp", "movement", "n")
OPTIONAL = ("fmp_country", "origin", "next", "final", "sex", "age", "group", "mode")
ALIASES = {
    "date": "t",
    "month": "t",
    "count": "n",
    "gender": "sex",
    "age_band": "age",
    "age_group": "age",
    "age_range": "age",
    "population_group": "group",
    "key_population": "group",
}
#: a header as the reader compares it (:func:`normalised_name`) -> the DTM column it names
_NAMES = {normalised_name(n): n for n in (*REQUIRED, *OPTIONAL)} | {
    normalised_name(a): n for a, n in ALIASES.items()
}
_WORKBOOK = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def read_dtm(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    file = ctx.display_name
    _require_flows(kind, file)
    require_delimited(data, file)
    grid = read_grid(data, file)
    return _read(grid, _header(grid, file), kind, ctx)


def read_dtm_xlsx(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    """A DTM registry in an Excel workbook: the sheet named ``flows``, else the first, read by
    the XLSX reader (formulas never evaluated, merged cells and formulas without a stored
    value are problems, every row whatever the sheet's stored dimension), then as a DTM CSV.
    Rows are numbered as in the CSV (and in a tidy workbook): the row after the header is row
    1, Excel's row 2. A ``t`` date that the sheet shows without its day is read as the sheet
    shows it (:func:`_dates_shown`): as a month (number format ``mmm-yy``) when it is a
    month's first day, as a year (``yyyy``) when it is 1 January, else a problem (the sheet
    shows a month or a year, the cell holds a day)."""
    from corridor.intake.xlsx import cell_problems, grid_of, sheet_rows

    file = ctx.display_name
    _require_flows(kind, file)
    if not data.startswith(_WORKBOOK):
        raise file_error(file, f"not an XLSX workbook (not a zip archive){format_hint(path, data)}")
    sheet = sheet_rows(data, kind, file, coarse_dates=True)
    grid = grid_of(sheet.rows)
    header = _header(grid, file)
    grid, months = _dates_shown(grid, header, sheet.coarse_dates, file)
    table = _read(grid, header, kind, ctx)
    table.format = "dtm-fmr-xlsx"
    read = {grid.columns.index(c): header.labels[n] for c, n in header.names.items()}
    table.problems.extend(months)
    table.problems.extend(cell_problems(sheet, read, header.top, header.top + 1, file))
    return table


def _require_flows(kind: str, file: str) -> None:
    if kind != "flows":
        raise file_error(file, "a DTM flow-monitoring registry holds flows: use --kind flows")


@dataclass(slots=True)
class _Header:
    top: int  # the header's row index in the grid
    names: dict[str, str] = field(default_factory=dict)  # grid column -> DTM column
    labels: dict[str, str] = field(default_factory=dict)  # DTM column -> header as the file has it
    ignored: dict[str, str] = field(default_factory=dict)  # grid column -> header (not read)


def _header(grid: pl.DataFrame, file: str) -> _Header:
    top = header_row(grid, file)  # empty lines before the header are skipped
    out = _Header(top)
    twice: list[Problem] = []
    for col, cell in zip(grid.columns, grid.row(top), strict=True):
        label = (cell or "").strip().lower()
        name = _NAMES.get(normalised_name(label))
        if name is None:
            if label:
                out.ignored[col] = label
            elif _holds_values(grid[col].slice(top + 1)):
                out.ignored[col] = f"column {grid.columns.index(col) + 1} (no header)"
        elif name in out.names.values():  # the same column twice (or an alias): which is meant?
            twice.append(Problem(file, None, label, None, f"duplicate column for {name!r}"))
        else:
            out.names[col] = name
            out.labels[name] = label
    if twice:
        raise InputError(twice, summary=f"{file}: the DTM header names a column more than once")
    missing = [c for c in REQUIRED if c not in out.names.values()]
    if missing:
        raise InputError(
            [Problem(file, None, c, None, "required column missing") for c in missing],
            summary=f"{file}: not a DTM flow-monitoring registry "
            "(expected columns t, fmp, movement, n; optional fmp_country, origin, next, final, "
            "sex, age, group, mode)",
        )
    return out


def _holds_values(column: pl.Series) -> bool:
    return bool((column.cast(pl.Utf8).str.strip_chars().fill_null("") != "").any())


def _read(grid: pl.DataFrame, header: _Header, kind: str, ctx: ReadContext) -> RawTable:
    top, names = header.top, header.names
    # row numbers count from the header row, so the empty lines before it keep their numbers
    body = grid.slice(top + 1).with_columns(
        pl.int_range(top + 1, grid.height, dtype=pl.Int64).alias(ROW)
    )
    # what is read but not imported, to find rows that differ only there (_dropped_rows)
    dropped = {f"_dropped_{i}": c for i, c in enumerate(header.ignored)}
    body = body.select(
        *[pl.col(c).str.strip_chars().alias(n) for c, n in names.items()],
        *[pl.lit(None, dtype=pl.Utf8).alias(n) for n in OPTIONAL if n not in names.values()],
        *[pl.col(c).cast(pl.Utf8).str.strip_chars().alias(d) for d, c in dropped.items()],
        ROW,
    )
    body = body.filter(pl.any_horizontal(pl.col(n).fill_null("") != "" for n in names.values()))
    unread = {d: (header.ignored[c], _NO_DIMENSION) for d, c in dropped.items()}
    if "final" in header.labels and "next" in header.labels:  # next: only where final is given
        given = pl.col("final").fill_null("") != ""
        body = body.with_columns(pl.when(given).then(pl.col("next")).alias("_dropped_next"))
        unread["_dropped_next"] = (header.labels["next"], _FINAL_ONLY)
    if "fmp_country" in header.labels:
        body = body.with_columns(pl.col("fmp_country").alias("_dropped_fmp_country"))
        unread["_dropped_fmp_country"] = (header.labels["fmp_country"], _INFORMATIVE)
    table = _translate(body, kind, ctx, header.labels, extra=list(unread))
    table.problems.extend(_dropped_rows(table, unread))
    table.frame = table.frame.drop(list(unread))
    ignored = list(header.ignored.values())
    if ignored:
        table.warnings.append(
            f"ignored column(s) not in the DTM registry: {', '.join(ignored)}; {IGNORED_SAYS}"
        )
    return table


#: what the warning about ignored columns says of them
IGNORED_SAYS = (
    "their values are not imported and no count is summed over them (the flows contract has "
    "no such dimension): rows that differ only in them are problems"
)
_NO_DIMENSION = "the flows contract has no such dimension"
_FINAL_ONLY = "the flows contract keeps the final destination only"
_INFORMATIVE = "it is informative only"


def _dropped_rows(table: RawTable, unread: dict[str, tuple[str, str]]) -> list[Problem]:
    """A problem for each row that is the same flow (the flows key, as read) as an earlier row
    but differs from it in a column that is not imported (``unread``: the frame's column ->
    the column as the file names it, and why it is not imported): stored, the two would be
    one flow, and validation would keep one of two equal counts or call two others a
    conflict. Rows with a problem already are left out."""
    if not unread:
        return []
    frame = table.frame
    invalid = [p.row for p in table.problems if p.row is not None]
    if invalid:
        frame = frame.filter(~pl.col(ROW).is_in(invalid))
    keys = []
    for i, name in enumerate(FLOWS.key):
        text = pl.col(name).cast(pl.Utf8).fill_null("").str.strip_chars().str.to_lowercase()
        default = FLOWS.column(name).default or ""
        keys.append(pl.when(text == "").then(pl.lit(default)).otherwise(text).alias(f"_key{i}"))
    cells = [pl.col(c).fill_null("").alias(c) for c in unread]
    keyed = frame.select(*keys, *cells, ROW)
    over = [f"_key{i}" for i in range(len(FLOWS.key))]
    both = pl.concat_str(list(unread), separator="\x1f")
    keyed = keyed.with_columns(
        both.alias("_all"),
        pl.col(ROW).first().over(over).alias("_first"),
        *[pl.col(c).first().over(over).alias(f"{c}_first") for c in unread],
    ).with_columns(pl.col("_all").first().over(over).alias("_all_first"))
    bad = keyed.filter(pl.col("_all") != pl.col("_all_first"))
    out: list[Problem] = []
    for row in bad.select(ROW, "_first", *unread, *[f"{c}_first" for c in unread]).iter_rows(
        named=True
    ):
        column = next(c for c in unread if row[c] != row[f"{c}_first"])
        label, why = unread[column]
        out.append(
            Problem(
                table.file,
                int(row[ROW]),
                label,
                row[column],
                f"the same flow as row {row['_first']}, which has {row[f'{column}_first']!r} in "
                f"this column: the column is not imported ({why}), so the two rows would be "
                "one flow and a count would be lost; add their counts up in one row",
            )
        )
    return out


_MONTH_START = re.compile(r"^\d{4}-\d{2}-01$")
_YEAR_START = re.compile(r"^\d{4}-01-01$")
_ALPHANUMERIC = re.compile(r"\w")


def _dates_shown(
    grid: pl.DataFrame, header: _Header, coarse: dict[tuple[int, int], str], file: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """``t`` cells holding a date that the sheet shows without its day, read as the sheet shows
    them. Shown as a month (``mmm-yy``: Excel makes ``2024-03`` typed in a cell the date 1 March
    2024, shown ``Mar-24``), the month when the date is a first day; shown as a year
    (``yyyy``), the year when it is 1 January. Otherwise a problem: the sheet shows a month or
    a year, the cell holds a day, and which is meant cannot be told; so is a year shown with
    text of the number format's own (``"Q1 "yyyy``: the text may name a part of the year)."""
    from corridor.intake.xlsx import coarse_date_reason, date_shown_as, format_text

    col = next((c for c, n in header.names.items() if n == "t"), None)
    if col is None or not coarse:
        return grid, []
    index = grid.columns.index(col)
    label = header.labels["t"]
    at: list[int] = []
    values: list[str] = []
    problems: list[Problem] = []
    for (r, c), number_format in sorted(coarse.items()):
        if c != index or r <= header.top:
            continue
        text = grid[col][r]
        unit = date_shown_as(number_format)
        if unit == "month" and text is not None and _MONTH_START.match(text):
            at.append(r)
            values.append(text[:7])
            continue
        own = format_text(number_format)
        if unit == "year" and text is not None and _YEAR_START.match(text):
            if not _ALPHANUMERIC.search(own):
                at.append(r)
                values.append(text[:4])
                continue
            why = (
                f"a date shown as a year with text of its own (number format "
                f"{number_format!r}): the sheet shows {own.strip()!r} beside the year, which "
                "may name a part of it; write the period as text (YYYY or YYYY-MM) or show "
                "the day"
            )
        else:
            why = coarse_date_reason(number_format)
        problems.append(Problem(file, r, label, text, why))
    if at:
        column = grid[col].clone()
        column.scatter(at, values)
        grid = grid.with_columns(column)
    return grid, problems


def _translate(
    frame: pl.DataFrame,
    kind: str,
    ctx: ReadContext,
    labels: dict[str, str],
    extra: Sequence[str] = (),
) -> RawTable:
    file, mapping = ctx.display_name, ctx.mapping
    problems: list[Problem] = []
    # t -> period_start / period_end
    spans: dict[str, tuple[str, str]] = {}
    bad_t: dict[str, str] = {}
    for t in frame["t"].drop_nulls().unique().to_list():
        if t.strip():
            try:
                spans[t] = codes.year_month_or_day(t)
            except ValueError as exc:
                bad_t[t] = str(exc)
    starts = {t: s[0] for t, s in spans.items()}
    ends = {t: s[1] for t, s in spans.items()}
    frame = frame.with_columns(
        pl.col("t").replace(starts).alias("period_start"),
        pl.col("t").replace(ends).alias("period_end"),
    )
    problems += codes.rows_with(
        frame,
        "t",
        list(bad_t),
        file=file,
        label=labels.get("t", "t"),
        reason=bad_t.__getitem__,
    )
    fmp = codes.section(mapping, "fmp")
    crosswalk = codes.Lookup(ctx.fmp_places)

    def observation(value: str) -> str | None:
        found = fmp.get(value)
        if found is None:
            found = crosswalk.get(value)
        return str(found).lower() if found is not None else value.lower()

    destination = pl.when(pl.col("final").fill_null("") != "").then("final").otherwise("next")
    frame = frame.with_columns(destination.alias("_dest"))
    steps = [
        ("fmp", "observation_code", observation, None),
        ("movement", "direction", codes.movement_resolver(mapping), _MOVEMENT_REASON),
        ("origin", "origin_code", codes.location_resolver(mapping), None),
        ("_dest", "destination_code", codes.location_resolver(mapping), None),
        ("sex", "sex", codes.sex_resolver(mapping), codes.DIMENSION_REASONS["sex"]),
        ("age", "age_band", codes.age_resolver(mapping), codes.DIMENSION_REASONS["age_band"]),
        (
            "group",
            "population_group",
            codes.group_resolver(mapping),
            codes.DIMENSION_REASONS["population_group"],
        ),
        ("mode", "mode", codes.mode_resolver(mapping), _MODE_REASON),
    ]
    for source, target, resolve, reason in steps:
        frame, bad = codes.translate(
            frame,
            source,
            target,
            resolve,
            file=file,
            label=labels.get(source, source),
            reason=reason or "cannot be translated",
            keep=target in _REQUIRED_TARGETS,
        )
        problems += bad
    frame = frame.with_columns(pl.col("n").alias("count"))
    columns = FLOWS.names
    return RawTable(
        file,
        "dtm-fmr",
        kind,
        frame.select(*columns, ROW, *extra),
        problems=problems,
        mapping=dict(mapping) if mapping else None,
    )


_REQUIRED_TARGETS = ("observation_code", "direction")
_MOVEMENT_REASON = (
    "unknown movement: expected incoming, outgoing or transit (also in, out, entry, exit), "
    "or add it to the mapping's movement section"
)
_MODE_REASON = (
    "unknown mode of transport: expected truck, bus, car, foot, boat, rail, air or other, "
    "or add it to the mapping's mode section"
)
