"""A file given the wrong explicit ``--format``: refused from its first character that is not
blank, saying what the file is not, what format detection finds and the ``--format`` that
reads it, before a parser says something misleading about it (an XML parser's "syntax error at
line 1, column 1" for a CSV, a CSV parser's "row 4: 4 cells but the header has 1" for JSON).

Used by the JSON readers (:func:`corridor.intake.dhis2.require_json`), the XML readers
(:func:`require_xml`), the delimited-text readers (:func:`require_delimited`) and the tidy
reader (:func:`require_tidy`: a DTM registry or a DHIS2 CSV export given ``--format csv``; and
:func:`dtm_layout_refusal`, for the XLSX reader: a DTM registry workbook given ``--format xlsx``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NoReturn

from corridor.errors import InputError, file_error
from corridor.intake.text import UTF16_REASON, is_utf16, printable

#: the formats as messages name them
FORMAT_NAMES = {
    "csv": "a tidy CSV file (delimited text)",
    "hxl": "a tidy CSV file with HXL tags",
    "xlsx": "an Excel workbook",
    "dhis2-json": "a DHIS2 dataValueSet in JSON",
    "dhis2-csv": "a DHIS2 dataValueSet CSV export",
    "dhis2-xml": "a DHIS2 dataValueSet in XML",
    "adx": "an ADX (XML) file",
    "dtm-fmr": "a DTM flow-monitoring registry (CSV)",
    "dtm-fmr-xlsx": "a DTM flow-monitoring registry (Excel workbook)",
    "geojson": "GeoJSON",
}

#: blanks before the first character that counts (JSON's and XML's white space)
_BLANKS = re.compile(rb"[ \t\r\n]*")
#: the magic bytes of an XLSX (zip) and of an old .xls (OLE) workbook
_WORKBOOK = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
#: first characters with which no delimited file of the contract starts: JSON and XML (HTML)
_NOT_DELIMITED = (b"{", b"[", b"<")


def format_hint(path: Path, data: bytes) -> str:
    """What a file given the wrong ``--format`` looks like (format detection's answer) and
    the ``--format`` that reads it, as the end of a sentence."""
    from corridor.intake.formats import detect_format  # the readers' table imports the readers

    try:
        fmt = detect_format(path, data)
    except InputError as exc:
        return f"; the file is {exc.problems[0].reason}" if exc.problems else ""
    return hint_for(fmt)


def hint_for(fmt: str, *, detected: bool = True) -> str:
    """What a file looks like, and the ``--format`` that reads it (and ``--format auto`` when
    format detection finds ``fmt`` too), as the end of a sentence."""
    auto = " (or with --format auto, the default, which detects the format)" if detected else ""
    return f"; it looks like {FORMAT_NAMES.get(fmt, fmt)}: import it with --format {fmt}{auto}"


def first_character(data: bytes) -> tuple[int, int]:
    """The offset of the first character that is not blank (after a UTF-8 BOM), and the BOM's
    length."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    blank = _BLANKS.match(data, bom)
    return (blank.end() if blank else bom), bom


def refuse_start(data: bytes, at: int, bom: int, file: str, what: str, where: str) -> NoReturn:
    """Refuse ``data`` as not ``what`` (JSON, XML, CSV) from its character at ``at``: its line
    and column, ``where`` (what the format starts with) and :func:`format_hint`."""
    char = data[at : at + 4].decode("utf-8", errors="replace")[:1]
    line = data.count(b"\n", 0, at) + 1
    column = at - max(data.rfind(b"\n", 0, at) + 1, bom) + 1  # only blanks before it
    raise file_error(
        file,
        f"not {what}: its first character that is not blank is {char!r} (line {line}, column "
        f"{column}), {where}{format_hint(Path(file), data)}",
    )


def require_xml(data: bytes, file: str) -> None:
    """Refuse a file whose first character that is not blank is not ``<``: it is not XML (a
    CSV given ``--format adx``), whatever the XML parser would say about its first byte.
    UTF-16 text is refused as such, as in every other format (:data:`UTF16_REASON`), although
    XML may be UTF-16: the XML parsers would read it, where the same data as CSV or JSON is
    refused."""
    if is_utf16(data):
        raise file_error(file, UTF16_REASON)
    at, bom = first_character(data)
    if data[at : at + 1] in (b"<", b""):
        return
    refuse_start(data, at, bom, file, "XML", "where XML starts with '<'")


def require_delimited(data: bytes, file: str) -> None:
    """Refuse, for the delimited-text formats (tidy CSV, HXL, DHIS2 CSV, DTM), a file that
    cannot be one: whose first character that is not blank starts JSON or XML (``{``, ``[``,
    ``<``), or that is a workbook. ``data``: the file or its first bytes.

    A first line that starts so but is followed by an HXL tag row is a header in any language
    (``<Site>,Name`` over ``#loc+code,#loc+name``) and is left to the reader."""
    if data.startswith(_WORKBOOK):
        raise file_error(file, f"not CSV: binary content, not text{format_hint(Path(file), data)}")
    at, bom = first_character(data)
    first = data[at : at + 1]
    if first not in _NOT_DELIMITED or _tags_follow(data, at):
        return
    if not (starts_json(data, at) if first in (b"{", b"[") else starts_markup(data, at)):
        return  # a header whose first cell starts so (``[id]``, ``<notes>``): the reader's
    refuse_start(
        data,
        at,
        bom,
        file,
        "CSV",
        "where a CSV file starts with its header (or its first row), not with '{', '[' or '<'",
    )


def require_tidy(data: bytes, kind: str, file: str) -> None:
    """Refuse, for the tidy formats (``--format csv``, ``hxl``), a DTM flow-monitoring registry
    or a DHIS2 dataValueSet CSV export: read as a tidy file, its columns would be reported one
    by one as missing or as other names of contract columns ("rename the header 'dataelement'
    to 'data_element'"), which never says what the file is. ``data``: the file or its first
    bytes; only its first lines are read.

    Only a file that the tidy reader would refuse anyway, and that shows no sign of being
    meant as tidy, is refused: its first line is the header detection takes for DTM or DHIS2
    (or a headerless DHIS2 data value), no HXL tag row follows, it lacks a required column of
    the ``kind``'s contract, and every contract column it names is a column of the other format
    too (``count``, ``sex`` in DTM; ``period``, ``value`` in DHIS2). A tidy file that also has
    such columns (``t``, ``fmp`` beside ``period_start`` …) is read as before, and so is one
    with a contract column of its own (``data_element``, ``period``, ``orgunit``, ``value``:
    the tidy reader says that ``orgunit`` is probably ``place_code``)."""
    from corridor.intake.formats import head_lines, header_cells, headerless_dhis2, text_format

    at, _ = first_character(data)
    head = data[at : at + 65536]
    fmt = text_format(head)
    if fmt not in ("dtm-fmr", "dhis2-csv") or _tags_follow(data, at):
        return
    lines, delim = head_lines(head)
    cells = header_cells(lines[0], delim)
    missing = _tidy_lacks(cells, kind, fmt)
    if missing is None:
        return  # a tidy header, or one meant as tidy: the tidy reader's to read or explain
    line = data.count(b"\n", 0, at) + 1
    named = _named(cells, fmt)
    if fmt == "dhis2-csv" and not named and headerless_dhis2(cells):
        found = (
            f"its first line (line {line}) is a DHIS2 data value (data element "
            f"{printable(cells[0])!r}, period {printable(cells[1])!r}, org unit "
            f"{printable(cells[2])!r}), not a header with the {kind} contract's columns"
        )
    else:
        found = (
            f"its header (line {line}) names {', '.join(printable(c) for c in named)} and "
            f"lacks the {kind} contract's column(s) {', '.join(missing)}"
        )
    raise file_error(file, f"not a tidy CSV file: {found}{format_hint(Path(file), data)}")


def _tidy_lacks(cells: list[str], kind: str, fmt: str) -> list[str] | None:
    """The required columns of ``kind``'s contract that a header of the layout ``fmt``
    (``dtm-fmr``, ``dhis2-csv``) lacks, or None when the tidy reader is to read or explain it:
    the header has every required column, or names a contract column of its own (one that is
    not a column of the layout too: ``count``, ``sex`` in DTM; ``period``, ``value`` in
    DHIS2)."""
    from corridor.contract.schema import schema_for
    from corridor.intake import dhis2, dtm

    names = {c.lower() for c in cells}
    schema = schema_for(kind)
    missing = [c.name for c in schema.columns if c.required and c.name not in names]
    if fmt == "dtm-fmr":
        theirs = {*dtm.REQUIRED, *dtm.OPTIONAL, *dtm.ALIASES}
    else:
        theirs = set(dhis2.CSV_ALIASES)
    if not missing or (names & set(schema.names)) - theirs:
        return None
    return missing


def _named(cells: list[str], fmt: str) -> list[str]:
    """The cells of a header that make it the layout ``fmt``'s, as the file writes them."""
    from corridor.intake.formats import DHIS2_CSV_COLUMNS, DTM_ALIASES, DTM_COLUMNS, header_key

    if fmt == "dtm-fmr":
        return [c for c in cells if DTM_ALIASES.get(header_key(c), header_key(c)) in DTM_COLUMNS]
    return [c for c in cells if header_key(c) in DHIS2_CSV_COLUMNS]


def dtm_layout_refusal(cells: list[str], kind: str, where: str, *, detected: bool) -> str | None:
    """For the XLSX reader (``--format xlsx``): why a sheet whose header (``cells``, ``where``
    as the message names it) is a DTM flow-monitoring registry's is not a tidy sheet of
    ``kind``, with the ``--format`` that reads it (and ``--format auto`` when ``detected``:
    format detection finds it too); None when it is not a DTM header or the tidy reader is to
    read or explain it (:func:`require_tidy`'s rule)."""
    from corridor.intake.formats import is_dtm_header

    if not is_dtm_header(cells):
        return None
    missing = _tidy_lacks(cells, kind, "dtm-fmr")
    if missing is None:
        return None
    return (
        f"{where} names {', '.join(printable(c) for c in _named(cells, 'dtm-fmr'))} and lacks "
        f"the {kind} contract's column(s) {', '.join(missing)}"
        + hint_for("dtm-fmr-xlsx", detected=detected)
    )


def starts_json(data: bytes, at: int) -> bool:
    """Whether the text from ``at`` starts a JSON document: its first three parser events (or
    all of a shorter document) come without a syntax error (``[id],name`` does not)."""
    import io

    import ijson

    events = 0
    try:
        for _ in ijson.parse(io.BytesIO(data[at : at + 65536]), multiple_values=True):
            events += 1
            if events >= 3:
                return True
    except ijson.common.JSONError as exc:  # JSON cut short (by the file or the prefix), or not
        return "premature EOF" in str(exc) or "Incomplete" in str(exc)
    return events > 0


#: markup that no header starts with: an XML declaration, a doctype, a comment, an HTML page
_MARKUP = re.compile(rb"<(?:\?xml|!doctype|!--|html)\b", re.IGNORECASE)


#: an XML start tag (with its attributes), as a document's first element opens
_START_TAG = re.compile(rb"<[A-Za-z_][\w.:-]*(?:\s+[\w.:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>")


def starts_markup(data: bytes, at: int) -> bool:
    """Whether the text from ``at`` is XML or HTML: it starts with a declaration, a doctype, a
    comment or ``<html``, or with a start tag followed on its line by nothing or by more markup
    (``<adx ...><group ...>``); a tidy header's first cell (``<notes>,name``) is followed by
    its delimiter."""
    if _MARKUP.match(data, at):
        return True
    tag = _START_TAG.match(data, at)
    if tag is None:
        return False
    end = data.find(b"\n", tag.end())
    rest = data[tag.end() : end if end >= 0 else tag.end() + 65536].strip()
    return rest == b"" or rest.startswith(b"<")


def _tags_follow(data: bytes, at: int) -> bool:
    from corridor.intake.tidy import is_tag_row  # the tidy reader imports this module

    lines = [ln for ln in data[at : at + 65536].splitlines()[1:3] if ln.strip(b" \t,;")]
    if not lines:
        return False
    text = lines[0].decode("utf-8", errors="replace")
    delim = max((",", ";", "\t"), key=text.count)
    return is_tag_row([c.strip().strip('"') for c in text.split(delim)])
