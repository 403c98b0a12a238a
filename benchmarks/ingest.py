"""Ingest benchmark: the tidy services CSV against DuckDB's own CSV reader, and DHIS2 JSON.

Each measurement runs in its own process, so that its peak memory (the high-water mark of the
resident set, VmHWM) is its own; memory is reported above what the process held before the
measured work (Python, polars, DuckDB and Arrow loaded: about 230 MB). The peak reported is the
highest of the runs, and the runs' lowest and highest are shown as multiples of the file (a peak
moves with how much freed memory the allocators still hold). The baseline, measured in
the same run on the same file, is raw DuckDB: ``CREATE TABLE t AS SELECT * FROM read_csv(file)``
into a fresh DuckDB file (no validation at all). Corridor's ingest validates every row (codes,
places, periods, numbers, ranges, control characters, duplicate keys), compares with the
warehouse and records provenance. Raw DuckDB and the ingest take turns ``--repeat`` times and the
fastest run of each is kept (the machine is shared); CPU seconds (all threads) are shown too.
For DHIS2 JSON into DuckDB the import stages the values inside the warehouse
(:mod:`corridor.intake.jsonstage`); the exact reader that takes the files it hands on (read,
parse, translate codes) is timed alone as well, on its DuckDB path and on its Arrow path (taking
turns), and one import is timed step by step (read the file; stage it in the warehouse, hashed
beside it; write; for each step the main thread's time on a CPU and waiting for one, from
/proc/thread-self/schedstat, so that a wall time longer than the CPU time can be told apart: the
machine's other work, or I/O; and the wall time of each SQL statement within it, from the
engine's log). Its raw-tool baseline, taking turns
with it, is DuckDB's own: the values array copied to a file, then ``INSERT INTO services SELECT
... FROM read_json(copy)`` with the raw texts cast as they come (no translation, no validation).
``--allocator both`` runs each import with corridor's settings of polars' allocator (freed
memory given back at once, :mod:`corridor.allocator`) and with polars' own, taking turns.

Goals (issue 10): the tidy CSV within 2x raw DuckDB at 1M and 10M rows; peak memory at most 3x
the file size; DHIS2 JSON at least 500,000 values/s.

    .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--json-rows 1000000] [--repeat 3]
        [--postgres] [--formats csv,dhis2-json] [--allocator corridor|polars|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# corridor before polars, as in the command line: corridor sets polars' allocator up before it
# loads (corridor.allocator); polars itself is imported where it is used
from corridor.contract import dimensions as d

N_SITES = 200
QUARTERS = [f"{y}Q{q}" for y in range(2019, 2026) for q in range(1, 5)]


def make_sources(folder: Path, rows: int, json_rows: int) -> dict[str, Path]:
    """Places, a tidy services CSV, DHIS2 JSON of its first ``json_rows`` values, a mapping."""
    import polars as pl

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
    frame = pl.DataFrame(
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
    frame.write_csv(tidy)
    coc = {
        f"COC{i:08d}": {"sex": s, "age_band": a, "population_group": g}
        for i, (s, a, g) in enumerate(combos)
    }
    de = {f"DE{i:09d}": e for i, e in enumerate(elements)}
    mapping = folder / "mapping.json"
    mapping.write_text(json.dumps({"data_elements": de, "category_option_combos": coc}))
    n = min(rows, json_rows)
    de_ids, coc_ids = np.array(list(de)), np.array(list(coc))
    ou = np.array([f"OU{i:09d}" for i in range(N_SITES)])
    dv = pl.DataFrame(
        {
            "dataElement": de_ids[element[:n]],
            "period": frame["period"][:n],
            "orgUnit": ou[site[:n]],
            "categoryOptionCombo": coc_ids[combo[:n]],
            "attributeOptionCombo": "HllvX50cXC0",
            "value": values[:n].astype(str),
        }
    )
    dhis2 = folder / "services.json"
    with open(dhis2, "w", encoding="utf-8") as fh:
        fh.write('{"dataSet": "bench", "dataValues": ')
        fh.write(dv.write_json())
        fh.write("}")
    return {"places": places, "tidy": tidy, "dhis2": dhis2, "mapping": mapping}


# ---- the measured work, each in a child process --------------------------------------------


def _rss_now() -> int:
    """Resident set size of this process now, in bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_peak() -> int:
    """Peak resident set size of this process (VmHWM), in bytes.

    Not ``getrusage``: its ``ru_maxrss`` survives ``exec``, so a child would report the peak of
    the parent it was forked from (here, the one holding the generated data).
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _cpu() -> float:
    """CPU seconds (user and system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_raw(csv: str, db: str) -> dict[str, Any]:
    import duckdb

    before = _rss_now()
    t0, c0 = time.perf_counter(), _cpu()
    con = duckdb.connect(db)
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
    n = con.execute("SELECT count(*) FROM t").fetchone()
    con.close()
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": n[0] if n else 0,
        "rss_before": before,
        "peak": _rss_peak(),
    }


def child_rawjson(path: str, db: str) -> dict[str, Any]:
    """Raw DuckDB on the DHIS2 JSON: the values array copied to a file (as the importer does),
    then ``INSERT INTO`` a table of the services schema ``SELECT`` from ``read_json`` of it,
    the raw texts cast as they come (no translation, no validation), committed."""
    import duckdb

    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate

    with connect(db) as eng:  # the warehouse's own services table, empty
        migrate(eng)
    before = _rss_now()
    t0, c0 = time.perf_counter(), _cpu()
    data = Path(path).read_bytes()
    start, end = data.index(b"[", data.index(b'"dataValues"')), data.rindex(b"]")
    copy = Path(db).with_suffix(".values.json")
    with open(copy, "wb") as fh:
        fh.write(memoryview(data)[start : end + 1])
    del data
    fields = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "value")
    declared = ", ".join(f"'{f}': 'VARCHAR'" for f in fields)
    con = duckdb.connect(db)
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO services (period, period_type, period_start, period_end, place_code, "
        "data_element, sex, age_band, population_group, value, import_id, record_key) "
        "SELECT period, 'quarter', DATE '2024-01-01', DATE '2024-03-31', orgUnit, dataElement, "
        "categoryOptionCombo, 'total', 'total', CAST(value AS DOUBLE), 1, 1 "
        f"FROM read_json('{copy}', format = 'array', columns = {{{declared}}})"
    )
    con.execute("COMMIT")
    n = con.execute("SELECT count(*) FROM services").fetchall()[0][0]
    con.close()
    copy.unlink()
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": n,
        "rss_before": before,
        "peak": _rss_peak(),
    }


def child_read(path: str, fmt: str, mapping: str, places: str, parser: str) -> dict[str, Any]:
    """The reader alone (read the file, parse, translate codes): values it hands to validation.

    ``parser`` ``arrow`` turns the DuckDB path off, so that the values go to the Arrow path
    (the reader of the previous release) instead.
    """
    if parser == "arrow":
        from corridor.intake import duckvalues

        duckvalues.duck_values = lambda data, fields: None
    import polars as pl

    from corridor.intake.formats import reader_for
    from corridor.intake.mapping import load_mapping
    from corridor.intake.rawtable import ReadContext
    from corridor.intake.source import read_source

    crosswalk = pl.read_csv(places, infer_schema=False).filter(pl.col("dhis2_uid") != "")
    ctx = ReadContext(
        path,
        load_mapping(Path(mapping)) if mapping else None,
        dict(crosswalk.select("dhis2_uid", "place_code").iter_rows()),
    )
    before = _rss_now()
    t0, c0 = time.perf_counter(), _cpu()
    data = read_source(Path(path), path, None)
    raw = reader_for(fmt, path)(Path(path), data, "services", ctx)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    assert not raw.problems, raw.problems[:3]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": raw.frame.height,
        "rss_before": before,
        "peak": _rss_peak(),
    }


def child_ingest(url: str, places: str, path: str, fmt: str, mapping: str) -> dict[str, Any]:
    from corridor.intake.importer import ingest
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate

    eng = connect(url)
    migrate(eng)
    ingest(eng, [Path(places)], "places")
    before = _rss_now()
    t0, c0 = time.perf_counter(), _cpu()
    [r] = ingest(
        eng, [Path(path)], "services", fmt=fmt, mapping_path=Path(mapping) if mapping else None
    )
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    eng.close()
    assert r.rows_new == r.rows_read, (r.rows_new, r.rows_read, r.problems[:3])
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": r.rows_new,
        "rss_before": before,
        "peak": _rss_peak(),
    }


def child_stages(url: str, places: str, path: str, mapping: str) -> dict[str, Any]:
    """A DHIS2 JSON import step by step, as :func:`corridor.intake.importer.ingest` takes them
    on DuckDB (the values staged in the warehouse, :mod:`corridor.intake.jsonstage`): CPU and
    wall seconds of each, and the wall seconds of each SQL statement within them (the engine's
    own log of its steps)."""
    import hashlib
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from corridor.intake import importer, jsonstage
    from corridor.intake.mapping import load_mapping
    from corridor.intake.rawtable import ReadContext
    from corridor.intake.source import read_source
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate

    eng = connect(url)
    migrate(eng)
    importer.ingest(eng, [Path(places)], "places")
    known, uids, fmp, _countries = importer._crosswalk(eng)
    mapped = load_mapping(Path(mapping))
    ctx = ReadContext(path, mapped, dict(uids), dict(fmp))
    stages: dict[str, list[float]] = {}
    statements: list[tuple[str, str, float]] = []  # (step of the import, statement, seconds)
    sched = [_sched()]

    class Statements(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            _engine, step, seconds = record.args  # type: ignore[misc]
            statements.append((current[0], str(step), float(str(seconds))))

    current = [""]
    log = logging.getLogger("corridor.storage")
    log.setLevel(logging.DEBUG)
    log.addHandler(Statements())

    def timed(name: str, t0: float, c0: float) -> tuple[float, float]:
        now, cpu = time.perf_counter(), _cpu()
        sched.append(_sched())
        (run0, wait0), (run1, wait1) = sched[-2], sched[-1]
        stages[name] = [now - t0, cpu - c0, run1 - run0, wait1 - wait0]
        return now, cpu

    t, c = time.perf_counter(), _cpu()
    data = read_source(Path(path), path, None)
    t, c = timed("read the file", t, c)
    current[0] = "stage in the warehouse (hash beside it)"
    with ThreadPoolExecutor(2) as pool:
        digest = pool.submit(hashlib.sha256, data)
        staged = jsonstage.stage_values(eng, data, ctx, known, (), pool)
        assert staged is not None, "the file was handed to the exact reader"
        sha = digest.result().hexdigest()
    del data
    t, c = timed(current[0], t, c)
    result = importer.ImportResult(path, "services", "dhis2-json", sha, staged.rows, staged.rows)
    current[0] = "write (view, stored keys, insert, commit)"
    with eng.exclusive("import"), eng.transaction():
        importer._load(eng, importer._Prepared(result, None, mapped, staged), "bench")
    t, c = timed(current[0], t, c)
    current[0] = "drop the staged values"
    staged.close()
    timed(current[0], t, c)
    eng.close()
    return {"stages": stages, "statements": statements, "rows": result.rows_new}


def _sched() -> tuple[float, float]:
    """Seconds the calling thread has run on a CPU, and waited ready for one (Linux)."""
    with open("/proc/thread-self/schedstat") as fh:
        run, wait, _slices = fh.read().split()
    return int(run) / 1e9, int(wait) / 1e9


#: polars' own allocator settings, spelt so that corridor.allocator leaves them as they are
POLARS_ALLOCATOR = "muzzy_decay_ms:1000,dirty_decay_ms:500"


def run_child(*args: str, allocator: str = "corridor") -> dict[str, Any]:
    """Run this script as a child; its JSON result, with its own peak RSS in bytes.

    ``allocator`` ``polars``: the child keeps polars' own allocator settings (freed pages held
    for 0.5 s, then handed back lazily) instead of corridor's (:mod:`corridor.allocator`).
    """
    env = dict(os.environ)
    env.pop("_RJEM_MALLOC_CONF", None)  # this process's, made when it loaded polars
    if allocator == "polars":
        env["_RJEM_MALLOC_CONF"] = POLARS_ALLOCATOR
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["peak_rss"] = result.get("peak", 0)
    return result


# ---- the run -------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def pg_url(stack: list[Any]) -> str | None:
    url = os.environ.get("CORRIDOR_TEST_PG_URL")
    if url:
        return url
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pgserver import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        return None
    server = PgServer(bindir)
    server.start()
    stack.append(server)
    return str(server.url)


def fresh_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(b"DROP SCHEMA public CASCADE")
        con.execute(b"CREATE SCHEMA public")


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs (the machine is shared: the least disturbed one)."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["cpu"] = min(r["cpu"] for r in runs)
    best["peak_rss"] = max(r["peak_rss"] for r in runs)
    best["rss_before"] = min(r["rss_before"] for r in runs)
    return best


def _above(r: dict[str, Any]) -> float:
    """Peak resident memory above what the process held before the measured work, in bytes."""
    return float(r["peak_rss"] - r["rss_before"])


def _json_detail(
    repeat: int, name: str, url: str, src: dict[str, Path], mp: str, nbytes: int
) -> None:
    """The exact DHIS2 JSON reader alone (which reads the files the warehouse path hands on),
    on its DuckDB path and on its Arrow path (taking turns), then an import step by step."""
    path, places = str(src["dhis2"]), str(src["places"])
    reads: dict[str, list[dict[str, Any]]] = {"duckdb": [], "arrow": []}
    for _ in range(repeat):
        for parser, runs in reads.items():
            runs.append(run_child("read", path, "dhis2-json", mp, places, parser))
    for parser, runs in reads.items():
        rd = _best(runs)
        print(
            f"{'':8s} {'(reader)':10s} {rd['seconds']:6.2f} s "
            f"{rd['rows'] / rd['seconds']:10,.0f} values/s read and translated by the exact "
            f"reader (the files the warehouse path hands on) on its {parser} "
            f"path ({rd['rows'] / rd['cpu']:,.0f} per CPU second, {rd['cpu']:.2f} CPU s), "
            f"peak RSS {_mb(_above(rd))} above = {_above(rd) / nbytes:.1f}x the file"
        )
    if name != "duckdb":
        return
    Path(url).unlink(missing_ok=True)
    detail = run_child("stages", url, places, path, mp)
    steps = detail["stages"]
    total = sum(step[1] for step in steps.values())
    print(
        f"{'':8s} an import step by step (one run; wall, CPU of all threads, share of the CPU; "
        "the main thread: on a CPU, ready but waiting for one, neither = waiting on I/O or on "
        "other threads):"
    )
    for step, (wall, cpu, run, ready) in steps.items():
        print(
            f"{'':10s} {step:40s} {wall:6.2f} s {cpu:6.2f} CPU s {cpu / total:6.1%}   "
            f"main thread {run:5.2f} s on a CPU, {ready:5.2f} s waiting for one, "
            f"{max(wall - run - ready, 0.0):5.2f} s neither"
        )
        for within, statement, seconds in detail["statements"]:
            if within == step and seconds >= 0.005:
                print(f"{'':14s} SQL {statement:34s} {seconds:6.2f} s")
    walls = sum(step[0] for step in steps.values())
    print(f"{'':10s} {'total':40s} {walls:6.2f} s {total:6.2f} CPU s")


#: the allocator settings the import is measured with (--allocator)
ALLOCATORS = {"corridor": ("corridor",), "polars": ("polars",), "both": ("corridor", "polars")}


_LABELS = {"corridor": "corridor's", "polars": "polars' own"}


def _spread(runs: list[dict[str, Any]], nbytes: int) -> str:
    """Each run's peak above what it held before, as a multiple of the file: lowest-highest."""
    ratios = sorted((r["peak_rss"] - r["rss_before"]) / nbytes for r in runs)
    return f"{ratios[0]:.1f}-{ratios[-1]:.1f}x"


def _print_ingest(
    name: str,
    fmt: str,
    alloc: str,
    runs: list[dict[str, Any]],
    raw: dict[str, Any],
    nbytes: int,
    settings: int,
) -> None:
    r = _best(runs)
    per_row = r["seconds"] / r["rows"]
    raw_row, raw_cpu = raw["seconds"] / raw["rows"], raw["cpu"] / raw["rows"]
    print(
        f"{name:8s} {fmt:10s} {r['seconds']:6.2f} s "
        f"{r['rows'] / r['seconds']:10,.0f} rows/s  "
        f"{per_row / raw_row:4.1f}x raw DuckDB's time per row "
        f"({r['cpu'] / r['rows'] / raw_cpu:.1f}x its CPU time)  "
        f"peak RSS {_mb(_above(r))} above the {_mb(r['rss_before'])} held before "
        f"= {_above(r) / nbytes:.1f}x the file (runs: {_spread(runs, nbytes)})"
        + (f", {_LABELS[alloc]} allocator settings" if settings > 1 or alloc != "corridor" else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json-rows", type=int, default=1_000_000, help="values in the DHIS2 JSON")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest is kept")
    ap.add_argument("--postgres", action="store_true", help="also ingest into PostgreSQL")
    ap.add_argument(
        "--formats", default="csv,dhis2-json", help="comma-separated: csv, dhis2-json (both)"
    )
    ap.add_argument(
        "--allocator",
        choices=sorted(ALLOCATORS),
        default="corridor",
        help="polars' allocator settings for the imports: corridor's (the default), polars' "
        "own, or both taking turns",
    )
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = make_sources(folder, args.rows, args.json_rows)
        size = src["tidy"].stat().st_size
        jsize = src["dhis2"].stat().st_size
        print(f"tidy CSV: {args.rows:,} rows, {_mb(size)}; DHIS2 JSON: {_mb(jsize)}")
        targets = [("duckdb", str(folder / "bench.duckdb"))]
        stack: list[Any] = []
        if args.postgres:
            url = pg_url(stack)
            if url:
                targets.append(("postgres", url))
            else:
                print("postgres: no server available, skipped")
        raws: list[dict[str, Any]] = []
        try:
            for name, url in targets:
                for fmt, path, mp, nbytes in (
                    ("csv", src["tidy"], "", size),
                    ("dhis2-json", src["dhis2"], str(src["mapping"]), jsize),
                ):
                    if fmt not in args.formats.split(","):
                        continue
                    allocators = ALLOCATORS[args.allocator]
                    runs: dict[str, list[dict[str, Any]]] = {a: [] for a in allocators}
                    rawjson: list[dict[str, Any]] = []
                    for _ in range(args.repeat):  # raw DuckDB and the ingest take turns
                        (folder / "raw.duckdb").unlink(missing_ok=True)
                        raws.append(run_child("raw", str(src["tidy"]), str(folder / "raw.duckdb")))
                        if fmt == "dhis2-json":
                            (folder / "raw.duckdb").unlink(missing_ok=True)
                            rawjson.append(
                                run_child("rawjson", str(path), str(folder / "raw.duckdb"))
                            )
                        for alloc in allocators:
                            if name == "postgres":
                                fresh_pg(url)
                            else:
                                Path(url).unlink(missing_ok=True)
                            runs[alloc].append(
                                run_child(
                                    "ingest",
                                    url,
                                    str(src["places"]),
                                    str(path),
                                    fmt,
                                    mp,
                                    allocator=alloc,
                                )
                            )
                    raw = _best(raws)
                    for alloc, alloc_runs in runs.items():
                        _print_ingest(name, fmt, alloc, alloc_runs, raw, nbytes, len(allocators))
                    if fmt == "dhis2-json":
                        r, rj = _best(runs[allocators[0]]), _best(rawjson)
                        print(
                            f"{'':8s} {'':10s} {r['rows'] / r['cpu']:,.0f} values per CPU second "
                            f"end to end ({r['cpu']:.2f} CPU s); raw DuckDB read_json of the "
                            f"values array into the services table: {rj['seconds']:.2f} s, "
                            f"{rj['cpu']:.2f} CPU s = {rj['rows'] / rj['seconds']:,.0f} values/s "
                            f"({rj['rows'] / rj['cpu']:,.0f} per CPU second); the import takes "
                            f"{r['seconds'] / rj['seconds']:.1f}x its time "
                            f"({r['cpu'] / rj['cpu']:.1f}x its CPU), peak RSS "
                            f"{_mb(_above(rj))} above"
                        )
                        _json_detail(args.repeat, name, url, src, mp, nbytes)
            raw = _best(raws)
            print(
                f"raw DuckDB read_csv into a table ({len(raws)} runs, fastest): "
                f"{raw['seconds']:6.2f} s, {raw['cpu']:.2f} CPU s, peak RSS {_mb(_above(raw))} "
                f"above the {_mb(raw['rss_before'])} held before = "
                f"{_above(raw) / size:.1f}x the file (runs: {_spread(raws, size)})"
            )
        finally:
            for server in stack:
                server.stop()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, rest = sys.argv[2], sys.argv[3:]
        children: dict[str, Callable[..., dict[str, Any]]] = {
            "raw": child_raw,
            "rawjson": child_rawjson,
            "read": child_read,
            "ingest": child_ingest,
            "stages": child_stages,
        }
        result = children[mode](*rest)
        print(json.dumps(result))
    else:
        main()
