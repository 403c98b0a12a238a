"""Files larger than one batch: the tidy CSV read from the file in batches, DHIS2 JSON in slices.

A value broken in the middle of a large file is named by its own row (batches and slices do not
restart the count), the command exits 2 and nothing is imported; a valid large file is imported
whole, with the hash of its bytes as its provenance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from helpers import PLACES_CSV, write

from clihelp import run
from corridor.contract import dimensions as d
from corridor.errors import InputError
from corridor.intake import jsonvalues
from corridor.intake.importer import ingest
from corridor.intake.source import check_unchanged, scan_source
from corridor.storage.engine import connect
from corridor.storage.migrations import migrate

PLACES = ("ke-malaba", "ug-malaba", "ke-mombasa")
QUARTERS = [f"{y}Q{q}" for y in range(2019, 2026) for q in range(1, 5)]
ROWS = 180_000  # polars reads a file in batches of far fewer rows; JSON: more than one slice
BAD = 123_457  # a row in a later batch and slice


def services(rows: int = ROWS) -> pl.DataFrame:
    """``rows`` service values with distinct keys (the cross product, in order)."""
    elements = sorted(d.DATA_ELEMENTS)
    combos = [
        (s, a, g) for s in ("f", "m") for a in d.AGE_BANDS[:5] for g in d.POPULATION_GROUPS[1:]
    ]
    i = pl.int_range(0, rows, dtype=pl.Int64, eager=True)
    combo = i // len(PLACES) % len(combos)
    element = i // (len(PLACES) * len(combos)) % len(elements)
    quarter = i // (len(PLACES) * len(combos) * len(elements))
    assert int(quarter.max() or 0) < len(QUARTERS)

    def pick(values: list[str], at: pl.Series) -> pl.Series:
        return pl.Series(values).gather(at)

    return pl.DataFrame(
        {
            "period": pick(QUARTERS, quarter),
            "place_code": pick(list(PLACES), i % len(PLACES)),
            "data_element": pick(elements, element),
            "sex": pick([c[0] for c in combos], combo),
            "age_band": pick([c[1] for c in combos], combo),
            "population_group": pick([c[2] for c in combos], combo),
            "value": (i % 997).cast(pl.Utf8),
        }
    )


def broken(frame: pl.DataFrame, row: int, column: str, value: str) -> pl.DataFrame:
    """``frame`` with the cell of 1-based data row ``row`` replaced by ``value``."""
    at = pl.int_range(1, frame.height + 1, eager=True) == row
    return frame.with_columns(
        pl.when(at).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "ws")
    assert run(capsys, "init", path)[0] == 0
    places = write(tmp_path, "places.csv", PLACES_CSV)
    assert run(capsys, "-w", path, "ingest", places, "--kind", "places")[0] == 0
    return path


def _services_count(ws: str, capsys: pytest.CaptureFixture[str]) -> int:
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    assert code == 0
    return int(json.loads(out)["counts"]["services"])


def test_a_bad_value_deep_in_a_large_csv_is_named_by_its_row(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.csv"
    broken(services(), BAD, "value", "12x").write_csv(path)
    code, out, err = run(capsys, "-w", ws, "ingest", path, "--kind", "services")
    text = " ".join((out + err).split())  # rich wraps long lines
    assert code == 2, text
    assert f"row {BAD}, column 'value', value '12x': not a number" in text
    assert "Traceback" not in text
    assert _services_count(ws, capsys) == 0  # nothing half-imported


def test_a_bad_value_deep_in_a_large_dhis2_json_is_named_by_its_position(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = broken(services(), BAD, "value", "minus one")
    dims = ["sex", "age_band", "population_group"]
    combos = frame.select(dims).unique(maintain_order=True)
    coc = {f"COC{i:08d}": dict(zip(dims, c, strict=True)) for i, c in enumerate(combos.rows())}
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"category_option_combos": coc, "org_units": {f"OU{p}": p for p in PLACES}})
    )
    ids = combos.with_columns(pl.Series("categoryOptionCombo", list(coc)))
    values = frame.join(ids, on=dims, maintain_order="left").select(
        pl.col("data_element").alias("dataElement"),
        "period",
        ("OU" + pl.col("place_code")).alias("orgUnit"),
        "categoryOptionCombo",
        pl.lit("HllvX50cXC0").alias("attributeOptionCombo"),
        "value",
    )
    path = tmp_path / "services.json"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"dataSet": "x", "dataValues": ')
        fh.write(values.write_json())
        fh.write("}")
    assert path.stat().st_size > jsonvalues.SLICE  # parsed in more than one slice
    args = ["-w", ws, "ingest", path, "--kind", "services", "--mapping", mapping]
    code, out, err = run(capsys, *args)
    text = " ".join((out + err).split())
    assert code == 2, text
    assert f"row {BAD}, column 'value', value 'minus one': not a number" in text
    assert _services_count(ws, capsys) == 0


def test_a_large_csv_imports_whole_with_the_hash_of_its_bytes(tmp_path: Path) -> None:
    # reading is the same for both engines: DuckDB only (PostgreSQL loads 180,000 rows slowly)
    engine = connect(str(tmp_path / "w.duckdb"))
    migrate(engine)
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    frame = services()
    # the last row repeats the key of the first with another value: a conflict across batches
    last = frame.head(1).with_columns(pl.lit("5000").alias("value"))
    path = tmp_path / "services.csv"
    pl.concat([frame, last]).write_csv(path)
    with pytest.raises(InputError) as caught:
        ingest(engine, [path], "services")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (ROWS + 1, "value")
    assert problem.reason == "conflicts with row 1 (same key, different values)"
    frame.write_csv(path)
    [r] = ingest(engine, [path], "services")
    assert (r.status, r.rows_read, r.rows_new) == ("imported", ROWS, ROWS)
    assert r.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert engine.scalar("SELECT COUNT(*) FROM services") == ROWS
    total = engine.scalar("SELECT SUM(value) FROM services")
    assert total == frame["value"].cast(pl.Int64).sum()
    [again] = ingest(engine, [path], "services")
    assert again.status == "unchanged"
    engine.close()


def test_a_file_changed_after_hashing_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "services.csv", "period,value\n2024Q1,1\n")
    scanned = scan_source(path, "services.csv", None)
    assert scanned.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    check_unchanged(path, "services.csv", scanned)  # unchanged: no error
    path.write_text("period,value\n2024Q1,2\n2024Q2,3\n")
    with pytest.raises(InputError, match="changed while it was being read"):
        check_unchanged(path, "services.csv", scanned)
