"""Encodings: UTF-8, else Windows-1252, and never a UTF-8 file read as Windows-1252."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.intake import text as text_module
from corridor.intake.dhis2 import read_dhis2_csv
from corridor.intake.dtm import read_dtm
from corridor.intake.importer import ingest
from corridor.intake.rawtable import ReadContext
from corridor.intake.text import decode
from corridor.intake.tidy import read_delimited
from corridor.storage.duckdb import DuckDBEngine
from corridor.storage.migrations import migrate

MIXED = (
    b"place_code,name,place_type,parent_code,country_code\n"
    + "ke-w1,Mũrang’a,market,ken,ken\n".encode()
    + b"ke-w2,Caf\xe9 Stop,market,ken,ken\n"
)
WHERE = "byte 0xE9 on line 3 (byte 95 of the file, byte 10 of the line, after 'ke-w2,Caf')"


def _refusal(data: bytes) -> str:
    with pytest.raises(InputError) as info:
        decode(data, "f.csv")
    [problem] = info.value.problems
    assert problem.file == "f.csv"
    return problem.reason


def test_a_utf8_file_with_a_stray_windows_1252_byte_is_refused() -> None:
    reason = _refusal(MIXED)
    assert reason.startswith(f"not valid UTF-8: {WHERE} is not UTF-8")
    assert "Save the file as UTF-8" in reason


def test_the_byte_counts_the_bom_and_a_bom_means_utf8() -> None:
    # a BOM is UTF-8 itself: a file that starts with one is never read as Windows-1252
    reason = _refusal(b"\xef\xbb\xbfplace_code,name\nke,Caf\xe9\n")
    assert "byte 0xE9 on line 2 (byte 26 of the file, byte 7 of the line" in reason


def test_old_mac_line_ends_are_counted() -> None:
    assert "on line 3 " in _refusal(b"a\rb\rc\xe9" + "ñ".encode())


@pytest.mark.parametrize(
    "text",
    ["République démocratique du Congo; Café", "Ça coûte 5 € – “quoted”", "naïve ½ °C"],
)
def test_windows_1252_without_utf8_is_still_read(text: str) -> None:
    assert decode(text.encode("cp1252"), "f.csv") == text


def test_valid_utf8_is_decoded_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(data: bytes) -> bool:
        raise AssertionError("valid UTF-8 looked at twice")

    monkeypatch.setattr(text_module, "_holds_utf8", never)
    assert decode("Mũrang’a\n".encode(), "f.csv") == "Mũrang’a\n"
    assert decode(b"\xef\xbb\xbfab", "f.csv") == "ab"
    assert decode("ab é".encode()[:-1], "f.csv", partial=True) == "ab "  # a head cut in a character


def test_a_head_that_is_already_mixed_is_refused() -> None:
    with pytest.raises(InputError, match="not valid UTF-8: byte 0xE9 on line 3"):
        decode(MIXED + b"x" * 10, "f.csv", partial=True)


# a UTF-8 sequence of 2, 3 or 4 bytes, and a byte no UTF-8 sequence holds where it stands
UTF8 = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.one_of(st.binary(max_size=6), st.text(max_size=3).map(str.encode)), max_size=12
    ).map(b"".join),
    block=st.integers(1, 8),
)
def test_multibyte_utf8_is_found_across_blocks(data: bytes, block: int) -> None:
    old = text_module._BLOCK
    text_module._BLOCK = block
    try:
        found = text_module._holds_utf8(data)
    finally:
        text_module._BLOCK = old
    assert found == (UTF8.search(data) is not None)


lines = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(
    lines=lines,
    where=st.data(),
    stray=st.sampled_from(sorted(set(range(0x80, 0x100)) - {0x81, 0x8D, 0x8F, 0x90, 0x9D})),
    accent=st.sampled_from(["é", "ũ", "’", "€", "😀"]),
)
def test_any_stray_byte_in_utf8_text_is_refused_on_its_line(
    lines: list[str], where: st.DataObject, stray: int, accent: str
) -> None:
    """A UTF-8 file (one UTF-8 character at least) with one byte of Windows-1252 put before an
    ASCII character or at the end of a line is refused, naming that line and byte."""
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    lines[0] = accent + lines[0]
    line = where.draw(st.integers(0, len(lines) - 1))
    cut = where.draw(st.integers(0, len(lines[line])))
    head = "\n".join([*lines[:line], lines[line][:cut]]).encode()
    data = (
        head + bytes([stray]) + b"," + "\n".join([lines[line][cut:], *lines[line + 1 :]]).encode()
    )
    reason = _refusal(data)
    assert f"byte 0x{stray:02X} on line {line + 1} (byte {len(head) + 1} of the file" in reason


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="cp1252", exclude_categories=("Cs", "Cc")), max_size=40))
def test_windows_1252_text_reads_back_unless_it_holds_utf8(text: str) -> None:
    data = text.encode("cp1252")
    try:
        as_utf8: str | None = data.decode("utf-8")  # "Ã©" is UTF-8 for "é": read as such
    except UnicodeDecodeError:
        as_utf8 = None
    if as_utf8 is not None:
        assert decode(data, "f.csv") == as_utf8
    elif UTF8.search(data) is not None:  # "Ã© Ã": refused, never guessed
        assert "not valid UTF-8" in _refusal(data)
    else:
        assert decode(data, "f.csv") == text


# -- every reader of delimited text ----------------------------------------------------------


def test_every_delimited_reader_refuses_a_mixed_file(tmp_path: Path) -> None:
    tidy = tmp_path / "p.csv"
    tidy.write_bytes(MIXED)
    dtm = (
        b"t,fmp,movement,origin,final,sex,age,n\n2024-03,BSA,in,UGA,KEN,m,15-24,5\n"
        + "2024-03,BSA,in,UGA,Mũrang’a,m,15-24,5\n".encode()
        + b"2024-03,BSA,in,UGA,Caf\xe9,m,15-24,5\n"
    )
    dhis2 = (
        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,comment\n"
        "a,202401,b,c,d,1,Mũrang’a\n".encode()
        + b"a,202401,b,c,d,1,Caf\xe9\n"
    )
    cases = [
        (read_delimited, tidy, MIXED, "places", "line 3"),
        (read_dtm, tmp_path / "d.csv", dtm, "flows", "line 4"),
        (read_dhis2_csv, tmp_path / "v.csv", dhis2, "services", "line 3"),
    ]
    for reader, path, data, kind, line in cases:
        with pytest.raises(InputError, match=f"not valid UTF-8: byte 0xE9 on {line} "):
            reader(path, data, kind, ReadContext(path.name, {}))


def test_a_mixed_file_is_refused_and_nothing_is_imported() -> None:
    with tempfile.TemporaryDirectory() as folder:
        eng = DuckDBEngine(":memory:")
        migrate(eng)
        good = Path(folder) / "good.csv"
        good.write_text(
            "place_code,name,place_type,parent_code,country_code\nken,Kenya,country,,ken\n"
        )
        mixed = Path(folder) / "mixed.csv"
        mixed.write_bytes(MIXED)
        with pytest.raises(InputError) as info:
            ingest(eng, [good, mixed], "places")
        assert [p.file for p in info.value.problems] == [str(mixed)]
        assert eng.scalar("SELECT COUNT(*) FROM places") == 0
        eng.close()


# -- UTF-16 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_is_named_as_such_not_as_binary(tmp_path: Path, encoding: str) -> None:
    """Excel's 'Unicode Text' is UTF-16 with a byte-order mark: it was refused as "binary
    content that is not a known format", which sent users looking for a corrupt file."""
    text = "place_code\tname\tplace_type\tparent_code\tcountry_code\nken\tKenya\tcountry\t\tken\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "p.txt"
    path.write_bytes(data)
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        for fmt in ("auto", "csv"):
            with pytest.raises(InputError) as info:
                ingest(eng, [path], "places", fmt=fmt)
            [problem] = info.value.problems
            assert problem.file == str(path)
            assert problem.reason.startswith("UTF-16 text (Excel's 'Unicode Text'")
            assert "save the file as UTF-8" in problem.reason
        assert eng.scalar("SELECT COUNT(*) FROM places") == 0
    finally:
        eng.close()
