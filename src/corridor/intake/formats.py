"""The readers, by format name, and detection of a file's format from its content."""

from __future__ import annotations

from pathlib import Path

from corridor.errors import file_error
from corridor.intake.rawtable import Reader
from corridor.intake.tidy import read_delimited

FORMATS = ("auto", "csv", "xlsx", "hxl", "dhis2-json", "dhis2-csv", "adx", "dtm-fmr", "geojson")

READERS: dict[str, Reader] = {
    "csv": read_delimited,
    "hxl": read_delimited,
}


def detect_format(path: Path, data: bytes) -> str:
    """Guess the format from the content (and, for spreadsheets, the magic bytes)."""
    name = str(path)
    if not data.strip():
        raise file_error(name, "empty file")
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head[:1] in (b"{", b"["):
        text = head.decode("utf-8", errors="replace")
        if '"dataValues"' in text or '"dataElement"' in text:
            return "dhis2-json"
        if '"FeatureCollection"' in text or '"Feature"' in text or '"features"' in text:
            return "geojson"
        if '"dataValues"' not in text and head[:1] == b"{":
            raise file_error(name, "JSON that is neither DHIS2 dataValueSets nor GeoJSON")
        return "dhis2-json"
    if head[:1] == b"<":
        return "adx"
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
    cells = {c.strip().strip('"') for c in first.replace(";", ",").replace("\t", ",").split(",")}
    if {"dataelement", "period", "orgunit"} <= cells:
        return "dhis2-csv"
    if {"t", "fmp", "movement", "n"} <= cells:
        return "dtm-fmr"
    if b"\x00" in data[:4096]:
        raise file_error(name, "binary content that is not a known format")
    return "csv"


def reader_for(fmt: str, file: str) -> Reader:
    try:
        return READERS[fmt]
    except KeyError:
        raise file_error(file, f"format {fmt!r} is not supported yet") from None
