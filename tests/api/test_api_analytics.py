"""GET /analytics answers like DHIS2's analytics API, with the numbers of GET /indicators."""

from __future__ import annotations

from typing import Any

from hubdata import auth


def _indicator_values(hub: Any, by: str, period: str) -> dict[str, Any]:
    r = hub.client.get(
        f"/api/v1/indicators?indicator=positivity&by={by}&period={period}",
        headers=auth(hub.tokens["an-keug"]),
    )
    return {row["place_code"]: row["value"] for row in r.json()["rows"]}


def test_dhis2_shape_and_the_same_numbers(hub: Any) -> None:
    r = hub.client.get(
        "/api/v1/analytics?dimension=dx:positivity&dimension=pe:2024Q1;2024Q2"
        "&dimension=ou:ke-malaba;UgaUID00001",
        headers=auth(hub.tokens["an-keug"]),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [h["name"] for h in doc["headers"]] == ["dx", "pe", "ou", "value"]
    assert doc["width"] == 4 and doc["height"] == len(doc["rows"]) > 0
    assert doc["metaData"]["dimensions"] == {
        "dx": ["positivity"],
        "pe": ["2024Q1", "2024Q2"],
        "ou": ["ke-malaba", "UgaUID00001"],
    }
    assert doc["metaData"]["items"]["UgaUID00001"]["code"] == "uga"
    for dx, pe, ou, value in doc["rows"]:
        assert dx == "positivity" and pe in ("2024Q1", "2024Q2")
        if ou == "ke-malaba":
            expected = _indicator_values(hub, "place", pe)["ke-malaba"]
        else:
            expected = _indicator_values(hub, "country", pe)["uga"]
        assert float(value) == expected


def test_filters_and_bad_requests(hub: Any) -> None:
    who = auth(hub.tokens["admin1"])
    r = hub.client.get("/api/v1/analytics?dimension=dx:positivity&filter=pe:2024", headers=who)
    assert r.status_code == 200 and [h["name"] for h in r.json()["headers"]] == ["dx", "value"]
    assert r.json()["rows"][0][0] == "positivity"
    for query in (
        "dimension=pe:2024",  # no dx
        "dimension=dx:nonsense",
        "dimension=xx:1",
        "dimension=dx:positivity&filter=pe:2024;2023",
        "dimension=dx:positivity&dimension=ou:nowhere",
    ):
        bad = hub.client.get(f"/api/v1/analytics?{query}", headers=who)
        assert bad.status_code in (400, 404), (query, bad.text)
        assert bad.json()["detail"]


def test_csv_by_accept_header(hub: Any) -> None:
    r = hub.client.get(
        "/api/v1/indicators?indicator=positivity&by=country&period=2024",
        headers={**auth(hub.tokens["admin1"]), "Accept": "text/csv"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0].startswith("indicator,period,place_code")
