"""Serialising answers: JSON by default, CSV with ``Accept: text/csv`` or ``format=csv``."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response

from corridor.output import neutralise

Format = Literal["json", "csv"]
CSV_TYPE = "text/csv; charset=utf-8"
JSON_OR_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
}


def wants_csv(request: Request, fmt: Format | None) -> bool:
    return accepts_csv(request.headers.get("accept", ""), fmt)


def accepts_csv(accept: str, fmt: str | None) -> bool:
    """CSV for ``format=csv``, or without ``format`` for an Accept header naming text/csv and
    not application/json."""
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in accept and "application/json" not in accept


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, dates become ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def deep_clean(value: Any) -> Any:
    """``clean`` through nested dicts and lists."""
    if isinstance(value, dict):
        return {str(k): deep_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [deep_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return clean(value.item())
    return clean(value)


def clean_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: clean(v) for k, v in r.items()} for r in rows]


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None; text neutralised against formula injection (OWASP), as the
    CLI's CSV writes it: names, file names and quarantined values come from imported files."""
    if value is None:
        return ""
    value = clean(value)
    return neutralise(value) if isinstance(value, str) else value


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def table_response(
    request: Request,
    fmt: Format | None,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    extra: dict[str, Any] | None = None,
    key: str = "rows",
) -> Response:
    if wants_csv(request, fmt):
        return Response(csv_text(rows, columns), media_type=CSV_TYPE)
    body = {**(extra or {}), key: clean_rows(rows)}
    return Response(json.dumps(body, default=str), media_type="application/json")
