"""CLI start-up benchmark: ``corridor --help`` and every subcommand's ``--help``.

Each command is run as a user runs it (a fresh interpreter: ``python -m corridor.cli.main ...``,
which is what the ``corridor`` script does), ``--repeat`` times; the median wall time is printed
with its ratio to ``python -c pass`` measured in the same run, the floor that no Python program can
beat. Goal: every line under 0.3 s.

    .venv/bin/python benchmarks/cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from corridor.cli.main import COMMANDS

GOAL_S = 0.3


def wall(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child, in seconds. On a busy
    machine the wall time waits for a core; the CPU time is the work the command itself does."""
    times, cpu = [], []
    for _ in range(repeat):
        before = os.times()
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        after = os.times()
        cpu.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
    return statistics.median(times), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    args = parser.parse_args()
    base, base_cpu = wall([sys.executable, "-c", "pass"], args.repeat)
    print(
        f"python -c pass: {base * 1000:.0f} ms wall, {base_cpu * 1000:.0f} ms CPU "
        f"(median of {args.repeat}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores)"
    )
    worst = 0.0
    for name in ["", *COMMANDS]:
        argv = [sys.executable, "-m", "corridor.cli.main", *([name] if name else []), "--help"]
        t, cpu = wall(argv, args.repeat)
        worst = max(worst, t)
        label = f"corridor {name} --help".replace("  ", " ")
        verdict = "ok" if t < GOAL_S else "SLOW"
        print(
            f"{label:<32} {t * 1000:6.0f} ms wall {t / base:4.1f}x  "
            f"{cpu * 1000:5.0f} ms CPU {cpu / max(base_cpu, 1e-3):4.1f}x python -c pass  {verdict}"
        )
    print(f"slowest: {worst * 1000:.0f} ms (goal < {GOAL_S * 1000:.0f} ms)")
    return 0 if worst < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
