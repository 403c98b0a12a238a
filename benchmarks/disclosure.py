"""Disclosure-control benchmark: publish() against the query it protects, measured in one run.

For indicator tables of about 43k, 516k and 1.5M output rows (the HIV cascade by site x sex x age
band x population group, over more or fewer quarters and sites of the benchmark world of
benchmarks/indicators.py, with random record keys), times

* the query alone (``compute_indicators``): the baseline;
* the cell-key method (``publish`` with the default settings): rows/s and (query + publish) /
  query (the fastest of at least 5 runs, the perturbation table built before; the query: the
  median of ``--repeat``); goals: at least 500,000 rows/s, at most 2x the query, time growing
  no faster than n log n (the exponent between the smallest and largest table is printed, and
  publish is timed on the first 50k, 300k and 1M rows of the largest output, where only n
  changes);
* suppression (``publish`` with ``disclosure_method = suppression``) on the same tables, with
  ``--suppression``: wall and CPU seconds (the fastest of 3), rows/s, (query + publish) / query
  and the counts withheld; and on the first 50k, 300k and 1M rows of the largest output (of each
  world), with the growth exponent (there the mix of indicators changes with n as well), and on
  benchmark worlds of fewer sites whose output has about 50k, 300k and 1M rows (every site's
  counts drawn alike: only n changes), the tables of each growth measurement timed in turns
  (5 rounds, each timed run after an untimed one of the same table; the fastest of each: a
  table timed in a block of its own runs meets its own minutes of a shared machine); on the
  demonstration world also the whole of that output (all by site x sex x age x group x
  quarter, 2019-2025) against its query, and each year of it (about 50k rows each), and a
  table by place and corridor (the exact check's path), these the fastest of 5. Goals (issue
  10): at least 500,000 rows/s, time growing no faster than n log n, at most 2x the query.

``--demo`` adds the demonstration world (generated with seed 2024 and ingested, about a minute)
with its own queries.

    .venv/bin/python benchmarks/disclosure.py [--repeat 3] [--suppression] [--demo]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corridor.config import load_settings
from corridor.indicators import CASCADE, compute_indicators, publish
from corridor.indicators.cellkey import perturb_table
from corridor.indicators.disclosure import perturbation_table, withheld
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate
from corridor.storage.recordkeys import new_record_keys
from indicators import generate  # benchmarks/indicators.py: the benchmark world

CELLKEY = load_settings(None, env={})
SUPPRESSION = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
BY = ["place", "sex", "age_band", "population_group"]
#: the periods of the largest output (the cascade by site x sex x age x group x quarter)
SIX_QUARTERS = "2023Q3:2024Q4"


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` runs: on a shared machine the others measure the neighbours."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def benchmark_world(rows: int) -> Engine:
    places, services = generate(rows)
    services = services.set_column(  # fresh keys, as an import draws them
        services.schema.get_field_index("record_key"),
        "record_key",
        pa.array(new_record_keys(services.num_rows), pa.int64()),
    )
    folder = Path(tempfile.mkdtemp(prefix="corridor-bench-disclosure-"))
    eng = connect(str(folder / "bench.duckdb"))
    migrate(eng)
    eng.insert_arrow("places", places)
    for i in range(0, services.num_rows, 2_000_000):
        eng.insert_arrow("services", services.slice(i, 2_000_000))
    return eng


def demo_world() -> Engine:
    from corridor.demo import generate_world
    from corridor.storage.recordkeys import derive_record_keys
    from corridor.workspace import init_workspace

    folder = Path(tempfile.mkdtemp(prefix="corridor-bench-demo-"))
    generate_world(folder / "world", seed=2024)
    ws = init_workspace(folder / "ws")
    sources = folder / "world" / "sources"
    manifest = json.loads((sources / "manifest.json").read_text(encoding="utf-8"))
    for e in manifest["files"]:
        mapping = sources / e["mapping"] if e.get("mapping") else None
        # as `corridor demo` does: the world's deliberate defects go to quarantine
        ws.ingest(
            [sources / e["path"]], e["kind"], format=e["format"], mapping=mapping, quarantine=True
        )
    derive_record_keys(ws.engine, 2024)
    return ws.engine


def measure(
    eng: Engine, label: str, ids: list[str], by: list[str], period: str, args: argparse.Namespace
) -> dict[str, float]:
    q, raw = median_time(lambda: compute_indicators(eng, ids, by, period, totals=True), args.repeat)
    publish(raw.slice(0, 1), CELLKEY)  # the perturbation table is built once per process
    c = best_time(lambda: publish(raw, CELLKEY), max(args.repeat, 5))
    n = raw.num_rows
    row = {"rows": n, "query": q, "cellkey": c}
    chunks = raw.column("numerator").num_chunks
    line = (
        f"{label:<34} {n:>9,} rows ({chunks:,} chunks)  query {q:6.2f} s  cell-key {c:6.3f} s "
        f"({n / c:>12,.0f} rows/s; query+publish = {(q + c) / q:4.2f}x query)"
    )
    if args.suppression:
        line += suppression(raw, q, row)
    print(line, flush=True)
    return row


def suppression(raw: pa.Table, query: float, row: dict[str, float]) -> str:
    """Suppression (``disclosure_method = suppression``) of one table: wall and CPU seconds
    (the fastest of 3; on a shared machine the CPU time moves less), rows/s, (query + publish)
    / query and the counts withheld. Goals (issue 10): 500,000 rows/s, n log n growth, at most
    2x the query."""
    n = raw.num_rows
    s, cpu, out = time_suppression(raw, 3)
    row["suppression"] = s
    row["suppression_cpu"] = cpu
    return (
        f"  suppression {s:6.2f} s, cpu {cpu:6.2f} s ({n / s:>9,.0f} rows/s, cpu "
        f"{n / cpu:>9,.0f} rows/s; {(query + s) / query:4.2f}x); withheld {withheld(out):,} of "
        f"{2 * n:,} counts; {faults()}; {load()}"
    )


def time_suppression(raw: pa.Table, repeat: int) -> tuple[float, float, pa.Table]:
    """(wall, CPU) seconds of suppression, each the fastest of ``repeat``, and its output;
    the page faults of each run are kept in ``FAULTS`` (memory taken fresh from the system)."""
    walls, cpus = [], []
    out = raw
    FAULTS.clear()
    for _ in range(repeat):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0, w0 = time.process_time(), time.perf_counter()
        out = publish(raw, SUPPRESSION)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        FAULTS.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return min(walls), min(cpus), out


#: page faults of each run of the last :func:`time_suppression`
FAULTS: list[int] = []


def faults() -> str:
    return "page faults " + "/".join(f"{f:,}" for f in FAULTS)


def load() -> str:
    """The load average (1, 5, 15 minutes), to print beside the times of a shared machine."""
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def suppression_scaling(raw: pa.Table, query: float | None = None) -> None:
    """Suppression on the first 50k, 300k and 1M rows of one output (the mix of indicators
    changes with n as well: :func:`sites_scaling` changes only n); with the ``query`` time of
    the whole output, the whole output too, as (query + suppression) / query."""
    sizes = [n for n in (50_000, 300_000, 1_000_000) if n <= raw.num_rows]
    scaling_lines([(f"on the first {n:>9,} rows", raw.slice(0, n)) for n in sizes])
    if query is not None:
        whole_period_scaling(raw)
        n = raw.num_rows
        s, cpu, out = time_suppression(raw, 3)
        print(
            f"  suppression of all {n:>9,} rows: {s:6.3f} s, cpu {cpu:6.3f} s "
            f"({n / s:>10,.0f} rows/s, cpu {n / cpu:>10,.0f} rows/s; query {query:6.2f} s, "
            f"query+suppression = {(query + s) / query:4.2f}x query); withheld "
            f"{withheld(out):,} of {2 * n:,} counts; {faults()}; {load()}"
        )


#: rounds of the tables of one growth measurement, each round every table once
SCALING_ROUNDS = 5


def scaling_lines(parts: list[tuple[str, pa.Table]]) -> None:
    """Suppression of tables of growing size, timed in turns (each round every table once,
    :data:`SCALING_ROUNDS` rounds; the fastest of each): a table timed in a block of its own
    runs would meet its own minutes of a shared machine (the 1M-row table's time moved from
    0.35 to 0.55 s between two minutes of an idle one), and the growth exponent with them.
    Each timed run follows an untimed run of the same table, so that the small tables are not
    timed in caches that the largest has just emptied (58,212 rows: 0.043 s after the 1M-row
    table, 0.017-0.025 s after itself), which would flatter the exponent. A line per table
    (rate against 500,000 rows/s), then the exponent of wall and CPU time."""
    walls = [math.inf] * len(parts)
    cpus = [math.inf] * len(parts)
    outs: list[pa.Table] = [part for _label, part in parts]
    for _ in range(SCALING_ROUNDS):
        for i, (_label, part) in enumerate(parts):
            publish(part, SUPPRESSION)  # untimed: each timed run follows one of its own table
            c0, w0 = time.process_time(), time.perf_counter()
            outs[i] = publish(part, SUPPRESSION)
            walls[i] = min(walls[i], time.perf_counter() - w0)
            cpus[i] = min(cpus[i], time.process_time() - c0)
    rows = []
    for (label, part), s, cpu, out in zip(parts, walls, cpus, outs, strict=True):
        print(rate_text(label, part.num_rows, s, cpu, out) + f"; {load()}")
        rows.append({"rows": part.num_rows, "suppression": s, "suppression_cpu": cpu})
    growth(rows, "suppression")
    growth(rows, "suppression_cpu")


def whole_period_scaling(raw: pa.Table) -> None:
    """The same, each first n rows taken on to the end of the (indicator, period) they stop in.
    A first n rows that stops inside a period leaves that period with some of its places and
    their margins missing: on the demonstration world the first 50,000 rows (positivity,
    2019Q1-2024Q3, the last quarter with 861 of its 2,355 rows) are then withheld whole, a
    cheap path that the whole-period table (57% withheld) does not take."""
    keys = pc.binary_join_element_wise(raw.column("indicator"), raw.column("period"), "|")
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    parts = []
    for n in (50_000, 300_000):
        if n >= raw.num_rows:
            break
        last = keys[n - 1]
        end = n
        while end < raw.num_rows and keys[end] == last:
            end += 1
        label = f"on the first {end:>9,} rows (to the end of {last.as_py()})"
        parts.append((label, raw.slice(0, end)))
    scaling_lines(parts)


def suppression_by_year(raw: pa.Table) -> None:
    """Suppression of each year of one output (its quarters only): a natural output of about
    50,000 rows, with the density of that year's data. On the demonstration world the years
    differ (a programme scaling up; some years leave small counts without a box, and their
    blocks take the exact check), so one year is a fairer 50k-row table than the first 50,000
    rows of the whole (positivity only, cut inside a quarter: withheld whole). The fastest of 5
    (each run under 0.1 s, as long as a neighbour's burst on a shared machine)."""
    years = sorted({p[:4] for p in raw.column("period").unique().to_pylist() if p})
    for year in years:
        part = raw.filter(pc.starts_with(raw.column("period"), year))
        rate_line(f"of {year} ({part.num_rows:,} rows)", part, 5)


def rate_line(label: str, part: pa.Table, repeat: int) -> tuple[float, float]:
    """Suppression of one table: a line with its wall and CPU seconds (the fastest of
    ``repeat``), rows/s against 500,000 (CPU) and the counts withheld; (wall, CPU)."""
    s, cpu, out = time_suppression(part, repeat)
    print(rate_text(label, part.num_rows, s, cpu, out) + f"; {faults()}; {load()}")
    return s, cpu


def rate_text(label: str, n: int, s: float, cpu: float, out: pa.Table) -> str:
    """The line of one suppressed table of ``n`` rows: wall and CPU seconds, rows/s against
    500,000 (CPU) and the counts withheld."""
    verdict = "met" if n / cpu >= 500_000 else "NOT met"
    return (
        f"  suppression {label}: {s:6.3f} s, cpu {cpu:6.3f} s ({n / s:>10,.0f} rows/s, cpu "
        f"{n / cpu:>10,.0f} rows/s; 500,000 rows/s: {verdict}); withheld {withheld(out):,} of "
        f"{2 * n:,} counts"
    )


def by_corridor(eng: Engine) -> None:
    """Suppression of a table by place and corridor (2024-2025): a place on two corridors is
    one cell in two blocks, so those blocks take the exact check (linear algebra per linked
    group) instead of the box search. The fastest of 5, as the years (each run about 0.2 s)."""
    by = ["place", "corridor", "sex", "population_group", "period"]
    raw = compute_indicators(eng, ["all"], by, "2024Q1:2025Q4", totals=True)
    rate_line(
        f"by place x corridor x sex x group x quarter, 2024-2025 ({raw.num_rows:,} rows)", raw, 5
    )


def accuracy(eng: Engine) -> None:
    """What the cell-key method costs in accuracy on the demonstration world, against
    suppression on the same tables (the simplest alternative)."""
    queries = [
        (["all"], ["place"], "2024"),
        (["all"], ["place", "sex", "population_group"], "2024Q1"),
        (["all"], ["country", "sex", "age_band", "population_group"], "2024"),
        (list(CASCADE), ["country", "population_group"], "2024"),
    ]
    for ids, by, period in queries:
        raw = compute_indicators(eng, ids, by, period, totals=True)
        # every row, as publish gives it: publish leaves out the rows whose counts are all
        # published 0 (a reader takes them as 0), and here each count is compared with its own
        ck = perturb_table(raw, perturbation_table(CELLKEY))
        sup = publish(raw, SUPPRESSION)
        a = np.concatenate([_counts(raw, r) for r in ("numerator", "denominator")])
        b = np.concatenate([_counts(ck, r) for r in ("numerator", "denominator")])
        s = np.concatenate([_counts(sup, r) for r in ("numerator", "denominator")])
        ok = np.isfinite(a)
        a, b, s = a[ok], b[ok], s[ok]
        big = a >= CELLKEY.suppression_threshold
        small = (a > 0) & ~big
        v0 = np.array(raw.column("value").to_pylist(), dtype=float)
        v1 = np.array(ck.column("value").to_pylist(), dtype=float)
        den = np.array(raw.column("denominator").to_pylist(), dtype=float)
        hundred = (den >= 100) & np.isfinite(v0) & np.isfinite(v1)
        print(
            f"{','.join(ids)[:20]:<20} by {','.join(by):<40} {period}: {len(a):>7,} counts; "
            f"mean |change| {np.mean(np.abs(b - a)):.2f} (counts >= threshold "
            f"{np.mean(np.abs(b[big] - a[big])):.2f}, unchanged {np.mean(b[big] == a[big]):.0%}; "
            f"small counts {int(small.sum()):,}, mean |change| "
            f"{np.mean(np.abs(b[small] - a[small])) if small.any() else 0:.2f}); "
            f"rates of >= 100 people: mean |change| "
            f"{np.mean(np.abs(v1[hundred] - v0[hundred])):.3f} points "
            f"(max {np.max(np.abs(v1[hundred] - v0[hundred])):.2f}); "
            f"suppression withholds {np.mean(~np.isfinite(s)):.1%} of the counts"
        )


def _counts(table: pa.Table, role: str) -> np.ndarray:
    return np.array(table.column(role).to_pylist(), dtype=float)


def growth(rows: list[dict[str, float]], key: str) -> None:
    """How the time grows with n: the exponent between the smallest and largest table."""
    a, b = rows[0], rows[-1]
    if key not in a or a["rows"] == b["rows"]:
        return
    k = math.log(b[key] / a[key]) / math.log(b["rows"] / a["rows"])
    nlogn = math.log(b["rows"] * math.log(b["rows"]) / (a["rows"] * math.log(a["rows"])))
    nlogn /= math.log(b["rows"] / a["rows"])
    verdict = "met" if k <= nlogn else "NOT met"
    print(f"  {key}: time grows as n^{k:.3f} (n log n here: n^{nlogn:.3f}; no faster: {verdict})")


def scaling(eng: Engine, ids: list[str], repeat: int, suppress: bool) -> None:
    """publish on the first 50k, 300k and 1M rows of one large output (the same table as the
    query gives it, so that only n changes): rows/s and the growth exponent against n log n."""
    raw = compute_indicators(eng, ids, [*BY, "period"], SIX_QUARTERS, totals=True)
    rows = []
    for n in (50_000, 300_000, 1_000_000):
        if n > raw.num_rows:
            break
        t = best_time(functools.partial(publish, raw.slice(0, n), CELLKEY), max(repeat, 7))
        rows.append({"rows": n, "cellkey": t})
        print(f"  publish on the first {n:>9,} rows: {t:6.3f} s ({n / t:>12,.0f} rows/s; fastest)")
    growth(rows, "cellkey")
    if suppress:
        suppression_scaling(raw)
        sites_scaling(ids)


def sites_scaling(ids: list[str]) -> None:
    """Suppression of the same output (6 quarters) on benchmark worlds of fewer sites, of about
    50k, 300k and 1M output rows: every site's counts are drawn alike, so only n changes. (The
    first n rows of one output, above, change the indicators as well: its first 1M rows reach
    those with many small counts, withheld in about a fifth of their counts against 2% in the
    first 50k and 300k.)"""
    parts = []
    for target in (50_000, 300_000, 1_000_000):
        eng = benchmark_world(round(target * SERVICES_PER_OUTPUT_ROW))
        raw = compute_indicators(eng, ids, [*BY, "period"], SIX_QUARTERS, totals=True)
        sites = int(eng.scalar("SELECT count(*) FROM places")) - 1
        eng.close()
        parts.append((f"of a world of {sites:,} sites ({raw.num_rows:,} rows)", raw))
    scaling_lines(parts)


#: service rows of the benchmark world per row of the 6-quarter cascade (2M rows: 1,546,776)
SERVICES_PER_OUTPUT_ROW = 2_000_000 / 1_546_776


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--suppression", action="store_true", help="time suppression too (slow)")
    ap.add_argument("--demo", action="store_true", help="the demonstration world too")
    ap.add_argument(
        "--accuracy",
        metavar="WORKSPACE",
        help="only the accuracy cost on a demo workspace (e.g. one `corridor demo` made)",
    )
    args = ap.parse_args()
    if args.accuracy:
        from corridor.workspace import open_workspace

        ws = open_workspace(Path(args.accuracy))
        accuracy(ws.engine)
        ws.close()
        return
    np.random.seed(0)
    print("benchmark world (benchmarks/indicators.py generator, random record keys)")
    eng = benchmark_world(2_000_000)
    cascade = list(CASCADE)
    rows = [
        measure(
            eng,
            "cascade by site x sex x group, Q1",
            cascade,
            ["place", "sex", "population_group"],
            "2024Q1",
            args,
        ),
        measure(
            eng,
            "cascade by site x ... x quarter, 2Q",
            cascade,
            [*BY, "period"],
            "2024Q1:2024Q2",
            args,
        ),
        measure(
            eng,
            "cascade by site x ... x quarter, 6Q",
            cascade,
            [*BY, "period"],
            SIX_QUARTERS,
            args,
        ),
    ]
    for key in ("cellkey", "suppression", "suppression_cpu"):
        growth(rows, key)
    scaling(eng, cascade, args.repeat, args.suppression)
    eng.close()
    if args.demo:
        print("demonstration world (seed 2024)")
        eng = demo_world()
        rows = [
            measure(eng, "all by place, 2024Q1", ["all"], ["place"], "2024Q1", args),
            measure(eng, "all by place x sex x age x group", ["all"], BY, "2024Q1", args),
            measure(
                eng, "all by place x ... x quarter", ["all"], [*BY, "period"], "2023Q1:2024Q4", args
            ),
        ]
        for key in ("cellkey", "suppression", "suppression_cpu"):
            growth(rows, key)
        if args.suppression:
            q, raw = median_time(
                lambda: compute_indicators(
                    eng, ["all"], [*BY, "period"], "2019Q1:2025Q4", totals=True
                ),
                args.repeat,
            )
            print(f"  all by place x ... x quarter, 2019-2025: {raw.num_rows:,} rows")
            suppression_scaling(raw, q)
            suppression_by_year(raw)
            by_corridor(eng)
        accuracy(eng)


if __name__ == "__main__":
    main()
