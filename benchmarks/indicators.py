"""Indicator benchmark: the HIV cascade by site x sex x age band x population group x quarter.

Generates service rows with numpy (default 10 million: monthly counts, monthly ART stock,
quarterly diagnosed and annual estimates, fully disaggregated), loads them into DuckDB (and into
PostgreSQL where a server can be had: CORRIDOR_TEST_PG_URL or a throw-away local one, as in the
tests), and times ``compute_indicators`` against a straightforward pandas group-by that computes
the same table in the same run (sum elements summed per quarter, stocks the last value of the
quarter, annual estimates standing for each quarter; numerator, denominator, value, unit, target,
gap, element names and place names). The two tables are compared row for row, value by value.
Goals: DuckDB under 2 s and at least 5x faster than pandas (medians of ``--repeat`` runs); on
10M rows, DuckDB under 1 s (issue 10's dictionary-encoded keys, "Beyond").

    .venv/bin/python benchmarks/indicators.py [--rows 10000000] [--no-postgres] [--repeat 3]
        [--pg-rows 2000000]

The rows are loaded as an import of them would leave them: the engine's planner statistics
brought up to date after the load (``Engine.refresh_statistics``, as ``ingest`` does; PostgreSQL
``ANALYZE``), and on PostgreSQL each place's rows together (``Dialect.services_by_place``, as
its imports write them; DuckDB's keep the file's order, here the generator's, a site at a time
within each element, period and disaggregation). So that the ratio can be read like for like,
DuckDB is timed on the rows a place at a time too, after PostgreSQL. The pandas baseline
starts from a DataFrame already in memory (pandas' default string dtype, as read_csv gives
them) and leaves its rows unsorted; DuckDB starts from its warehouse file and returns rows in
reading order (the headline time; the time without the final sort, ordered=False, is printed
too). PostgreSQL runs on the first sites (``--pg-rows``)
and is compared with pandas and with DuckDB on the same rows; the ratio PostgreSQL / DuckDB is
printed (goal: at most 3x). Both engines run ``--repeat`` times. CPU seconds are printed beside
wall time (the machine may be shared): DuckDB's are this process's; PostgreSQL's are this
process's plus the server's (its backend and parallel workers), where the benchmark started
the server itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.periods import parse_period
from corridor.indicators import CASCADE, INDICATORS, compute_indicators
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate
from corridor.storage.placeorder import by_place
from corridor.storage.recordkeys import KEY_MODULUS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SEXES = ("f", "m")
AGES = ("<15", "15-24", "25-34", "35-49", "50+")
GROUPS = ("host", "migrant", "truck_driver", "sex_worker", "fisherfolk", "miner")
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]
QUARTERS = [f"{y}Q{q}" for y in (2023, 2024) for q in range(1, 5)]
YEARS = ["2023", "2024"]
#: element -> the periods it is reported for
ELEMENTS: dict[str, list[str]] = {
    "hiv_tests": MONTHS,
    "hiv_positive": MONTHS,
    "art_initiated": MONTHS,
    "vl_tested": MONTHS,
    "vl_suppressed": MONTHS,
    "prep_initiated": MONTHS,
    "art_current": MONTHS,
    "plhiv_diagnosed": QUARTERS,
    "plhiv_estimated": YEARS,
    "pop_estimated": YEARS,
}
BY = ["place", "sex", "age_band", "population_group", "period"]
KEY = ["place_code", "sex", "age_band", "population_group", "period"]


def _strings(codes: np.ndarray, values: list[str]) -> pa.Array:
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values))
    return dictionary.cast(pa.string())


def generate(rows: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    """(places, services): about ``rows`` service rows (whole sites)."""
    rng = np.random.default_rng(seed)
    combos = len(SEXES) * len(AGES) * len(GROUPS)
    per_site = combos * sum(len(p) for p in ELEMENTS.values())
    n_sites = max(1, round(rows / per_site))
    sites = [f"site-{i:05d}" for i in range(n_sites)]
    info = {t: parse_period(t) for t in {*MONTHS, *QUARTERS, *YEARS}}
    parts: list[pa.Table] = []
    for element, periods in ELEMENTS.items():
        n = n_sites * len(periods) * combos
        idx = np.arange(n)
        site = idx % n_sites
        rest = idx // n_sites
        combo = rest % combos
        period = rest // combos
        g = combo % len(GROUPS)
        a = (combo // len(GROUPS)) % len(AGES)
        s = combo // (len(GROUPS) * len(AGES))
        scale = {"pop_estimated": 5000, "plhiv_estimated": 400, "plhiv_diagnosed": 350}.get(
            element, 60
        )
        p = [info[t] for t in periods]
        parts.append(
            pa.table(
                {
                    "period": _strings(period, periods),
                    "period_type": _strings(period, [x.kind for x in p]),
                    "period_start": pa.array([x.start for x in p], pa.date32()).take(period),
                    "period_end": pa.array([x.end for x in p], pa.date32()).take(period),
                    "place_code": _strings(site, sites),
                    "data_element": _strings(np.zeros(n, np.int32), [element]),
                    "sex": _strings(s, list(SEXES)),
                    "age_band": _strings(a, list(AGES)),
                    "population_group": _strings(g, list(GROUPS)),
                    "value": pa.array(rng.integers(0, scale, n).astype(float)),
                    "import_id": pa.array(np.ones(n, dtype=np.int64)),
                    # as an import gives them (storage.recordkeys): the cell keys add them up
                    "record_key": pa.array(rng.integers(0, KEY_MODULUS, n, dtype=np.int64)),
                }
            )
        )
    services = pa.concat_tables(parts).combine_chunks()
    n = len(sites) + 1
    places = pa.table(
        {
            "place_code": ["ken", *sites],
            "name": ["Kenya", *(f"Site {i}" for i in range(len(sites)))],
            "place_type": ["country", *(["truck_stop"] * len(sites))],
            "parent_code": ["", *(["ken"] * len(sites))],
            "country_code": ["ken"] * n,
            "lat": pa.nulls(n, pa.float64()),
            "lon": pa.nulls(n, pa.float64()),
            "corridor": ["", *(["northern"] * len(sites))],
            "population": pa.nulls(n, pa.int64()),
            "dhis2_uid": [""] * n,
            "fmp_code": [""] * n,
            "import_id": pa.array(np.ones(n, dtype=np.int64)),
        }
    )
    return places, services


def pandas_cascade(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The same table with a plain pandas group-by (data fully disaggregated, no overlaps):
    sums added per quarter, stocks and lookbacks the quarter's last month, art_current two
    quarters earlier for vl_coverage, pop_estimated of ages 15+ for testing_coverage, and a
    numerator and denominator only where the place reports both in the quarter."""
    month_q = {m: f"{m[:4]}Q{(int(m[5:]) - 1) // 3 + 1}" for m in MONTHS}
    latest = ("art_current", "vl_tested", "vl_suppressed")  # stock and lookback, monthly
    sums = [e for e, p in ELEMENTS.items() if p is MONTHS and e not in latest]
    dims = ["place_code", "sex", "age_band", "population_group"]
    monthly = df[df["data_element"].isin([*sums, *latest])].copy()
    monthly["quarter"] = monthly["period"].map(month_q)
    s = monthly[monthly["data_element"].isin(sums)]
    summed = s.groupby([*dims, "quarter", "data_element"], observed=True)["value"].sum()
    wide = summed.unstack("data_element")
    for e in latest:
        stock = monthly[monthly["data_element"] == e].sort_values("period")
        wide[e] = stock.groupby([*dims, "quarter"], observed=True)["value"].last()
    diag = df[df["data_element"] == "plhiv_diagnosed"].set_index([*dims, "period"])["value"]
    diag.index = diag.index.set_names("quarter", level="period")
    wide["plhiv_diagnosed"] = diag
    annual = df[df["data_element"].isin(["plhiv_estimated", "pop_estimated"])]
    annual = annual.pivot_table(
        index=[*dims, "period"], columns="data_element", values="value", observed=True
    )
    wide = wide.reset_index()
    wide["year"] = wide["quarter"].str[:4]
    wide = wide.merge(
        annual.reset_index().rename(columns={"period": "year"}), on=[*dims, "year"], how="left"
    )
    # two quarters earlier, and the ages offered testing
    order = sorted(QUARTERS)
    earlier = {q: order[i - 2] for i, q in enumerate(order) if i >= 2}
    lag = wide[[*dims, "quarter", "art_current"]].rename(
        columns={"quarter": "lag_q", "art_current": "art_current__lag2q"}
    )
    wide["lag_q"] = wide["quarter"].map(earlier)
    wide = wide.merge(lag, on=[*dims, "lag_q"], how="left")
    wide["pop_estimated__offered_ages"] = wide["pop_estimated"].where(wide["age_band"] != "<15")
    wide["place_name"] = wide["place_code"].map(names)
    out = []
    for ind in INDICATORS:
        if ind.id not in CASCADE or any(e not in ELEMENTS for e in ind.elements):
            continue
        a, b = (x.key for x in ind.series)
        # a place reporting both parts in the quarter (in any of its cells) keeps each part
        # where the cell has it (children's tests without the ages offered testing, say)
        at = [wide["place_code"], wide["quarter"]]
        both = wide[a].notna().groupby(at).transform("any") & wide[b].notna().groupby(at).transform(
            "any"
        )
        part = wide[[*dims, "quarter", "place_name"]].copy()
        part["indicator"] = ind.id
        part["numerator"] = wide[a].where(both)
        part["denominator"] = wide[b].where(both)
        part["value"] = (
            ind.scale * part["numerator"] / part["denominator"].where(part["denominator"] > 0)
        )
        part["unit"] = ind.unit
        part["target"] = np.nan if ind.target is None else ind.target
        part["gap"] = part["target"] - part["value"]
        part["numerator_element"] = a
        part["denominator_element"] = b
        out.append(part)
    return pd.concat(out, ignore_index=True).rename(columns={"quarter": "period"})


NUMBERS = ["numerator", "denominator", "value", "target", "gap"]
TEXTS = ["place_name", "unit", "numerator_element", "denominator_element"]


def compare(ours: pa.Table, theirs: pd.DataFrame) -> None:
    """Row for row: the same keys in both tables, the same numbers and texts in each row."""
    cols = ["indicator", *KEY, *NUMBERS, *TEXTS]
    a = ours.select(cols).to_pandas()
    b = theirs[cols]
    m = a.merge(b, on=["indicator", *KEY], how="outer", suffixes=("", "_pd"), indicator=True)
    missing = int((m["_merge"] != "both").sum())
    bad = sum(
        int((~np.isclose(m[c], m[f"{c}_pd"], rtol=1e-12, atol=0, equal_nan=True)).sum())
        for c in NUMBERS
    )
    bad += sum(int((m[c].astype(object) != m[f"{c}_pd"].astype(object)).sum()) for c in TEXTS)
    if missing or bad or len(a) != len(b):
        raise SystemExit(
            f"MISMATCH: {missing} rows in one table only, {bad} values differ "
            f"({len(a):,} rows against {len(b):,})"
        )
    print(f"  checked: {len(a):,} rows identical to the pandas table")


def subset(
    places: pa.Table,
    services: pa.Table,
    df: pd.DataFrame,
    names: dict[str, str],
    rows: int,
    repeat: int,
) -> tuple[pa.Table, pd.DataFrame, float]:
    """The rows of the first sites (up to ``rows``) and the pandas baseline on them."""
    per_site = services.num_rows // (places.num_rows - 1)
    keep = set(places.column("place_code").to_pylist()[1 : 1 + max(1, rows // per_site)])
    mask = pc.is_in(services.column("place_code"), value_set=pa.array(sorted(keep)))
    part = services.filter(mask)
    part_df = df[df["place_code"].isin(keep)]
    secs, runs, expected = timed(lambda: pandas_cascade(part_df, names), repeat)
    assert isinstance(expected, pd.DataFrame)
    print(f"pandas   baseline on {part.num_rows:,} rows      {secs:7.2f} s  {_runs(runs)}")
    return part, expected, secs


#: CPU seconds of every run timed by :func:`timed` (this process, plus a local PostgreSQL
#: server's processes where :data:`SERVER_DATA` names its data folder)
CPU: list[float] = []
SERVER_DATA: list[Path] = []


def server_cpu() -> float:
    """CPU seconds used so far by the local PostgreSQL server started here: the postmaster,
    its live processes and the ones it has reaped (parallel workers); 0 without one."""
    if not SERVER_DATA:
        return 0.0
    try:
        postmaster = int((SERVER_DATA[0] / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            ticks += sum(int(f) for f in fields[11:15])  # its own and its reaped children's
        elif ppid == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(fn: object, repeat: int) -> tuple[float, list[float], object]:
    """(median seconds, every run's seconds, the last result) of ``repeat`` runs; the CPU
    seconds of each run are appended to :data:`CPU`."""
    runs, result = [], None
    CPU.clear()
    for _ in range(repeat):
        result = None  # the previous result is not kept alive during the next run
        c0 = time.process_time() + server_cpu()
        t0 = time.perf_counter()
        result = fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - t0)
        CPU.append(time.process_time() + server_cpu() - c0)
    return statistics.median(runs), runs, result


def _runs(runs: list[float]) -> str:
    return "[" + ", ".join(f"{r:.2f}" for r in runs) + "]"


def load(url: str, places: pa.Table, services: pa.Table) -> tuple[Engine, float]:
    eng = connect(url)
    migrate(eng)
    t0 = time.perf_counter()
    eng.insert_arrow("places", places)
    if eng.dialect.services_by_place:  # as an import writes them (PostgreSQL)
        services = by_place(services)
    step = 2_000_000
    for i in range(0, services.num_rows, step):
        eng.insert_arrow("services", services.slice(i, step))
    # as an import of that many rows does when it commits (PostgreSQL: ANALYZE)
    eng.refresh_statistics(["places", "services"])
    return eng, time.perf_counter() - t0


def _timed_duckdb(
    path: Path, places: pa.Table, services: pa.Table, run: Any, repeat: int
) -> tuple[float, list[float]]:
    """``run`` timed (:func:`timed`) on a DuckDB warehouse at ``path`` holding these rows, in
    their order."""
    duck = connect(str(path))
    migrate(duck)
    duck.insert_arrow("places", places)
    duck.insert_arrow("services", services)
    secs, runs, _ = timed(lambda: run(duck), repeat)
    duck.close()
    return secs, runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing (median shown)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument(
        "--pg-rows",
        type=int,
        default=2_000_000,
        help="PostgreSQL gets the first sites up to this many rows (all: at least --rows).",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    places, services = generate(args.rows)
    print(
        f"rows: {services.num_rows:,} services rows, {places.num_rows - 1:,} sites "
        f"(generated in {time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f}; median of {args.repeat} runs [each run]"
    )
    names = dict(zip(places["place_code"].to_pylist(), places["name"].to_pylist(), strict=True))
    df = services.select(["period", *KEY[:-1], "data_element", "value"]).to_pandas()
    secs_pd, runs_pd, expected = timed(lambda: pandas_cascade(df, names), args.repeat)
    assert isinstance(expected, pd.DataFrame)
    print(
        f"pandas   group-by baseline            {secs_pd:7.2f} s  ({len(expected):,} rows) "
        f"{_runs(runs_pd)}"
    )

    def run(eng: Engine, ordered: bool = True) -> pa.Table:
        return compute_indicators(eng, list(CASCADE), by=BY, ordered=ordered)

    targets: list[tuple[str, str]] = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("duckdb", str(Path(tmp.name) / "bench.duckdb")))
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
            targets.append(("postgres", url))
        else:
            print("postgres: no server available, skipped")
    goal: tuple[float, float] | None = None
    duck_secs: dict[int, float] = {}  # rows -> DuckDB's median on them
    duck_cpu: dict[int, float] = {}  # rows -> DuckDB's median CPU seconds on them
    pg_ratio: float | None = None
    try:
        for name, url in targets:
            if name == "postgres":
                import psycopg

                with psycopg.connect(url, autocommit=True) as con:
                    con.execute(b"DROP SCHEMA public CASCADE")
                    con.execute(b"CREATE SCHEMA public")
            data, expect, secs_base = services, expected, secs_pd
            if name == "postgres" and args.pg_rows < args.rows:
                data, expect, secs_base = subset(
                    places, services, df, names, args.pg_rows, args.repeat
                )
                path = Path(tmp.name) / "subset.duckdb"
                secs_d, runs_d = _timed_duckdb(path, places, data, run, args.repeat)
                duck_secs[data.num_rows] = secs_d
                duck_cpu[data.num_rows] = statistics.median(CPU)
                print(
                    f"duckdb   compute_indicators, same rows {secs_d:7.2f} s  {_runs(runs_d)} "
                    f"CPU {_runs(CPU)}"
                )
            eng, secs_load = load(url, places, data)
            if name == "postgres":
                eng.execute("ANALYZE services")
                if server is not None:
                    SERVER_DATA[:] = [server.data]
            secs, runs, table = timed(lambda eng=eng: run(eng), args.repeat)
            cpu = statistics.median(CPU)
            assert isinstance(table, pa.Table)
            print(
                f"{name:8s} compute_indicators           {secs:7.2f} s  ({table.num_rows:,} rows "
                f"from {data.num_rows:,}; load {secs_load:.1f} s)  "
                f"{secs_base / secs:5.1f}x faster than pandas {_runs(runs)} CPU {_runs(CPU)}"
                + (" (this process and the server)" if name == "postgres" and SERVER_DATA else "")
            )
            compare(table, expect)
            del table
            if name == "duckdb":
                goal = (secs, secs_base / secs)
                duck_secs[data.num_rows] = secs
                duck_cpu[data.num_rows] = cpu
                secs_u, runs_u, _ = timed(lambda eng=eng: run(eng, False), args.repeat)
                print(
                    f"{name:8s}   the same, ordered=False    {secs_u:7.2f} s  "
                    f"{secs_base / secs_u:5.1f}x faster than pandas {_runs(runs_u)}"
                )
            else:
                pg_ratio = secs / duck_secs[data.num_rows]
                cpu_ratio = f"; CPU {cpu / duck_cpu[data.num_rows]:.1f}x" if SERVER_DATA else ""
                print(
                    f"postgres / duckdb on {data.num_rows:,} rows: {pg_ratio:.1f}x wall"
                    f"{cpu_ratio} (goal: at most 3x; load average {os.getloadavg()[0]:.1f})"
                )
            by_places = eng.dialect.services_by_place
            eng.close()
            if name == "postgres" and by_places:  # like for like: DuckDB on that order too
                path = Path(tmp.name) / "byplace.duckdb"
                secs_b, runs_b = _timed_duckdb(path, places, by_place(data), run, args.repeat)
                print(
                    f"duckdb   the same rows a place at a time {secs_b:7.2f} s  "
                    f"{_runs(runs_b)} CPU {_runs(CPU)}: postgres / that {secs / secs_b:.1f}x "
                    "(DuckDB's imports keep the file's order)"
                )
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()
    if goal is not None:
        secs, ratio = goal
        print(
            f"goal on {services.num_rows:,} rows ({os.cpu_count()} cores): duckdb under 2 s: "
            f"{'met' if secs < 2 else 'NOT met'} ({secs:.2f} s); at least 5x pandas: "
            f"{'met' if ratio >= 5 else 'NOT met'} ({ratio:.1f}x)"
        )
        if services.num_rows >= 10_000_000:
            print(f"goal: duckdb under 1 s on 10M rows: {'met' if secs < 1 else 'NOT met'}")
    if pg_ratio is not None:
        print(
            f"goal: postgres at most 3x duckdb: {'met' if pg_ratio <= 3 else 'NOT met'} "
            f"({pg_ratio:.1f}x)"
        )


if __name__ == "__main__":
    main()
