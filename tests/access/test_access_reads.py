"""Reads through the access layer: the unsuppressed view is the analyst's own, without secrets."""

from __future__ import annotations

from pathlib import Path

from corridor.access.accounts import get_user
from corridor.access.reads import IndicatorQuery, read_indicators
from hubdata import make_hub


def test_the_unsuppressed_view_never_carries_cell_keys(tmp_path: Path) -> None:
    ws, _ = make_hub(tmp_path / "hub")
    account = get_user(ws.engine, "an-grant")
    q = IndicatorQuery(indicators=("positivity",), by=("sex",), unsuppressed=True)
    table = read_indicators(ws.engine, account, ws.settings, q, channel="test")
    assert table.num_rows > 0
    assert not [c for c in table.column_names if c.endswith("_key")]
