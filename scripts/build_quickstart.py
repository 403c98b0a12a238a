#!/usr/bin/env python3
"""Write ``examples/quickstart/``: the small, invented data set that the README's quick start uses.

Three countries on the Northern and Central corridors, ten sites, one year (2024): a place
registry, quarterly service counts by sex and population group (testing, the 95-95-95 cascade,
viral load), monthly flow-monitoring counts at the border posts and ports (with two invalid
rows, to show the quarantine), and an mpox line list. The numbers are invented (seeded,
reproducible) and large enough that indicators pass disclosure control, so that the quick start
shows real tables, a ranking and a report. For realistic data with a known truth, use
``corridor demo``.

    python3 scripts/build_quickstart.py        # rewrites examples/quickstart/*.csv
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "examples" / "quickstart"

PLACE_COLUMNS = [
    "place_code",
    "name",
    "place_type",
    "parent_code",
    "country_code",
    "lat",
    "lon",
    "corridor",
    "population",
    "dhis2_uid",
    "fmp_code",
]
# code, name, type, parent, country, lat, lon, corridor, population, dhis2 uid, fmp code
PLACES = [
    ("ken", "Kenya", "country", "", "ken", 0.17, 37.90, "northern;central", "", "", ""),
    ("uga", "Uganda", "country", "", "uga", 1.37, 32.29, "northern", "", "", ""),
    ("tza", "Tanzania", "country", "", "tza", -6.37, 34.89, "central", "", "", ""),
    ("ke-busia", "Busia County", "admin1", "ken", "ken", 0.43, 34.24, "northern", 893681, "", ""),
    ("ke-mombasa", "Mombasa County", "admin1", "ken", "ken", -4.04, 39.67, "northern;central",
     1208333, "", ""),
    ("ke-nairobi", "Nairobi County", "admin1", "ken", "ken", -1.29, 36.82, "northern", 4397073,
     "", ""),
    ("ug-busia", "Busia District", "admin2", "uga", "uga", 0.47, 34.09, "northern", 323662, "",
     ""),
    ("tz-dar", "Dar es Salaam Region", "admin1", "tza", "tza", -6.79, 39.21, "central", 5383728,
     "", ""),
    ("tz-kagera", "Kagera Region", "admin1", "tza", "tza", -1.96, 31.47, "central", 2989299, "",
     ""),
    ("ke-busia-osbp", "Busia one-stop border post", "border_crossing", "ke-busia", "ken", 0.4608,
     34.0922, "northern", 12000, "Kb7TGDaJzQs", "FMP-KE-001"),
    ("ke-malaba-osbp", "Malaba one-stop border post", "border_crossing", "ke-busia", "ken", 0.6350,
     34.2800, "northern", 9000, "Lm3RtPq8WzA", "FMP-KE-002"),
    ("ke-mombasa-port", "Port of Mombasa", "seaport", "ke-mombasa", "ken", -4.0435, 39.6582,
     "northern;central", 30000, "Pq9Zx2Cv4Bn", "FMP-KE-003"),
    ("ke-mlolongo-ts", "Mlolongo truck stop", "truck_stop", "ke-nairobi", "ken", -1.3936, 36.9406,
     "northern", 3500, "Ts5Hj7Kl9Mn", ""),
    ("ug-busia-osbp", "Busia border post (Uganda side)", "border_crossing", "ug-busia", "uga",
     0.4640, 34.0880, "northern", 8000, "Ug7Bs1Ap3Zx", "FMP-UG-001"),
    ("ug-kasenyi", "Kasenyi landing site", "fishing_site", "uga", "uga", 0.10, 32.90, "", 12000,
     "", ""),
    ("ug-katosi", "Katosi landing site", "fishing_site", "uga", "uga", 0.15, 32.80, "", 7000, "",
     ""),
    ("tz-dar-port", "Port of Dar es Salaam", "seaport", "tz-dar", "tza", -6.8300, 39.2890,
     "central", 25000, "Dr4Pt6Yu8Io", "FMP-TZ-001"),
    ("tz-mutukula", "Mutukula border post", "border_crossing", "tz-kagera", "tza", -1.0000,
     31.4170, "central", 6000, "Mt2Kg4Lp6Qw", "FMP-TZ-002"),
    ("tz-isaka-ts", "Isaka dry port truck stop", "truck_stop", "tza", "tza", -3.8900, 32.9300,
     "central", 4000, "", ""),
]  # fmt: skip

#: mobile groups seen at each kind of site (the host community is everywhere)
GROUPS = {
    "border_crossing": ("truck_driver", "cross_border_trader", "sex_worker"),
    "seaport": ("truck_driver", "sex_worker"),
    "truck_stop": ("truck_driver", "sex_worker"),
    "fishing_site": ("fisherfolk", "sex_worker"),
}
#: HIV prevalence by group (invented, in the range of published estimates for the region)
PREVALENCE = {
    "host": 0.05,
    "truck_driver": 0.09,
    "cross_border_trader": 0.07,
    "sex_worker": 0.25,
    "fisherfolk": 0.18,
}
QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")


def services(rng: random.Random) -> list[list[object]]:
    rows: list[list[object]] = []
    for code, _n, kind, *_rest in PLACES:
        if kind not in GROUPS:
            continue
        size = int(str(_rest[-3]))
        for group in ("host", *GROUPS[kind]):
            share = 0.6 if group == "host" else 0.4 / len(GROUPS[kind])
            for sex in ("f", "m"):
                pop = max(200, int(size * share / 2 * rng.uniform(0.8, 1.2)))
                prev = PREVALENCE[group] * rng.uniform(0.7, 1.3) * (1.3 if sex == "f" else 0.8)
                plhiv = max(20, int(pop * prev))
                mobile = group != "host"
                know = rng.uniform(0.55, 0.75) if mobile else rng.uniform(0.8, 0.92)
                on_art = rng.uniform(0.7, 0.85) if mobile else rng.uniform(0.85, 0.95)
                supp = rng.uniform(0.7, 0.85) if mobile else rng.uniform(0.85, 0.95)
                base = ["2024", code, "", sex, "", group]
                rows.append([*base[:2], "pop_estimated", *base[3:], pop])
                rows.append([*base[:2], "plhiv_estimated", *base[3:], plhiv])
                for i, quarter in enumerate(QUARTERS):
                    diagnosed = int(plhiv * min(0.97, know + 0.01 * i))
                    art = int(diagnosed * on_art)
                    vl = int(art * rng.uniform(0.6, 0.85))
                    tests = int(pop * rng.uniform(0.05, 0.12))
                    positive = max(0, int(tests * prev * rng.uniform(0.3, 0.6)))
                    for element, value in (
                        ("hiv_tests", tests),
                        ("hiv_positive", positive),
                        ("art_initiated", int(positive * rng.uniform(0.6, 0.95))),
                        ("plhiv_diagnosed", diagnosed),
                        ("art_current", art),
                        ("vl_tested", vl),
                        ("vl_suppressed", int(vl * supp)),
                    ):
                        rows.append([quarter, code, element, sex, "", group, value])
    return rows


def flows(rng: random.Random) -> list[list[object]]:
    points = {
        "ke-busia-osbp": ("uga", "ke-nairobi"),
        "ke-malaba-osbp": ("uga", "ke-mombasa"),
        "ug-busia-osbp": ("ken", "uga"),
        "tz-mutukula": ("uga", "tz-dar"),
        "ke-mombasa-port": ("ke-nairobi", "uga"),
        "tz-dar-port": ("tz-kagera", "tz-dar"),
    }
    rows: list[list[object]] = []
    for month in range(1, 13):
        start = date(2024, month, 1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for point, (origin, destination) in points.items():
            for group, mode in (("truck_driver", "truck"), ("cross_border_trader", "bus")):
                for direction, o, d in (
                    ("incoming", origin, destination),
                    ("outgoing", destination, origin),
                ):
                    count = int(rng.uniform(300, 1500) * (2 if mode == "truck" else 1))
                    rows.append([start, end, point, direction, o, d, "m", "25-34", group, mode,
                                 count])  # fmt: skip
    # two rows a field officer might send, for `ingest --quarantine` and `corridor quarantine`
    june = [date(2024, 6, 1), date(2024, 6, 30)]
    rows.insert(70, [*june, "ke-busia-osbp", "incoming", "uga", "ke-nairobi", "m", "25-34",
                     "truck_driver", "truck", -12])  # fmt: skip
    rows.insert(90, [*june, "tz-mutukula", "sideways", "uga", "tz-dar", "f", "25-34",
                     "cross_border_trader", "bus", 310])  # fmt: skip
    return rows


def cases(rng: random.Random) -> list[list[object]]:
    """An mpox outbreak that enters at Busia in July and travels the corridor to Dar es Salaam."""
    route = [
        ("ke-busia-osbp", date(2024, 7, 1)),
        ("ke-malaba-osbp", date(2024, 7, 20)),
        ("ke-mlolongo-ts", date(2024, 8, 10)),
        ("ke-mombasa-port", date(2024, 8, 28)),
        ("tz-dar-port", date(2024, 9, 20)),
    ]
    rows: list[list[object]] = []
    n = 0
    for place, first in route:
        country = place[:2].replace("ke", "ken").replace("tz", "tza").replace("ug", "uga")
        for _ in range(rng.randint(8, 14)):
            n += 1
            onset = first + timedelta(days=int(rng.expovariate(1 / 18)))
            confirmed = rng.random() < 0.55
            rows.append([
                f"MPX-{country.upper()}-{n:04d}", "mpox",
                "confirmed" if confirmed else "suspected", onset,
                onset + timedelta(days=rng.randint(1, 6)), place, rng.choice("fm"),
                rng.randint(18, 55), rng.choice(["truck_driver", "sex_worker", "host"]),
                "", "", "recovered" if confirmed and rng.random() < 0.8 else "",
            ])  # fmt: skip
    return rows


def places() -> list[list[object]]:
    """The registry; only sites carry a corridor (the map joins a corridor's places)."""
    rows = [list(p) for p in PLACES]
    for row in rows:
        if row[2] in ("country", "admin1", "admin2"):
            row[7] = ""
    return rows


def write(name: str, header: list[str], rows: list[list[object]]) -> None:
    with (OUT / name).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    rng = random.Random(2024)
    OUT.mkdir(parents=True, exist_ok=True)
    write("places.csv", PLACE_COLUMNS, places())
    write(
        "services.csv",
        ["period", "place_code", "data_element", "sex", "age_band", "population_group", "value"],
        services(rng),
    )
    write(
        "flows.csv",
        [
            "period_start",
            "period_end",
            "observation_code",
            "direction",
            "origin_code",
            "destination_code",
            "sex",
            "age_band",
            "population_group",
            "mode",
            "count",
        ],
        flows(rng),
    )
    write(
        "cases.csv",
        [
            "case_id",
            "disease",
            "classification",
            "onset_date",
            "report_date",
            "place_code",
            "sex",
            "age_years",
            "population_group",
            "origin_code",
            "poe_code",
            "outcome",
        ],
        cases(rng),
    )


if __name__ == "__main__":
    main()
