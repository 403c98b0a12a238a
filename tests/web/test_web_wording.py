"""What the dashboard's sentences say, whatever the disclosure threshold and the ranking (no
browser: the pages' HTML through the app).

At a threshold of 1 or 2 the overview said "no count from 1 to 0 is published" and "Counts from
1 to 1 show as <2"; a site that no component lifts above the median site had the main driver
"none" in the map's site panel and the ranking table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from corridor.access import add_user
from corridor.api.app import create_app

#: "1 to 0", "1–0", "1-1", "from 1 to 1": a range of counts that ends where it starts, or below
EMPTY_RANGE = re.compile(r"(?<![\d.,])1\s*(?:to|–|-)\s*([01])(?![\d.,])")
PASSWORD = "correct horse battery"


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&lt;", "<").split())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report tests' five Kenyan sites, with an admin account."""
    from reports.test_report_text import build_five_sites

    ws = build_five_sites(tmp_path_factory.mktemp("five_sites"))
    try:
        add_user(ws.engine, "web-admin", "admin", PASSWORD)
        return ws.path
    finally:
        ws.close()


@contextmanager
def logged_in(folder: Path) -> Iterator[Any]:
    """A logged-in admin on the dashboard of ``folder`` (settings read when the app starts)."""
    with TestClient(create_app(folder), base_url="http://127.0.0.1") as c:
        form = c.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        data = {"username": "web-admin", "password": PASSWORD}
        if token:
            data["csrf"] = token.group(1)
        assert c.post("/login", data=data).status_code == 200
        yield c


@pytest.fixture
def client(folder: Path) -> Iterator[Any]:
    with logged_in(folder) as c:
        yield c


def _overview_lead(client: Any) -> str:
    r = client.get("/overview?period=2024")
    assert r.status_code == 200, r.text
    m = re.search(r'<p class="muted">Period 2024 .*?</p>', r.text, re.S)
    assert m, r.text
    return _text(m.group(0))


@pytest.mark.parametrize("method", ["cellkey", "suppression"])
@pytest.mark.parametrize("threshold", [1, 2, 10])
def test_the_overview_names_the_small_counts_at_every_threshold(
    folder: Path, monkeypatch: pytest.MonkeyPatch, method: str, threshold: int
) -> None:
    monkeypatch.setenv("CORRIDOR_DISCLOSURE_METHOD", method)
    monkeypatch.setenv("CORRIDOR_SUPPRESSION_THRESHOLD", str(threshold))
    with logged_in(folder) as c:
        lead = _overview_lead(c)
    assert EMPTY_RANGE.search(lead) is None, lead
    if threshold == 1:
        assert re.search(r"<1(?!\d)", lead) is None, lead
        assert "no count is withheld for being small" in lead, lead
        return
    words = "of 1" if threshold == 2 else f"from 1 to {threshold - 1}"
    if method == "cellkey":
        assert f"(no count {words} is published)" in lead, lead
    else:
        assert f"Counts {words} show as <{threshold};" in lead, lead


def _drivers(client: Any) -> dict[str, str]:
    """The ranking's ``main_driver`` of each site (the API's, which the pages share), and what
    the pages write for it."""
    r = client.get("/api/v1/hotspots?period=2024")
    assert r.status_code == 200, r.text
    drivers = {s["place_code"]: s["main_driver"] for s in r.json()["sites"]}
    assert "none" in drivers.values() and set(drivers.values()) - {"none"}, drivers
    return drivers


def _label(driver: str) -> str:
    return "none above the median site" if driver == "none" else driver.replace("_", " ")


def test_a_site_without_a_main_driver_reads_as_such_on_the_map(client: Any) -> None:
    """The overview's table (already right) and the map's site panel ("Main driver: none.")."""
    drivers = _drivers(client)
    overview = client.get("/overview?period=2024").text
    assert "<td>none</td>" not in overview
    undriven = [code for code, driver in drivers.items() if driver == "none"]
    assert overview.count("<td>none above the median site</td>") == len(undriven)
    for code, driver in drivers.items():
        panel = client.get(f"/map?period=2024&site={code}")
        assert panel.status_code == 200, panel.text
        text = _text(panel.text)
        assert f"Main driver: {_label(driver)}." in text, text
        assert "Main driver: none." not in text


def test_a_site_without_a_main_driver_reads_as_such_in_the_ranking(client: Any) -> None:
    """The ranking table's Main driver column said "none"."""
    drivers = _drivers(client)
    spaces = client.get("/spaces?period=2024")
    assert spaces.status_code == 200, spaces.text
    cells = dict(
        re.findall(
            r'<tr data-code="([^"]+)".*?<td>([^<]*)</td>\s*<td class="flags">', spaces.text, re.S
        )
    )
    assert cells == {code: _label(driver) for code, driver in drivers.items()}
