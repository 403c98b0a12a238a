"""Decoding and sniffing of delimited text: UTF-8 (with or without BOM) or cp1252; , ; or tab."""

from __future__ import annotations

import csv
import io

from corridor.errors import file_error


def decode(data: bytes, file: str) -> str:
    """Decode bytes as UTF-8 (BOM stripped) or, failing that, Windows-1252 (old Excel)."""
    if b"\x00" in data[:4096]:
        raise file_error(file, "binary content, not a text file (NUL bytes found)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
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
    """Parse delimited text into rows of cells (quoted fields may span lines)."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
