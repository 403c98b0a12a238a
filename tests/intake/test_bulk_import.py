"""A file larger than one DuckDB row group (122,880 rows) imports completely, atomically."""

from __future__ import annotations

from pathlib import Path

from helpers import PLACES_CSV, write

from corridor.intake.importer import ingest
from corridor.storage.engine import Engine


def test_large_file_is_imported_whole(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    sites = ("ke-malaba", "ug-malaba", "ke-mombasa")
    n = 0
    for year in range(2000, 2025):
        for month in range(1, 13):
            for site in sites:
                for element in ("hiv_tests", "hiv_positive", "art_initiated", "prep_initiated"):
                    for sex in ("f", "m"):
                        for age in ("<15", "15-24", "25-34", "35-49", "50+"):
                            for group in (
                                "host",
                                "migrant",
                                "truck_driver",
                                "sex_worker",
                                "miner",
                                "fisherfolk",
                                "idp",
                            ):
                                if n < 130_000:
                                    lines.append(
                                        f"{year}-{month:02d},{site},{element},{sex},{age},{group},{n % 97}"
                                    )
                                    n += 1
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    [r] = ingest(engine, [path], "services")
    assert r.rows_new == n == 130_000
    assert engine.scalar("SELECT COUNT(DISTINCT period) FROM services") > 1
    assert engine.scalar("SELECT SUM(value) FROM services") == sum(i % 97 for i in range(n))
