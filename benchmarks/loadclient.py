"""A light load generator for the hub benchmarks: concurrent HTTP/1.1 keep-alive clients on one
asyncio event loop (uvloop where installed), responses parsed by httptools (uvicorn's own
parser).

Fifty httpx client threads spend more CPU per request than the server does on a cached answer,
and they run on the same cores as the server; this generator costs a fraction of that, and the
benchmark prints what it costs (``cpu_s``), so that the reader sees the price of the load itself.
Each client sends its next request as soon as the previous answer is complete (no pause), on one
connection that it opens again only if the server closes it.
"""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httptools

Record = Callable[[str, float, bool], None]


@dataclass(slots=True)
class _Answer:
    """One response being read: its status and whether it is complete."""

    status: int = 0
    done: bool = False
    keep_alive: bool = True
    parser: httptools.HttpResponseParser | None = field(default=None, repr=False)

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.done = True


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one GET and read its whole answer: (status, whether the connection stays open)."""
    answer = _Answer()
    answer.parser = httptools.HttpResponseParser(answer)
    writer.write(request)
    while not answer.done:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        answer.parser.feed_data(data)
    return answer.status, answer.keep_alive


async def _client(
    host: str,
    port: int,
    requests: Sequence[tuple[str, bytes]],
    first: int,
    stop: float,
    record: Record,
) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    n = first
    while time.perf_counter() < stop:
        kind, request = requests[n % len(requests)]
        n += 7
        t0 = time.perf_counter()
        ok = False
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
            status, keep = await _get(*conn, request)
            ok = status == 200
            if not keep:
                conn[1].close()
                conn = None
        except (OSError, ConnectionError, httptools.HttpParserError):
            if conn is not None:
                conn[1].close()
            conn = None
        record(kind, time.perf_counter() - t0, ok)
    if conn is not None:
        conn[1].close()


def request_bytes(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


@dataclass(slots=True)
class LoadResult:
    cpu_s: float  # CPU seconds the event loop's thread used (the readers' whole cost)
    requests: int


def run_readers(
    host: str,
    port: int,
    paths: Sequence[tuple[str, str]],
    headers: dict[str, str],
    clients: int,
    seconds: float,
    record: Record,
) -> LoadResult:
    """``clients`` concurrent clients asking ``paths`` ((kind, path) pairs, each client starting
    at its own place and stepping by 7) for ``seconds``; each answer is passed to ``record``
    (kind, seconds, ok). Runs in the calling thread; returns the CPU it used."""
    requests = [(kind, request_bytes(host, port, p, headers)) for kind, p in paths]
    count = 0

    def counted(kind: str, elapsed: float, ok: bool) -> None:
        nonlocal count
        count += 1
        record(kind, elapsed, ok)

    async def main() -> None:
        stop = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(host, port, requests, i, stop, counted) for i in range(clients))
        )

    uvloop: typing.Any
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of the hub
        uvloop = None
    cpu0 = time.thread_time()
    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
    return LoadResult(time.thread_time() - cpu0, count)
