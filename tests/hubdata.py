"""A small warehouse for the hub tests: two countries, sites, services with small counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corridor.access import add_agreement, add_user, create_token
from corridor.contract.periods import parse_period
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS
from corridor.workspace import Workspace, init_workspace

# (place_code, name, place_type, parent_code, country_code, corridor, dhis2_uid)
PLACES = (
    ("ken", "Kenya", "country", "", "ken", "", "KenUID00001"),
    ("uga", "Uganda", "country", "", "uga", "", "UgaUID00001"),
    ("tza", "Tanzania", "country", "", "tza", "", ""),
    ("ke-west", "Western", "admin1", "ken", "ken", "", ""),
    ("ke-malaba", "Malaba (KE)", "border_crossing", "ke-west", "ken", "northern", "MalabaKE001"),
    ("ke-busia", "Busia (KE)", "truck_stop", "ke-west", "ken", "northern", ""),
    ("ug-malaba", "Malaba (UG)", "border_crossing", "uga", "uga", "northern", ""),
    ("ug-busia", "Busia (UG)", "truck_stop", "uga", "uga", "northern", ""),
    ("tz-namanga", "Namanga (TZ)", "border_crossing", "tza", "tza", "", ""),
)
SITES = [p[0] for p in PLACES if p[2] not in ("country", "admin1")]
QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
GROUPS = ("migrant", "host")
SEXES = ("f", "m")


def _value(i: int, j: int, k: int, base: int) -> int:
    """Deterministic counts, some of them 1-9 (to be protected)."""
    return (base * (i + 2) + 7 * j + 13 * k) % 97 if (i + j + k) % 3 else 1 + (i + j + k) % 8


def services_rows() -> list[tuple[str, str, str, str, str, str, float]]:
    rows = []
    for i, site in enumerate(SITES):
        for j, q in enumerate(QUARTERS):
            for k, (sex, group) in enumerate((s, g) for s in SEXES for g in GROUPS):
                tests = 40 + _value(i, j, k, 31)
                pos = min(tests, _value(i, j, k, 5))
                rows.append((q, site, "hiv_tests", sex, "15-24", group, tests))
                rows.append((q, site, "hiv_positive", sex, "15-24", group, pos))
                rows.append((q, site, "art_initiated", sex, "15-24", group, max(0, pos - 1)))
    return rows


def load(engine: Engine) -> None:
    n = len(PLACES)
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": [p[0] for p in PLACES],
                "name": [p[1] for p in PLACES],
                "place_type": [p[2] for p in PLACES],
                "parent_code": [p[3] for p in PLACES],
                "country_code": [p[4] for p in PLACES],
                "lat": pa.array([0.1 * i for i in range(n)], pa.float64()),
                "lon": pa.array([30 + 0.1 * i for i in range(n)], pa.float64()),
                "corridor": [p[5] for p in PLACES],
                "population": pa.array([10_000] * n, pa.int64()),
                "dhis2_uid": [p[6].lower() for p in PLACES],
                "fmp_code": [""] * n,
                "import_id": pa.array([0] * n, pa.int64()),
            }
        ),
    )
    rows = services_rows()
    ps = [parse_period(r[0]) for r in rows]
    engine.insert_arrow(
        "services",
        pa.table(
            {
                "period": [p.text for p in ps],
                "period_type": [p.kind for p in ps],
                "period_start": pa.array([p.start for p in ps], pa.date32()),
                "period_end": pa.array([p.end for p in ps], pa.date32()),
                "place_code": [r[1] for r in rows],
                "data_element": [r[2] for r in rows],
                "sex": [r[3] for r in rows],
                "age_band": [r[4] for r in rows],
                "population_group": [r[5] for r in rows],
                "value": pa.array([float(r[6]) for r in rows], pa.float64()),
                "import_id": pa.array([0] * len(rows), pa.int64()),
                # record keys as an import gives them, drawn from a seed (reproducible tests)
                "record_key": pa.array(
                    np.random.default_rng(2024).integers(0, KEY_MODULUS, len(rows)), pa.int64()
                ),
            }
        ),
    )


ACCOUNTS = (
    ("admin1", "admin", "*", False),
    ("dm-uga", "data_manager", "UGA", False),
    ("an-keug", "analyst", "KEN,UGA", False),
    ("an-grant", "analyst", "KEN,UGA", True),
    ("partner1", "partner", "*", False),
)
PASSWORD = "correct horse battery"


def make_hub(path: Path, db: str | None = None) -> tuple[Workspace, dict[str, str]]:
    """A workspace with the data, one account per role (and a granted analyst), tokens."""
    ws = init_workspace(path, db=db)
    load(ws.engine)
    tokens: dict[str, str] = {}
    for name, role, countries, grant in ACCOUNTS:
        add_user(ws.engine, name, role, PASSWORD, countries=countries, unsuppressed=grant)
        tokens[name], _ = create_token(ws.engine, name)
    from datetime import date

    add_agreement(
        ws.engine,
        "partner1",
        indicators="positivity",
        by="country,sex",
        period_type="year",
        countries="KEN",
        valid_from=date(2020, 1, 1),
        valid_to=date(2099, 12, 31),
        created_by="test",
    )
    return ws, tokens


def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


def web_login(client: Any, name: str) -> str:
    """Log ``client`` in through the dashboard's form (password :data:`PASSWORD`); returns the
    session's CSRF token."""
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf": client.cookies["corridor_csrf"]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(client.cookies["corridor_csrf"])
