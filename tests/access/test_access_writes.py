"""Imports on behalf of an account (corridor.access.writes): the answer cache's warming after a
large import is planned with the import's rows counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import corridor.intake.importer as importer
from corridor.access.accounts import Account
from corridor.access.writes import import_files
from corridor.config import load_settings
from corridor.storage.engine import Engine

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor,population,dhis2_uid,fmp_code
KEN,Kenya,country,,KEN,0.1,37.9,,,,
ke-malaba,Malaba (KE),border_crossing,ken,ken,0.636,34.275,northern,15000,,
"""
HEADER = "period,place_code,data_element,sex,age_band,population_group,value"
ROWS = [f"2024-0{m},ke-malaba,hiv_tests,{s},25-34,migrant,{m}" for m in (1, 2, 3) for s in "fm"]
ADMIN = Account("admin", "admin", None)


class _Cache:
    """Records, at each warming, the planner's row count of services (PostgreSQL: -1 until the
    table is analysed; DuckDB: nothing to record); ``fail``: the warming raises."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[Any] = []

    def get_or_compute(self, key: tuple[Any, ...], compute: Any, *_: Any, **__: Any) -> Any:
        return compute()

    def warm(self, engine: Engine, versions: Sequence[tuple[Any, ...]], *_: Any, **__: Any) -> int:
        if engine.name == "postgres":
            self.seen.append(
                engine.scalar("SELECT reltuples FROM pg_class WHERE relname = 'services'")
            )
        else:
            self.seen.append(engine.scalar("SELECT COUNT(*) FROM services"))
        if self.fail:
            raise RuntimeError("warming failed")
        return 0


def _import(engine: Engine, tmp_path: Path, cache: _Cache) -> None:
    settings = load_settings(None, env={})
    places = tmp_path / "places.csv"
    places.write_text(PLACES, encoding="utf-8")
    import_files(engine, ADMIN, settings, [places], "places", channel="test")
    services = tmp_path / "s.csv"
    services.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    [r] = import_files(engine, ADMIN, settings, [services], "services", channel="test", cache=cache)
    assert r.rows_new == len(ROWS)


@pytest.mark.parametrize("fail", [False, True], ids=["warmed", "warming failed"])
def test_an_import_warms_the_cache_with_fresh_statistics(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    """PostgreSQL warms inside the import's transaction: the table it wrote in bulk is analysed
    first (its rows counted), once, not again at the commit. A warming that fails takes that
    back with it, and the table is analysed at the commit instead; the import stands."""
    done: list[str] = []
    own = engine._refresh_statistics
    monkeypatch.setattr(engine, "_refresh_statistics", lambda t: (done.append(t), own(t)))
    monkeypatch.setattr(importer, "STATISTICS_ROWS", len(ROWS))
    cache = _Cache(fail=fail)
    _import(engine, tmp_path, cache)
    assert engine.scalar("SELECT COUNT(*) FROM services") == len(ROWS)
    assert cache.seen == [len(ROWS)]  # warmed once, with the new rows counted
    if engine.name == "postgres":
        assert done == (["services", "services"] if fail else ["services"])
        after = engine.scalar("SELECT reltuples FROM pg_class WHERE relname = 'services'")
        assert after == len(ROWS)
    else:  # DuckDB warms after the commit: its (empty) refresh once, at the commit
        assert done == ["services"]
