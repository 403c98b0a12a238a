"""What every command shares: finding the workspace, printing tables and errors, formats."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from corridor.errors import CorridorError
from corridor.output import neutralise, output_file

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

#: Something that writes bytes to a binary stream (a streaming exporter) and returns nothing.
Writer = Callable[[BinaryIO], None]


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

    def protected_files(self) -> list[Path]:
        """The workspace's own files, which no output may overwrite."""
        from corridor.workspace import find_workspace, workspace_files

        folder = self._ws.path if self._ws is not None else self.workspace_path
        if folder is None:
            try:
                folder = find_workspace()
            except CorridorError:
                return []
        return workspace_files(folder, self._ws.engine.url if self._ws is not None else None)

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
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    title: str | None = None,
    out: Path | None = None,
) -> None:
    """A readable table on the terminal (plain text when not a terminal); with ``out``, the
    same plain text written to that file (:func:`write_output`), not dropped."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    if out is not None:
        text = io.StringIO()
        Console(file=text, soft_wrap=True, width=240, color_system=None).print(table)
        write_output(text.getvalue(), out)
        return
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # piped or redirected: do not squeeze columns to 80 characters
        console = Console(soft_wrap=True, width=240)
    console.print(table)


def write_output(text: str | bytes | Writer, out: Path | None) -> None:
    """Write text (or what a ``Writer`` writes to a binary stream) to ``--out`` or to stdout.

    The one output writer of every command: a file is written whole or not at all (a temporary
    file beside it, then renamed), a place that cannot be written is a clean error (exit 2), and
    the workspace's own files (settings, warehouse) are never written over.
    """
    ctx = click.get_current_context(silent=True)
    st = ctx.find_object(State) if ctx is not None else None
    protected = st.protected_files() if st is not None else []
    if out is None:
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is None:  # a text-only stdout (tests that capture it as text)
            sys.stdout.write(_as_text(text))
            return
        sys.stdout.flush()
        last = _emit(text, stream)
        if last not in (b"", b"\n"):
            stream.write(b"\n")
        stream.flush()
        return
    with output_file(out, protected) as stream:
        _emit(text, stream)
    err_console.print(f"wrote {out}", highlight=False)


def to_csv(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], tags: Sequence[str] | None = None
) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    if tags is not None:
        w.writerow(tags)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    """A CSV cell: empty for None; text neutralised against formula injection (OWASP)."""
    if v is None:
        return ""
    return neutralise(v) if isinstance(v, str) else v


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"


def _emit(text: str | bytes | Writer, stream: BinaryIO) -> bytes:
    """Write to ``stream``; returns the last byte written (b"" when nothing was)."""
    if callable(text):
        tail = _Tail(stream)
        text(tail)  # type: ignore[arg-type]
        return tail.last
    data = text.encode("utf-8") if isinstance(text, str) else text
    stream.write(data)
    return data[-1:]


def _as_text(text: str | bytes | Writer) -> str:
    if callable(text):
        buf = io.BytesIO()
        text(buf)
        return buf.getvalue().decode("utf-8")
    return text.decode("utf-8") if isinstance(text, bytes) else text


class _Tail:
    """A binary stream that remembers the last byte written to it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.last = b""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        if len(view):
            self.last = bytes(view[-1:])
        return self._stream.write(data)
