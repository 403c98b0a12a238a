"""The explorer's table as an XLSX workbook (openpyxl): the rows shown, as shown.

Sheet ``indicators`` holds the table (numbers as numbers, withheld values as their text, e.g.
``<10``); sheet ``about`` the query, the disclosure note and when it was written. Every text
cell is stored as text, never as a formula (a place name starting with ``=`` stays a name);
control characters, which a worksheet cannot hold, are dropped.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font

from corridor import __version__
from corridor.web.explorer_query import Answer, api_query_string


def _set(cell: Cell, value: Any) -> None:
    if isinstance(value, bool):
        cell.value = "true" if value else "false"
    elif isinstance(value, int | float):
        cell.value = value
    elif value is None:
        cell.value = None
    else:
        # control characters cannot be stored in a worksheet: dropped, not a failed download
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        cell.data_type = "s"  # never a formula


def _sheet_rows(ws: Any, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    for j, c in enumerate(columns, start=1):
        _set(ws.cell(row=1, column=j), c)
        ws.cell(row=1, column=j).font = Font(bold=True)
    for i, r in enumerate(rows, start=2):
        for j, c in enumerate(columns, start=1):
            _set(ws.cell(row=i, column=j), r.get(c))
    ws.freeze_panes = "A2"


def xlsx_of(answer: Answer) -> bytes:
    """The workbook's bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = "indicators"
    _sheet_rows(ws, answer.columns, answer.rows)
    about = wb.create_sheet("about")
    facts = [
        ("query", api_query_string(answer.query)),
        ("rows", len(answer.rows)),
        ("disclosure control", json.dumps(answer.disclosure, sort_keys=True)),
        ("written", datetime.now(UTC).isoformat(timespec="seconds")),
        ("written by", f"Corridor {__version__} dashboard"),
    ]
    for i, (k, v) in enumerate(facts, start=1):
        _set(about.cell(row=i, column=1), k)
        _set(about.cell(row=i, column=2), v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
