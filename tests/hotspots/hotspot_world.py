"""A small hand-built warehouse for the hotspot tests, and a larger synthetic one with a truth.

The small world (year 2024): two countries, a high-prevalence area ``aaa-n`` (10%) and a
low-prevalence one ``bbb-s`` (0.5%), five sites. ``s-fish`` has no flow record at all.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corridor.storage.engine import Engine

PLACES: list[dict[str, Any]] = [
    # place_code, name, place_type, parent_code, country_code, lat, lon, population
    dict(place_code="aaa", name="Aland", place_type="country", parent_code="", country_code="ala"),
    dict(place_code="bbb", name="Bland", place_type="country", parent_code="", country_code="brb"),
    dict(place_code="aaa-n", name="North", place_type="admin1", parent_code="aaa",
         country_code="ala"),
    dict(place_code="bbb-s", name="South", place_type="admin1", parent_code="bbb",
         country_code="brb"),
    dict(place_code="s-truck", name="Truck Stop", place_type="truck_stop", parent_code="aaa-n",
         country_code="ala", lat=-1.0, lon=30.0, population=1000),
    dict(place_code="s-border", name="Border Post", place_type="border_crossing",
         parent_code="aaa-n", country_code="ala", lat=-1.5, lon=30.5, population=2000),
    dict(place_code="s-mine", name="The Mine", place_type="mine", parent_code="bbb-s",
         country_code="brb", lat=-2.0, lon=31.0, population=500),
    dict(place_code="s-fish", name="Fish Landing", place_type="fishing_site",
         parent_code="bbb-s", country_code="brb", lat=-2.5, lon=31.5, population=1000),
    dict(place_code="s-market", name="Market", place_type="market", parent_code="bbb-s",
         country_code="brb", lat=-2.2, lon=31.2, population=4000),
]  # fmt: skip

# site -> element -> {group: value}
_SERVICES: dict[str, dict[str, dict[str, float]]] = {
    "s-truck": {
        "hiv_tests": {"total": 400, "truck_driver": 300, "host": 100},
        "hiv_positive": {"total": 40},
        "art_initiated": {"total": 30},
        "art_current": {"total": 70},
        "vl_tested": {"total": 100},
        "vl_suppressed": {"total": 80},
        "plhiv_estimated": {"total": 100},
        "pop_estimated": {"total": 1000, "truck_driver": 400},
    },
    "s-border": {
        "hiv_tests": {"total": 1000, "cross_border_trader": 500, "host": 500},
        "hiv_positive": {"total": 20},
        "art_initiated": {"total": 19},
        "art_current": {"total": 55},
        "vl_tested": {"total": 200},
        "vl_suppressed": {"total": 190},
        "plhiv_estimated": {"total": 60},
        "pop_estimated": {"total": 2000, "cross_border_trader": 1000},
    },
    "s-mine": {
        "hiv_tests": {"total": 200, "miner": 150, "host": 50},
        "hiv_positive": {"total": 30},
        "art_initiated": {"total": 15},
        "art_current": {"total": 40},
        "vl_tested": {"total": 50},
        "vl_suppressed": {"total": 30},
        "plhiv_estimated": {"total": 75},
        "pop_estimated": {"total": 500, "miner": 300},
    },
    "s-fish": {
        "hiv_tests": {"total": 100, "fisherfolk": 80, "host": 20},
        "hiv_positive": {"total": 10},
        "art_initiated": {"total": 9},
        "art_current": {"total": 35},
        "vl_tested": {"total": 40},
        "vl_suppressed": {"total": 36},
        "plhiv_estimated": {"total": 50},
        "pop_estimated": {"total": 1000, "fisherfolk": 400},
    },
    "s-market": {
        "hiv_tests": {"total": 800, "host": 800},
        "hiv_positive": {"total": 8},
        "art_initiated": {"total": 8},
        "vl_tested": {"total": 100},
        "vl_suppressed": {"total": 98},
        "plhiv_estimated": {"total": 80},
        "pop_estimated": {"total": 4000},
    },
    "aaa-n": {"plhiv_estimated": {"total": 5000}, "pop_estimated": {"total": 50000}},
    "bbb-s": {"plhiv_estimated": {"total": 500}, "pop_estimated": {"total": 100000}},
}

SERVICES: list[dict[str, Any]] = [
    dict(period="2024", place_code=p, data_element=e, sex="total", age_band="total",
         population_group=g, value=float(v))
    for p, elements in _SERVICES.items()
    for e, groups in elements.items()
    for g, v in groups.items()
]  # fmt: skip

FLOWS: list[dict[str, Any]] = [
    dict(observation_code="s-border", direction="transit", origin_code="aaa-n",
         destination_code="bbb-s", count=3000),
    dict(observation_code="s-truck", direction="incoming", origin_code="aaa-n",
         destination_code="", count=500),
    dict(observation_code="s-border", direction="transit", origin_code="aaa-n",
         destination_code="s-mine", count=200),
    dict(observation_code="s-market", direction="incoming", origin_code="bbb-s",
         destination_code="", count=100),
]  # fmt: skip

CASES: list[dict[str, Any]] = [
    *(dict(case_id=f"m{i}", classification="confirmed", place_code="s-mine") for i in range(5)),
    dict(case_id="t1", classification="suspected", place_code="s-truck"),
    dict(case_id="k1", classification="probable", place_code="s-market"),
    dict(case_id="k2", classification="probable", place_code="s-market"),
]


# ---- loading into an engine ------------------------------------------------------------------
def _ids(n: int) -> pa.Array:
    return pa.array([1] * n, pa.int64())


def insert_places(engine: Engine, rows: list[dict[str, Any]]) -> None:
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": [r["place_code"] for r in rows],
                "name": [r["name"] for r in rows],
                "place_type": [r["place_type"] for r in rows],
                "parent_code": [r.get("parent_code", "") for r in rows],
                "country_code": [r["country_code"] for r in rows],
                "lat": pa.array([r.get("lat") for r in rows], pa.float64()),
                "lon": pa.array([r.get("lon") for r in rows], pa.float64()),
                "corridor": [r.get("corridor", "") for r in rows],
                "population": pa.array([r.get("population") for r in rows], pa.int64()),
                "dhis2_uid": [""] * len(rows),
                "fmp_code": [""] * len(rows),
                "import_id": _ids(len(rows)),
            }
        ),
    )


def insert_services(engine: Engine, rows: list[dict[str, Any]]) -> None:
    from corridor.contract.periods import parse_period

    periods = [parse_period(r["period"]) for r in rows]
    engine.insert_arrow(
        "services",
        pa.table(
            {
                "period": [p.text for p in periods],
                "period_type": [p.kind for p in periods],
                "period_start": pa.array([p.start for p in periods], pa.date32()),
                "period_end": pa.array([p.end for p in periods], pa.date32()),
                "place_code": [r["place_code"] for r in rows],
                "data_element": [r["data_element"] for r in rows],
                "sex": [r.get("sex", "total") for r in rows],
                "age_band": [r.get("age_band", "total") for r in rows],
                "population_group": [r.get("population_group", "total") for r in rows],
                "value": pa.array([float(r["value"]) for r in rows], pa.float64()),
                "import_id": _ids(len(rows)),
            }
        ),
    )


def insert_flows(
    engine: Engine,
    rows: list[dict[str, Any]],
    start: date = date(2024, 1, 1),
    end: date = date(2024, 12, 31),
) -> None:
    n = len(rows)
    engine.insert_arrow(
        "flows",
        pa.table(
            {
                "period_start": pa.array([r.get("period_start", start) for r in rows], pa.date32()),
                "period_end": pa.array([r.get("period_end", end) for r in rows], pa.date32()),
                "observation_code": [r["observation_code"] for r in rows],
                "direction": [r.get("direction", "transit") for r in rows],
                "origin_code": [r.get("origin_code", "") for r in rows],
                "destination_code": [r.get("destination_code", "") for r in rows],
                "sex": ["total"] * n,
                "age_band": ["total"] * n,
                "population_group": [r.get("population_group", "total") for r in rows],
                "mode": [r.get("mode", "truck") for r in rows],
                "count": pa.array([int(r["count"]) for r in rows], pa.int64()),
                "import_id": _ids(n),
            }
        ),
    )


def insert_cases(engine: Engine, rows: list[dict[str, Any]], day: date = date(2024, 6, 1)) -> None:
    n = len(rows)
    engine.insert_arrow(
        "cases",
        pa.table(
            {
                "case_id": [r["case_id"] for r in rows],
                "disease": [r.get("disease", "mpox") for r in rows],
                "classification": [r["classification"] for r in rows],
                "onset_date": pa.array([r.get("onset_date", day) for r in rows], pa.date32()),
                "report_date": pa.array([r.get("report_date", day) for r in rows], pa.date32()),
                "place_code": [r["place_code"] for r in rows],
                "sex": ["total"] * n,
                "age_years": pa.array([None] * n, pa.float64()),
                "population_group": ["total"] * n,
                "origin_code": [""] * n,
                "poe_code": [""] * n,
                "outcome": [""] * n,
                "import_id": _ids(n),
            }
        ),
    )


def load_small_world(engine: Engine) -> None:
    insert_places(engine, PLACES)
    insert_services(engine, SERVICES)
    insert_flows(engine, FLOWS)
    insert_cases(engine, CASES)


def write_small_world_csv(folder: Path) -> dict[str, Path]:
    """The small world as tidy CSV files (for ``ws.ingest`` and the CLI)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    place_cols = ["place_code", "name", "place_type", "parent_code", "country_code", "lat",
                  "lon", "population"]  # fmt: skip
    service_cols = ["period", "place_code", "data_element", "sex", "age_band",
                    "population_group", "value"]  # fmt: skip
    flow_cols = ["period_start", "period_end", "observation_code", "direction", "origin_code",
                 "destination_code", "count"]  # fmt: skip
    case_cols = ["case_id", "disease", "classification", "onset_date", "report_date",
                 "place_code"]  # fmt: skip
    flows = [dict(r, period_start="2024-01-01", period_end="2024-12-31") for r in FLOWS]
    cases = [
        dict(r, disease="mpox", onset_date="2024-06-01", report_date="2024-06-01") for r in CASES
    ]
    for kind, cols, rows in (
        ("places", place_cols, PLACES),
        ("services", service_cols, SERVICES),
        ("flows", flow_cols, flows),
        ("cases", case_cols, cases),
    ):
        path = folder / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        out[kind] = path
    return out


# ---- a larger synthetic world with a known truth ---------------------------------------------
def load_synthetic_world(engine: Engine, n_sites: int = 40, seed: int = 7) -> dict[str, float]:
    """Sites whose true new infections follow mobility, prevalence and service gaps.

    Returns the true new infections per site (per head). Used to check that the ranking follows
    a truth it can see, far better than chance (it is not the validation on the demo world).
    """
    rng = np.random.default_rng(seed)
    types = ["truck_stop", "border_crossing", "mine", "fishing_site", "market"]
    places: list[dict[str, Any]] = [
        dict(place_code="hi", name="High", place_type="admin1", parent_code="", country_code="hhh"),
        dict(place_code="lo", name="Low", place_type="admin1", parent_code="", country_code="lll"),
    ]
    services: list[dict[str, Any]] = [
        dict(period="2024", place_code="hi", data_element="plhiv_estimated", value=12000),
        dict(period="2024", place_code="hi", data_element="pop_estimated", value=100000),
        dict(period="2024", place_code="lo", data_element="plhiv_estimated", value=1000),
        dict(period="2024", place_code="lo", data_element="pop_estimated", value=100000),
    ]
    flows: list[dict[str, Any]] = []
    truth: dict[str, float] = {}
    for i in range(n_sites):
        code = f"site-{i:02d}"
        pop = int(rng.integers(800, 6000))
        prev = float(rng.uniform(0.01, 0.2))
        mobility = float(rng.uniform(0.0, 3.0))  # travellers per resident per year
        mobile = float(rng.uniform(0.1, 0.8))
        cover = float(rng.uniform(0.2, 1.0))  # service coverage
        places.append(
            dict(place_code=code, name=f"Site {i}", place_type=types[i % len(types)],
                 parent_code="hi" if i % 2 else "lo", country_code="hhh" if i % 2 else "lll",
                 lat=float(i), lon=float(i), population=pop)
        )  # fmt: skip
        tests = int(pop * 0.4 * cover) + 20
        plhiv = int(pop * prev)
        services += [
            dict(period="2024", place_code=code, data_element="hiv_tests", value=tests),
            dict(period="2024", place_code=code, data_element="hiv_tests",
                 population_group="truck_driver", value=int(tests * mobile)),
            dict(period="2024", place_code=code, data_element="hiv_tests",
                 population_group="host", value=tests - int(tests * mobile)),
            dict(period="2024", place_code=code, data_element="hiv_positive",
                 value=int(rng.binomial(tests, min(1.0, prev * 1.3)))),
            dict(period="2024", place_code=code, data_element="plhiv_estimated", value=plhiv),
            dict(period="2024", place_code=code, data_element="pop_estimated", value=pop),
            dict(period="2024", place_code=code, data_element="pop_estimated",
                 population_group="truck_driver", value=int(pop * mobile)),
            dict(period="2024", place_code=code, data_element="art_initiated",
                 value=int(plhiv * 0.1 * cover)),
            dict(period="2024", place_code=code, data_element="vl_tested", value=int(plhiv * 0.5)),
            dict(period="2024", place_code=code, data_element="vl_suppressed",
                 value=int(plhiv * 0.5 * (0.5 + 0.45 * cover))),
        ]  # fmt: skip
        if i % 7 != 3:  # some sites have no flow data
            flows.append(
                dict(observation_code=code, origin_code="hi" if i % 3 else "lo",
                     destination_code="lo" if i % 3 else "hi", count=int(pop * mobility))
            )  # fmt: skip
        incidence = prev * (0.3 + mobility) * (0.3 + mobile) * (1.4 - cover) * 0.05
        truth[code] = incidence
    insert_places(engine, places)
    insert_services(engine, services)
    insert_flows(engine, flows)
    return truth


def cli_workspace(capsys: Any, tmp_path: Path) -> Path:
    """A workspace made and filled with the small world through the CLI, as a user would."""
    from clihelp import run

    folder = tmp_path / "ws"
    assert run(capsys, "init", str(folder)).code == 0
    files = write_small_world_csv(tmp_path / "src")
    for kind in ("places", "services", "flows", "cases"):
        r = run(capsys, "-w", str(folder), "ingest", str(files[kind]), "--kind", kind)
        assert r.code == 0, r.err
    return folder
