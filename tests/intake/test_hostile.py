"""Hostile input on both engines: each case exits 2 naming file, row, column, value and reason,
prints no raw control character and no traceback, and leaves the warehouse exactly as it was.

The files are generated here: non-finite and huge numbers, dates and periods outside 1900-2100,
control characters anywhere in a file (also after the first 64 KB), a named pipe, a device, a
file over the size setting and a truncated quoted field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from clihelp import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICES = "period,place_code,data_element,sex,age_band,population_group,value\n"
FLOWS = "period_start,period_end,observation_code,direction,count\n"
SITE = "ke-busia-osbp"
GOOD = f"2024Q1,{SITE},hiv_tests,f,15-24,migrant,3\n"
#: a control character in a terminal's output is an escape sequence or worse
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    content: bytes | Callable[[Path], None]  # bytes, or a function making the path
    kind: str
    expect: tuple[str, ...]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _padded(bad_row: str) -> bytes:
    """Valid rows past the first 64 KB of the file, then ``bad_row`` (row _N_PADDED + 1)."""
    pad = [
        f"{y}-{m:02d},{SITE},condoms_distributed,f,15-24,migrant,{m}\n"
        for y in range(1950, 2100)
        for m in range(1, 13)
    ]
    return (SERVICES + GOOD + "".join(pad) + bad_row).encode()


_N_PADDED = 1 + 150 * 12

CASES = [
    Case(
        "exponent-overflow",
        "s.csv",
        (SERVICES + GOOD + f"2024Q2,{SITE},hiv_tests,f,15-24,migrant,1e999\n").encode(),
        "services",
        ("row 2", "column 'value'", "'1e999'", "too large"),
    ),
    Case(
        "400-digits",
        "s.csv",
        (SERVICES + f"2024Q2,{SITE},hiv_tests,f,15-24,migrant,{'9' * 400}\n").encode(),
        "services",
        ("row 1", "column 'value'", "'99999", "too large"),
    ),
    Case(
        "count-over-int64",
        "f.csv",
        (FLOWS + f"2024-01-01,2024-01-31,{SITE},incoming,99999999999999999999\n").encode(),
        "flows",
        ("row 1", "column 'count'", "'99999999999999999999'", "too large"),
    ),
    Case(
        "period-9999W52",
        "s.csv",
        (SERVICES + f"9999W52,{SITE},hiv_tests,f,15-24,migrant,1\n").encode(),
        "services",
        ("row 1", "column 'period'", "'9999W52'", "outside the accepted years 1900-2100"),
    ),
    Case(
        "date-year-zero",
        "f.csv",
        (FLOWS + f"0000-01-01,2024-01-31,{SITE},incoming,5\n").encode(),
        "flows",
        ("row 1", "column 'period_start'", "'0000-01-01'", "outside the accepted years"),
    ),
    Case(
        "dhis2-period-overflow",
        "v.json",
        json.dumps(
            {
                "dataValues": [
                    {
                        "dataElement": "hiv_tests",
                        "period": "9999W52",
                        "orgUnit": "Kb7TGDaJzQs",
                        "value": "1",
                    }
                ]
            }
        ).encode(),
        "services",
        ("row 1", "column 'period'", "'9999W52'", "outside the accepted years"),
    ),
    Case(
        "dhis2-number-beyond-a-float",
        "v.json",
        b'{"dataValues": [{"dataElement": "hiv_tests", "period": "2024Q2", '
        b'"orgUnit": "Kb7TGDaJzQs", "value": 1e400}]}',
        "services",
        ("row 1", "column 'value'", "too large"),
    ),
    Case(
        "nul-after-64kb",
        "s.csv",
        _padded(f"2025Q1,{SITE}\x00,hiv_tests,f,15-24,migrant,1\n"),
        "services",
        (f"row {_N_PADDED + 1}", "column 'place_code'", "\\x00", "control character"),
    ),
    Case(
        "escape-in-code",
        "s.csv",
        (SERVICES + f"2024Q1,{SITE},hiv_tests\x1b[31m,f,15-24,migrant,1\n").encode(),
        "services",
        ("row 1", "column 'data_element'", "\\x1b[31m", "control character"),
    ),
    Case(
        "control-in-place-code",
        "p.csv",
        b"place_code,name,place_type,parent_code,country_code\n"
        + b"".join(b"ke-m%d,Market %d,market,ken,ken\n" % (i, i) for i in range(5))
        + b"ke-\x07bell,Bell,market,ken,ken\n",
        "places",
        ("row 6", "column 'place_code'", "\\x07", "control character"),
    ),
    Case("fifo", "pipe.csv", _fifo, "services", ("not a regular file", "named pipe")),
    Case(
        "truncated-quote",
        "s.csv",
        (SERVICES + GOOD + f'2024Q2,"{SITE},hiv_tests,f,15-24,migrant,4\n2024Q3,x').encode(),
        "services",
        ("row 2", "column 'place_code'", f"'{SITE},hiv_tests", "never closed", "line 3"),
    ),
    Case(
        "text-after-closing-quote",
        "s.csv",
        (SERVICES + GOOD + f'2024Q2,{SITE},hiv_tests,m,15-24,"truck_driver"x,7\n').encode(),
        "services",
        (
            "row 2",
            "column 'population_group'",
            "'\"truck_driver\"x'",
            "text after the closing quote on line 3",
        ),
    ),
]


@pytest.fixture
def warehouse(
    tmp_path: Path, engine_url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    """A workspace on each engine holding the example places and services."""
    ws = tmp_path / "ws"
    for args in (
        ["init", ws],
        ["ingest", EXAMPLES / "places.csv", "--kind", "places"],
        ["ingest", EXAMPLES / "services.csv", "--kind", "services"],
    ):
        code, _, err = run(capsys, "--db", engine_url, "-w", ws, *args)
        assert code == 0, err
    return ws, engine_url


def snapshot(capsys: pytest.CaptureFixture[str], ws: Path, url: str) -> dict[str, object]:
    code, out, _ = run(capsys, "--db", url, "-w", ws, "status", "--format", "json")
    assert code == 0
    info = json.loads(out)
    return {k: info[k] for k in ("counts", "quarantine", "imports")}


def _ingest(
    capsys: pytest.CaptureFixture[str], ws: Path, url: str, path: Path, kind: str, *args: str
) -> tuple[int, str]:
    code, out, err = run(capsys, "--db", url, "-w", ws, "ingest", path, "--kind", kind, *args)
    return code, out + err


def test_hostile_files_are_refused_cleanly(
    warehouse: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, url = warehouse
    before = snapshot(capsys, ws, url)
    failures: list[str] = []
    for case in CASES:
        path = tmp_path / f"{case.id}-{case.name}"
        if callable(case.content):
            case.content(path)
        else:
            path.write_bytes(case.content)
        code, text = _ingest(capsys, ws, url, path, case.kind)
        missing = [part for part in (str(path), *case.expect) if part not in text]
        if code != 2 or missing or "Traceback" in text or RAW_CONTROL.search(text):
            failures.append(f"{case.id}: exit {code}, missing {missing}:\n{text}")
        if snapshot(capsys, ws, url) != before:
            failures.append(f"{case.id}: the warehouse changed")
    assert not failures, "\n\n".join(failures)


def test_devices_and_oversized_files_are_refused_before_reading(
    warehouse: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, url = warehouse
    before = snapshot(capsys, ws, url)
    code, text = _ingest(capsys, ws, url, Path("/dev/zero"), "services")
    assert code == 2 and "/dev/zero: not a regular file (a device)" in text, text
    big = tmp_path / "big.csv"
    big.write_bytes((SERVICES + GOOD * 40_000).encode())  # about 1.7 MB
    monkeypatch.setenv("CORRIDOR_MAX_FILE_MB", "1")
    code, text = _ingest(capsys, ws, url, big, "services")
    assert code == 2 and "file too large" in text and "max_file_mb" in text, text
    monkeypatch.setenv("CORRIDOR_MAX_FILE_MB", "2")
    code, text = _ingest(capsys, ws, url, big, "services", "--dry-run")
    assert code == 0, text
    assert snapshot(capsys, ws, url) == before


def test_control_characters_quarantined_and_names_cleaned_alike_on_both_engines(
    warehouse: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, url = warehouse
    places = tmp_path / "p.csv"
    places.write_bytes(
        b"place_code,name,place_type,parent_code,country_code\n"
        # past the first 64 KB, where a NUL byte means a binary file
        + b"".join(b"ke-m%04d,Market %d,market,ken,ken\n" % (i, i) for i in range(2500))
        + b'ke-tab,"\tTab\x00 \x1b[2JStop\r\nLine\xc2\x85",market,ken,ken\n'
        + b"ke-nul\x00,Nul,market,ken,ken\n"
    )
    code, text = _ingest(capsys, ws, url, places, "places", "--quarantine")
    assert code == 0, text
    code, out, _ = run(capsys, "--db", url, "-w", ws, "status", "--format", "json")
    info = json.loads(out)
    assert info["quarantine"]  # the NUL row is kept aside, its value escaped, on both engines
    from corridor.storage.engine import connect

    eng = connect(url)
    try:
        names = eng.query_rows("SELECT name FROM places WHERE place_code = 'ke-tab'")
        values = eng.query_rows("SELECT value, reason FROM quarantine")
    finally:
        eng.close()
    assert names == [("Tab [2JStop Line",)]  # a CRLF is one space, as any line break
    assert ("ke-nul\\x00", "control character in a code (codes must be printable text)") in [
        tuple(v) for v in values
    ]


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("indicators", "-i", "positivity", "--period", "9999W52"), "outside the accepted years"),
        (("indicators", "-i", "positivity", "--period", "0000"), "outside the accepted years"),
        (("indicators", "-i", "positivity", "--target", "positivity=inf"), "finite percentage"),
        (("indicators", "-i", "positivity", "--target", "positivity=nan"), "finite percentage"),
        (("hotspots", "--period", "9999W52"), "outside the accepted years 1900-2100"),
        (("report", "--period", "2024Q1:9999W52"), "outside the accepted years 1900-2100"),
    ],
)
def test_out_of_range_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expect: str
) -> None:
    ws = tmp_path / "ws"
    assert run(capsys, "init", ws).code == 0
    if args[0] == "report":  # the report first wants data
        for name, kind in (("places.csv", "places"), ("services.csv", "services")):
            assert run(capsys, "-w", ws, "ingest", EXAMPLES / name, "--kind", kind).code == 0
    code, out, err = run(capsys, "-w", ws, *args, "--out", tmp_path / "out.html")
    assert code == 2, out + err
    assert expect in err and "Traceback" not in err
