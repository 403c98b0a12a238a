"""Export benchmark: every tabular export against Arrow's own writer, measured in the same run.

Builds an indicator table shaped like ``compute_indicators`` output (place x period x sex x age
band x population group, with place names, counts, rates, targets, gaps and disclosure flags) of
``--rows`` rows (default 850,000, the size of the cascade by place, sex, age and group that the
issue measured), then times, median of ``--repeat`` runs, writing to a file:

* csv and hxl: ``corridor.indicators.export.write_csv`` against ``pyarrow.csv.write_csv`` of the
  same columns;
* json: ``write_json`` against polars' ``write_json`` (Arrow memory, Rust writer) of the same
  columns; Arrow itself has no JSON writer;
* dhis2-json and adx: ``write_dhis2_json`` / ``write_adx`` against polars' JSON writer and
  Arrow's CSV writer of the values that go out (``exchange_table``: the finest cells, each count
  once, then the indicator values; one row per data value); ours also pick those values and map
  the codes, which the baseline does not (it starts from them). The ratio against Arrow's CSV
  writer of the whole indicator table is printed too.

Ours and the baseline take turns within each repeat (a shared machine's load then falls on
both); the CPU-time ratio of the same runs is printed beside the wall-time one.

Goal: each ratio at most 2.0. With ``--old`` the row-by-row writers of 0.1.0 (kept in
tests/indicators/legacy_export.py) are timed too, once, and their speed-up is printed.

    .venv/bin/python benchmarks/export.py [--rows 850000] [--repeat 3] [--old] [--formats adx,hxl]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from corridor.indicators.exchange import exchange_table
from corridor.indicators.export import (
    Codes,
    columns_of,
    write_adx,
    write_csv,
    write_dhis2_json,
    write_json,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "indicators"))

SEXES = ("f", "m", "total")
AGES = ("<15", "15-24", "25-34", "35-49", "50+", "total")
GROUPS = ("host", "migrant", "truck_driver", "sex_worker", "fisherfolk", "miner", "total")


def table(rows: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    cells = len(SEXES) * len(AGES) * len(GROUPS)
    places = max(1, rows // (cells * 4))
    n = places * 4 * cells
    idx = np.arange(n)
    place = idx // (4 * cells)
    period = (idx // cells) % 4
    cell = idx % cells
    sex = cell // (len(AGES) * len(GROUPS))
    age = (cell // len(GROUPS)) % len(AGES)
    group = cell % len(GROUPS)
    den = rng.integers(0, 3000, n).astype(float)
    num = np.floor(den * rng.random(n) * 0.3)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, 100 * num / den, np.nan)
    small = (num > 0) & (num < 10)
    num_flag = np.where(small, "<10", np.array(None, dtype=object))
    value_flag = np.where(small, "suppressed", np.array(None, dtype=object))
    target = np.full(n, 95.0)
    codes = np.array([f"site-{i:05d}" for i in range(places)])
    names = np.array([f"Site {i}, corridor {i % 7}" for i in range(places)])
    data = {
        "indicator": pa.array(np.full(n, "linkage_proxy")),
        "period": pa.array(np.array(["2024Q1", "2024Q2", "2024Q3", "2024Q4"])[period]),
        "place_code": pa.array(codes[place]),
        "place_name": pa.array(names[place]),
        "sex": pa.array(np.array(SEXES)[sex]),
        "age_band": pa.array(np.array(AGES)[age]),
        "population_group": pa.array(np.array(GROUPS)[group]),
        "numerator": pa.array(np.where(small, np.nan, num), from_pandas=True),
        "denominator": pa.array(den),
        "value": pa.array(np.where(small, np.nan, value), from_pandas=True),
        "unit": pa.array(np.full(n, "percent")),
        "target": pa.array(target),
        "gap": pa.array(np.where(small, np.nan, target - value), from_pandas=True),
        "numerator_flag": pa.array(num_flag, pa.string()),
        "denominator_flag": pa.nulls(n, pa.string()),
        "value_flag": pa.array(value_flag, pa.string()),
        "numerator_element": pa.array(np.full(n, "art_initiated")),
        "denominator_element": pa.array(np.full(n, "hiv_positive")),
    }
    meta = {
        b"corridor.by": json.dumps(
            ["place", "period", "sex", "age_band", "population_group"]
        ).encode(),
    }
    return pa.table(data).replace_schema_metadata(meta)


def timed(fn: Callable[[str], None], folder: str, repeat: int) -> float:
    times = []
    for i in range(repeat):
        path = os.path.join(folder, f"out{i}")
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
        os.remove(path)
    return statistics.median(times)


def paired(
    ours: Callable[[str], None], base: Callable[[str], None], folder: str, repeat: int
) -> tuple[float, float, float, float]:
    """(wall ours, wall baseline, CPU ours, CPU baseline): medians of ``repeat`` runs, ours and
    the baseline taking turns so that both see the same load on a shared machine."""
    runs: list[tuple[float, float, float, float]] = []
    for i in range(repeat):
        one = []
        for fn in (ours, base):
            path = os.path.join(folder, f"out{i}")
            c0, t0 = time.process_time(), time.perf_counter()
            fn(path)
            one.append((time.perf_counter() - t0, time.process_time() - c0))
            os.remove(path)
        runs.append((one[0][0], one[1][0], one[0][1], one[1][1]))
    return tuple(statistics.median(r[k] for r in runs) for k in range(4))  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=850_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", action="store_true", help="also time the 0.1.0 row-by-row writers")
    ap.add_argument(
        "--formats",
        default="csv,hxl,json,dhis2-json,adx",
        help="the formats to time, separated by commas (default: all)",
    )
    args = ap.parse_args()
    t = table(args.rows)
    plain = t.select(columns_of(t))
    codes = Codes()
    values = exchange_table(t, unsuppressed=True)
    print(f"values for DHIS2/ADX: {values.num_rows:,}")
    print(f"indicator table: {t.num_rows:,} rows, {t.num_columns} columns")

    def to(path: str, fn: Callable[..., object], *a: object, **k: object) -> None:
        with open(path, "wb") as fh:
            fn(*a, fh, **k)

    def arrow_csv(path: str) -> None:
        pacsv.write_csv(plain, path)

    def polars_json(path: str) -> None:
        pl.from_arrow(plain).write_json(path)  # type: ignore[union-attr]

    def values_json(path: str) -> None:
        pl.from_arrow(values).write_json(path)  # type: ignore[union-attr]

    def values_csv(path: str) -> None:
        pacsv.write_csv(values, path)

    cases: list[tuple[str, Callable[[str], None], Callable[[str], None], str]] = [
        ("csv", lambda p: to(p, write_csv, t, unsuppressed=True), arrow_csv, "arrow csv"),
        ("hxl", lambda p: to(p, write_csv, t, unsuppressed=True, hxl=True), arrow_csv, "arrow csv"),
        ("json", lambda p: to(p, write_json, t, unsuppressed=True), polars_json, "polars json"),
        (
            "dhis2-json",
            lambda p: to(p, write_dhis2_json, t, codes, unsuppressed=True),
            values_json,
            "polars json of the values",
        ),
        (
            "adx",
            lambda p: to(p, write_adx, t, codes, unsuppressed=True),
            values_csv,
            "arrow csv of the values",
        ),
    ]
    chosen = set(args.formats.split(","))
    if chosen - {c[0] for c in cases}:
        ap.error(f"unknown format(s): {', '.join(sorted(chosen - {c[0] for c in cases}))}")
    cases = [c for c in cases if c[0] in chosen]
    with tempfile.TemporaryDirectory(prefix="corridor-export-") as folder:
        print(
            f"{'format':<11} {'corridor s':>10} {'baseline s':>10} {'ratio':>6} "
            f"{'CPU ratio':>9}  baseline (wall; CPU ratio: process time, same runs)"
        )
        worst = 0.0
        for name, ours, base, label in cases:
            a, b, ca, cb = paired(ours, base, folder, args.repeat)
            worst = max(worst, a / b)
            print(f"{name:<11} {a:>10.3f} {b:>10.3f} {a / b:>6.2f} {ca / cb:>9.2f}  {label}")
        print(f"worst ratio {worst:.2f} (goal: at most 2.0); load average {os.getloadavg()[0]:.1f}")
        whole = timed(arrow_csv, folder, args.repeat)
        for name, ours, _b, _l in cases:
            if name not in ("dhis2-json", "adx"):
                continue
            a = timed(ours, folder, args.repeat)
            print(f"{name:<11} {a:>10.3f} {whole:>10.3f} {a / whole:>6.2f}  arrow csv of the table")
        if args.old:
            import legacy_export as old

            def legacy(fn: Callable[..., str], *a: object, **k: object) -> Callable[[str], None]:
                def write(path: str) -> None:
                    Path(path).write_text(fn(*a, **k), encoding="utf-8")

                return write

            olds = {
                "csv": legacy(old.to_csv, t, unsuppressed=True),
                "json": legacy(old.to_json, t, unsuppressed=True),
                "dhis2-json": legacy(old.to_dhis2_json, t, codes, unsuppressed=True),
                "adx": legacy(old.to_adx, t, codes, unsuppressed=True),
            }
            for name, ours, _b, _l in cases:
                if name in olds:
                    before = timed(olds[name], folder, 1)
                    now = timed(ours, folder, 1)
                    print(f"{name:<11} 0.1.0 {before:.2f} s, now {now:.3f} s: {before / now:.0f}x")


if __name__ == "__main__":
    main()
