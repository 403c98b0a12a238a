"""The data hub under load: concurrent clients of mixed reads and one writer, on loopback.

    .venv/bin/python benchmarks/api.py [--workspace demo-output] [--clients 50] [--seconds 60]
                                       [--write-every 1] [--write-element hiv_tests]
                                       [--pg-workers 2] [--no-postgres]

Serves the demo workspace (built with ``corridor demo`` when --workspace is not given) with
uvicorn on 127.0.0.1, on DuckDB and on PostgreSQL (a copy of the demo warehouse on a throw-away
server), and runs ``--clients`` client threads for ``--seconds``: indicator queries, places,
status and site explanations as the demo analyst (Kenya, Uganda), and one writer importing a
small file for Uganda as the demo data manager every ``--write-every`` seconds, or as soon as
the previous import has answered when that takes longer (each import changes a value of
``--write-element``, so each one makes a new data version: the answers it can change that are
in use are computed again by the import before it answers, the others kept; docs/api.md,
"Imports and readers"). Each read is asked once before the clock starts (a cold cache
is not the steady state). PostgreSQL is served by ``--pg-workers`` processes.

The readers are ``loadclient``: light keep-alive clients on one event loop, whose own CPU per
request is printed (50 httpx threads cost about 5.5 ms of CPU per request, more than the server
spends on a cached answer, on the same cores). Prints requests per second, p50/p95 latency and
errors, the server's CPU time per request (from /proc: less sensitive to the machine's load
than latency; on PostgreSQL without the database server's own), the load average before and
after; and the baseline measured in the same run, the same indicator queries computed and
published in-process with no HTTP (the raw tool doing the same work), as the ratio API p50 /
direct p50. Goals: zero errors, indicator p95 under 200 ms on DuckDB.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from demohub import demo_workspace, free_port
from loadclient import run_readers

from corridor.access import account_for_token
from corridor.indicators import compute_indicators, publish
from corridor.storage.engine import connect
from corridor.storage.migrations import migrate
from corridor.workspace import open_workspace

INDICATOR_QUERIES = (
    "indicator=first_95,second_95,third_95&by=country,population_group&period=2024",
    "indicator=positivity&by=place&period=2024",
    "indicator=positivity,linkage_proxy&by=country,sex&period=2024Q3",
    "indicator=testing_coverage&by=country,period&period=2024",
    "indicator=cascade&by=population_group&period=2024",
)
OTHER = ("/api/v1/places", "/api/v1/status")
COPY_TABLES = ("places", "flows", "services", "cases", "imports", "quarantine", "replacements")


def credentials(ws: Path) -> dict[str, dict[str, str]]:
    with (ws / "demo-users.csv").open(encoding="utf-8") as f:
        return {r["role"]: r for r in csv.DictReader(f)}


def copy_to_postgres(ws: Path, url: str) -> None:
    """The demo warehouse (data, accounts, tokens, agreements) copied into PostgreSQL."""
    src = connect(str(ws / "warehouse.duckdb"))
    dst = connect(url)
    try:
        migrate(dst)
        for table in (*COPY_TABLES, "accounts", "api_tokens", "agreements"):
            dst.insert_arrow(table, src.query(f"SELECT * FROM {table}"))
        dst.execute("SELECT setval('import_id_seq', (SELECT MAX(import_id) FROM imports))")
    finally:
        src.close()
        dst.close()


def direct_baseline(ws: Path, db: str | None, token: str) -> float:
    """Median seconds of the indicator queries computed and published in-process."""
    w = open_workspace(ws, db=db)
    try:
        account_for_token(w.engine, token)
        times = []
        for _ in range(3):
            for q in INDICATOR_QUERIES:
                params = dict(p.split("=", 1) for p in q.split("&"))
                t0 = time.perf_counter()
                raw = compute_indicators(
                    w.engine,
                    params["indicator"].split(","),
                    params["by"].split(","),
                    params["period"],
                    totals=True,
                    completeness=w.settings.completeness_threshold,
                    testing_min_age=w.settings.testing_min_age,
                )
                publish(raw, w.settings)
                times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        w.close()


#: the data element the writer imports (``--write-element``): by default hiv_tests, which
#: changes the positivity, cascade and testing coverage answers (the import computes them again:
#: the hard case); condoms_distributed is counted by none of the reads, so its imports keep
#: every indicator answer
WRITE_ELEMENT = "hiv_tests"


def upload(month: int, site: str, value: int, element: str = WRITE_ELEMENT) -> bytes:
    return (
        "period,place_code,data_element,sex,age_band,population_group,value\n"
        f"2023-{month:02d},{site},{element},total,total,total,{value}\n"
    ).encode()


def warm_up(base: str, creds: dict[str, dict[str, str]], site: str, workers: int) -> None:
    """Each read of the mix once per server process (every process's cache starts cold; the
    load then measures the steady state, with the writer's imports invalidating it as they
    land)."""
    reader = {"Authorization": f"Bearer {creds['analyst']['token']}"}
    paths = [f"/api/v1/indicators?{q}" for q in INDICATOR_QUERIES]
    paths += [*OTHER, f"/api/v1/hotspots/{site}?draws=0"]
    for _ in range(workers):  # each connection may land on another worker process
        with httpx.Client(base_url=base, headers=reader, timeout=300) as c:
            for p in paths:
                c.get(p).raise_for_status()


def run_load(
    base: str,
    creds: dict[str, dict[str, str]],
    clients: int,
    seconds: float,
    site: str,
    write_every: float = 1.0,
    element: str = WRITE_ELEMENT,
) -> tuple[dict[str, list[tuple[float, bool]]], float]:
    """The readers (``loadclient``: one event loop, light keep-alive clients) and the writer
    (an httpx thread posting a multipart upload). Returns the answers by kind and the CPU
    seconds the readers' generator used."""
    results: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    reader = {"Authorization": f"Bearer {creds['analyst']['token']}"}
    writer = {"Authorization": f"Bearer {creds['data_manager']['token']}"}
    urls = [f"/api/v1/indicators?{q}" for q in INDICATOR_QUERIES] * 4
    urls += [*OTHER, f"/api/v1/hotspots/{site}?draws=0"]
    paths = [(url.split("?")[0].split("/")[3], url) for url in urls]

    def record(kind: str, elapsed: float, ok: bool) -> None:
        with lock:
            results[kind].append((elapsed, ok))

    def write_client() -> None:
        with httpx.Client(base_url=base, headers=writer, timeout=60) as c:
            month, value = 1, int(time.time()) % 100_000  # a new value: every import changes
            while time.perf_counter() < stop:  # a row, so every import invalidates the cache
                t0 = time.perf_counter()
                value += 1
                try:
                    r = c.post(
                        "/api/v1/imports",
                        files={
                            "file": ("bench.csv", upload(month, site, value, element), "text/csv")
                        },
                        data={"kind": "services"},
                    )
                    ok = r.status_code == 201 and r.json()["imports"][0]["rows_unchanged"] == 0
                    if not ok:
                        print("write failed:", r.status_code, r.text[:300])
                except httpx.HTTPError:
                    ok = False
                record("imports (writer)", time.perf_counter() - t0, ok)
                month = month % 12 + 1
                time.sleep(max(0.0, write_every - (time.perf_counter() - t0)))

    threads = []
    if write_every > 0:  # 0: reads only
        threads.append(threading.Thread(target=write_client))
    for t in threads:
        t.start()
    host, port = base.rsplit("//", 1)[1].split(":")
    load = run_readers(host, int(port), paths, reader, clients, seconds, record)
    for t in threads:
        t.join()
    return results, load.cpu_s


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (the
    workers of ``--workers N``), from /proc; 0.0 where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return 0.0
    for e in entries:
        try:
            with open(f"/proc/{e}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(e) == pid or int(fields[1]) == pid:  # fields[1]: the parent's id
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(
    name: str,
    results: dict[str, list[tuple[float, bool]]],
    seconds: float,
    baseline: float,
    cpu: float,
    load_before: float,
    client_cpu: float = 0.0,
) -> None:
    everything = [x for v in results.values() for x in v]
    errors = sum(1 for _, ok in everything if not ok)
    load = os.getloadavg()[0]
    print(
        f"\n{name} (load average {load_before:.1f} before, {load:.1f} after, on "
        f"{os.cpu_count()} CPUs): {len(everything)} requests in {seconds:.0f} s = "
        f"{len(everything) / seconds:.1f} req/s, errors {errors}"
    )
    if cpu and everything:
        print(
            f"  server CPU: {cpu:.1f} s in {seconds:.0f} s ({cpu / seconds:.2f} cores), "
            f"{1000 * cpu / len(everything):.1f} ms per request"
        )
    if client_cpu and everything:
        print(
            f"  load generator CPU (the readers' event loop): {client_cpu:.1f} s "
            f"({client_cpu / seconds:.2f} cores), {1000 * client_cpu / len(everything):.2f} ms "
            "per request"
        )
    print(f"  {'endpoint':<18}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for kind, values in sorted(results.items()):
        times = [t for t, _ in values]
        bad = sum(1 for _, ok in values if not ok)
        print(
            f"  {kind:<18}{len(values):>7}{1000 * pct(times, 0.5):>9.0f}"
            f"{1000 * pct(times, 0.95):>9.0f}{bad:>8}"
        )
    ind = [t for t, _ in results.get("indicators", [])]
    if ind:
        p50, p95 = pct(ind, 0.5), pct(ind, 0.95)
        print(
            f"  baseline (same indicator queries in-process, no HTTP, one at a time): "
            f"p50 {1000 * baseline:.0f} ms; API p50 / direct p50 = {p50 / baseline:.1f}x"
        )
        goal = "met" if p95 < 0.2 and errors == 0 else "NOT met"
        print(f"  goal (zero errors, indicator p95 < 200 ms): {goal} (p95 {1000 * p95:.0f} ms)")


def serve(ws: Path, db: str | None, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``corridor serve`` in its own process (the clients' threads must not share its GIL)."""
    cmd = [sys.executable, "-m", "corridor.cli.main", "-w", str(ws)]
    if db:
        cmd += ["--db", db]
    cmd += ["serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", help="a demo workspace (default: build one)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument(
        "--write-every",
        type=float,
        default=1.0,
        help="seconds between the writer's imports (0: no writer)",
    )
    ap.add_argument(
        "--pg-workers", type=int, default=2, help="server processes on PostgreSQL (default 2)"
    )
    ap.add_argument(
        "--write-element",
        default=WRITE_ELEMENT,
        help=f"the data element the writer imports (default {WRITE_ELEMENT}, which changes most "
        "indicator answers; condoms_distributed is counted by no read)",
    )
    args = ap.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        ap.error("--clients 1-200 and --seconds 1-600")
    tmp = Path(tempfile.mkdtemp(prefix="corridor-bench-api-"))
    ws = demo_workspace(args.workspace, tmp)
    creds = credentials(ws)
    w = open_workspace(ws)
    site = str(
        w.engine.scalar(
            "SELECT place_code FROM places WHERE country_code = 'uga' AND place_type = "
            "'border_crossing' ORDER BY place_code LIMIT 1"
        )
    )
    w.close()
    targets: list[tuple[str, str | None]] = [("duckdb", None)]
    pg = None
    if not args.no_postgres:
        url = os.environ.get("CORRIDOR_TEST_PG_URL")
        if not url:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from pgserver import PgServer, find_bindir

            bindir = find_bindir()
            if bindir is not None:
                pg = PgServer(bindir)
                pg.start()
                url = pg.url
        if url:
            copy_to_postgres(ws, url)
            targets.append(("postgres", url))
        else:
            print("postgres: no server available, skipped")
    try:
        for name, db in targets:
            baseline = direct_baseline(ws, db, creds["analyst"]["token"])
            port = free_port()
            workers = args.pg_workers if db else 1
            proc = serve(ws, db, port, workers)
            try:
                warm_up(f"http://127.0.0.1:{port}", creds, site, workers)
                load_before = os.getloadavg()[0]
                cpu0 = tree_cpu(proc.pid)
                results, client_cpu = run_load(
                    f"http://127.0.0.1:{port}",
                    creds,
                    args.clients,
                    args.seconds,
                    site,
                    args.write_every,
                    args.write_element,
                )
                cpu = tree_cpu(proc.pid) - cpu0
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            writer = (
                f"1 writer every {args.write_every:g} s ({args.write_element})"
                if args.write_every > 0
                else "no writer"
            )
            label = f"{name}, {workers} server process(es), {args.clients} clients, {writer}"
            report(label, results, args.seconds, baseline, cpu, load_before, client_cpu)
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
