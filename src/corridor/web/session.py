"""Login and logout for the dashboard, and who is asking on each page.

The session is the API's (``corridor.api.auth``: ``start_session``, ``end_session``,
``session_account``, ``check_csrf``): a session token in the ``corridor_session`` cookie
(HttpOnly, SameSite=Strict, Secure over https) and a CSRF token in ``corridor_csrf``. Every POST
form carries the CSRF token in a hidden ``csrf`` field that must equal the cookie (double
submit); scripts send it as the ``x-csrf-token`` header. The login form has its own pre-session
CSRF cookie, so a foreign site cannot log a browser in either.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from corridor.access.accounts import (
    MAX_NAME,
    MAX_PASSWORD,
    Account,
    authenticate,
    failed_login_name,
)
from corridor.access.audit import append
from corridor.access.errors import AuthenticationError, PermissionDenied, RateLimited
from corridor.api.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    EngineDep,
    end_session,
    hub_of,
    session_account,
    set_csrf_cookie,
    start_session,
)
from corridor.api.auth import check_csrf as api_check_csrf
from corridor.web.site import LoginRequired, page_router, render

router = page_router()
HOME = "/overview"


def page_account(request: Request, engine: EngineDep) -> Account:
    """The account of the session cookie; no (valid) session redirects to the login page."""
    try:
        account = session_account(request, engine)
    except AuthenticationError:
        account = None
    if account is None:
        raise LoginRequired()
    request.state.account = account
    return account


PageAccount = Annotated[Account, Depends(page_account)]


def check_csrf(request: Request, sent: str) -> None:
    """A POST form's ``csrf`` field must equal the CSRF cookie (PermissionDenied, 403)."""
    api_check_csrf(request, sent or "")


def safe_next(target: str | None) -> str:
    """Only a path on this server (never //host or a scheme) may follow the login."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    if target.startswith(("/login", "/logout")):
        return HOME
    return target


def _login_page(
    request: Request, *, next_path: str, message: str = "", username: str = "", status: int = 200
) -> Response:
    have = request.cookies.get(CSRF_COOKIE)
    csrf = have or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html.j2",
        {
            "title": "Log in",
            "message": message,
            "username": username,
            "next_path": next_path,
            "login_csrf": csrf,
            "logged_out": request.query_params.get("logged_out") == "1",
        },
        status=status,
    )
    if not have:  # the pre-session CSRF token of the login form
        set_csrf_cookie(response, request, csrf)
    return response


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(HOME, 303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    engine: EngineDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    target = safe_next(next)
    try:
        check_csrf(request, csrf)
    except PermissionDenied as exc:
        return _login_page(request, next_path=target, message=str(exc), status=403)
    hub = hub_of(request)
    address = request.client.host if request.client else "unknown"
    user = username.strip().lower()
    if len(user) > MAX_NAME or len(password) > MAX_PASSWORD:
        user, password = user[:MAX_NAME], ""  # never a valid login; still counted
    try:
        at = hub.limiter.attempt(user, address)  # counted as a failure until it succeeds
        account = authenticate(engine, user, password)
    except RateLimited as exc:
        return _login_page(request, next_path=target, message=str(exc), status=429)
    except AuthenticationError:
        who = failed_login_name(engine, user)
        append(engine, who, "web.login_failed", {"address": address}, cells=0)
        return _login_page(
            request,
            next_path=target,
            message="Wrong user name or password.",
            username=user,
            status=200,  # the form again, with the message (not an error document)
        )
    hub.limiter.succeeded(user, address, at)
    append(engine, account.username, "web.login", {"address": address}, cells=0)
    response = RedirectResponse(target, 303)
    start_session(response, request, engine, account)  # a fresh CSRF token per session
    return response


@router.post("/logout")
def logout(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    response = RedirectResponse("/login?logged_out=1", 303)
    # the session of the cookie that authenticated this page, never a token the request names
    # in another header
    end_session(response, request, engine, request.cookies.get(SESSION_COOKIE, ""))
    append(engine, account.username, "web.logout", {}, cells=0)
    return response
