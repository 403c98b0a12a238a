"""What every command shares: finding the workspace, printing tables and errors, formats."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the workspace pulls in pyarrow and DuckDB: imported when a command opens it
    from rich.console import Console

    from corridor.workspace import Workspace


class _LazyConsole:
    """rich's stderr Console, created on first use: importing rich costs ~50 ms of start-up."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        return getattr(self._console, name)


err_console: Console = _LazyConsole()  # type: ignore[assignment]


class State:
    """Global options, resolved lazily into an open workspace."""

    def __init__(self, workspace: Path | None, db: str | None) -> None:
        self.workspace_path = workspace
        self.db = db
        self._ws: Workspace | None = None

    def open(self) -> Workspace:
        if self._ws is None:
            from corridor.workspace import open_workspace

            self._ws = open_workspace(self.workspace_path, db=self.db)
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None


def state(ctx: click.Context) -> State:
    obj = ctx.find_object(State)
    if obj is None:  # pragma: no cover - main() always sets it
        raise click.UsageError("internal: no CLI state")
    return obj


def workspace(ctx: click.Context) -> Workspace:
    return state(ctx).open()


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """A readable table on the terminal (plain text when not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # piped or redirected: do not squeeze columns to 80 characters
        console = Console(soft_wrap=True, width=240)
    console.print(table)


def write_output(text: str, out: Path | None) -> None:
    """Write to a file (--out) or to stdout."""
    if out is None:
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}")


def to_csv(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], tags: Sequence[str] | None = None
) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    if tags is not None:
        w.writerow(tags)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue()


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
