"""Every example file ingests cleanly, end to end, on DuckDB and PostgreSQL (format=auto)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import corridor
from corridor.contract.schema import SCHEMAS
from corridor.intake.formats import FORMATS
from corridor.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAPPING = EXAMPLES / "dhis2-mapping.yaml"
PLACES = ["places.csv", "places-hxl.csv", "places.geojson"]
#: (file, kind, detected format, rows imported), in a sensible order: places first
ORDER = [
    ("places.csv", "places", "csv", 10),
    ("places-hxl.csv", "places", "hxl", 4),
    ("places.geojson", "places", "geojson", 3),
    ("flows-dtm.csv", "flows", "dtm-fmr", 6),
    ("flows.csv", "flows", "csv", 3),
    ("services.csv", "services", "csv", 6),
    ("services.xlsx", "services", "xlsx", 6),
    ("services-dhis2.json", "services", "dhis2-json", 5),
    ("services-dhis2.csv", "services", "dhis2-csv", 4),
    ("services.adx.xml", "services", "adx", 5),
    ("services-dhis2.xml", "services", "dhis2-xml", 3),
    ("cases.csv", "cases", "csv", 3),
]


def open_ws(tmp_path: Path, engine_url: str) -> Workspace:
    return corridor.init_workspace(tmp_path / "ws", db=engine_url)


def test_every_example_is_covered() -> None:
    listed = {name for name, *_ in ORDER} | {MAPPING.name}
    assert {p.name for p in EXAMPLES.iterdir() if p.is_file()} == listed


def test_examples_ingest_cleanly_and_reimport_changes_nothing(
    tmp_path: Path, engine_url: str
) -> None:
    with open_ws(tmp_path, engine_url) as ws:
        for name, kind, fmt, n in ORDER:
            (r,) = ws.ingest([EXAMPLES / name], kind, mapping=MAPPING)
            assert (r.status, r.format, r.rows_new, r.problems) == ("imported", fmt, n, []), name
        assert ws.status()["counts"] == {"places": 17, "flows": 9, "services": 29, "cases": 3}
        for name, kind, _fmt, n in ORDER:
            (r,) = ws.ingest([EXAMPLES / name], kind, mapping=MAPPING)
            assert (r.status, r.rows_unchanged) == ("unchanged", n), name
        assert len(ws.status(latest=100)["imports"]) == len(ORDER)


@pytest.mark.parametrize(
    ("name", "kind", "fmt", "n"), [o for o in ORDER if o[0] not in PLACES], ids=lambda v: str(v)
)
def test_each_format_end_to_end(
    tmp_path: Path, engine_url: str, name: str, kind: str, fmt: str, n: int
) -> None:
    with open_ws(tmp_path, engine_url) as ws:
        ws.ingest([EXAMPLES / p for p in PLACES], "places")
        (r,) = ws.ingest([EXAMPLES / name], kind, format="auto", mapping=MAPPING)
        assert (r.status, r.format, r.rows_new) == ("imported", fmt, n)
        imports = ws.table("imports", as_="polars").filter(pl.col("file_name") == name)
        assert imports["format"].to_list() == [fmt]
        if fmt in ("dhis2-json", "dhis2-csv", "dhis2-xml", "adx", "dtm-fmr"):
            assert "data_elements" in imports["mapping"][0]  # the mapping used is kept


def test_translated_values_land_in_the_warehouse(tmp_path: Path, engine_url: str) -> None:
    with open_ws(tmp_path, engine_url) as ws:
        ws.ingest([EXAMPLES / p for p in PLACES], "places")
        ws.ingest([EXAMPLES / "flows-dtm.csv"], "flows", mapping=MAPPING)
        ws.ingest(
            [EXAMPLES / "services-dhis2.json", EXAMPLES / "services.adx.xml"],
            "services",
            mapping=MAPPING,
        )
        services = ws.table("services", as_="polars")
        row = services.filter(
            (pl.col("place_code") == "ug-busia-osbp") & (pl.col("data_element") == "hiv_positive")
        ).row(0, named=True)
        assert (row["period"], row["sex"], row["age_band"], row["population_group"]) == (
            "2024W07",
            "f",
            "25-34",
            "sex_worker",
        )
        dar = services.filter(pl.col("place_code") == "tz-dar-port").sort("value")
        assert dar["population_group"].to_list() == ["truck_driver", "sex_worker", "truck_driver"]
        assert set(dar["period"].to_list()) == {"2024Q2"}
        assert 999.0 not in services["value"].to_list()  # the deleted DHIS2 value
        flows = ws.table("flows", as_="polars")
        day = flows.filter(pl.col("observation_code") == "ug-busia-osbp").row(0, named=True)
        assert (str(day["period_start"]), str(day["period_end"]), day["age_band"]) == (
            "2024-03-18",
            "2024-03-18",
            "<15",
        )
        assert set(flows["direction"].to_list()) == {"incoming", "outgoing", "transit"}


def test_the_data_contract_documents_every_column_tag_and_format() -> None:
    doc = (EXAMPLES.parent / "docs" / "data-contract.md").read_text(encoding="utf-8")
    for schema in SCHEMAS.values():
        for col in schema.columns:
            assert f"| `{col.name}` | `{col.hxl}` |" in doc, (schema.kind, col.name)
    for fmt in FORMATS:
        assert f"`{fmt}`" in doc, fmt
    for name, *_ in ORDER:
        assert name in doc, name
