"""What the hub benchmarks (api.py, web.py) share: a free loopback port and the demo workspace."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_workspace(given: str | None, tmp: Path) -> Path:
    """``given``, else a demo workspace built under ``tmp`` with ``corridor demo``."""
    if given:
        return Path(given)
    out = tmp / "demo"
    print("building the demo workspace (corridor demo)...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "corridor.cli.main", "demo", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out
