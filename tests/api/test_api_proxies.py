"""Whose address a request has (the login limit and the audit trail read it): the connection's,
unless it comes through a trusted proxy (setting ``api_trusted_proxies``), served by uvicorn on a
loopback port with ``corridor.api.app.proxy_options``, as ``corridor serve`` runs it."""

from __future__ import annotations

import shutil
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from corridor.api.app import create_app, proxy_options
from hubdata import PASSWORD, auth
from served import serving_app

SPOOFED = "203.0.113.9"


def _served(folder: Path, trusted_proxies: str | None = None) -> AbstractContextManager[str]:
    """The hub of ``folder`` served by uvicorn in a thread, with the proxy handling that
    ``corridor serve`` gives uvicorn: its base URL."""
    return serving_app(create_app(folder, pool_size=4, trusted_proxies=trusted_proxies))


def _workspace(tmp_path: Path, template: tuple[Path, dict[str, str]], *settings: str) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(template[0], folder)
    with (folder / "corridor.toml").open("a", encoding="utf-8") as f:  # in [settings]
        f.write("\n".join(("api_login_attempts = 2", *settings)) + "\n")
    return folder


def _api_login(base: str, user: str, password: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/login", json={"username": user, "password": password}, headers=headers
    )


def _dashboard_login(base: str, user: str, password: str, forwarded: str) -> httpx.Response:
    """The login form, as a browser behind the proxy sends it (its pre-session CSRF cookie)."""
    with httpx.Client(base_url=base) as browser:
        assert browser.get("/login").status_code == 200
        csrf = browser.cookies["corridor_csrf"]
        return browser.post(
            "/login",
            data={"username": user, "password": password, "csrf": csrf},
            headers={"X-Forwarded-For": forwarded},
        )


def _addresses(base: str, token: str, action: str) -> list[str]:
    """The addresses of the audit entries of ``action``, oldest first."""
    r = httpx.get(f"{base}/api/v1/audit", params={"action": action}, headers=auth(token))
    assert r.status_code == 200, r.text
    return [e["parameters"]["address"] for e in reversed(r.json()["entries"])]


def _session_cookie(r: httpx.Response) -> str:
    return next(h for h in r.headers.get_list("set-cookie") if h.startswith("corridor_session="))


@pytest.mark.parametrize(
    "trusted",
    [None, "10.0.0.5,192.168.0.0/16"],
    ids=["default-no-proxy", "proxies-elsewhere"],
)
def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    tmp_path: Path, hub_template: tuple[Path, dict[str, str]], trusted: str | None
) -> None:
    """By default (and when the peer is not one of the trusted proxies) a local client cannot
    choose its address: X-Forwarded-For is ignored by the audit trail (API and dashboard logins)
    and by the per-address login limit, and X-Forwarded-Proto does not make cookies Secure."""
    folder = _workspace(tmp_path, hub_template)
    admin = hub_template[1]["admin1"]
    with _served(folder, trusted) as base:
        ok = _api_login(
            base, "admin1", PASSWORD, **{"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https"}
        )
        assert ok.status_code == 200, ok.text
        # two failures (two names, so that the per-account limit is not what counts), each
        # claiming another address: both count for the connection's address, 127.0.0.1
        first = _api_login(base, "ghost1", "wrong", **{"X-Forwarded-For": SPOOFED})
        assert first.status_code == 401, first.text
        second = _dashboard_login(base, "ghost2", "wrong", "203.0.113.10")
        assert second.status_code == 200 and "Wrong user name or password" in second.text
        third = _api_login(base, "ghost3", "wrong", **{"X-Forwarded-For": "203.0.113.11"})
        assert third.status_code == 429, third.text
        assert _addresses(base, admin, "api.login") == ["127.0.0.1"]
        assert _addresses(base, admin, "api.login_failed") == ["127.0.0.1"]
        assert _addresses(base, admin, "web.login_failed") == ["127.0.0.1"]
    assert "secure" not in _session_cookie(ok).lower()


def test_a_trusted_proxy_gives_the_client_address(
    tmp_path: Path, hub_template: tuple[Path, dict[str, str]]
) -> None:
    """With 127.0.0.1 named in the settings file, X-Forwarded-For (the nearest address that is
    not a trusted proxy) is the client's address for the audit trail and the login limit, and
    X-Forwarded-Proto: https makes the session cookie Secure."""
    folder = _workspace(tmp_path, hub_template, 'api_trusted_proxies = ["127.0.0.1", "::1"]')
    admin = hub_template[1]["admin1"]
    with _served(folder) as base:
        ok = _api_login(
            base, "admin1", PASSWORD, **{"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https"}
        )
        assert ok.status_code == 200, ok.text
        first = _api_login(base, "ghost1", "wrong", **{"X-Forwarded-For": SPOOFED})
        assert first.status_code == 401, first.text
        second = _dashboard_login(base, "ghost2", "wrong", SPOOFED)
        assert second.status_code == 200 and "Wrong user name or password" in second.text
        third = _api_login(base, "ghost3", "wrong", **{"X-Forwarded-For": SPOOFED})
        assert third.status_code == 429, third.text  # 203.0.113.9 has had its two
        # another client behind the proxy is not limited; an address the client itself put
        # in front of the proxy's is not believed (the proxy appends the real one)
        other = _api_login(
            base, "ghost4", "wrong", **{"X-Forwarded-For": f"{SPOOFED}, 198.51.100.7"}
        )
        assert other.status_code == 401, other.text
        # without the header, the proxy's own address
        direct = _api_login(base, "ghost5", "wrong")
        assert direct.status_code == 401, direct.text
        assert _addresses(base, admin, "api.login") == [SPOOFED]
        assert _addresses(base, admin, "api.login_failed") == [
            SPOOFED,
            "198.51.100.7",
            "127.0.0.1",
        ]
        assert _addresses(base, admin, "web.login_failed") == [SPOOFED]
    assert "secure" in _session_cookie(ok).lower()


def test_proxy_options_for_uvicorn(tmp_path: Path) -> None:
    """Never uvicorn's own default (trust 127.0.0.1, or $FORWARDED_ALLOW_IPS)."""
    from corridor.config import load_settings

    none = proxy_options(load_settings(tmp_path, env={"FORWARDED_ALLOW_IPS": "*"}))
    assert none == {"proxy_headers": False, "forwarded_allow_ips": ""}
    some: dict[str, Any] = proxy_options(
        load_settings(tmp_path, env={"CORRIDOR_API_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    )
    assert some == {"proxy_headers": True, "forwarded_allow_ips": ["127.0.0.1", "10.0.0.0/8"]}
