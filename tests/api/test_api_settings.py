"""The API answers with the workspace's ``testing_min_age`` and ``completeness_threshold``, as
``corridor hotspots`` and ``corridor indicators`` do: the same ranking and the same flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from corridor.api.app import create_app
from corridor.hotspots import rank_sites
from corridor.workspace import open_workspace
from hubdata import auth
from settingsworld import add_admin, build_workspace, cli_indicators, cli_ranking


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, Path]]:
    tmp = tmp_path_factory.mktemp("api_settings")
    folder = build_workspace(tmp / "ws", tmp / "src")
    token = add_admin(folder)
    with TestClient(create_app(folder, pool_size=4), raise_server_exceptions=False) as client:
        yield client, token, folder


def _get(served: tuple[TestClient, str, Path], path: str) -> Any:
    client, token, _ = served
    r = client.get(f"/api/v1{path}", headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_hotspots_rank_as_the_cli_ranks(
    served: tuple[TestClient, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = served[2]
    cli = cli_ranking(capsys, folder)
    api = [
        (s["place_code"], float(s["new_infections_per_1000"]))
        for s in _get(served, "/hotspots?draws=0")["sites"]
    ]
    assert [c for c, _ in api] == [c for c, _ in cli]
    assert [r for _, r in api] == pytest.approx([r for _, r in cli], abs=0.01)
    ws = open_workspace(folder)
    try:
        default = rank_sites(ws.engine, draws=0).table.column("place_code").to_pylist()
    finally:
        ws.close()
    assert [c for c, _ in api] != default  # testing from 25, not from the default 15
    # a site's explanation is of the same ranking
    top = cli[0][0]
    info = _get(served, f"/hotspots/{top}?draws=0")
    assert info["rank"] == 1


def test_indicators_flag_and_divide_as_the_cli(
    served: tuple[TestClient, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cli = cli_indicators(capsys, served[2])
    rows = _get(
        served,
        "/indicators?indicator=positivity,testing_coverage&by=country,population_group&period=2024",
    )["rows"]
    api = {(r["indicator"], r["country"]): r for r in rows if r["population_group"] == "total"}
    assert api["positivity", "ken"]["incomplete"] is True  # 5 of 6 places, under 95%
    for key, row in cli.items():
        for column in ("numerator", "denominator", "value", "incomplete"):
            assert api[key][column] == row[column], (key, column)
