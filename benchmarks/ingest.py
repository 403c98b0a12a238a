"""Ingest benchmark: 1 million service rows as tidy CSV and as DHIS2 dataValueSets JSON.

Prints rows/second on DuckDB and, where a PostgreSQL server can be had (CORRIDOR_TEST_PG_URL or
a throw-away local server, as in the tests), on PostgreSQL; plus the ratio against a baseline
measured in the same run: reading the same CSV with pandas.read_csv (parse only, no validation,
no load), so the numbers survive a noisy machine. Goal: at least 200,000 rows/s on DuckDB.

    .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.contract import dimensions as d
from corridor.intake.importer import ingest
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

N_SITES = 200
QUARTERS = [f"{y}Q{q}" for y in range(2019, 2026) for q in range(1, 5)]


def make_sources(folder: Path, rows: int) -> tuple[Path, Path, Path, Path]:
    """Places, a tidy services CSV, the same values as DHIS2 JSON, and its mapping file."""
    rng = np.random.default_rng(1)
    sites = [f"site-{i:03d}" for i in range(N_SITES)]
    places = folder / "places.csv"
    lines = ["place_code,name,place_type,parent_code,country_code,dhis2_uid"]
    lines.append("ken,Kenya,country,,ken,")
    lines += [f"{s},Site {i},truck_stop,ken,ken,OU{i:09d}" for i, s in enumerate(sites)]
    places.write_text("\n".join(lines) + "\n")
    # unique keys: enumerate the cross product and take the first `rows` combinations
    elements = sorted(d.DATA_ELEMENTS)
    sexes, ages, groups = ("f", "m"), d.AGE_BANDS[:5], d.POPULATION_GROUPS[1:]
    combos = [(s, a, g) for s in sexes for a in ages for g in groups]
    per_site = len(QUARTERS) * len(elements) * len(combos)
    if rows > per_site * N_SITES:
        raise SystemExit(f"at most {per_site * N_SITES} rows")
    idx = np.arange(rows)
    site = idx % N_SITES
    rest = idx // N_SITES
    combo = rest % len(combos)
    rest //= len(combos)
    element = rest % len(elements)
    quarter = rest // len(elements)
    values = rng.integers(0, 5000, rows)
    frame = pd.DataFrame(
        {
            "period": np.array(QUARTERS)[quarter],
            "place_code": np.array(sites)[site],
            "data_element": np.array(elements)[element],
            "sex": np.array([c[0] for c in combos])[combo],
            "age_band": np.array([c[1] for c in combos])[combo],
            "population_group": np.array([c[2] for c in combos])[combo],
            "value": values,
        }
    )
    tidy = folder / "services.csv"
    frame.to_csv(tidy, index=False)
    coc = {
        f"COC{i:08d}": {"sex": s, "age_band": a, "population_group": g}
        for i, (s, a, g) in enumerate(combos)
    }
    de = {f"DE{i:09d}": e for i, e in enumerate(elements)}
    mapping = folder / "mapping.json"
    mapping.write_text(json.dumps({"data_elements": de, "category_option_combos": coc}))
    de_ids, coc_ids = np.array(list(de)), np.array(list(coc))
    ou = np.array([f"OU{i:09d}" for i in range(N_SITES)])
    dv = pd.DataFrame(
        {
            "dataElement": de_ids[element],
            "period": frame["period"],
            "orgUnit": ou[site],
            "categoryOptionCombo": coc_ids[combo],
            "attributeOptionCombo": "HllvX50cXC0",
            "value": values.astype(str),
        }
    )
    dhis2 = folder / "services.json"
    dhis2.write_text('{"dataValues": ' + dv.to_json(orient="records") + "}")
    return places, tidy, dhis2, mapping


def timed_ingest(engine: Engine, path: Path, fmt: str, mapping: Path | None) -> float:
    t0 = time.perf_counter()
    [r] = ingest(engine, [path], "services", fmt=fmt, mapping_path=mapping)
    elapsed = time.perf_counter() - t0
    assert r.rows_new == r.rows_read, (r.rows_new, r.rows_read, r.problems[:3])
    return elapsed


def fresh(url: str) -> Engine:
    eng = connect(url)
    migrate(eng)
    return eng


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        places, tidy, dhis2, mapping = make_sources(folder, args.rows)
        t0 = time.perf_counter()
        pd.read_csv(tidy, dtype=str)
        baseline = time.perf_counter() - t0
        print(f"rows: {args.rows:,}; baseline pandas.read_csv (parse only): {baseline:.2f} s")
        targets: list[tuple[str, str, object]] = []
        targets.append(("duckdb", str(folder / "bench.duckdb"), None))
        server = None
        if not args.no_postgres:
            url = os.environ.get("CORRIDOR_TEST_PG_URL")
            if not url:
                from pgserver import PgServer, find_bindir

                bindir = find_bindir()
                if bindir is not None:
                    server = PgServer(bindir)
                    server.start()
                    url = server.url
            if url:
                targets.append(("postgres", url, None))
            else:
                print("postgres: no server available, skipped")
        try:
            for name, url, _ in targets:
                for fmt, path, mp in (("csv", tidy, None), ("dhis2-json", dhis2, mapping)):
                    if name == "postgres":
                        import psycopg

                        with psycopg.connect(url, autocommit=True) as con:
                            con.execute(b"DROP SCHEMA public CASCADE")
                            con.execute(b"CREATE SCHEMA public")
                    else:
                        Path(url).unlink(missing_ok=True)
                    eng = fresh(url)
                    ingest(eng, [places], "places")
                    secs = timed_ingest(eng, path, fmt, mp)
                    eng.close()
                    print(
                        f"{name:8s} {fmt:10s} {secs:6.2f} s  {args.rows / secs:10,.0f} rows/s  "
                        f"{secs / baseline:5.1f}x the pandas parse-only baseline"
                    )
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
