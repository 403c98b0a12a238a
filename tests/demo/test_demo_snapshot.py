"""Seeded snapshot of the demonstration world (refreshed only on purpose).

Refresh after an intended change of the generator with::

    CORRIDOR_REFRESH_SNAPSHOTS=1 .venv/bin/pytest tests/demo/test_demo_snapshot.py

and mention the change of numbers in the CHANGELOG.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from demo_helpers import digest

from corridor.demo import WorldManifest

SNAPSHOT = Path(__file__).with_name("snapshot_seed2024.json")


def current(world: WorldManifest, world_dir: Path) -> dict[str, Any]:
    return {
        "counts": world.counts,
        "invalid_rows": [r.to_dict() for r in world.invalid_rows],
        "places_sha256": digest(world_dir / "sources")["places.csv"],
    }


def test_seed_2024_snapshot(world: WorldManifest, world_dir: Path) -> None:
    now = current(world, world_dir)
    if os.environ.get("CORRIDOR_REFRESH_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip("snapshot refreshed")
    assert now == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
