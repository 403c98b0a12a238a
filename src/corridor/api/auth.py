"""Who is asking: bearer tokens (``Authorization: Bearer TOKEN``) or the dashboard's session
cookie (HttpOnly, SameSite=Strict) with a double-submit CSRF token on state-changing requests.

For the dashboard (``corridor.web``) and any other adapter mounted on the API's app:

- :func:`start_session` logs an account in: it creates a session token and sets the
  ``corridor_session`` cookie (HttpOnly, SameSite=Strict, Secure over https) and a fresh
  ``corridor_csrf`` cookie (readable by the page's scripts, SameSite=Strict); it returns the CSRF
  token to put in forms. :func:`end_session` revokes the session token (only when its secret
  matches: never by its id alone) and deletes both cookies.
- :func:`session_account` is the account of the session cookie (``None`` without one; raises
  :class:`AuthenticationError` for an expired or revoked session).
- :func:`check_csrf` is the CSRF check of a state-changing request: the ``x-csrf-token`` header
  (or a form's ``csrf`` field, passed as ``sent``) must equal the CSRF cookie, compared in
  constant time; otherwise :class:`PermissionDenied` (HTTP 403).
- :func:`request_account` (the dependency ``AccountDep`` of every API route) takes a bearer token
  first, else the session cookie, and applies :func:`check_csrf` to cookie-authenticated
  requests whose method is not GET/HEAD/OPTIONS. Bearer requests need no CSRF token: a browser
  never adds an Authorization header on its own. Accounts of tokens seen in the last 2 seconds
  come from the hub's TokenCache (a logout through :func:`end_session` drops its token at once).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from corridor.access.accounts import (
    SESSION_HOURS,
    Account,
    TokenInfo,
    account_for_token,
    create_token,
    revoke_own_token,
)
from corridor.access.errors import AuthenticationError, PermissionDenied
from corridor.api.hub import Hub
from corridor.storage.engine import Engine

SESSION_COOKIE = "corridor_session"
CSRF_COOKIE = "corridor_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="A token from `corridor tokens create`.")


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def pooled_engine(request: Request) -> AsyncIterator[Engine]:
    """A warehouse connection from the hub's pool for the request (async: an idle one is taken
    without a trip through the thread pool; only a wait for one is sent there)."""
    pool = hub_of(request).pool
    eng = pool.take_idle()
    if eng is None:
        eng = await run_in_threadpool(pool.take)
    try:
        yield eng
    finally:
        pool.put(eng)


EngineDep = Annotated[Engine, Depends(pooled_engine)]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_csrf_cookie(response: Response, request: Request, token: str | None = None) -> str:
    """Set the CSRF cookie (a new random token unless ``token``); returns the token."""
    token = token or secrets.token_urlsafe(24)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=False,  # the page's scripts copy it into the x-csrf-token header
        samesite="strict",
        secure=_secure(request),
    )
    return token


def start_session(
    response: Response, request: Request, engine: Engine, account: Account
) -> tuple[str, TokenInfo, str]:
    """Log ``account`` in on ``response``: a session token (valid SESSION_HOURS) in the HttpOnly
    SameSite=Strict session cookie and a fresh CSRF token in the CSRF cookie. Returns (session
    token, its info, CSRF token). The caller checks the password and the rate limit first."""
    token, info = create_token(engine, account.username, days=SESSION_HOURS / 24, purpose="session")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return token, info, set_csrf_cookie(response, request)


def end_session(
    response: Response, request: Request, engine: Engine, token: str | None = None
) -> None:
    """Revoke the session and delete both cookies. The token revoked is ``token`` (the one
    that authenticated the request; the dashboard passes its cookie's), else the bearer token
    of this request, else the session cookie; it is revoked only when its secret matches, so a
    request cannot revoke somebody else's token by naming its id."""
    if token is None:
        auth = request.headers.get("authorization", "")
        bearer_token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = bearer_token or request.cookies.get(SESSION_COOKIE) or ""
    if token and revoke_own_token(engine, token) is not None:
        hub_of(request).tokens.forget(token)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=_secure(request)
    )
    response.delete_cookie(CSRF_COOKIE, samesite="strict", secure=_secure(request))


def session_account(request: Request, engine: Engine) -> Account | None:
    """The account of the session cookie; None when there is no cookie. An expired, revoked or
    forged session raises AuthenticationError (HTTP 401)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return account_for_token(engine, token)


def check_csrf(request: Request, sent: str | None = None) -> None:
    """The CSRF check of a state-changing, cookie-authenticated request: ``sent`` (a form's
    ``csrf`` field) or else the ``x-csrf-token`` header must equal the CSRF cookie (constant-time
    comparison). Raises PermissionDenied (HTTP 403) naming what is missing."""
    given = sent if sent is not None else request.headers.get(CSRF_HEADER, "")
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied(
            f"a state-changing request with the session cookie needs the {CSRF_HEADER} header "
            f"(or the form field {CSRF_FIELD!r}) equal to the {CSRF_COOKIE} cookie: reload the "
            "page and try again"
        )


async def request_account(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """The account of a bearer token, else of the session cookie (with the CSRF check on
    state-changing methods); 401 with neither. A token seen in the last seconds is answered
    from memory; a lookup in the warehouse runs in the thread pool."""
    if credentials is not None:
        if credentials.scheme.lower() != "bearer":
            raise AuthenticationError("send the token as `Authorization: Bearer TOKEN`")
        token = credentials.credentials
    else:
        token = request.cookies.get(SESSION_COOKIE) or ""
        if not token:
            raise AuthenticationError(
                "authentication required: send `Authorization: Bearer TOKEN` (see docs/api.md)"
            )
        if request.method not in SAFE_METHODS:
            check_csrf(request)
    tokens = hub_of(request).tokens
    found = tokens.cached(token)
    if found is None:
        found = await run_in_threadpool(tokens.account, engine, token)
    request.state.account = found  # who a refusal (403) is audited for
    return found


current_account = request_account  # the name earlier code imports
AccountDep = Annotated[Account, Depends(request_account)]
