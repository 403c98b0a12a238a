"""The tidy CSV read from the file in batches gives the very cells of the reader of its bytes.

``scan_delimited`` (polars' streaming engine over the file, cells as Categorical) either reads a
file exactly as ``read_delimited`` reads its bytes - same cells, same row numbers, same warnings,
same header errors - or leaves it to that reader (None).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.intake.rawtable import RawTable, ReadContext
from corridor.intake.tidy import read_delimited, scan_delimited

REQUIRED = ["period", "place_code", "data_element", "value"]
EXTRA = ["sex", "note", "#loc+code", "", "value"]
CELL = st.text(alphabet=st.sampled_from(list('ab1 ,;"\t\r\né#')), max_size=5)
#: the contract's columns in any order (one sometimes missing), maybe with others
HEADER = st.tuples(
    st.permutations(REQUIRED), st.integers(3, 4), st.lists(st.sampled_from(EXTRA), max_size=2)
).map(lambda t: [*t[0][: t[1]], *t[2]])
ROWS = HEADER.flatmap(
    lambda h: st.tuples(
        st.just(h),
        st.lists(st.lists(CELL, min_size=len(h) - 1, max_size=len(h) + 1), max_size=8),
    )
)


def _outcome(read: object) -> tuple[str, object]:
    try:
        table = read()  # type: ignore[operator]
    except InputError as exc:
        return "error", str(exc)
    if table is None:
        return "none", None
    assert isinstance(table, RawTable)
    text = table.frame.select(pl.all().cast(pl.Utf8) if table.frame.width else pl.all())
    return "table", (text.rows(), text.columns, table.format, table.warnings, table.problems)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=ROWS,
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
    bom=st.booleans(),
)
def test_the_batch_reader_reads_what_the_byte_reader_reads(
    tmp_path: Path,
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    newline: str,
    final: bool,
    bom: bool,
) -> None:
    def line(cells: list[str]) -> str:
        return delimiter.join(f'"{c}"' if c.startswith("#") or '"' in c[:1] else c for c in cells)

    header, rows = table
    text = newline.join([line(header), *[line(r) for r in rows]]) + (newline if final else "")
    data = ("\ufeff" if bom else "").encode() + text.encode()
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    ctx = ReadContext("services.csv")
    scanned = _outcome(lambda: scan_delimited(path, data[: 1 << 20], "services", ctx))
    whole = _outcome(lambda: read_delimited(path, data, "services", ctx))
    if scanned[0] != "none":
        assert scanned == whole


@pytest.mark.parametrize(
    "data",
    [
        b"period,place_code,data_element,value\n2024Q1,a,b,1,extra\n",  # ragged: csv module
        b"period,place_code,data_element,value\n2024Q1,\xe9,b,1\n",  # Windows-1252
        b'period,place_code,data_element,value\n2024Q1,"a,b,1\n',  # unclosed quote
    ],
)
def test_files_the_batch_reader_cannot_read_go_to_the_byte_reader(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "services.csv"
    path.write_bytes(data)
    assert scan_delimited(path, data, "services", ReadContext("services.csv")) is None
