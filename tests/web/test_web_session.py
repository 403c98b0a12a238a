"""Logging in and out of the dashboard: in the browser, and the cookie and CSRF rules behind it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from webcheck import axe, watch
from webserve import PASSWORD, Served, log_in


def test_login_then_logout_in_the_browser(browser: Any, served: Served) -> None:
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    w = watch(page, served.base_url)
    page.goto(f"{served.base_url}/map")
    assert "/login?next=%2Fmap" in page.url  # no session: the login page, then back here
    assert axe(page) == []
    page.get_by_label("User name").fill("web-analyst")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/map$"))
    cookies = {c["name"]: c for c in ctx.cookies()}
    session = cookies["corridor_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert cookies["corridor_csrf"]["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("corridor_session") == -1  # scripts cannot read it
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Overview").is_visible()
    assert nav.get_by_role("link", name="Admin").count() == 0  # an analyst has no admin page
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login\?logged_out=1$"))
    assert "You are logged out" in page.inner_text("main")
    # the session token is revoked, not only forgotten by the browser
    r = httpx.get(
        f"{served.base_url}/api/v1/status",
        cookies={"corridor_session": session["value"]},
    )
    assert r.status_code == 401
    page.goto(f"{served.base_url}/overview")
    assert "/login" in page.url
    w.assert_clean()
    ctx.close()


def test_a_form_without_the_csrf_token_is_refused(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as c:
        c.get("/login")
        r = c.post("/login", data={"username": "web-admin", "password": PASSWORD, "csrf": "forged"})
        assert r.status_code == 403 and "csrf" in r.text and "reload the" in r.text
        assert "corridor_session" not in r.cookies
        csrf = c.cookies["corridor_csrf"]
        r = c.post(
            "/login",
            data={"username": "web-admin", "password": PASSWORD, "csrf": csrf, "next": "//evil"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/overview"  # never off-site
        assert "corridor_session" in c.cookies
        r = c.post("/logout", data={"csrf": "forged"})
        assert r.status_code == 403  # the session is still there
        assert c.get("/overview").status_code == 200


def test_pages_send_a_strict_content_security_policy(served: Served) -> None:
    r = httpx.get(f"{served.base_url}/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"


def test_log_in_helper_reaches_the_overview(browser: Any, served: Served) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    log_in(page, served.base_url, "web-admin")
    assert page.url.endswith("/overview")
    ctx.close()


def test_an_expired_session_sends_a_panel_request_to_the_login_page(
    open_page: Any, served: Served
) -> None:
    """An htmx request (the map's site panel) without a valid session goes to the login page
    and back to the page it came from, never a login form inside the panel."""
    page, w = open_page("analyst", "/map?period=2024")
    page.wait_for_selector("#map[data-ready=true]")
    page.context.clear_cookies(name="corridor_session")  # expired, revoked or logged out
    page.locator(".site-list button").first.click()
    page.wait_for_url(re.compile(r"/login\?next="))
    assert page.url.endswith("/login?next=%2Fmap%3Fperiod%3D2024")
    assert page.locator("form[action='/login']").count() == 1
    page.get_by_label("User name").fill(served.accounts["analyst"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/map\?period=2024$"))
    assert page.locator("header.top").count() == 1
    w.assert_clean()


HISTORY = "localStorage.getItem('htmx-history-cache')"


def test_htmx_keeps_no_page_in_local_storage_and_logout_clears_it(
    browser: Any, served: Served
) -> None:
    """On a shared computer the next person must not find a page of the session in the
    browser's storage: htmx's history cache (a copy of each page it pushes past, kept in
    localStorage) is off, back loads the page from the server, and logging out removes any
    copy left there."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    w = watch(page, served.base_url)
    log_in(page, served.base_url, served.accounts["admin"])  # a session of its own
    page.goto(f"{served.base_url}/spaces", wait_until="networkidle")
    page.get_by_label("mobility", exact=True).fill("2")  # htmx re-ranks and pushes the URL
    page.wait_for_url(re.compile(r"m_mobility=2"))
    page.wait_for_selector("#top-changes")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(HISTORY) is None  # no copy of /spaces was kept
    page.go_back()  # a history miss: the whole page again, from the server
    page.wait_for_url(re.compile(r"/spaces$"))
    page.wait_for_selector("#ranking-table")
    assert float(page.get_by_label("mobility", exact=True).input_value()) == 1
    assert page.locator("header.top").count() == 1  # a page, not a page inside a page
    assert page.evaluate(HISTORY) is None
    # a copy left by an older page (or another htmx setting) goes with the logout
    page.evaluate(
        "localStorage.setItem('htmx-history-cache',"
        " JSON.stringify([{url: '/spaces', content: '<p>ranking</p>', title: 'x', scroll: 0}]))"
    )
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login\?logged_out=1$"))
    assert page.evaluate(HISTORY) is None
    assert page.evaluate("Object.keys(localStorage)") == []
    w.assert_clean()
    ctx.close()


def test_an_ended_session_sends_the_map_to_the_login_page(browser: Any, served: Served) -> None:
    """The map's data is fetched after the page loads: a session that ended in between (here
    revoked while the layers are asked for) sends the page to the login page and back to the
    map, not "The map could not be drawn: Unexpected token" (the login page read as JSON)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    w = watch(page, served.base_url)
    log_in(page, served.base_url, served.accounts["analyst"])  # a session of its own
    cookies = {c["name"]: c["value"] for c in ctx.cookies()}
    ended: list[int] = []

    def end_then_ask(route: Any) -> None:
        if not ended:  # log the session out on the server, then let the browser ask
            r = httpx.post(
                f"{served.base_url}/logout",
                cookies=cookies,
                data={"csrf": cookies["corridor_csrf"]},
                timeout=60,
            )
            ended.append(r.status_code)
        route.continue_()

    page.route("**/map/layers.json*", end_then_ask)
    page.goto(f"{served.base_url}/map?period=2024")
    page.wait_for_url(re.compile(r"/login\?next="), timeout=30_000)
    assert ended == [303]
    assert page.url.endswith("/login?next=%2Fmap%3Fperiod%3D2024")
    assert page.locator("form[action='/login']").count() == 1
    page.unroute("**/map/layers.json*", end_then_ask)
    page.get_by_label("User name").fill(served.accounts["analyst"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/map\?period=2024$"))
    page.wait_for_selector("#map[data-ready=true]")
    w.assert_clean()
    ctx.close()
