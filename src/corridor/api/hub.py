"""The server's state: settings, a pool of warehouse connections, the writer lock, the login
rate limiter. One Hub per application; no global mutable state."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corridor.access.errors import RateLimited
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
        eng = self._take()
        try:
            yield eng
        finally:
            self._idle.put(eng)

    def _take(self) -> Engine:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
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


class LoginLimiter:
    """At most ``attempts`` failed logins per account and per address in ``window`` seconds."""

    def __init__(self, attempts: int, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def check(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{user}", f"addr:{address}"):
                q = self._recent(key, now)
                if len(q) >= self.attempts:
                    wait = int(q[0] + self.window - now) + 1
                    raise RateLimited(
                        f"too many failed logins for this account or address; try again in "
                        f"{wait} s",
                        wait,
                    )

    def failed(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{user}", f"addr:{address}"):
                self._recent(key, now).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._fails.pop(f"user:{user}", None)


class AnswerCache:
    """Published answers by (scope, query, data version): a cell publishes the same value every
    time (the disclosure function is deterministic), so a repeated query is answered from here
    until an import changes the data. Bounded, least recently used first out."""

    def __init__(self, size: int = 256) -> None:
        from collections import OrderedDict

        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[tuple[Any, ...], threading.Lock] = {}

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The cached answer, or ``compute()`` once however many requests ask at the same time
        (the others wait for it instead of computing the same table again)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = compute()
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
                self._pending.pop(key, None)
        return value


class Hub:
    def __init__(self, path: Path, settings: Settings, url: str, pool_size: int = 16) -> None:
        self.path = path
        self.settings = settings
        self.url = url
        self.pool = EnginePool(url, pool_size)
        self.is_duckdb = not url.startswith(("postgresql://", "postgres://"))
        # DuckDB: many readers, one writer (imports are serialised in this process)
        self.write_lock = threading.Lock()
        self.limiter = LoginLimiter(int(settings["api_login_attempts"]))
        self.max_upload = int(settings["api_max_upload_mb"]) * 1_000_000
        self.answers = AnswerCache()

    @contextmanager
    def writer(self) -> Iterator[None]:
        if self.is_duckdb:
            with self.write_lock:
                yield
        else:
            yield

    def close(self) -> None:
        self.pool.close()
