"""A served dashboard for the browser tests: one workspace and one server per test session
(per xdist worker), Debian's Chromium driven by Playwright, and a logged-in page per role.

Roles and accounts (password ``PASSWORD``): ``admin`` (all countries), ``data_manager``
(Uganda), ``analyst`` (Kenya only), ``partner`` (an agreement: positivity by country, yearly,
Kenya). Use ``open_page(role, path)`` for a page logged in as that role (see webcheck.py for
the console/host/axe/screenshot checks).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from webcheck import Watch, watch

from browser import chromium_path
from corridor.access import add_agreement, add_user
from corridor.workspace import init_workspace

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
PASSWORD = "correct horse battery"
#: role -> (account, countries)
ACCOUNTS = {
    "admin": ("web-admin", "*"),
    "data_manager": ("web-dm", "UGA"),
    "analyst": ("web-analyst", "KEN"),
    "partner": ("web-partner", "*"),
}


@dataclass(frozen=True)
class Served:
    base_url: str
    workspace: Path
    accounts: dict[str, str]  # role -> user name


def build_workspace(folder: Path) -> Path:
    """The quick-start data (three countries) with one account per role."""
    ws = init_workspace(folder)
    try:
        for name, kind, quarantine in (
            ("places.csv", "places", False),
            ("services.csv", "services", False),
            ("flows.csv", "flows", True),
            ("cases.csv", "cases", False),
        ):
            ws.ingest([QUICKSTART / name], kind, quarantine=quarantine)
        for role, (user, countries) in ACCOUNTS.items():
            add_user(ws.engine, user, role, PASSWORD, countries=countries)
        add_agreement(
            ws.engine,
            "web-partner",
            indicators="positivity",
            by="country",
            period_type="year",
            countries="KEN",
            valid_from=date(2020, 1, 1),
            valid_to=date(2099, 12, 31),
            created_by="tests",
        )
    finally:
        ws.close()
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard served by uvicorn on a loopback port, in a thread of this process."""
    import uvicorn

    from corridor.api.app import create_app

    chromium_path()  # skip (or fail under CI) before building anything
    folder = build_workspace(tmp_path_factory.mktemp("web") / "ws")
    app = create_app(folder)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", folder, {r: a[0] for r, a in ACCOUNTS.items()})
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


def log_in(page: Any, base_url: str, user: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


OpenPage = Callable[..., tuple[Any, Watch]]


@pytest.fixture(scope="session")
def sessions(browser: Any, served: Served) -> dict[str, Any]:
    """One logged-in browser storage state per role (cookies), made on first use."""
    return {}


@pytest.fixture
def open_page(browser: Any, served: Served, sessions: dict[str, Any]) -> Iterator[OpenPage]:
    """``open_page(role, path, viewport=(1366, 900))``: a fresh browser context logged in as
    ``role`` (its session made once per test session), showing ``path``, watched from its
    first request (see webcheck.watch)."""
    contexts: list[Any] = []

    def open_(role: str, path: str, viewport: tuple[int, int] = (1366, 900)) -> tuple[Any, Watch]:
        size = {"width": viewport[0], "height": viewport[1]}
        if role not in sessions:
            ctx = browser.new_context(viewport=size)
            contexts.append(ctx)
            log_in(ctx.new_page(), served.base_url, served.accounts[role])
            sessions[role] = ctx.storage_state()
        ctx = browser.new_context(viewport=size, storage_state=sessions[role])
        contexts.append(ctx)
        page = ctx.new_page()
        w = watch(page, served.base_url)
        page.goto(served.base_url + path, wait_until="networkidle")
        return page, w

    yield open_
    for ctx in contexts:
        ctx.close()
