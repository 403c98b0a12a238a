"""The readers, by format name, and detection of a file's format from its content."""

from __future__ import annotations

import re
from pathlib import Path

from corridor.contract.formats import INTAKE_FORMATS
from corridor.contract.schema import SERVICES
from corridor.errors import file_error
from corridor.intake.adx import read_adx, read_dhis2_xml
from corridor.intake.dhis2 import CSV_ALIASES, CSV_CORE, read_dhis2_csv, read_dhis2_json
from corridor.intake.dtm import ALIASES, read_dtm, read_dtm_xlsx
from corridor.intake.geojson import read_geojson
from corridor.intake.rawtable import Reader
from corridor.intake.text import UTF16_REASON, has_text, is_utf16, sniff_delimiter
from corridor.intake.tidy import is_tag_row, read_delimited
from corridor.intake.wrongformat import starts_json, starts_markup
from corridor.intake.xlsx import read_xlsx, sheet_header

FORMATS = INTAKE_FORMATS

READERS: dict[str, Reader] = {
    "csv": read_delimited,
    "hxl": read_delimited,
    "xlsx": read_xlsx,
    "dhis2-json": read_dhis2_json,
    "dhis2-csv": read_dhis2_csv,
    "dhis2-xml": read_dhis2_xml,
    "adx": read_adx,
    "dtm-fmr": read_dtm,
    "dtm-fmr-xlsx": read_dtm_xlsx,
    "geojson": read_geojson,
}

_HEAD = 65536
_MAGIC = {
    b"\x1f\x8b": "a gzip-compressed file: decompress it first",
    b"%PDF": "a PDF document, not a data file",
    b"\x89PNG": "a PNG image, not a data file",
    b"\xff\xd8\xff": "a JPEG image, not a data file",
    b"7z\xbc\xaf": "a 7-Zip archive: extract it first",
    b"Rar!": "a RAR archive: extract it first",
    b"SQLite format 3": "an SQLite database, not a data file",
}
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_HTML = re.compile(rb"^(<\?xml[^>]*>\s*)?(<!doctype\s+html|<html)", re.I)
_UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
_DHIS2_PERIOD = re.compile(r"^\d{4}([01]\d|Q[1-4]|W\d{1,2}|\d{4}|S[12]|[01]\dB)?$")
_XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def detect_format(path: Path, data: bytes) -> str:
    """Guess the format from the content (magic bytes, JSON members, XML root, CSV header)."""
    name = str(path)
    if not has_text(data):
        raise file_error(name, "empty file")
    if data[:4] == b"PK\x03\x04":
        return workbook_format(data)  # the XLSX reader explains a zip that is not a workbook
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xlsx"  # an old .xls: the XLSX reader says so
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise file_error(name, what)
    if path.suffix.lower() in _XLSX_SUFFIXES:
        return "xlsx"  # named like a workbook but not one: the reader says so
    if is_utf16(data):
        raise file_error(name, UTF16_REASON)
    head = data[:_HEAD].removeprefix(b"\xef\xbb\xbf").lstrip()
    if looks_binary(head):
        raise file_error(name, "binary content that is not a known format (not text, not XLSX)")
    # JSON or XML only when the text parses so: a tidy header's first cell may start with
    # '[', '{' or '<' ("[id],place_code,...")
    if head[:1] in (b"{", b"[") and starts_json(head, 0):
        return _json_format(name, head)
    if head[:1] == b"<" and starts_markup(head, 0):
        return _xml_format(name, head)
    return text_format(head)


#: sheets named like a kind other than flows: a workbook that has one holds tidy tables
_TIDY_SHEETS = frozenset({"places", "services", "cases"})


def workbook_format(data: bytes) -> str:
    """``dtm-fmr-xlsx`` for a workbook whose sheet that a flows import reads (the sheet named
    ``flows``, else the first) is headed as a DTM registry (:func:`is_dtm_header`, the rule of
    a DTM CSV's first line), unless a sheet is named like another kind (``services``: tidy
    tables, one a sheet); else ``xlsx`` (also when ``data`` cannot be read as a workbook, only
    the first bytes of one: the XLSX reader says why). Only the rows down to the header are
    read."""
    found = sheet_header(data, "flows")
    if found is None:
        return "xlsx"
    header, titles = found
    if is_dtm_header(header) and not {t.strip().lower() for t in titles} & _TIDY_SHEETS:
        return "dtm-fmr-xlsx"
    return "xlsx"


def looks_binary(head: bytes) -> bool:
    """NUL bytes, many control characters, or neither UTF-8 nor mostly-ASCII text."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\v")
    if controls > len(head) // 100:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut at the end of the head
            high = sum(1 for b in head if b >= 0x80)
            return high > len(head) * 0.3
    return False


def _json_format(name: str, head: bytes) -> str:
    text = head.decode("utf-8", errors="replace")
    if '"dataValues"' in text or '"dataElement"' in text:
        return "dhis2-json"
    if re.search(r'"type"\s*:\s*"(FeatureCollection|Feature)"', text) or '"features"' in text:
        return "geojson"
    raise file_error(
        name,
        "JSON that is neither a DHIS2 dataValueSet (dataValues) nor GeoJSON (FeatureCollection); "
        "name the format with --format",
    )


def _xml_format(name: str, head: bytes) -> str:
    if _HTML.search(head[:1024]):
        raise file_error(name, "an HTML page, not a data file (a login or error page saved?)")
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return "adx"  # the XML reader refuses DTDs and entities with a clear message
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", head, flags=re.S)
    m = _XML_ROOT.search(body)
    root = m.group(2).decode("ascii", errors="replace") if m else ""
    if root == "adx":
        return "adx"
    if root == "dataValueSet":
        return "dhis2-xml"
    raise file_error(
        name, f"XML with root element <{root}>: expected ADX (<adx>) or DHIS2 (<dataValueSet>)"
    )


#: DTM's column aliases as detection compares names (lower case, no spaces or underscores)
DTM_ALIASES = {k.replace("_", ""): v for k, v in ALIASES.items()}


#: the columns that make a header a DHIS2 export's and a DTM registry's (compared as
#: :func:`header_key` writes them; DTM's aliases taken as their column). DHIS2's: a data
#: element, the period and an org unit, each under one of its names: the dataValueSet export's
#: (``dataelement``, ``orgunit``) or the analytics export's (``Data``, ``Organisation unit``)
DHIS2_CSV_COLUMNS = tuple(k for k, field in CSV_ALIASES.items() if field in CSV_CORE)
DTM_COLUMNS = ("t", "fmp", "movement", "n")


def header_key(cell: str) -> str:
    """A header cell as detection compares it: lower case, without spaces or underscores."""
    return cell.lower().replace(" ", "").replace("_", "")


def is_dtm_header(cells: list[str]) -> bool:
    """Whether header cells are a DTM flow-monitoring registry's: ``t``, ``fmp``, ``movement``
    and ``n`` among them (or DTM's aliases ``date``/``month``, ``count``), compared as
    :func:`header_key` writes them."""
    return set(DTM_COLUMNS) <= {DTM_ALIASES.get(k, k) for k in map(header_key, cells)}


#: DHIS2's category and attribute option combo columns (:func:`header_key`): no tidy file has them
DHIS2_COMBO_COLUMNS = tuple(k for k, field in CSV_ALIASES.items() if field.endswith("OptionCombo"))
#: the tidy services contract's columns that a DHIS2 export never has, as the contract writes
#: them (``data_element``: DHIS2 writes ``dataelement``, ``dataElement`` or ``Data element``)
TIDY_ONLY_COLUMNS = tuple(c for c in SERVICES.names if c not in {"period", "value"})


def is_dhis2_header(cells: list[str]) -> bool:
    """Whether header cells are a DHIS2 export's: a data element, the period and an org unit
    among them, under the names of DHIS2's dataValueSet export (``dataelement``, ``period``,
    ``orgunit``) or of its analytics export (``Data``, ``Period``, ``Organisation unit``),
    compared as :func:`header_key` writes them (``dataElement``, ``Data element``), and no
    column of the tidy services contract that DHIS2 lacks, written as the contract writes it
    (``data_element``, ``place_code``, ``sex``, ...: a tidy file, one of whose columns is under
    another name), unless DHIS2's option combo columns are there too."""
    keys = {header_key(c) for c in cells}
    if not set(CSV_CORE) <= {CSV_ALIASES.get(k) for k in keys}:
        return False
    tidy = {c.strip().lower() for c in cells} & set(TIDY_ONLY_COLUMNS)
    return not tidy or bool(keys & set(DHIS2_COMBO_COLUMNS))


def head_lines(head: bytes) -> tuple[list[str], str]:
    """The first three lines of ``head`` that are not empty (which every reader skips before a
    header), and the delimiter of the first."""
    text = head.decode("utf-8", errors="replace")
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n", 64) if ln.strip()][:3] or [""]
    return lines, sniff_delimiter(text)


def header_cells(line: str, delim: str) -> list[str]:
    """The cells of a header line, unquoted and stripped (as detection reads them)."""
    return [c.strip().strip('"').strip() for c in line.split(delim)]


def text_format(head: bytes) -> str:
    """The delimited-text format of ``head`` (a file's first bytes, without BOM or leading
    blanks): by its first line's columns (DHIS2, DTM), a headerless DHIS2 data value or an HXL
    tag row, else tidy CSV."""
    lines, delim = head_lines(head)
    first = header_cells(lines[0], delim)
    if is_dhis2_header(first):
        return "dhis2-csv"
    if is_dtm_header(first):
        return "dtm-fmr"
    if headerless_dhis2(first):
        return "dhis2-csv"  # the headerless DHIS2 export
    second = lines[1].split(delim) if len(lines) > 1 else []
    if is_tag_row(list(first)) or is_tag_row([c.strip().strip('"') for c in second]):
        return "hxl"
    return "csv"


def headerless_dhis2(first: list[str]) -> bool:
    """Whether the cells of a first line are a data value of the headerless DHIS2 export: a
    UID, a DHIS2 period and a UID, and at least six cells."""
    return bool(
        len(first) >= 6
        and _UID.match(first[0])
        and _DHIS2_PERIOD.match(first[1])
        and _UID.match(first[2])
    )


def reader_for(fmt: str, file: str) -> Reader:
    try:
        return READERS[fmt]
    except KeyError:
        raise file_error(file, f"format {fmt!r} is not supported") from None
