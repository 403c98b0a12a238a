"""A hub served by uvicorn on a loopback port, in a thread of the test process, with the proxy
handling ``corridor serve`` gives uvicorn (``corridor.api.app.proxy_options``): what the browser
tests and the tests of client addresses share."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """``app`` (from ``corridor.api.app.create_app``) served while the block runs: its base
    URL."""
    import uvicorn

    from corridor.api.app import proxy_options

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        **proxy_options(app.state.hub.settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
