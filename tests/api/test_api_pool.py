"""The connection pool's spare connection: idle or new, never waited for."""

from __future__ import annotations

from pathlib import Path

from corridor.api.hub import EnginePool


def test_a_spare_is_idle_or_new_and_never_waited_for(tmp_path: Path) -> None:
    pool = EnginePool(str(tmp_path / "w.duckdb"), size=2)
    try:
        first = pool.take()  # a request's own connection
        spare = pool.take_spare()  # a cold pool opens a second one instead of saying none
        assert spare is not None and spare is not first
        assert pool.take_spare() is None  # the pool is full and nothing is idle: no waiting
        pool.put(spare)
        assert pool.take_spare() is spare  # an idle one is taken first
        assert pool.take_idle() is None
        pool.put(spare)
        pool.put(first)
    finally:
        pool.close()
