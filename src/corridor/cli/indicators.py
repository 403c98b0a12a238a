"""``corridor indicators``: migrant-disaggregated HIV and outbreak indicators, with targets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from corridor.cli.common import err_console, print_table, to_csv, to_json, workspace, write_output
from corridor.contract.dimensions import QUERY_DIMENSIONS
from corridor.contract.formats import INDICATOR_FORMATS
from corridor.errors import QueryError

FORMATS = INDICATOR_FORMATS
DIMENSIONS = QUERY_DIMENSIONS

_LIST_COLUMNS = ("id", "name", "numerator", "denominator", "unit", "target", "source", "definition")


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _targets(items: tuple[str, ...]) -> dict[str, float]:
    from corridor.indicators.registry import resolve_ids

    out: dict[str, float] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError
            value = float(raw)
            if not math.isfinite(value) or value < 0:
                raise ValueError
        except ValueError:
            raise QueryError(
                f"bad --target {item!r}: expected ID=PERCENT (a finite percentage >= 0), "
                "e.g. first_95=90"
            ) from None
        out[resolve_ids([key])[0].id] = value
    return out


@click.command("indicators")
@click.option("--list", "list_", is_flag=True, help="List the indicators and their definitions.")
@click.option(
    "-i",
    "--indicator",
    "indicator",
    metavar="ID[,ID...]",
    help="Indicators to compute (see --list), or a group: cascade, all.",
)
@click.option(
    "--by",
    default="",
    metavar="DIM[,DIM...]",
    help=f"Group by any of: {', '.join(DIMENSIONS)}.",
)
@click.option(
    "--period",
    metavar="P",
    help="2024, 2024Q2, 2024-05, or a range 2023Q1:2024Q4 (default: all data). With period in "
    "--by: one row per quarter/month/year of P (quarters by default).",
)
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(FORMATS))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file.")
@click.option(
    "--unsuppressed",
    is_flag=True,
    help="Show small counts (no disclosure control). Warns, and is recorded in the audit log.",
)
@click.option(
    "--totals/--no-totals",
    default=True,
    show_default=True,
    help="Add margins: total rows over each grouped dimension and an all-places row.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ID=PERCENT",
    help="Override an indicator's default target (repeatable).",
)
@click.pass_context
def indicators_command(
    ctx: click.Context,
    list_: bool,
    indicator: str | None,
    by: str,
    period: str | None,
    fmt: str,
    out: Path | None,
    unsuppressed: bool,
    totals: bool,
    targets: tuple[str, ...],
) -> None:
    """Indicators with numerators, denominators, targets and gaps, by place, period and group.

    Every count is protected by the workspace's disclosure control (docs/disclosure.md): by
    default the cell-key method (each count changed by a little noise, the same cell the same in
    every output, no count from 1 to 9 published); with disclosure_method = suppression, counts
    1-9 shown as <10 and more withheld so that those cannot be worked out from totals.
    """
    from corridor.indicators import compute_indicators, publish
    from corridor.indicators.aggregate import parse_by
    from corridor.indicators.disclosure import disclosure_note
    from corridor.indicators.export import check_export, write_export
    from corridor.indicators.registry import resolve_ids

    if list_:
        _list(fmt, out)
        return
    ids = _split(indicator)
    if not ids:
        raise QueryError("name the indicators with --indicator ID[,ID...] (see --list)")
    dims = parse_by(_split(by))
    check_export(fmt, dims)  # a grouping the format cannot carry: refused before any work
    chosen = resolve_ids(ids)
    ws = workspace(ctx)
    raw = compute_indicators(
        ws.engine,
        ids,
        dims,
        period,
        totals=totals,
        targets=_targets(targets),
        completeness=ws.settings.completeness_threshold,
        testing_min_age=ws.settings.testing_min_age,
    )
    threshold = ws.settings.suppression_threshold
    query = {
        "indicators": [i.id for i in chosen],
        "by": dims,
        "period": period or "all",
        "totals": totals,
    }
    if unsuppressed:
        err_console.print(
            "[bold yellow]warning:[/] UNSUPPRESSED output: small counts are shown. Keep it to "
            "yourself; this is recorded in the workspace's audit log.",
            highlight=False,
        )
        ws.audit(
            "unsuppressed_output",
            {
                "command": "indicators",
                **query,
                "format": fmt,
                "out": str(out) if out is not None else "stdout",
                "rows": raw.num_rows,
            },
        )
        table = raw
    else:
        table = publish(raw, ws.settings)
    if fmt == "table":
        _print(table, dims, unsuppressed, threshold, out)
        return
    notes: list[str] = []
    write_output(
        lambda stream: notes.extend(
            write_export(
                table, fmt, stream, engine=ws.engine, unsuppressed=unsuppressed, query=query
            )
        ),
        out,
    )
    for note in notes:  # values left out (DHIS2/ADX: no org unit)
        err_console.print(f"[bold yellow]note:[/] {note}", highlight=False)
    if not unsuppressed:  # every output says how it was protected (JSON also in its body)
        err_console.print(disclosure_note(table), highlight=False)


def _print(
    table: Any, dims: list[str], unsuppressed: bool, threshold: int, out: Path | None
) -> None:
    from corridor.indicators.disclosure import disclosure_note
    from corridor.indicators.export import columns_of, rows

    data = rows(table, unsuppressed=unsuppressed, digits=1)
    cols = [c for c in columns_of(table) if c != "unit"]
    if all(r.get("place_name") is None for r in data):
        cols.remove("place_name")
    for d in ("sex", "age_band", "population_group"):
        if d not in dims:
            cols.remove(d)
    if not data:
        err_console.print("no data for this query")
    # rates are percentages and gaps percentage points: say so in the header, where it is read
    units = {"value": "value (%)", "target": "target (%)", "gap": "gap (points)"}
    if {r.get("unit") for r in data} - {"percent"}:  # another unit: show it on every row
        units = {}
        cols.insert(cols.index("value") + 1, "unit")
    data = [{units.get(k, k): v for k, v in r.items()} for r in data]
    print_table(data, [units.get(c, c) for c in cols], out=out)
    if not unsuppressed:
        err_console.print(disclosure_note(table), highlight=False)


def _list(fmt: str, out: Path | None) -> None:
    from corridor.indicators.export import REGISTRY_HXL_TAGS, number, registry_rows

    data = registry_rows()
    for r in data:
        r["target"] = number(r["target"], 1)
    if fmt == "json":
        write_output(to_json(data), out)
    elif fmt == "csv":
        write_output(to_csv(data, _LIST_COLUMNS), out)
    elif fmt == "hxl":  # CSV with the hashtag row under the header
        tags = [REGISTRY_HXL_TAGS[c] for c in _LIST_COLUMNS]
        write_output(to_csv(data, _LIST_COLUMNS, tags), out)
    elif fmt == "table":
        write_output(
            "".join(  # (each definition then a blank line, as before)
                f"{r['id']}: {r['name']}\n  = {r['numerator']} / {r['denominator']} "
                f"({r['unit']}; target {r['target'] if r['target'] is not None else 'none'})\n"
                f"  {r['definition']}\n  source: {r['source']}\n\n"
                for r in data
            ),
            out,
        )
    else:
        raise QueryError(f"--list prints as table, csv, json or hxl, not {fmt}")
