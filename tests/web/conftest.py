"""A served dashboard for the browser tests: one workspace and one server per test session
(per xdist worker), Debian's Chromium driven by Playwright, and a logged-in page per role.

Roles and accounts (password ``PASSWORD``): ``admin`` (all countries), ``data_manager``
(Uganda), ``analyst`` (Kenya only), ``partner`` (an agreement: positivity by country, yearly,
Kenya). Use ``open_page(role, path)`` for a page logged in as that role (see webcheck.py for
the console/host/axe/screenshot checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from webcheck import Watch, watch
from webserve import ACCOUNTS, Served, build_workspace, log_in, serving

from browser import chromium_path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard served by uvicorn on a loopback port, in a thread of this process."""
    chromium_path()  # skip (or fail under CI) before building anything
    folder = build_workspace(tmp_path_factory.mktemp("web") / "ws")
    with serving(folder) as base_url:
        yield Served(base_url, folder, {r: a[0] for r, a in ACCOUNTS.items()})


@pytest.fixture(scope="session")
def browser(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


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
