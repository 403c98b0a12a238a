"""What a reader hands to validation: raw text cells named by the contract, with row numbers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from corridor.errors import Problem

ROW = "_row"  # 1-based data-row number in the source file, kept on every row


@dataclass(slots=True)
class RawTable:
    """Rows of one file as text, in the contract's column names.

    ``frame`` has only Utf8 columns named as the contract's columns (a subset; missing optional
    columns are filled by validation) plus ``_row`` (Int64). ``problems`` are row-level problems
    found while reading or translating codes: their rows are invalid even if every cell passes
    validation.
    """

    file: str
    format: str
    kind: str
    frame: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    mapping: Mapping[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. columns ignored


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a reader may need besides the file: the mapping file and the place crosswalk."""

    display_name: str
    mapping: Mapping[str, Any] | None = None
    #: DHIS2 org unit UID -> place_code, from places.dhis2_uid (lower-cased place codes)
    dhis2_places: Mapping[str, str] = field(default_factory=dict)
    #: flow-monitoring point code (lower-case) -> place_code, from places.fmp_code
    fmp_places: Mapping[str, str] = field(default_factory=dict)


class Reader(Protocol):
    def __call__(self, path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable: ...


def text_frame(columns: Mapping[str, list[str | None]], rows: list[int]) -> pl.DataFrame:
    """Build a RawTable frame from column lists of text and their row numbers."""
    data: dict[str, pl.Series] = {
        name: pl.Series(name, values, dtype=pl.Utf8) for name, values in columns.items()
    }
    data[ROW] = pl.Series(ROW, rows, dtype=pl.Int64)
    return pl.DataFrame(data)
