"""RFC 9457 problem documents, the request id, and the security headers of every response."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.access.errors import AuthenticationError, NotFound, PermissionDenied, RateLimited
from corridor.errors import CorridorError, InputError

log = logging.getLogger("corridor.api")

PROBLEM_TYPE = "application/problem+json"
MAX_PROBLEMS = 1000  # a 422 lists this many problems of a rejected file (and their total)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "interest-cohort=()",
    "cache-control": "no-store",
}
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Upload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class InputProblem(BaseModel):
    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    problems: list[InputProblem] | None = None
    problems_total: int | None = None


def _doc(request: Request | None, status: int, detail: str, **extra: Any) -> dict[str, Any]:
    rid = getattr(request.state, "request_id", "") if request is not None else ""
    return {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else "",
        "request_id": rid,
        **extra,
    }


def problem(
    request: Request | None,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        _doc(request, status, detail, **extra),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def status_of(exc: CorridorError) -> int:
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, InputError):
        return 422
    return 400


def denied_detail(request: Request, exc: Exception) -> dict[str, str]:
    """What a ``<channel>.denied`` audit entry records: who asked for what (method, path,
    query; never rows) and why."""
    return {
        "method": request.method,
        "path": request.url.path[:200],
        "query": request.url.query[:500],
        "reason": str(exc)[:500],
    }


async def audit_denied(request: Request, exc: Exception, channel: str) -> None:
    """Append ``<channel>.denied`` to the audit trail for a refused request (403) of a known
    account: who asked for what (method, path, query; never rows) and why. Waits for the
    entry's commit without holding a thread (the hub's AuditWriter); a failure to write it is
    logged, and the refusal is answered all the same."""
    account = getattr(request.state, "account", None)
    hub = getattr(request.app.state, "hub", None)
    if account is None or hub is None:
        return
    from corridor.access.audit import new_entry

    detail = denied_detail(request, exc)
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    try:
        hub.audit.submit(new_entry(account.username, f"{channel}.denied", detail, cells=0), fut)
        await fut
    except Exception:
        log.warning("request %s: the audit entry of a refusal failed", request.state.request_id)
        log.debug("the audit entry of a refusal failed", exc_info=True)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(CorridorError)
    async def corridor_error(request: Request, exc: CorridorError) -> JSONResponse:
        status = status_of(exc)
        if status == 403:
            await audit_denied(request, exc, "api")
        headers: dict[str, str] = {}
        if status == 401:
            headers["www-authenticate"] = 'Bearer realm="corridor"'
        if isinstance(exc, RateLimited):
            headers["retry-after"] = str(exc.retry_after)
        if isinstance(exc, InputError):
            found = [
                {
                    "file": p.file,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "reason": p.reason,
                }
                for p in exc.problems[:MAX_PROBLEMS]
            ]
            return problem(
                request,
                422,
                exc.summary or "input rejected",
                headers,
                problems=found,
                problems_total=len(exc.problems),
            )
        return problem(request, status, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return problem(request, 422, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        # a bug: logged with the request id (never request bodies), answered without a trace
        log.error("request %s failed: %s", getattr(request.state, "request_id", "?"), type(exc))
        log.debug("request failed", exc_info=exc)
        return problem(request, 500, "internal error; report the request id")


_HEADERS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class RequestIds:
    """Request ids: this process's random prefix and a counter, unique across the worker
    processes and restarts without a call for random bytes per request."""

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:16]
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):016x}"


def with_security_headers(
    headers: list[tuple[bytes, bytes]], rid: str
) -> list[tuple[bytes, bytes]]:
    """An answer's headers with the security headers it does not set itself and the request
    id added (every answer's, whichever part of the server made it)."""
    present = {k.lower() for k, _ in headers}
    out = headers + [(k, v) for k, v in _HEADERS if k not in present]
    out.append((b"x-request-id", rid.encode()))
    return out


class RequestIdAndHeaders:
    """Pure ASGI middleware: a request id on every request, security headers on every answer."""

    def __init__(self, app: ASGIApp, ids: RequestIds | None = None) -> None:
        self.app = app
        self.ids = ids or RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self.ids.next()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(list(message.get("headers", [])), rid)
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_BODY = 1_000_000  # bytes: the body of any request that is not an upload (login, forms)


class UploadLimit:
    """Refuse a request body larger than the limit before reading it: by its Content-Length,
    and while streaming when it has none (chunked). Uploads (``paths``) may have ``max_bytes``
    (the setting ``api_max_upload_mb``); any other request ``other_max`` (a login, a form)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        paths: tuple[str, ...],
        other_max: int = MAX_BODY,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = paths
        self.other_max = other_max

    async def _refuse(self, scope: Scope, send: Send, limit: int, upload: bool) -> None:
        rid = scope.get("state", {}).get("request_id", "")
        mb = limit / 1e6
        detail = (
            f"uploads are limited to {mb:g} MB (setting api_max_upload_mb)"
            if upload
            else f"request bodies other than uploads are limited to {mb:g} MB"
        )
        body = (
            Problem(
                title=TITLES[413],
                status=413,
                detail=detail,
                instance=scope.get("path", ""),
                request_id=rid,
            )
            .model_dump_json(exclude_none=True)
            .encode()
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_TYPE.encode()), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"] in self.paths
        limit = self.max_bytes if upload else self.other_max
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, limit, upload)
            return
        seen = 0
        started = False

        class TooLarge(Exception):
            pass

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except TooLarge:
            if not started:
                await self._refuse(scope, send, limit, upload)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": TITLES[code], "content": {PROBLEM_TYPE: {}}}
    for code in (400, 401, 403, 404, 422, 429)
}
