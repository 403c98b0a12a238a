"""A partner reads through every adapter only what its agreement grants: a place filter finer
than the agreement's disaggregation, or a period range with an end of another period type, is a
403 problem document (indicators, CSV, DHIS2 analytics, the explorer's download); and the audit
entry of a site's explanation names the site."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from corridor.access import add_agreement, add_user, create_token
from corridor.api.app import create_app
from hubdata import PASSWORD, auth, make_hub

#: partner -> its agreement (first_95 and positivity, yearly unless said otherwise)
AGREEMENTS = {
    "p-country": ("country", "year", "KEN,UGA"),
    "p-place": ("place", "year", "KEN"),
    "p-quarter": ("country", "quarter", "KEN"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    path: Path = tmp_path_factory.mktemp("agreements") / "ws"
    ws, tokens = make_hub(path)
    for name, (by, period_type, countries) in AGREEMENTS.items():
        add_user(ws.engine, name, "partner", PASSWORD)
        tokens[name], _ = create_token(ws.engine, name)
        add_agreement(
            ws.engine,
            name,
            indicators="first_95,positivity",
            by=by,
            period_type=period_type,
            countries=countries,
            valid_from=date(2020, 1, 1),
            valid_to=date(2099, 12, 31),
            created_by="test",
        )
    ws.close()
    with TestClient(create_app(path, pool_size=4), raise_server_exceptions=False) as client:
        yield client, tokens


def _refused(r: Any, *words: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    doc = r.json()
    assert doc["status"] == 403 and doc["request_id"]
    for word in words:
        assert word in doc["detail"], doc["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "indicator=positivity&by=country&period=2024&place=ke-malaba",
        "indicator=positivity&by=country&period=2024&place=KE-MALABA&format=csv",
        "indicator=positivity&period=2024&place=ug-malaba",
        "indicator=positivity&by=country&period=2024&place=ke-west",  # an admin1 area
    ],
)
def test_a_partner_cannot_filter_finer_than_its_agreement(
    served: tuple[TestClient, dict[str, str]], query: str
) -> None:
    client, tokens = served
    place = query.rsplit("place=", 1)[1].split("&")[0].lower()
    r = client.get(f"/api/v1/indicators?{query}", headers=auth(tokens["p-country"]))
    _refused(r, "place filter", place, "disaggregation by")


def test_a_partner_filters_at_its_agreements_level(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = served
    country = auth(tokens["p-country"])
    ok = client.get(
        "/api/v1/indicators?indicator=positivity&by=country&period=2024&place=ken", headers=country
    )
    assert ok.status_code == 200, ok.text
    assert {r["place_code"] for r in ok.json()["rows"]} == {"ken", "all"}
    _refused(
        client.get(
            "/api/v1/indicators?indicator=positivity&by=country&period=2024&place=tza",
            headers=country,
        ),
        "place tza",
    )
    # an agreement that grants sites lets a partner filter on one of its countries' sites
    site = client.get(
        "/api/v1/indicators?indicator=positivity&by=place&period=2024&place=ke-malaba",
        headers=auth(tokens["p-place"]),
    )
    assert site.status_code == 200, site.text
    assert {r["place_code"] for r in site.json()["rows"]} == {"ke-malaba", "all"}


def test_analytics_and_the_explorer_refuse_a_site_filter(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = served
    r = client.get(
        "/api/v1/analytics?dimension=dx:positivity&dimension=pe:2024&filter=ou:ke-malaba",
        headers=auth(tokens["p-country"]),
    )
    _refused(r, "ke-malaba")
    ok = client.get(
        "/api/v1/analytics?dimension=dx:positivity&dimension=pe:2024&filter=ou:ken",
        headers=auth(tokens["p-country"]),
    )
    assert ok.status_code == 200, ok.text
    browser = TestClient(client.app, raise_server_exceptions=False)  # a session of its own
    login = browser.post("/api/v1/login", json={"username": "p-country", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csv = browser.get(
        "/explorer.csv?submitted=1&indicator=positivity&by=country&period=2024&place=ke-malaba"
    )
    assert csv.status_code == 403  # the dashboard's page saying why, never the site's numbers
    assert "a place filter on ke-malaba" in csv.text
    assert not csv.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize("period", ["2024Q4:2024", "2024-12:2024", "2024W05:2024", "2024:2024Q1"])
def test_a_yearly_agreement_refuses_a_range_with_a_shorter_end(
    served: tuple[TestClient, dict[str, str]], period: str
) -> None:
    client, tokens = served
    who = auth(tokens["p-country"])
    r = client.get(
        f"/api/v1/indicators?indicator=positivity&by=country&period={period}", headers=who
    )
    _refused(r, "period type", "both ends of a period range")
    a = client.get(f"/api/v1/analytics?dimension=dx:positivity&dimension=pe:{period}", headers=who)
    _refused(a, "both ends of a period range")


def test_ranges_of_the_granted_type_are_answered(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    """A range of the granted period type passes the agreement; it is published as one sum
    where it may be (four quarters), and otherwise refused by disclosure control, not by the
    agreement (each such range is a new noisy sum of its periods: docs/disclosure.md)."""
    client, tokens = served
    for who, period, status in (
        ("p-country", "2023:2024", 400),
        ("p-country", "2024", 200),
        ("p-quarter", "2024Q1:2024Q2", 400),
        ("p-quarter", "2024Q3:2025Q2", 200),
    ):
        r = client.get(
            f"/api/v1/indicators?indicator=positivity&by=country&period={period}",
            headers=auth(tokens[who]),
        )
        assert r.status_code == status, r.text
        if status == 400:
            assert "Ask for the range by period" in r.text, r.text
    _refused(
        client.get(
            "/api/v1/indicators?indicator=positivity&by=country&period=2024Q4:2024-12",
            headers=auth(tokens["p-quarter"]),
        ),
        "period type month",
    )


def test_the_audit_entry_of_a_sites_explanation_names_the_site(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = served
    for code in ("ug-malaba", "UG-BUSIA"):
        r = client.get(f"/api/v1/hotspots/{code}?draws=0", headers=auth(tokens["an-keug"]))
        assert r.status_code == 200, r.text
        audit = client.get("/api/v1/audit?user=an-keug&limit=1", headers=auth(tokens["admin1"]))
        [entry] = audit.json()["entries"]
        assert entry["action"] == "api.read_hotspots"
        assert entry["parameters"]["place"] == code.lower()
    client.get("/api/v1/hotspots?draws=0", headers=auth(tokens["an-keug"]))
    audit = client.get("/api/v1/audit?user=an-keug&limit=1", headers=auth(tokens["admin1"]))
    assert "place" not in audit.json()["entries"][0]["parameters"]  # the ranking: no site
