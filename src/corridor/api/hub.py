"""The server's state: settings, a pool of warehouse connections, the writer lock, the login
rate limiter. One Hub per application; no global mutable state."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from corridor.access.accounts import Account, account_for_token, now
from corridor.access.audit import AuditWriter
from corridor.access.errors import AuthenticationError, RateLimited
from corridor.config import Settings
from corridor.storage.engine import Engine, connect


class EnginePool:
    """Warehouse connections, one per concurrent request. DuckDB: connections of one process
    share the database (MVCC: readers never see an import half-done); PostgreSQL: sessions."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self._idle: queue.LifoQueue[Engine] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()
        self._all: list[Engine] = []

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        eng = self.take()
        try:
            yield eng
        finally:
            self.put(eng)

    def take_idle(self) -> Engine | None:
        """An idle connection at once, or None (never blocks: safe in the event loop)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def put(self, eng: Engine) -> None:
        self._idle.put(eng)

    def take_spare(self) -> Engine | None:
        """An idle connection, else a new one while fewer than ``size`` exist, else None: never
        waits for one to be given back (safe for a request that already holds one)."""
        eng = self.take_idle()
        if eng is not None:
            return eng
        with self._lock:
            if self._made >= self.size:
                return None
            self._made += 1
            eng = connect(self.url)
            self._all.append(eng)
            return eng

    def take(self) -> Engine:
        """An idle connection, a new one while fewer than ``size`` exist, or the next one given
        back (blocks)."""
        eng = self.take_idle()
        if eng is not None:
            return eng
        with self._lock:
            if self._made < self.size:
                self._made += 1
                eng = connect(self.url)
                self._all.append(eng)
                return eng
        return self._idle.get(timeout=60)

    def close(self) -> None:
        for eng in self._all:
            eng.close()
        self._all.clear()


_PG_LOGIN_LOCK = 7_261_530_418  # the advisory lock of login attempts (PostgreSQL)


class LoginLimiter:
    """At most ``attempts`` failed logins per account and per address in ``window`` seconds.

    The failures are kept in the warehouse (table ``login_failures``, keyed by a SHA-256 of the
    account name or the address, never the name or address itself), so the limit holds across
    the worker processes of ``corridor serve --workers N`` and across restarts. The limiter uses
    a connection of its own (logins are rare; they take turns on it)."""

    def __init__(self, attempts: int, url: str, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _eng(self) -> Iterator[Engine]:
        with self._lock:
            if self._engine is None:
                self._engine = connect(self.url)
            yield self._engine

    @staticmethod
    def _keys(user: str, address: str) -> tuple[str, str]:
        return tuple(  # type: ignore[return-value]
            hashlib.sha256(k.encode()).hexdigest() for k in (f"user:{user}", f"addr:{address}")
        )

    def _count(self, eng: Engine, user: str, address: str, since: datetime) -> None:
        """Raise RateLimited when the account or the address has ``attempts`` failures since
        ``since``."""
        rows = eng.query_rows(
            "SELECT failure_key, COUNT(*), MIN(failed_at) FROM login_failures "
            "WHERE failure_key IN (?, ?) AND failed_at > ? GROUP BY failure_key",
            (*self._keys(user, address), since),
            step="login failures",
        )
        for _key, n, first in rows:
            if int(n) >= self.attempts:
                wait = max(1, int((first - since).total_seconds()) + 1)
                raise RateLimited(
                    f"too many failed logins for this account or address; try again in {wait} s",
                    wait,
                )

    def check(self, user: str, address: str) -> None:
        """Raise RateLimited when the account or the address is over the limit (records
        nothing: a login uses :meth:`attempt`)."""
        since = now() - timedelta(seconds=self.window)
        with self._eng() as eng:
            self._count(eng, user, address, since)

    def attempt(self, user: str, address: str) -> datetime:
        """The check and the record of a login attempt in one step: RateLimited when the
        account or the address is over the limit, else the attempt counts as a failure from
        now on (returns its time) until :meth:`succeeded` takes it back. Counting it before the
        password is verified (which takes a while, on purpose) is what keeps many guesses sent
        at the same moment from all passing a check that none of them has yet counted in."""
        current = now()
        since = current - timedelta(seconds=self.window)
        with self._eng() as eng, eng.transaction():
            if eng.name == "postgres":  # one check-and-record at a time across worker processes
                eng.execute(
                    f"SELECT pg_advisory_xact_lock({_PG_LOGIN_LOCK})", step="login failures"
                )
            self._count(eng, user, address, since)
            self._record(eng, user, address, current)
        return current

    def _record(self, eng: Engine, user: str, address: str, current: datetime) -> None:
        eng.execute(
            "DELETE FROM login_failures WHERE failed_at < ?",
            (current - timedelta(seconds=self.window),),
            step="login failures",
        )
        for key in self._keys(user, address):
            eng.execute(
                "INSERT INTO login_failures (failure_key, failed_at) VALUES (?, ?)",
                (key, current),
                step="login failures",
            )

    def failed(self, user: str, address: str) -> None:
        """Record a failed login (for a caller that used :meth:`check`; :meth:`attempt` has
        recorded it already)."""
        with self._eng() as eng, eng.transaction():
            self._record(eng, user, address, now())

    def succeeded(self, user: str, address: str = "", at: datetime | None = None) -> None:
        """A successful login: the account's failures are forgotten, and the attempt that
        :meth:`attempt` recorded at ``at`` for ``address`` is taken back."""
        keys = self._keys(user, address)
        with self._eng() as eng, eng.transaction():
            eng.execute(
                "DELETE FROM login_failures WHERE failure_key = ?",
                (keys[0],),
                step="login failures",
            )
            if at is not None:
                eng.execute(
                    "DELETE FROM login_failures WHERE failure_key = ? AND failed_at = ?",
                    (keys[1], at),
                    step="login failures",
                )

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None


class AnswerCache:
    """Published answers by (scope, query, data version): a cell publishes the same value every
    time (the disclosure function is deterministic), so a repeated query is answered from here
    until an import changes the data (the data version is part of every key). Bounded, least
    recently used first out. ``derived`` keeps what is made from a cached answer (its JSON or CSV
    text) for as long as the answer itself stays.

    After an import, :meth:`warm` computes every recently used answer again for the new data,
    with its texts, before readers are switched to the new version: until then they are
    answered from the previous complete version, and then from the warmed one, so that no
    reader waits for a computation because of an import (docs/api.md, "Imports and readers")."""

    def __init__(self, size: int = 256) -> None:
        from collections import OrderedDict

        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[tuple[Any, ...], threading.Lock] = {}
        # id(cached value) -> {derived key: derived value}; dropped with the value
        self._derived: dict[int, dict[tuple[Any, ...], Any]] = {}
        self._held: dict[int, int] = {}  # id(value) -> how many keys hold it
        self._stem: dict[int, tuple[Any, ...]] = {}  # id(value) -> its key without the version
        # key without its version -> how to compute it on a given connection
        self._refresh: dict[tuple[Any, ...], Callable[[Engine], Any]] = {}
        # key without its version -> {derived key: how to make it from a value}
        self._makers: dict[tuple[Any, ...], dict[tuple[Any, ...], Callable[[Any], Any]]] = {}
        # key without its version -> what the answer reads (corridor.access.changes.Reads)
        self._reads: dict[tuple[Any, ...], Any] = {}
        # keys without their version read or computed since the last warm: the answers in use
        self._used: set[tuple[Any, ...]] = set()

    def _single_flight(
        self, key: tuple[Any, ...], find: Callable[[], Any], make: Callable[[], Any]
    ) -> Any:
        """``find()`` (None: not there) or else ``make()`` once per ``key`` however many
        threads ask at the same time (the others wait for it)."""
        with self._lock:
            found = find()
            if found is not None:
                return found
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                found = find()
                if found is not None:
                    return found
            try:
                return make()
            finally:
                with self._lock:
                    self._pending.pop(key, None)

    def peek(self, key: tuple[Any, ...]) -> Any:
        """The cached answer of ``key`` or None; never computes nor waits for a computation
        (safe on the event loop)."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self._used.add(key[:-1])
            return value

    def peek_derived(self, value: Any, key: tuple[Any, ...]) -> Any:
        """What :meth:`derived` keeps beside ``value`` under ``key``, or None (never makes it)."""
        with self._lock:
            return self._derived.get(id(value), {}).get(key)

    def get_or_compute(
        self,
        key: tuple[Any, ...],
        compute: Callable[[], Any],
        refresh: Callable[[Engine], Any] | None = None,
        reads: Any = None,
    ) -> Any:
        """The cached answer, or ``compute()`` once however many requests ask at the same time
        (the others wait for it instead of computing the same table again). The key's last
        element is the data version; ``refresh(engine)`` computes the same answer on another
        connection, for :meth:`warm`; ``reads`` (``corridor.access.changes.Reads``) says what
        the answer reads, so that an import that cannot change it keeps it (None: any import
        can)."""
        with self._lock:
            self._used.add(key[:-1])
            if refresh is not None:
                self._refresh[key[:-1]] = refresh
                if reads is not None:
                    self._reads[key[:-1]] = reads
                else:
                    self._reads.pop(key[:-1], None)
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]

        def make() -> Any:
            value = compute()
            self._store(key, value)
            return value

        return self._single_flight(("answer", key), lambda: self._items.get(key), make)

    def _store(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._held[id(value)] = self._held.get(id(value), 0) + 1
            self._stem[id(value)] = key[:-1]
            while len(self._items) > self.size:
                old_key, old = self._items.popitem(last=False)
                self._release(old)
                if not any(k[:-1] == old_key[:-1] for k in self._items):
                    self._refresh.pop(old_key[:-1], None)
                    self._makers.pop(old_key[:-1], None)
                    self._reads.pop(old_key[:-1], None)
                    self._used.discard(old_key[:-1])

    def warm(
        self,
        engine: Engine,
        versions: Sequence[tuple[Any, ...]],
        limit: int = 64,
        budget_s: float = 60.0,
        change: Any = None,
        current: tuple[Any, ...] | None = None,
    ) -> int:
        """Prepare the answers in use for the data versions readers will see once an import is
        complete (``versions``), so that readers find them instead of waiting for a
        computation after the import. Answers in use are those read (or computed) since the
        previous warm.

        With ``change`` (``corridor.access.changes.Change``: what the import changed) and
        ``current`` (the version before it), an answer the change cannot affect
        (``change.affects(reads)``) is kept as it is under the new versions, texts and all,
        whether in use or not. The ``limit`` most recently used answers in use that it can
        affect are computed again on ``engine`` (the import's connection, which sees its new
        data), with the texts made from them (``derived``); answers not in use are left to
        their next reader. Stops starting new computations after ``budget_s`` seconds (the
        import's own answer waits for this; an answer not warmed is computed by its next
        reader). Returns how many were computed."""
        with self._lock:
            used, self._used = self._used, set()
            stems: list[tuple[Any, ...]] = []
            for key in reversed(self._items):
                if key[:-1] in self._refresh and key[:-1] not in stems:
                    stems.append(key[:-1])
            jobs = [
                (stem, self._refresh[stem], dict(self._makers.get(stem, {})), self._reads.get(stem))
                for stem in stems
            ]
        done = 0
        start = time.monotonic()
        for stem, refresh, makers, reads in jobs:
            if change is not None and current is not None and not change.affects(reads):
                with self._lock:
                    value = self._items.get((*stem, current))
                if value is not None:  # the same answer for the new data: kept
                    for version in versions:
                        self._store((*stem, version), value)
                    continue
            if stem not in used or done >= limit or time.monotonic() - start > budget_s:
                continue
            value = refresh(engine)
            texts = {dkey: make(value) for dkey, make in makers.items()}
            for version in versions:
                self._store((*stem, version), value)
            with self._lock:
                if id(value) in self._held:
                    self._derived.setdefault(id(value), {}).update(texts)
            done += 1
        return done

    def _release(self, value: Any) -> None:
        n = self._held.get(id(value), 0) - 1
        if n > 0:
            self._held[id(value)] = n
        else:
            self._held.pop(id(value), None)
            self._derived.pop(id(value), None)
            self._stem.pop(id(value), None)

    def derived(self, value: Any, key: tuple[Any, ...], make: Callable[[Any], Any]) -> Any:
        """``make(value)`` for ``value`` (an answer this cache returned), kept beside it and
        made once however many ask at the same time; :meth:`warm` makes it for the new answer
        too. A value not (or no longer) in the cache is not kept."""

        def find() -> Any:
            return self._derived.get(id(value), {}).get(key)

        def build() -> Any:
            made = make(value)
            with self._lock:
                if id(value) in self._held:
                    self._derived.setdefault(id(value), {})[key] = made
                    stem = self._stem.get(id(value))
                    if stem is not None:
                        self._makers.setdefault(stem, {})[key] = make
            return made

        return self._single_flight(("derived", id(value), key), find, build)

    def __len__(self) -> int:
        return len(self._items)

    def cached_keys(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._items)


class TokenCache:
    """Accounts of recently seen tokens, for ``ttl`` seconds: a burst of requests with one token
    costs one warehouse lookup. Only successful lookups are kept (a wrong token is checked
    every time), keyed by the token's SHA-256, never the token. A token revoked or an account
    disabled elsewhere (the CLI, another worker) stops working within ``ttl`` seconds; a logout
    (``corridor.api.auth.end_session``) or an account disabled on the dashboard's Admin page
    through this server at once."""

    def __init__(self, ttl: float = 2.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[bytes, tuple[Account, float]] = {}
        self._renewing: set[bytes] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def cached(self, token: str) -> Account | None:
        """The account of a token seen less than ``ttl`` seconds ago (memory only)."""
        with self._lock:
            hit = self._items.get(self._key(token))
        if hit is not None and time.monotonic() - hit[1] < self.ttl:
            return hit[0]
        return None

    def account(self, engine: Engine, token: str) -> Account:
        found = self.cached(token)
        if found is not None:
            return found
        return self._look_up(engine, token)

    def _look_up(self, engine: Engine, token: str) -> Account:
        account = account_for_token(engine, token)  # raises AuthenticationError
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[self._key(token)] = (account, time.monotonic())
        return account

    def due(self, token: str) -> bool:
        """Whether the cached account of ``token`` is older than half the ``ttl`` and nobody
        looks it up again yet: the caller should then :meth:`renew` it (in a thread), so that
        requests keep finding it in memory while a revocation still takes effect within
        ``ttl``. Marks it as being renewed."""
        key = self._key(token)
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[1] < self.ttl / 2 or key in self._renewing:
                return False
            self._renewing.add(key)
            return True

    def renew(self, engine: Engine, token: str) -> None:
        """Look the token up again now (after :meth:`due`); a token no longer valid is
        dropped (its next request is answered 401 by the route)."""
        try:
            self._look_up(engine, token)
        except AuthenticationError:
            self.forget(token)
        finally:
            self.release(token)

    def release(self, token: str) -> None:
        """The renewal :meth:`due` announced is over (done or given up)."""
        with self._lock:
            self._renewing.discard(self._key(token))

    def forget(self, token: str) -> None:
        with self._lock:
            self._items.pop(self._key(token), None)

    def forget_account(self, username: str) -> None:
        """Drop every cached token of ``username`` (disabled through this server: its tokens
        stop working at once, not within ``ttl``)."""
        with self._lock:
            for key in [k for k, (acct, _) in self._items.items() if acct.username == username]:
                del self._items[key]


def settle(batch: list[tuple[Any, int | None, BaseException | None]]) -> None:
    """The AuditWriter's notice (its thread): resolve each waiting request's future, with one
    call into each event loop per committed batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, int | None, Any]]] = {}
    for fut, seq, error in batch:
        by_loop.setdefault(fut.get_loop(), []).append((fut, seq, error))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(items: list[tuple[Any, int | None, BaseException | None]]) -> None:
    for fut, seq, error in items:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(seq)


class Hub:
    def __init__(self, path: Path, settings: Settings, url: str, pool_size: int = 16) -> None:
        self.path = path
        self.settings = settings
        self.url = url
        self.pool = EnginePool(url, pool_size)
        self.is_duckdb = not url.startswith(("postgresql://", "postgres://"))
        # DuckDB: many readers, one writer (imports are serialised in this process)
        self.write_lock = threading.Lock()
        self.limiter = LoginLimiter(int(settings["api_login_attempts"]), url)
        self.max_upload = int(settings["api_max_upload_mb"]) * 1_000_000
        self.answers = AnswerCache()
        self.tokens = TokenCache()
        # audit entries of answers served on the event loop (corridor.api.fastlane)
        self.audit = AuditWriter(lambda: connect(url), settle)
        # the (engine name, url) of the pool's connections: their data version's key
        self.version_key = (
            ("duckdb", url.removeprefix("duckdb://")) if self.is_duckdb else ("postgres", url)
        )
        self.fast_lane = True  # cached answers served on the event loop (corridor.api.fastlane)
        self.fast_answers = 0  # how many it served (the event loop's thread alone counts)
        # renews cached tokens and the data version for it (one thread: renewals are rare)
        self.background = ThreadPoolExecutor(1, thread_name_prefix="corridor-renew")

    @contextmanager
    def writer(self) -> Iterator[None]:
        if self.is_duckdb:
            with self.write_lock:
                yield
        else:
            yield

    def close(self) -> None:
        self.background.shutdown(wait=True)
        self.audit.close()
        self.limiter.close()
        self.pool.close()
