"""The permission matrix, generated from the one documented matrix (corridor.access.roles.MATRIX):
every role x scope (inside, outside) x endpoint, on DuckDB and PostgreSQL. Allowed inside the
scope: 200 (201 for an import). Not allowed, or outside the scope: 403 with a problem document
naming what is not allowed, never an empty 200. No credentials: 401."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from corridor.access.roles import ACTIONS, MATRIX, allows
from hubdata import auth

# account -> (role, country inside its scope, country outside it or None)
ACCOUNTS = {
    "admin1": ("admin", "ken", None),
    "dm-uga": ("data_manager", "uga", "ken"),
    "an-keug": ("analyst", "ken", "tza"),
    "an-grant": ("analyst", "uga", "tza"),
    "partner1": ("partner", "ken", "uga"),
}
SITE = {"ken": "ke-malaba", "uga": "ug-malaba", "tza": "tz-namanga"}
UPLOAD_DONE = "upload"


class Call(NamedTuple):
    action: str
    method: str
    url: str
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


def services_csv(site: str) -> bytes:
    return (
        "period,place_code,data_element,sex,age_band,population_group,value\n"
        f"2025Q1,{site},hiv_tests,f,15-24,migrant,120\n"
    ).encode()


def calls(country: str) -> list[Call]:
    """One request per endpoint, aimed at ``country``."""
    site = SITE[country]
    q = f"indicator=positivity&by=country,sex&period=2024&country={country.upper()}"
    return [
        Call("read_indicators", "GET", f"/api/v1/indicators?{q}"),
        Call("read_indicators", "GET", f"/api/v1/indicators?{q}&format=csv"),
        Call(
            "read_indicators",
            "GET",
            f"/api/v1/analytics?dimension=dx:positivity&dimension=ou:{country}&filter=pe:2024",
        ),
        Call("read_unsuppressed", "GET", f"/api/v1/indicators?{q}&unsuppressed=true"),
        Call("read_hotspots", "GET", f"/api/v1/hotspots?draws=0&country={country.upper()}"),
        Call("read_hotspots", "GET", f"/api/v1/hotspots/{site}?draws=0"),
        Call("read_places", "GET", "/api/v1/places"),
        Call("read_status", "GET", "/api/v1/status"),
        Call("read_imports", "GET", "/api/v1/imports"),
        Call("read_quarantine", "GET", "/api/v1/quarantine"),
        Call("read_audit", "GET", "/api/v1/audit?limit=5"),
        Call(
            "write_imports",
            "POST",
            "/api/v1/imports",
            files={"file": ("s.csv", services_csv(site), "text/csv")},
            data={"kind": "services", "dry_run": "false"},
        ),
    ]


SCOPELESS = {"read_places", "read_status", "read_imports", "read_quarantine", "read_audit"}


def cases() -> list[Any]:
    out = []
    for account, (_role, inside, outside) in ACCOUNTS.items():
        for where, country in (("inside", inside), ("outside", outside)):
            if country is None:
                continue
            for i, call in enumerate(calls(country)):
                if where == "outside" and call.action in SCOPELESS:
                    continue  # answers limited to the scope by construction (tested below)
                out.append(pytest.param(account, where, i, id=f"{account}-{where}-{call.url}"))
    return out


def expected(account: str, where: str, call: Call) -> int:
    role = ACCOUNTS[account][0]
    grant = account == "an-grant"
    if not allows(role, call.action, unsuppressed_grant=grant):
        return 403
    if call.action == "read_unsuppressed" and not allows(role, "read_indicators"):
        return 403
    if where == "outside":
        return 403
    return 201 if call.method == "POST" else 200


def test_every_action_is_exercised() -> None:
    exercised = {c.action for c in calls("ken")}
    assert exercised | {"manage_accounts"} == set(ACTIONS)  # accounts are managed by the CLI
    assert set(MATRIX) == {r for r, *_ in ACCOUNTS.values()}


@pytest.mark.parametrize(("account", "where", "index"), cases())
def test_permission_matrix(hub: Any, account: str, where: str, index: int) -> None:
    country = ACCOUNTS[account][1 if where == "inside" else 2]
    assert country is not None
    call = calls(country)[index]
    r = hub.client.request(
        call.method, call.url, headers=auth(hub.tokens[account]), files=call.files, data=call.data
    )
    want = expected(account, where, call)
    assert r.status_code == want, (call, r.text)
    if want == 403:
        doc = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert doc["status"] == 403 and doc["detail"] and doc["request_id"]
        assert "Traceback" not in r.text


@pytest.mark.parametrize("index", range(len(calls("ken"))))
def test_no_credentials_is_401(hub: Any, index: int) -> None:
    call = calls("ken")[index]
    r = hub.client.request(call.method, call.url, files=call.files, data=call.data)
    assert r.status_code == 401
    assert r.json()["status"] == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    bad = hub.client.request(
        call.method, call.url, headers=auth("cor_nope_nope"), files=call.files, data=call.data
    )
    assert bad.status_code == 401


def test_scoped_answers_hold_only_the_scope(hub: Any) -> None:
    """The scope filter runs in the query: counts, places and margins of other countries are
    not in the answer (compared with the admin's answer for the same country)."""
    places = hub.client.get("/api/v1/places", headers=auth(hub.tokens["dm-uga"])).json()
    assert {p["country_code"] for p in places["places"]} == {"uga"}
    status = hub.client.get("/api/v1/status", headers=auth(hub.tokens["dm-uga"])).json()
    admin = hub.client.get("/api/v1/status", headers=auth(hub.tokens["admin1"])).json()
    assert 0 < status["counts"]["services"] < admin["counts"]["services"]
    q = "/api/v1/indicators?indicator=positivity&by=country&period=2024"
    mine = hub.client.get(q, headers=auth(hub.tokens["dm-uga"])).json()["rows"]
    theirs = hub.client.get(q + "&country=UGA", headers=auth(hub.tokens["admin1"])).json()["rows"]
    assert {r["place_code"] for r in mine} <= {"uga", "all"}
    assert [r for r in mine if r["place_code"] == "uga"] == [
        r for r in theirs if r["place_code"] == "uga"
    ]
    # the all-places margin of a data manager is its own country's total, not everyone's
    margin = [r for r in mine if r["place_code"] == "all"]
    assert (
        margin
        and margin[0]["numerator"]
        == next(r for r in theirs if r["place_code"] == "uga")["numerator"]
    )


def _quarantine_file(rows: list[tuple[str, str]]) -> bytes:
    """One row per (site, sex); a sex of "q" is invalid and quarantined."""
    lines = ["period,place_code,data_element,sex,age_band,population_group,value\n"]
    lines += [
        f"2025-0{i + 1},{site},hiv_tests,{sex},15-24,migrant,{10 + i}\n"
        for i, (site, sex) in enumerate(rows)
    ]
    return "".join(lines).encode()


def test_quarantine_is_limited_to_the_account_countries(fresh_hub_both: Any) -> None:
    """Quarantined rows carry the country of the place they name (recorded at import), and the
    scope filter is in the query: every role x its scope: a data manager sees its countries'
    rows only, an admin all; roles without the permission get 403."""
    hub = fresh_hub_both
    admin = auth(hub.tokens["admin1"])
    rows = [("ug-busia", "q"), ("ke-busia", "q"), ("tz-namanga", "q"), ("ug-busia", "f")]
    r = hub.client.post(
        "/api/v1/imports",
        headers=admin,
        files={"file": ("mixed.csv", _quarantine_file(rows), "text/csv")},
        data={"kind": "services", "quarantine": "true"},
    )
    assert r.status_code == 201 and r.json()["imports"][0]["rows_quarantined"] == 3, r.text
    # a data manager's own file: an unknown place code takes the account's country
    mine = hub.client.post(
        "/api/v1/imports",
        headers=auth(hub.tokens["dm-uga"]),
        files={"file": ("own.csv", _quarantine_file([("ug-nowhere", "f")]), "text/csv")},
        data={"kind": "services", "quarantine": "true"},
    )
    assert mine.status_code == 201 and mine.json()["imports"][0]["rows_quarantined"] == 1
    for account, (role, _inside, _outside) in ACCOUNTS.items():
        got = hub.client.get("/api/v1/quarantine", headers=auth(hub.tokens[account]))
        if not allows(role, "read_quarantine"):
            assert got.status_code == 403 and "quarantined rows" in got.json()["detail"]
            continue
        assert got.status_code == 200, got.text
        countries = sorted(q["country_code"] for q in got.json()["quarantine"])
        if role == "admin":
            assert countries == ["ken", "tza", "uga", "uga"]
            continue
        assert countries == ["uga", "uga"], account
        # the same filter reaches the CSV form
        csv_text = hub.client.get(
            "/api/v1/quarantine?format=csv", headers=auth(hub.tokens[account])
        ).text
        assert "ke-busia" not in csv_text and "tz-namanga" not in csv_text
