"""Answers already in the cache, served on the event loop: no trip to a worker thread, no
framework layers.

``CachedAnswers`` sits in front of the whole application (before FastAPI's own layers, which
cost more than the answer) for the routes ``GET /api/v1/indicators``, ``/places``, ``/status``
and ``/hotspots/{place_code}``. It answers a request itself only when
everything it needs is in memory: a bearer token that the hub's TokenCache saw in the last
seconds, the data version known without reading the warehouse
(``corridor.access.versions.known_version``), and the published answer with its text in the
AnswerCache (``corridor.access.reads.cached_indicators`` and its siblings decide, with the same
permission checks and cache keys as the routes). Its audit entry is durable before the answer
is sent: it is queued to the hub's AuditWriter, whose thread commits the entries of many
requests in one transaction and then resolves their futures; the request awaits its future
without holding a thread. Token and version are renewed in a thread before they expire, so
that a steady stream of requests keeps finding them in memory.

Anything else goes on to the route unchanged: a miss, a parameter the route would refuse or
that needs the warehouse to check (a place filter, a sharing agreement, unsuppressed values), a
cookie session, an audit write that failed. An answer from here has the route's status, headers
and body bytes, and the same audit entry (``tests/api/test_api_fastlane.py`` compares them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope, Send

from corridor.access.accounts import Account
from corridor.access.audit import new_entry
from corridor.access.reads import (
    Audited,
    IndicatorQuery,
    cached_hotspots,
    cached_indicators,
    cached_place_in_scope,
    cached_places,
    cached_status,
)
from corridor.access.versions import RECHECK_S, known_version, refresh, version_age
from corridor.api.hub import Hub
from corridor.api.problems import RequestIds, with_security_headers
from corridor.api.respond import CSV_TYPE, accepts_csv
from corridor.storage.engine import Engine

log = logging.getLogger("corridor.api")

PREFIX = "/api/v1"
_EXPLAIN = f"{PREFIX}/hotspots/"
JSON_TYPE = "application/json"
# the values pydantic reads as a bool (FastAPI's query parameters), lower-cased
_BOOLS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("0", "off", "f", "false", "n", "no"), False),
}
_FORMATS = ("json", "csv")
_INDICATOR_PARAMS = frozenset(
    ("indicator", "by", "period", "country", "place", "totals", "unsuppressed", "format")
)

Answer = tuple[bytes, str, Audited]
Route = Callable[[Account, dict[str, str], str, Any], "Answer | None"]


def _integer(text: str, most: int) -> int | None:
    """A whole number from 0 to ``most`` written in digits, as the route accepts it (else None:
    the route answers)."""
    if not text or len(text) > 12 or not all("0" <= c <= "9" for c in text):
        return None
    value = int(text)
    return value if value <= most else None


def _split(text: str | None) -> tuple[str, ...]:
    """As the route splits a comma-separated parameter."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


class CachedAnswers:
    """Cached answers of the hot read routes (see the module doc), in front of the whole
    application (``corridor.api.app.HubApp``): :meth:`answer` answers a request, with the
    request id and security headers every answer carries, or returns False."""

    def __init__(self, hub: Hub, ids: RequestIds, *, cors: bool = False) -> None:
        self.hub = hub
        self.ids = ids
        self.cors = cors  # CORS on: requests with an Origin header go through its middleware
        self._refreshing = False
        self.routes: dict[str, Route] = {
            f"{PREFIX}/indicators": self._indicators,
            f"{PREFIX}/places": self._places,
            f"{PREFIX}/status": self._status,
        }

    def _route(self, path: str) -> Route | None:
        route = self.routes.get(path)
        if route is None and path.startswith(_EXPLAIN):
            code = path[len(_EXPLAIN) :]
            if code and "/" not in code:
                return lambda account, params, accept, version: self._explain(
                    account, params, version, code
                )
        return route

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer the request from memory; False (nothing sent) when the application must."""
        if scope["type"] != "http" or scope["method"] != "GET" or not self.hub.fast_lane:
            return False
        route = self._route(scope["path"])
        if route is None:
            return False
        answer = self._prepare(scope, route)
        if answer is None or not await self._audited(answer[2]):
            return False
        body, media_type, _ = answer
        headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", media_type.encode("latin-1")),
        ]
        headers = with_security_headers(headers, self.ids.next())
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.hub.fast_answers += 1
        return True

    def _prepare(self, scope: Scope, route: Route) -> Answer | None:
        """The answer from memory, or None (the route answers). Never blocks on I/O."""
        auth = accept = None
        for name, value in scope["headers"]:
            if name == b"authorization" and auth is None:
                auth = value.decode("latin-1")
            elif name == b"accept" and accept is None:
                accept = value.decode("latin-1")
            elif name == b"origin" and self.cors:
                return None
        if auth is None:
            return None  # a cookie session (CSRF, session lookups) or no credentials: the route
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        account = self.hub.tokens.cached(token)
        if account is None:
            return None
        self._keep_fresh(token)
        version = known_version(*self.hub.version_key)
        if version is None:
            return None
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            return None  # a repeated parameter: the route's reading of it
        try:
            return route(account, params, accept or "", version)
        except Exception:  # a bug here must not cost the request: the route answers
            log.debug("the fast lane declined a request after an error", exc_info=True)
            return None

    def _keep_fresh(self, token: str) -> None:
        """Renew the token's account and the data version in a thread before they expire, so
        that requests keep finding them in memory (the route would read them itself)."""
        hub = self.hub
        if hub.tokens.due(token):
            self._in_thread(hub.tokens.renew, token)
        if hub.is_duckdb and not self._refreshing:
            age = version_age(*hub.version_key)
            if age is None or age > RECHECK_S / 2:
                self._refreshing = True
                self._in_thread(self._refresh_version)

    def _refresh_version(self, engine: Engine) -> None:
        try:
            refresh(engine)
        finally:
            self._refreshing = False

    def _in_thread(self, fn: Callable[..., None], *args: Any) -> None:
        """``fn(engine, *args)`` in the hub's background thread, on an idle connection (none
        idle: skipped; the route reads what is missing)."""

        def run() -> None:
            engine = self.hub.pool.take_spare()
            try:
                if engine is not None:
                    fn(engine, *args)
                elif fn == self._refresh_version:
                    self._refreshing = False
                else:  # a token: renewed by a later request
                    self.hub.tokens.release(*args)
            except Exception:
                log.debug("renewing a cached token or data version failed", exc_info=True)
            finally:
                if engine is not None:
                    self.hub.pool.put(engine)

        with contextlib.suppress(RuntimeError):  # shutting down
            self.hub.background.submit(run)

    def _format(self, params: dict[str, str], accept: str) -> str | None:
        fmt = params.get("format")
        if fmt is not None and fmt not in _FORMATS:
            return None
        return "csv" if accepts_csv(accept, fmt) else "json"

    def _indicators(
        self, account: Account, params: dict[str, str], accept: str, version: Any
    ) -> Answer | None:
        if "indicator" not in params or not params.keys() <= _INDICATOR_PARAMS:
            return None
        totals = _BOOLS.get(params.get("totals", "true").lower())
        unsuppressed = _BOOLS.get(params.get("unsuppressed", "false").lower())
        fmt = self._format(params, accept)
        if totals is None or unsuppressed is None or fmt is None:
            return None
        q = IndicatorQuery(
            _split(params["indicator"]),
            _split(params.get("by", "")),
            params.get("period"),
            params.get("country"),
            params.get("place"),
            totals,
            unsuppressed,
        )
        found = cached_indicators(account, q, self.hub.answers, version, channel="api")
        if found is None:
            return None
        table, audited = found
        body = self.hub.answers.peek_derived(table, (fmt, repr(q)))
        if body is None:
            return None
        return body, CSV_TYPE if fmt == "csv" else JSON_TYPE, audited

    def _places(
        self, account: Account, params: dict[str, str], accept: str, version: Any
    ) -> Answer | None:
        if not params.keys() <= {"format"}:
            return None
        fmt = self._format(params, accept)
        if fmt is None:
            return None
        found = cached_places(account, self.hub.answers, version, channel="api")
        if found is None:
            return None
        rows, audited = found
        body = self.hub.answers.peek_derived(rows, ("places", fmt))
        if body is None:
            return None
        return body, CSV_TYPE if fmt == "csv" else JSON_TYPE, audited

    def _status(
        self, account: Account, params: dict[str, str], accept: str, version: Any
    ) -> Answer | None:
        if params:
            return None
        found = cached_status(
            account, self.hub.answers, version, database=self.hub.version_key[0], channel="api"
        )
        if found is None:
            return None
        out, audited = found
        # as FastAPI's JSONResponse renders the route's dict
        body = json.dumps(
            out, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")
        return body, JSON_TYPE, audited

    def _explain(
        self, account: Account, params: dict[str, str], version: Any, raw_code: str
    ) -> Answer | None:
        if not params.keys() <= {"period", "draws", "seed"}:
            return None
        draws = _integer(params.get("draws", "200"), 2000)
        seed = _integer(params.get("seed", "1"), 2**32 - 1)
        if draws is None or seed is None:
            return None
        # the route's scope check (the place's country within the account's), from the cache
        if not cached_place_in_scope(account, raw_code, self.hub.answers, version):
            return None
        found = cached_hotspots(
            account,
            self.hub.answers,
            version,
            period=params.get("period"),
            draws=draws,
            seed=seed,
            channel="api",
            place=raw_code,
        )
        if found is None:
            return None
        result, audited = found
        body = self.hub.answers.peek_derived(result, ("explain", raw_code))
        if body is None:
            return None
        return body, JSON_TYPE, audited

    async def _audited(self, entry: Audited) -> bool:
        """Append the entry through the hub's AuditWriter and wait for its commit; False when
        that failed (the route then serves the request and appends it itself)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        try:
            self.hub.audit.submit(
                new_entry(
                    entry.user,
                    entry.action,
                    entry.detail,
                    cells=entry.cells,
                    suppressed=entry.suppressed,
                ),
                fut,
            )
            await fut
        except Exception:
            log.debug("an audit entry of the fast lane failed; the route answers", exc_info=True)
            return False
        return True
