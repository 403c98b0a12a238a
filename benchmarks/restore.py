"""Restore benchmark: ``restore`` of a backup of about 2M service rows into an empty warehouse.

Generates the indicator benchmark's world (``benchmarks/indicators.py``: about ``--rows`` fully
disaggregated service rows with record keys, its places, one import), backs it up with
``corridor.storage.backup.backup`` and times ``restore`` of that backup into a freshly migrated,
empty warehouse: DuckDB, and PostgreSQL with ``--postgres`` (CORRIDOR_TEST_PG_URL or a
throw-away local server, as in the tests). Each restore runs in its own process, so that its
peak memory (the high-water mark of the resident set, VmHWM, above what the process held before
the restore) is its own. ``--baseline SRC`` times the ``corridor`` package under ``SRC`` (e.g. a
``git worktree`` of an earlier commit) as well, taking turns with this tree's, so that both see
the same machine. For each, the fastest and the median wall time of ``--repeat`` runs, the least
and the median CPU seconds of the restoring process (all its threads: DuckDB's too, not the
PostgreSQL server's), and the range of the peaks are shown; on a shared machine the CPU seconds
are the steadier measure.

    .venv/bin/python benchmarks/restore.py [--rows 2000000] [--repeat 3] [--postgres]
        [--baseline /tmp/wt/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest import fresh_pg, pg_url  # noqa: E402  (the ingest benchmark's PostgreSQL server)


def make_backup(folder: Path, rows: int) -> Path:
    """A warehouse of ``rows`` service rows backed up to ``folder / "bk"``."""
    from corridor.storage.backup import backup
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate
    from indicators import generate  # the indicator benchmark's world

    places, services = generate(rows)
    eng = connect(str(folder / "source.duckdb"))
    try:
        migrate(eng)
        eng.execute(
            "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, "
            "imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
            "rows_quarantined, status) VALUES (1, 'bench.csv', 'x', 'services', 'tidy', "
            "'bench.csv', 'bench', TIMESTAMP '2025-01-01 00:00:00', ?, ?, ?, 0, 0, 0, 'ok')",
            (services.num_rows,) * 3,
        )
        eng.insert_arrow("places", places)
        for i in range(0, services.num_rows, 1_000_000):
            eng.insert_arrow("services", services.slice(i, 1_000_000))
        backup(eng, folder / "bk")
    finally:
        eng.close()
    return folder / "bk"


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(url: str, bk: str) -> None:
    """One restore of ``bk`` into the empty warehouse at ``url`` (migrated here, untimed)."""
    from corridor.storage.backup import restore
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate

    eng = connect(url)
    try:
        migrate(eng)
        before = _hwm_kb()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        counts = restore(eng, Path(bk))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        eng.close()
    peak = max(0, _hwm_kb() - before)
    print(
        json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak / 1024, "rows": sum(counts.values())})
    )


def run_child(url: str, bk: Path, src: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(bk)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"restore failed ({src or 'this tree'}):\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest is kept")
    ap.add_argument("--postgres", action="store_true", help="also restore into PostgreSQL")
    ap.add_argument("--baseline", help="a src folder whose corridor is timed too, taking turns")
    ap.add_argument("--child", nargs=2, metavar=("URL", "BACKUP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="corridor-bench-restore-") as tmp:
        folder = Path(tmp)
        bk = make_backup(folder, args.rows)
        size = sum(p.stat().st_size for p in bk.iterdir())
        manifest = json.loads((bk / "manifest.json").read_text())
        rows = sum(t["rows"] for t in manifest["tables"].values())
        print(f"backup: {rows:,} rows, {size / 1e6:.0f} MB of Parquet")
        targets = [("duckdb", str(folder / "restored.duckdb"))]
        stack: list[Any] = []
        try:
            if args.postgres:
                url = pg_url(stack)
                if url:
                    targets.append(("postgres", url))
                else:
                    print("postgres: no server available, skipped")
            trees: list[tuple[str, str | None]] = [("this tree", None)]
            if args.baseline:
                trees.append(("baseline", str(Path(args.baseline).resolve())))
            for name, url in targets:
                runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in trees}
                for _ in range(args.repeat):  # the trees take turns
                    for label, src in trees:
                        if name == "postgres":
                            fresh_pg(url)
                        else:
                            Path(url).unlink(missing_ok=True)
                            Path(url + ".wal").unlink(missing_ok=True)
                        runs[label].append(run_child(url, bk, src))
                for label, done in runs.items():
                    walls = sorted(r["wall"] for r in done)
                    cpus = sorted(r["cpu"] for r in done)
                    peaks = sorted(r["peak_mb"] for r in done)
                    print(
                        f"{name:8} {label:9}: wall {walls[0]:.2f} s fastest, "
                        f"{statistics.median(walls):.2f} s median; CPU {cpus[0]:.2f} s least, "
                        f"{statistics.median(cpus):.2f} s median; peak +{peaks[0]:.0f} to "
                        f"+{peaks[-1]:.0f} MB ({len(done)} runs)"
                    )
        finally:
            for server in stack:
                server.stop()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
