"""Who is asking: bearer tokens (``Authorization: Bearer TOKEN``) or the dashboard's session
cookie (HttpOnly, SameSite=Strict) with a double-submit CSRF token on state-changing requests."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from corridor.access.accounts import Account, account_for_token
from corridor.access.errors import AuthenticationError, PermissionDenied
from corridor.api.hub import Hub
from corridor.storage.engine import Engine

SESSION_COOKIE = "corridor_session"
CSRF_COOKIE = "corridor_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="A token from `corridor tokens create`.")


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def pooled_engine(request: Request) -> Iterator[Engine]:
    with hub_of(request).pool.engine() as eng:
        yield eng


EngineDep = Annotated[Engine, Depends(pooled_engine)]


def current_account(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    if credentials is not None:
        if credentials.scheme.lower() != "bearer":
            raise AuthenticationError("send the token as `Authorization: Bearer TOKEN`")
        return account_for_token(engine, credentials.credentials)
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            expected = request.cookies.get(CSRF_COOKIE, "")
            if not sent or not expected or not hmac.compare_digest(sent, expected):
                raise PermissionDenied(
                    f"a state-changing request with the session cookie needs the {CSRF_HEADER} "
                    f"header equal to the {CSRF_COOKIE} cookie"
                )
        return account_for_token(engine, session)
    raise AuthenticationError(
        "authentication required: send `Authorization: Bearer TOKEN` (see docs/api.md)"
    )


AccountDep = Annotated[Account, Depends(current_account)]
