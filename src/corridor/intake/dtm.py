"""The DTM flow-monitoring registry as a long table -> flows rows.

Header (any case, ``,`` ``;`` or tab): ``t, fmp, fmp_country, movement, origin, next, final, sex,
age, n`` and optionally ``group`` and ``mode``. ``t`` is a month (``2024-03``: first to last day)
or a day (``2024-03-15``). ``fmp`` is a flow-monitoring point code (mapping ``fmp``, then
places.fmp_code) or a place code. ``origin`` and ``final`` (``next`` when ``final`` is empty) are
place codes or ISO3 country codes, or translated by the mapping's ``locations``. ``fmp_country``
is informative only. ``gender`` is another name of ``sex`` (as ``date``/``month`` of ``t``):
the flows contract has a sex dimension, so its values are read into it (``Male``/``Female``,
``M``/``F``, ...; a value that is not a sex is a problem naming its row, the file's column and
the value), never summed into totals. Row numbers count data lines after the header from 1.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from corridor.contract.schema import FLOWS
from corridor.errors import InputError, Problem, file_error
from corridor.intake import codes
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.tidy import header_row, read_grid
from corridor.intake.wrongformat import require_delimited

REQUIRED = ("t", "fmp", "movement", "n")
OPTIONAL = ("fmp_country", "origin", "next", "final", "sex", "age", "group", "mode")
ALIASES = {"date": "t", "month": "t", "count": "n", "population_group": "group", "gender": "sex"}


def read_dtm(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    file = ctx.display_name
    if kind != "flows":
        raise file_error(file, "a DTM flow-monitoring registry holds flows: use --kind flows")
    require_delimited(data, file)
    grid = read_grid(data, file)
    top = header_row(grid, file)  # empty lines before the header are skipped
    header = [(c or "").strip().lower() for c in grid.row(top)]
    names: dict[str, str] = {}  # grid column -> DTM column
    labels: dict[str, str] = {}  # DTM column -> the header as the file writes it (problems name it)
    twice: list[Problem] = []
    for col, label in zip(grid.columns, header, strict=True):
        name = ALIASES.get(label, label)
        if name in names.values():  # the same column twice (or under an alias): which is meant?
            twice.append(Problem(file, None, label, None, f"duplicate column for {name!r}"))
        elif name in (*REQUIRED, *OPTIONAL):
            names[col] = name
            labels[name] = label
    if twice:
        raise InputError(twice, summary=f"{file}: the DTM header names a column more than once")
    missing = [c for c in REQUIRED if c not in names.values()]
    if missing:
        raise InputError(
            [Problem(file, None, c, None, "required column missing") for c in missing],
            summary=f"{file}: not a DTM flow-monitoring registry "
            "(expected columns t, fmp, movement, n; optional fmp_country, origin, next, final, "
            "sex, age, group, mode)",
        )
    # row numbers count from the header row, so the empty lines before it keep their numbers
    body = grid.slice(top + 1).with_columns(
        pl.int_range(top + 1, grid.height, dtype=pl.Int64).alias(ROW)
    )
    body = body.select(
        *[pl.col(c).str.strip_chars().alias(n) for c, n in names.items()],
        *[pl.lit(None, dtype=pl.Utf8).alias(n) for n in OPTIONAL if n not in names.values()],
        ROW,
    )
    body = body.filter(pl.any_horizontal(pl.col(n).fill_null("") != "" for n in names.values()))
    table = _translate(body, kind, ctx, labels)
    ignored = [h for c, h in zip(grid.columns, header, strict=True) if c not in names and h]
    if ignored:
        table.warnings.append(f"ignored column(s) not in the DTM registry: {', '.join(ignored)}")
    return table


def _translate(
    frame: pl.DataFrame, kind: str, ctx: ReadContext, labels: dict[str, str]
) -> RawTable:
    file, mapping = ctx.display_name, ctx.mapping
    problems: list[Problem] = []
    # t -> period_start / period_end
    spans = {
        t: codes.month_or_day(t) for t in frame["t"].drop_nulls().unique().to_list() if t.strip()
    }
    bad_t = [t for t, span in spans.items() if span is None]
    starts = {t: s[0] for t, s in spans.items() if s is not None}
    ends = {t: s[1] for t, s in spans.items() if s is not None}
    frame = frame.with_columns(
        pl.col("t").replace(starts).alias("period_start"),
        pl.col("t").replace(ends).alias("period_end"),
    )
    problems += codes.rows_with(
        frame,
        "t",
        bad_t,
        file=file,
        label=labels.get("t", "t"),
        reason="not a month (YYYY-MM) or a date (YYYY-MM-DD)",
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
        frame.select(*columns, ROW),
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
