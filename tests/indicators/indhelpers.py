"""Builders of places and services rows for the indicator tests (loaded with insert_arrow)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from corridor.contract.periods import parse_period
from corridor.storage.engine import Engine

# (place_code, name, place_type, parent_code, country_code, corridor)
PLACES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("ken", "Kenya", "country", "", "ken", ""),
    ("uga", "Uganda", "country", "", "uga", ""),
    ("ke-west", "Western", "admin1", "ken", "ken", ""),
    ("ke-malaba", "Malaba (KE)", "border_crossing", "ke-west", "ken", "northern"),
    ("ke-busia", "Busia (KE)", "truck_stop", "ke-west", "ken", "northern;lake"),
    ("ke-mombasa", "Mombasa", "seaport", "ken", "ken", "northern"),
    ("ug-malaba", "Malaba (UG)", "border_crossing", "uga", "uga", "northern"),
)

Row = tuple[str, str, str, str, str, str, float]  # period, place, element, sex, age, group, value


def load_places(engine: Engine, places: Sequence[Sequence[str]] = PLACES) -> None:
    n = len(places)
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": [p[0] for p in places],
                "name": [p[1] for p in places],
                "place_type": [p[2] for p in places],
                "parent_code": [p[3] for p in places],
                "country_code": [p[4] for p in places],
                "lat": pa.nulls(n, pa.float64()),
                "lon": pa.nulls(n, pa.float64()),
                "corridor": [p[5] for p in places],
                "population": pa.nulls(n, pa.int64()),
                "dhis2_uid": [p[6] if len(p) > 6 else "" for p in places],
                "fmp_code": [""] * n,
                "import_id": pa.array([1] * n, pa.int64()),
            }
        ),
    )


def services_table(rows: Iterable[Row]) -> pa.Table:
    rows = list(rows)
    ps = [parse_period(r[0]) for r in rows]
    return pa.table(
        {
            "period": [p.text for p in ps],
            "period_type": [p.kind for p in ps],
            "period_start": pa.array([p.start for p in ps], pa.date32()),
            "period_end": pa.array([p.end for p in ps], pa.date32()),
            "place_code": [r[1] for r in rows],
            "data_element": [r[2] for r in rows],
            "sex": [r[3] or "total" for r in rows],
            "age_band": [r[4] or "total" for r in rows],
            "population_group": [r[5] or "total" for r in rows],
            "value": pa.array([float(r[6]) for r in rows], pa.float64()),
            "import_id": pa.array([1] * len(rows), pa.int64()),
        }
    )


def load_services(engine: Engine, rows: Iterable[Row]) -> None:
    engine.insert_arrow("services", services_table(rows))


def pick(table: pa.Table, **where: Any) -> list[dict[str, Any]]:
    """Rows of ``table`` whose columns equal the given values."""
    return [r for r in table.to_pylist() if all(r.get(k) == v for k, v in where.items())]


def one(table: pa.Table, **where: Any) -> dict[str, Any]:
    found = pick(table, **where)
    assert len(found) == 1, (where, found)
    return found[0]


def declare_import(
    engine: Engine, import_id: int = 1, fmt: str = "tidy-csv", mapping: str | None = None
) -> None:
    """Record the import that rows of ``import_id`` came from (its format decides whether its
    source drops zeros: DHIS2 formats do, unless the mapping says ``drop_zeros: false``)."""
    engine.execute(
        "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, "
        "imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
        "rows_quarantined, status, mapping) VALUES (?, 'f.csv', 'x', 'services', ?, 'f.csv', "
        "'t', TIMESTAMP '2025-01-01 00:00:00', 0, 0, 0, 0, 0, 0, 'imported', ?)",
        (import_id, fmt, mapping),
    )
