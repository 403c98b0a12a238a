"""``corridor demo``: generate the demonstration world, ingest it, run every analysis, report."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corridor.errors import WorkspaceError

if TYPE_CHECKING:  # heavy (pyarrow, DuckDB) or slow to import (rich): imported when it runs
    from rich.console import Console

    from corridor.workspace import Workspace

MARKER = ".corridor-demo"
NINETY_FIVES = ["first_95", "second_95", "third_95"]


@click.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the world's sources, its truth, the workspace and the report.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=2024, show_default=True, help="Seed of the world."
)
def demo_command(out: Path, seed: int) -> None:
    """Build the demonstration world and run the whole job on it."""
    from rich.console import Console

    from corridor.demo import generate_world
    from corridor.storage.recordkeys import derive_record_keys
    from corridor.workspace import init_workspace

    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    _prepare(out)
    with console.status("generating the demonstration world…"):
        generate_world(out, seed=seed)
    manifest = json.loads((out / "sources" / "manifest.json").read_text(encoding="utf-8"))
    console.print(
        f"[bold]1. world[/] generated with seed {seed} in {out}/sources (truth in {out}/truth)"
    )
    ws = init_workspace(out)
    try:
        _ingest(console, ws, out, manifest)
        # record keys drawn from the seed: the demo's published outputs are reproducible
        derive_record_keys(ws.engine, seed)
        top = _analyses(console, ws, out)
        _accounts(console, ws, out)
    finally:
        ws.close()
    console.print(f"done in {time.perf_counter() - started:.0f} s. Next:")
    prog = _program()
    report = (out / "report.html").resolve()
    console.print(f"  open the report in a web browser: {report.as_uri()}")
    console.print(f"  {prog} -w {out} status")
    console.print(
        f"  {prog} -w {out} indicators --indicator first_95,second_95,third_95 "
        "--by country,population_group"
    )
    console.print(f"  {prog} -w {out} hotspots --top 10 --explain {top}")


def _accounts(console: Console, ws: Workspace, out: Path) -> None:
    """Demonstration accounts of the data hub; credentials in demo-users.csv, owner-only."""
    import csv
    import os

    from corridor.access.demo_accounts import CSV_COLUMNS, create_demo_accounts

    rows = create_demo_accounts(ws.engine)
    path = out / "demo-users.csv"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.chmod(path, 0o600)
    console.print(
        f"[bold]6. data hub[/] {len(rows)} demo accounts (admin, analyst, data manager, "
        f"partner); one-time credentials in {path} (readable by you only); serve with "
        f"`corridor -w {out} serve` (docs/api.md)"
    )


def _program() -> str:
    """How to call corridor again: by name when it is on PATH, else by its path (.venv/bin)."""
    if shutil.which("corridor"):
        return "corridor"
    here = Path(sys.argv[0])
    try:
        return str(here.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(here)


def _prepare(out: Path) -> None:
    """Start from a clean folder; never clobber a folder the demo did not make."""
    if out.exists():
        if not out.is_dir():
            raise WorkspaceError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise WorkspaceError(
                f"{out} is not empty and was not made by `corridor demo`; choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by corridor demo; deleted and rebuilt on the next run\n")


def _ingest(console: Console, ws: Workspace, out: Path, manifest: dict[str, Any]) -> None:
    planted = manifest.get("invalid_rows", [])
    quarantined: list[tuple[str, int | None, str | None, str]] = []
    for entry in manifest["files"]:
        path = out / "sources" / entry["path"]
        mapping = out / "sources" / entry["mapping"] if entry.get("mapping") else None
        with console.status(f"ingesting {entry['path']}…"):
            [r] = ws.ingest(
                [path], entry["kind"], format=entry["format"], mapping=mapping, quarantine=True
            )
        imported = r.rows_new + r.rows_replaced + r.rows_unchanged
        console.print(
            f"[bold]2. ingest[/] {entry['path']} ({r.format}) → {r.kind}: "
            f"{r.rows_read:,} rows read, {imported:,} imported, {r.rows_quarantined} quarantined"
        )
        quarantined += [(entry["path"], p.row, p.column, p.reason) for p in r.problems]
    rows = {(q[0], q[1]) for q in quarantined}
    expected = {(p["file"], p["row"]) for p in planted}
    verdict = "as planted" if rows == expected else f"planted: {len(expected)}"
    console.print(
        f"   {len(rows)} invalid row(s) caught by validation and quarantined ({verdict}):"
    )
    for file, row, column, reason in quarantined:
        console.print(f"     {file}, row {row}, column {column!r}: {reason}")


def _analyses(console: Console, ws: Workspace, out: Path) -> str:
    """Indicators, ranking and report; returns the top-ranked site's code."""
    from corridor.reports.html import write_report

    _cascade(console, ws)
    top = _hotspots(console, ws)
    with console.status("writing the report…"):
        path = write_report(ws, out / "report.html")
    console.print(f"[bold]5. report[/] {path}")
    return top


def _cascade(console: Console, ws: Workspace) -> None:
    """The 95-95-95 cascade of the latest year, migrants and mobile groups beside host people."""
    from corridor.indicators import compute_indicators, publish

    latest = ws.engine.scalar("SELECT MAX(period_end) FROM services", step="latest period")
    year = str(latest.year)
    with console.status("computing indicators…"):
        raw = compute_indicators(
            ws.engine,
            NINETY_FIVES,
            by=["population_group"],
            period=year,
            completeness=ws.settings.completeness_threshold,
            testing_min_age=ws.settings.testing_min_age,
        )
        table = publish(raw, ws.settings)
    console.print(
        f"[bold]3. indicators[/] 95-95-95 cascade by population group, all sites, {year}:"
    )
    for row in table.to_pylist():
        value = _num(row["value"], 1, row.get("value_flag"), "%")
        num = _num(row["numerator"], 0, row.get("numerator_flag"))
        den = _num(row["denominator"], 0, row.get("denominator_flag"))
        console.print(
            f"     {row['indicator']:<10} {row['population_group']:<20} {value:>7} ({num}/{den})"
        )


def _hotspots(console: Console, ws: Workspace) -> str:
    from corridor.hotspots import rank_sites

    with console.status("ranking spaces of vulnerability…"):
        result = rank_sites(ws.engine, testing_min_age=ws.settings.testing_min_age)
    console.print(
        "[bold]4. spaces of vulnerability[/] top 10 (expected new HIV infections per 1,000 a "
        f"year, {result.rate_interval_label}, P(top 10)):"
    )
    for row in result.table.slice(0, 10).to_pylist():
        console.print(hotspot_line(row))
    return str(result.table.column("place_code")[0].as_py())


def hotspot_line(row: dict[str, Any]) -> str:
    """One site of the demo's top 10: rank, name, rate and interval, P(top 10), main driver
    (in words: "service gap", or "none above the median site" for the ranking's "none")."""
    from corridor.hotspots.drivers import driver_label

    return (
        f"     {row['rank']:>2}. {row['name']:<32} {row['new_infections_per_1000']:.1f} "
        f"[{row['new_infections_per_1000_low']:.1f}-{row['new_infections_per_1000_high']:.1f}]"
        f" p={row['p_top10']:.2f}  driver: {driver_label(row['main_driver'])}"
    )


def _num(value: object, digits: int = 0, flag: object = None, unit: str = "") -> str:
    """A number as shown: a withheld value shows its flag ('<10' or 'suppressed')."""
    if isinstance(value, int | float):
        return f"{float(value):,.{digits}f}{unit}"
    return str(flag) if flag else "-"
