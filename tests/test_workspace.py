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
