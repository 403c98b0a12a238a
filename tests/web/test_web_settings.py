"""The dashboard ranks with the workspace's ``testing_min_age`` as ``corridor hotspots`` does:
on the map, the overview and the ranking page, computed on request or prepared when the server
starts (``corridor.web.warm``). Pages read through a test client: no browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from corridor.api.app import create_app
from corridor.web.warm import prepare
from hubdata import web_login
from settingsworld import ADMIN, SETTINGS, add_admin, build_workspace, cli_ranking, ranking_at


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("web_settings")
    folder = build_workspace(tmp / "ws", tmp / "src")
    add_admin(folder)
    return folder


def _pages(app: Any) -> tuple[list[tuple[str, float]], list[str], list[str]]:
    """The map's sites (code, rate per 1,000) in rank order, the overview's top sites and the
    ranking page's sites, as the admin sees them."""
    with TestClient(app, base_url="http://127.0.0.1") as client:
        web_login(client, ADMIN)
        layers = client.get("/map/layers.json")
        overview = client.get("/overview")
        spaces = client.get("/spaces")
    for page in (layers, overview, spaces):
        assert page.status_code == 200, page.text
    sites = sorted(layers.json()["sites"], key=lambda s: s["rank"])
    top = re.findall(r'<a href="/map\?site=([^"]+)">', overview.text)
    ranked = re.findall(r'<tr data-code="([^"]+)"', spaces.text)
    return [(s["code"], s["per_1000"]) for s in sites], top, ranked


def _expected(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, float]]:
    """``corridor hotspots``' sites in rank order, checked to be those of the setting (testing
    from 25), not of the default (15)."""
    cli = cli_ranking(capsys, folder)
    codes = [code for code, _ in cli]
    assert codes == ranking_at(folder, SETTINGS["testing_min_age"])
    assert codes != ranking_at(folder, 15)
    return cli


def test_the_pages_rank_as_the_cli(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = _expected(folder, capsys)
    codes = [c for c, _ in cli]
    sites, top, ranked = _pages(create_app(folder))
    assert [c for c, _ in sites] == codes
    assert [r for _, r in sites] == pytest.approx([r for _, r in cli], abs=0.051)
    assert top and top == codes[: len(top)]
    assert ranked == codes


def test_prepared_answers_rank_as_the_cli(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = [c for c, _ in _expected(folder, capsys)]
    app = create_app(folder)
    done = prepare(app.state.hub)
    assert done.scopes == 1

    def not_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the page computed what was prepared")

    import corridor.hotspots

    monkeypatch.setattr(corridor.hotspots, "rank_sites", not_again)
    sites, top, _ = _pages(app)
    assert [c for c, _ in sites] == codes
    assert top == codes[: len(top)]
