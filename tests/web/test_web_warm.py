"""Answers prepared when the server starts (corridor.web.warm): per scope, used by the pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webserve import ACCOUNTS, PASSWORD, build_workspace

from corridor.access.scope import Scope
from corridor.api.app import create_app
from corridor.web.warm import prepare


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("warm") / "ws")


PATHS = ("/overview", "/spaces", "/map/layers.json")


def _pages(app: Any, role: str) -> dict[str, str]:
    """``PATHS`` as ``role`` sees them (one client: its exit closes the app's connections)."""
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        data = {"username": ACCOUNTS[role][0], "password": PASSWORD}
        if token:
            data["csrf"] = token.group(1)
        client.post("/login", data=data)
        pages = {}
        for path in PATHS:
            response = client.get(path)
            assert response.status_code == 200, response.text
            # the CSRF token differs between sessions; nothing else may
            pages[path] = re.sub(r'(name="csrf" value=|content=)"[^"]*"', "", response.text)
        return pages


def test_each_scope_is_prepared_by_itself(workspace: Path) -> None:
    app = create_app(workspace)
    hub = app.state.hub
    try:
        done = prepare(hub)
        # admin (every country), data manager (Uganda), analyst (Kenya); partners read no ranking
        assert (done.scopes, done.left) == (3, 0)
        rankings = {k[1]: v for k, v in hub.answers._items.items() if k[0] == "hotspots"}
        assert set(rankings) == {
            Scope(None),
            Scope(frozenset({"uga"})),
            Scope(frozenset({"ken"})),
        }
        kenya = rankings[Scope(frozenset({"ken"}))].table.column("country_code").to_pylist()
        assert kenya and set(kenya) == {"ken"}  # computed for Kenya only
        views = {k[0] for k in hub.answers.cached_keys()}
        assert views == {"hotspots", "web.overview", "web.map"}
    finally:
        hub.close()


def test_pages_answer_from_the_prepared_scope(workspace: Path, monkeypatch: Any) -> None:
    expected = _pages(create_app(workspace), "analyst")
    app = create_app(workspace)
    prepare(app.state.hub)

    def not_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the page computed what was prepared")

    import corridor.hotspots
    import corridor.web.overview

    monkeypatch.setattr(corridor.hotspots, "rank_sites", not_again)
    monkeypatch.setattr(corridor.web.overview, "cascade", not_again)
    got = _pages(app, "analyst")
    for path, page in expected.items():
        assert got[path] == page  # the Kenya analyst's own numbers, as computed on request
        assert "Uganda" not in got[path] and "ug-" not in got[path]
