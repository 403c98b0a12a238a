from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import corridor
from corridor.errors import QueryError, WorkspaceError


def test_python_api_roundtrip(tmp_path: Path) -> None:
    places = tmp_path / "p.csv"
    places.write_text(
        "place_code,name,place_type,parent_code,country_code\nken,Kenya,country,,ken\n"
    )
    with corridor.init_workspace(tmp_path / "ws") as ws:
        [r] = ws.ingest([places], kind="places")
        assert r.rows_new == 1
        assert isinstance(ws.table("places"), pa.Table)
        assert isinstance(ws.table("places", as_="pandas"), pd.DataFrame)
        assert isinstance(ws.table("places", as_="polars"), pl.DataFrame)
        with pytest.raises(QueryError):
            ws.table("secrets")
    with corridor.open_workspace(tmp_path / "ws") as ws:
        assert ws.status()["counts"]["places"] == 1


def test_open_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError):
        corridor.open_workspace(tmp_path)


def test_a_new_workspace_is_its_owners_alone(tmp_path: Path) -> None:
    """The warehouse holds health data and password and token hashes: a folder made by init
    and the files made in it are not readable by other users (they were 0755 / 0644)."""
    import stat

    ws = corridor.init_workspace(tmp_path / "new" / "ws")
    ws.close()
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "new" / "ws") == 0o700
    assert mode(tmp_path / "new" / "ws" / "corridor.toml") == 0o600
    assert mode(tmp_path / "new" / "ws" / "warehouse.duckdb") == 0o600
    (tmp_path / "mine").mkdir(mode=0o755)  # a folder of the user's own keeps its mode
    corridor.init_workspace(tmp_path / "mine").close()
    assert mode(tmp_path / "mine") == 0o755
    assert mode(tmp_path / "mine" / "warehouse.duckdb") == 0o600
