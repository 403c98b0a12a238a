"""The fast path of the DHIS2 JSON reader: Arrow's JSON parser over slices of the values array.

Most dataValueSets are a flat list of objects whose fields are strings. For those, the values
array is cut into slices of about ``SLICE`` bytes, the commas between values become line breaks
(Arrow reads a sequence of objects), and each slice is parsed by Arrow's C++ reader straight into
columns: no Python object per value, memory bounded by a slice and the columns built so far.

Arrow's reader is strict where Python's ``json`` is lenient: a number, a boolean, a nested value
or a doubled key in one of the fields read, a lone surrogate escape, a control character: each is
an error. Any error, and anything that does not add up (invalid UTF-8, the values counted by their
separators against the rows parsed, a key ``dataValues`` inside a value, an array that is not
where it seems to be), returns None, and the reader takes its general path (ijson's streaming
parser, then the whole-document reader), which reads such documents as before and explains broken
ones. So a document read here gives the very cells the general path would give.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Sequence

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from corridor.intake.rawtable import ROW

#: bytes of the values array parsed at a time
SLICE = 16 << 20
_BLOCK = 1 << 20  # Arrow's block; a value longer than this sends the file to the general path
_SEPARATOR = re.compile(rb"\}\s*,\s*\{")
_KEY = b'"dataValues"'
_ARRAY = re.compile(rb"\s*:\s*\[")


def arrow_values(
    data: bytes, fields: Sequence[str], *, slice_bytes: int = SLICE
) -> pl.DataFrame | None:
    """The values of a dataValueSet (``{"dataValues": [...]}``) or of a top-level list of
    values, as text columns ``fields`` and their 1-based numbers (``_row``); None when the
    document needs the general path."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        span = array_span(data, head)
        if span is None:
            return None
        start, end = span
        schema = pa.schema([(f, pa.string()) for f in fields])
        # each slice becomes polars columns before the next is parsed (Arrow's memory reused),
        # with its row numbers: every column chunked alike, so no later step copies them all.
        # Cells are kept as numbers into each column's distinct texts (Categorical, one set of
        # categories a column for the whole document): translation and validation then work
        # once per distinct text, and no text column of every value is held.
        coded = [pl.col(f).cast(pl.Categorical(pl.Categories.random())) for f in fields]
        frames: list[pl.DataFrame] = []
        rows = 0
        for table in _parse_slices(data, start, end, schema, slice_bytes):
            frame = pl.DataFrame(table).select(coded)
            n = frame.height
            frames.append(
                frame.with_columns(pl.int_range(rows + 1, rows + n + 1, dtype=pl.Int64).alias(ROW))
            )
            rows += n
    except (pa.ArrowException, ValueError, UnicodeDecodeError):
        return None
    if not frames:
        return None
    return pl.concat(frames, rechunk=False)


def array_span(data: bytes, head: bytes, *, sole: bool = True) -> tuple[int, int] | None:
    """Byte offsets just inside the values array's brackets, or None.

    ``sole``: also None when the bytes ``"dataValues"`` occur anywhere else (a list of
    dataValueSets, a value holding one, a doubled key). A reader that accounts for every member
    of every value (:mod:`corridor.intake.duckvalues`) refuses those itself and spares the
    search through the whole document (0.12 s for 160 MB).
    """
    if head == b"[":
        if sole and data.find(_KEY) >= 0:  # a list of dataValueSets, or a value holding one
            return None
        first = data.index(b"[")
        last = data.rindex(b"]")
        if data[last + 1 :].strip():
            return None
        return first + 1, last
    if head != b"{":
        return None
    key = data.find(_KEY)
    if key < 0 or (sole and data.find(_KEY, key + 1) >= 0):  # none, or more than one
        return None
    found = _ARRAY.match(data, key + len(_KEY))
    if found is None:
        return None
    first = found.end() - 1
    # the array ends at the last ']' whose remainder closes the object; the document with the
    # array emptied must then be an object whose "dataValues" is that empty array
    last = data.rindex(b"]")
    skeleton = data[:first] + b"[]" + data[last + 1 :]
    if len(skeleton) > SLICE or b"\\u" in skeleton:
        return None
    try:
        doc = json.loads(skeleton)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("dataValues") != []:
        return None
    return first + 1, last


def _parse_slices(
    data: bytes, start: int, end: int, schema: pa.Schema, slice_bytes: int
) -> Iterator[pa.Table]:
    """Arrow tables of the values between ``start`` and ``end``, a slice at a time.

    A slice ends at a separator ``},{`` (blanks allowed around the comma); one found inside a
    string leaves that string unterminated in both slices, which Arrow refuses.
    """
    read = pa_json.ReadOptions(block_size=_BLOCK, use_threads=True)
    # compact values (no line breaks): one value a line, which Arrow splits into blocks at will
    lines, spread = (
        pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=nl
        )
        for nl in (False, True)
    )
    pos = start
    parsed = 0
    while pos < end:
        cut = end
        if end - pos > slice_bytes:
            found = _SEPARATOR.search(data, pos + slice_bytes, end)
            cut = found.start() + 1 if found else end
        table = _parse_piece(data[pos:cut], read, lines, spread)
        if table is None:
            if parsed or cut < end:  # an empty slice between values: a stray comma
                raise ValueError("empty slice")
            break
        parsed += table.num_rows
        yield table
        del table
        pos = cut
        if cut < end:  # skip the separator's comma (and blanks) before the next value
            nxt = data.find(b"{", cut, end)
            if nxt < 0 or data[cut:nxt].strip() != b",":
                raise ValueError("not a separator")
            pos = nxt


def _parse_piece(
    piece: bytes,
    read: pa_json.ReadOptions,
    lines: pa_json.ParseOptions,
    spread: pa_json.ParseOptions,
) -> pa.Table | None:
    """One slice of values as an Arrow table (None when it is blank); ValueError or an Arrow
    error when the values and their separators do not add up."""
    if not piece.strip():
        return None
    if not piece.isascii():
        piece.decode("utf-8")  # Arrow's reader passes invalid UTF-8 on into its strings
    compact = piece.find(b"\n") < 0
    if compact and piece.find(b"}, {") < 0:  # the common case: no regular expression needed
        body, separators = piece.replace(b"},{", b"}\n{"), piece.count(b"},{")
    else:
        body, separators = _SEPARATOR.subn(b"}\n{", piece)
    del piece
    table = pa_json.read_json(
        io.BytesIO(body),
        read_options=read,
        parse_options=lines if compact else spread,
        memory_pool=pa.system_memory_pool(),
    )
    if table.num_rows != separators + 1:
        raise ValueError("values and separators disagree")
    return table
