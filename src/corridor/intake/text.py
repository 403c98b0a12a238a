"""Decoding and sniffing of delimited text: UTF-8 (with or without BOM) or cp1252; , ; or tab."""

from __future__ import annotations

import csv
import io
import re

from corridor.errors import file_error

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


_NOT_BLANK = re.compile(rb"\S")


def has_text(data: bytes) -> bool:
    """Whether ``data`` holds anything but blanks (without copying it, as ``strip`` would)."""
    return _NOT_BLANK.search(data) is not None


def printable(text: str) -> str:
    """Control characters written as escapes (``\\x00``), safe on a terminal and in PostgreSQL."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def decode(data: bytes, file: str, *, partial: bool = False) -> str:
    """Decode bytes as UTF-8 (BOM stripped) or, failing that, Windows-1252 (old Excel).

    With ``partial``, ``data`` is the head of a file: a character cut at its end is dropped.
    """
    if b"\x00" in data[:4096]:
        raise file_error(file, "binary content, not a text file (NUL bytes found)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise file_error(
            file, f"cannot decode text as UTF-8 or Windows-1252 (byte {exc.start})"
        ) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; and tab outside quotes."""
    first = text.split("\n", 1)[0]
    counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delim: str) -> int:
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            n += 1
    return n


def read_rows(text: str, delimiter: str) -> list[list[str]]:
    """Parse delimited text into rows of cells (quoted fields may span lines).

    Raises :class:`UnclosedQuote` when the text ends inside a quoted field, naming where the
    record holding it began; other ``csv.Error`` s pass through.
    """
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 0  # the physical line the last complete record ended on
    try:
        for row in reader:
            rows.append(row)
            line = reader.line_num
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            raise
        raise unclosed_quote(text, delimiter, len(rows), line + 1) from None
    return rows


class UnclosedQuote(Exception):
    """A quoted field that is never closed: the record (0-based), its line, field and text."""

    def __init__(self, record: int, line: int, field: int, value: str) -> None:
        self.record, self.line, self.field, self.value = record, line, field, value
        super().__init__(f"quoted field opened on line {line} is never closed")


def unclosed_quote(text: str, delimiter: str, record: int, line: int) -> UnclosedQuote:
    """Find the field whose opening quote is never closed, in the record starting on ``line``."""
    start = 0
    for _ in range(line - 1):  # offset of the record's first line
        nl = text.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    field, field_start, quoted, i = 0, start, False, start
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text.startswith('"', i + 1):
                    i += 1
                else:
                    quoted = False
        elif ch == '"':
            quoted, field_start = True, i
        elif ch == delimiter:
            field, field_start = field + 1, i + 1
        elif ch == "\n":  # a record ended cleanly: the open quote is in a later one
            field, field_start, line = 0, i + 1, line + 1
            record += 1
        i += 1
    value = text[field_start + 1 : field_start + 41].split("\n", 1)[0]
    return UnclosedQuote(record, line, field, value)
