"""Decoding and sniffing of delimited text: UTF-8 (with or without BOM) or cp1252; , ; or tab."""

from __future__ import annotations

import codecs
import csv
import io
import re

from corridor.errors import file_error

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


_NOT_BLANK = re.compile(rb"\S")
#: fully empty lines (or blanks only) at the start of a text
_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)*")


def has_text(data: bytes) -> bool:
    """Whether ``data`` holds anything but blanks (without copying it, as ``strip`` would)."""
    return _NOT_BLANK.search(data) is not None


def printable(text: str) -> str:
    """Control characters written as escapes (``\\x00``), safe on a terminal and in PostgreSQL."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


#: why a UTF-16 file (Excel's "Unicode Text", some Windows tools) is refused
UTF16_REASON = (
    "UTF-16 text (Excel's 'Unicode Text', some Windows tools), not UTF-8: save the file as "
    "UTF-8 (in Excel: Save As, 'CSV UTF-8'; in a text editor: encoding UTF-8) and import it again"
)


#: two ASCII characters (text, not NUL) in UTF-16 without a byte-order mark, little- or
#: big-endian (``<\0?\0``, ``\0<\0?``)
_UTF16_ASCII = re.compile(rb"(?:[\t\n\r\x20-\x7e]\x00){2}|(?:\x00[\t\n\r\x20-\x7e]){2}")


def is_utf16(data: bytes) -> bool:
    """Whether ``data`` is UTF-16 text: it starts with a UTF-16 byte-order mark (little- or
    big-endian), or, without one, with two ASCII characters written as UTF-16 (the XML and
    JSON parsers read such a file as UTF-16 without a mark)."""
    return data[:2] in (b"\xff\xfe", b"\xfe\xff") or _UTF16_ASCII.match(data) is not None


def decode(data: bytes, file: str, *, partial: bool = False) -> str:
    """Decode bytes as UTF-8 (BOM stripped) or, failing that, Windows-1252 (old Excel).

    A file that is not valid UTF-8 but holds UTF-8 characters (a UTF-8 file with a stray
    Windows-1252 byte, or two files pasted together) is refused, naming the line and byte of the
    first invalid byte: read as Windows-1252, every one of its UTF-8 characters would be garbled
    (``Mũrang’a`` -> ``MÅ©rangâ€™a``). Valid UTF-8 is decoded in one pass, as before; only a
    file that fails is looked at again. With ``partial``, ``data`` is the head of a file: a
    character cut at its end is dropped.
    """
    if is_utf16(data):
        raise file_error(file, UTF16_REASON)
    if b"\x00" in data[:4096]:
        raise file_error(file, "binary content, not a text file (NUL bytes found)")
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if bom:
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")
        if bom or _holds_utf8(data):
            raise file_error(file, _mixed_reason(data, exc.start, bom)) from None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise file_error(
            file, f"cannot decode text as UTF-8 or Windows-1252 (byte {exc.start})"
        ) from None


_BLOCK = 1 << 20


def _holds_utf8(data: bytes) -> bool:
    """Whether ``data`` holds a valid multi-byte UTF-8 sequence.

    Decoded a block at a time with invalid bytes kept as one character each
    (``surrogateescape``): a block decodes to fewer characters than it has bytes exactly when a
    valid sequence of two or more bytes made one character of them.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    view = memoryview(data)
    taken = 0  # bytes given to the decoder, less those it holds back (a sequence cut by a block)
    made = 0
    for start in range(0, len(data), _BLOCK):
        block = view[start : start + _BLOCK]
        final = start + _BLOCK >= len(data)
        made += len(decoder.decode(block, final))
        taken += len(block)
        held = len(decoder.getstate()[0])
        if made < taken - held:
            return True
    return False


def _mixed_reason(data: bytes, at: int, bom: int) -> str:
    """Where the first invalid byte of a UTF-8 file is, and what to do."""
    line_start = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
    lines = data.count(b"\n", 0, at)
    if not lines:  # old Mac line ends
        lines = data.count(b"\r", 0, at)
    before = data[line_start:at].decode("utf-8", errors="replace")[-20:]
    return (
        f"not valid UTF-8: byte 0x{data[at]:02X} on line {lines + 1} (byte {at + bom + 1} of "
        f"the file, byte {at - line_start + 1} of the line, after {printable(before)!r}) is "
        "not UTF-8, but the file holds UTF-8 characters elsewhere, so it is not Windows-1252 "
        "either and its text would be garbled. Save the file as UTF-8 (in Excel: Save As, "
        "'CSV UTF-8') and import it again"
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line (the first line that is not empty): the most frequent
    of , ; and tab outside quotes."""
    blank = _BLANK_LINES.match(text)
    first = text[blank.end() if blank else 0 :].split("\n", 1)[0]
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
            raise stray_quote(text, delimiter, len(rows), line + 1, str(exc)) from None
        raise unclosed_quote(text, delimiter, len(rows), line + 1) from None
    return rows


class UnclosedQuote(Exception):
    """A quoted field that is never closed: the record (0-based), its line, field and text."""

    def __init__(self, record: int, line: int, field: int, value: str) -> None:
        self.record, self.line, self.field, self.value = record, line, field, value
        super().__init__(f"quoted field opened on line {line} is never closed")


class StrayQuote(Exception):
    """Text after a quoted field's closing quote (``"truck_driver"x``): the record (0-based), its
    line, the field and its text as written; ``detail`` is the csv module's own words."""

    def __init__(self, record: int, line: int, field: int | None, value: str, detail: str) -> None:
        self.record, self.line, self.field, self.value = record, line, field, value
        self.detail = detail
        super().__init__(f"text after a closing quote on line {line} ({detail})")


def _line_start(text: str, line: int) -> int:
    """The offset in ``text`` where its (1-based) ``line`` begins (the last line's, if fewer)."""
    start = 0
    for _ in range(line - 1):
        nl = text.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    return start


def stray_quote(text: str, delimiter: str, record: int, line: int, detail: str) -> StrayQuote:
    """Find the field of the record starting on ``line`` whose closing quote is followed by
    something other than the delimiter or the end of the line."""
    start = _line_start(text, line)
    field, field_start, quoted, i = 0, start, False, start
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text.startswith('"', i + 1):
                    i += 1
                else:
                    quoted = False
                    after = text[i + 1 : i + 2]
                    if after not in ("", delimiter, "\n", "\r"):
                        end = text.find(delimiter, i + 1)
                        stop = text.find("\n", i + 1)
                        ends = [e for e in (end, stop) if e >= 0]
                        value = text[field_start : min(ends) if ends else len(text)]
                        return StrayQuote(record, line, field, value.rstrip("\r"), detail)
        elif ch == '"' and i == field_start:
            quoted = True
        elif ch == delimiter:
            field, field_start = field + 1, i + 1
        elif ch == "\n":
            break  # the record ended without one: the csv module saw something else
        i += 1
    return StrayQuote(record, line, None, text[start:].split("\n", 1)[0][:60], detail)


def unclosed_quote(text: str, delimiter: str, record: int, line: int) -> UnclosedQuote:
    """Find the field whose opening quote is never closed, in the record starting on ``line``."""
    start = _line_start(text, line)
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
