"""Login, rate limiting, cookies and CSRF, headers, CORS, problem documents."""

from __future__ import annotations

from typing import Any

from hubdata import PASSWORD, auth


def test_security_headers_and_request_ids(duck_hub: Any) -> None:
    r = duck_hub.client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    for header in (
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
        "cache-control",
        "x-request-id",
    ):
        assert header in r.headers
    # CORS is off by default: no allow-origin header, even when asked
    pre = duck_hub.client.options(
        "/api/v1/status",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in pre.headers


def test_errors_are_problem_documents_without_traces(duck_hub: Any) -> None:
    r = duck_hub.client.get(
        "/api/v1/indicators?indicator=nonsense", headers=auth(duck_hub.tokens["admin1"])
    )
    assert r.status_code == 400
    doc = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert doc["status"] == 400 and "nonsense" in doc["detail"]
    assert doc["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    missing = duck_hub.client.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_login_gives_a_session_with_httponly_samesite_cookie_and_csrf(fresh_hub: Any) -> None:
    c = fresh_hub.client
    r = c.post("/api/v1/login", json={"username": "dm-uga", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    cookies = r.headers.get_list("set-cookie")
    session = next(h for h in cookies if h.startswith("corridor_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict", "strict")
    # the cookie authenticates reads
    assert c.get("/api/v1/status").status_code == 200
    # a state-changing request with the cookie needs the CSRF header
    files = {"file": ("s.csv", b"period,place_code\n", "text/csv")}
    no_csrf = c.post("/api/v1/imports", files=files, data={"kind": "services"})
    assert no_csrf.status_code == 403 and "csrf" in no_csrf.json()["detail"].lower()
    with_csrf = c.post(
        "/api/v1/imports",
        files=files,
        data={"kind": "services", "dry_run": "true"},
        headers={"x-csrf-token": body["csrf_token"]},
    )
    assert with_csrf.status_code == 422  # past CSRF: the (bad) file is validated
    # the bearer token of the session works too, and logout ends it
    assert c.get("/api/v1/status", headers=auth(body["token"])).status_code == 200
    out = c.post("/api/v1/logout", headers=auth(body["token"]))
    assert out.status_code == 200
    c.cookies.clear()
    assert c.get("/api/v1/status", headers=auth(body["token"])).status_code == 401


def test_failed_logins_are_rate_limited_per_account(fresh_hub: Any) -> None:
    c = fresh_hub.client
    for _ in range(5):
        r = c.post("/api/v1/login", json={"username": "an-keug", "password": "wrong password!"})
        assert r.status_code == 401
    r = c.post("/api/v1/login", json={"username": "an-keug", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # failures are audited, without the password
    audit = c.get("/api/v1/audit?action=api.login_failed", headers=auth(fresh_hub.tokens["admin1"]))
    entries = audit.json()["entries"]
    assert len(entries) == 5 and "wrong" not in audit.text


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(fresh_hub: Any) -> None:
    c = fresh_hub.client
    a = c.post("/api/v1/login", json={"username": "nobody", "password": "x" * 12})
    b = c.post("/api/v1/login", json={"username": "admin1", "password": "x" * 12})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]


def _request(
    method: str, cookies: str = "", headers: dict[str, str] | None = None, app: Any = None
) -> Any:
    from starlette.requests import Request

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookies:
        raw.append((b"cookie", cookies.encode()))
    scope = {"type": "http", "method": method, "path": "/", "headers": raw}
    return Request({**scope, "app": app} if app is not None else scope)


def test_the_csrf_helper_for_the_dashboard_checks_header_or_form_field() -> None:
    import pytest

    from corridor.access.errors import PermissionDenied
    from corridor.api.auth import check_csrf

    cookie = "corridor_csrf=abc123"
    check_csrf(_request("POST", cookie, {"x-csrf-token": "abc123"}))
    check_csrf(_request("POST", cookie), sent="abc123")  # a form's csrf field
    for req, sent in (
        (_request("POST", cookie, {"x-csrf-token": "abc124"}), None),
        (_request("POST", cookie), "abc12"),
        (_request("POST", cookie), ""),
        (_request("POST", "", {"x-csrf-token": ""}), None),  # no cookie, no header
    ):
        with pytest.raises(PermissionDenied, match="x-csrf-token"):
            check_csrf(req, sent=sent)


def test_session_helpers_log_in_and_out_by_cookie(fresh_hub: Any) -> None:
    from fastapi import Response

    from corridor.access.accounts import get_user
    from corridor.access.errors import AuthenticationError
    from corridor.api.auth import end_session, session_account, start_session

    hub = fresh_hub.client.app.state.hub
    with hub.pool.engine() as engine:
        assert session_account(_request("GET"), engine) is None
        out = Response()
        token, _info, csrf = start_session(
            out, _request("GET"), engine, get_user(engine, "an-keug")
        )
        cookies = out.headers.getlist("set-cookie")
        assert any(c.startswith("corridor_session=") and "HttpOnly" in c for c in cookies)
        assert any(c.startswith(f"corridor_csrf={csrf}") for c in cookies)
        req = _request("GET", f"corridor_session={token}", app=fresh_hub.client.app)
        account = session_account(req, engine)
        assert account is not None and account.username == "an-keug"
        end_session(Response(), req, engine)
        try:
            session_account(req, engine)
        except AuthenticationError:
            pass
        else:
            raise AssertionError("a revoked session still authenticates")


def test_the_login_limit_is_shared_by_the_workers_of_one_warehouse(fresh_hub_both: Any) -> None:
    """Failed logins are kept in the warehouse: a second server process (another worker of
    `--workers N`, here a second app on the same warehouse) refuses the account as well, and
    neither the account name nor the address is stored."""
    from fastapi.testclient import TestClient

    from corridor.api.app import create_app

    hub = fresh_hub_both
    for _ in range(5):
        r = hub.client.post(
            "/api/v1/login", json={"username": "dm-uga", "password": "wrong password!"}
        )
        assert r.status_code == 401
    other = create_app(hub.path, db=hub.db, pool_size=2)
    with TestClient(other, raise_server_exceptions=False) as second:
        r = second.post("/api/v1/login", json={"username": "dm-uga", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        # the address is limited too: another account from the same address waits as well
        same = second.post("/api/v1/login", json={"username": "an-keug", "password": PASSWORD})
        assert same.status_code == 429
    with hub.client.app.state.hub.pool.engine() as eng:
        keys = [r[0] for r in eng.query_rows("SELECT failure_key FROM login_failures")]
    assert keys and all(len(k) == 64 and "dm-uga" not in k for k in keys)
