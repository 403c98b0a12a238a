"""The report in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Browser downloads are impossible here, so Playwright is pointed at the system's Chromium through
``executable_path``; ``scripts/ensure-chromium.sh`` (run by ``make test``) installs it when it is
missing. Under CI=true a missing browser fails the test; on a developer's machine it skips.
Screenshots (in slices) and the printed PDF are kept under ``test-artefacts/browser/`` (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "test-artefacts" / "browser"
VIEWPORTS = ((1366, 900), (390, 844))
IN_CI = os.environ.get("CI", "").lower() == "true"


def chromium_path() -> str:
    """The system Chromium, or skip (fail under CI=true) when it or Playwright is missing."""
    found = os.environ.get("CORRIDOR_CHROMIUM") or shutil.which("chromium") or ""
    if not found and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    problem = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not problem and not found:
        problem = "Chromium is not installed (scripts/ensure-chromium.sh installs it)"
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    return found


@dataclass
class PageCheck:
    """What one viewport showed: widths, console errors, requests that left the file."""

    viewport: tuple[int, int]
    scroll_width: int
    client_width: int
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


SLICE = 8_000  # px: Chromium cannot capture one image near 16,384 px tall, so a long page is cut


def screenshot_slices(page: Any, stem: str) -> list[Path]:
    """The whole page as screenshots of at most ``SLICE`` px each, top to bottom.

    One full-page capture of the demonstration report (16,300 px tall at a laptop's width) sits
    at Chromium's largest texture and failed now and then with "Unable to capture screenshot".
    """
    width, height = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    shots: list[Path] = []
    for i, top in enumerate(range(0, max(height, 1), SLICE)):
        shot = ARTEFACTS / f"{stem}-{i + 1}.png"
        clip = {"x": 0, "y": top, "width": width, "height": min(SLICE, height - top)}
        page.screenshot(path=str(shot), full_page=True, clip=clip, timeout=180_000)
        shots.append(shot)
    return shots


def _count_pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def off_loop(fn: Callable[[], T]) -> T:
    """``fn()`` in a thread of its own: Playwright's sync API refuses to start in a thread whose
    asyncio loop runs, as the main thread's does after tests/web's session-wide browser started
    in the same xdist worker ("It looks like you are using Playwright Sync API inside the asyncio
    loop"), which made the report's browser tests fail depending on the workers' order."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def open_report(html: Path, name: str) -> tuple[list[PageCheck], int]:
    """Open ``html`` at each viewport (screenshots kept) and print it to A4; returns the checks
    and the number of printed pages (in a thread of its own: :func:`off_loop`)."""
    return off_loop(lambda: _open_report(html, name))


def _open_report(html: Path, name: str) -> tuple[list[PageCheck], int]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    checks: list[PageCheck] = []
    url = html.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for width, height in VIEWPORTS:
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                errors: list[str] = []
                requests: list[str] = []

                def console(m: Any, errors: list[str] = errors) -> None:
                    if m.type == "error":
                        errors.append(m.text)

                def page_error(e: Any, errors: list[str] = errors) -> None:
                    errors.append(str(e))

                page.on("console", console)
                page.on("pageerror", page_error)

                def route(r: Any, requests: list[str] = requests) -> None:
                    if r.request.url == url:
                        r.continue_()
                    else:  # anything else would leave the file: record it, never send it
                        requests.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                page.goto(url, wait_until="load")
                widths = page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                shots = screenshot_slices(page, f"{name}-{width}x{height}")
                checks.append(
                    PageCheck((width, height), widths[0], widths[1], errors, requests, shots)
                )
                context.close()
            page = browser.new_page()
            page.goto(url, wait_until="load")
            pdf = page.pdf(format="A4", print_background=True)
            (ARTEFACTS / f"{name}.pdf").write_bytes(pdf)
        finally:
            browser.close()
    return checks, _count_pdf_pages(pdf)


def assert_reads_well(checks: list[PageCheck]) -> None:
    for c in checks:
        assert c.scroll_width <= c.client_width, (
            f"{c.viewport}: the page scrolls sideways ({c.scroll_width} > {c.client_width} px)"
        )
        assert c.errors == [], f"{c.viewport}: console errors {c.errors}"
        assert c.requests == [], f"{c.viewport}: requests to other hosts {c.requests}"
        assert c.screenshots, f"{c.viewport}: no screenshot"
        assert c.screenshots[0].stat().st_size > 10_000, f"{c.viewport}: a blank screenshot"
