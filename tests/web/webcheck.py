"""Browser checks for the dashboard's pages, shared by every page's tests (tests/web/).

* :func:`watch` records a page's console errors, uncaught exceptions and every request to a
  host other than the server (those are aborted, never sent);
* :func:`axe` runs the vendored axe-core in the page and returns its serious and critical
  violations;
* :func:`screenshots` writes the page at 1366x900 and 390x844 to ``test-artefacts/web/`` and,
  with ``CORRIDOR_DOCS_IMAGES=1``, copies them into ``docs/images/`` for docs/dashboard.md.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artefacts" / "web"
DOCS_IMAGES = ROOT / "docs" / "images"
VIEWPORTS = ((1366, 900), (390, 844))


@dataclass
class Watch:
    """What a page did: console errors and requests to other hosts (aborted)."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"


def watch(page: Any, base_url: str) -> Watch:
    """Start recording ``page``: console errors, page errors and requests; a request to any
    host but ``base_url``'s is aborted and recorded."""
    w = Watch()
    host = urlsplit(base_url).netloc

    def console(m: Any) -> None:
        if m.type == "error":
            w.errors.append(f"{m.text} at {m.location.get('url', '?')}")

    def route(r: Any) -> None:
        url = r.request.url
        w.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme == "data" or (parts.scheme in ("http", "https") and parts.netloc == host):
            r.continue_()
        else:
            w.foreign.append(url)
            r.abort()

    page.on("console", console)
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    page.route("**/*", route)
    return w


def axe(page: Any, *, include: str | None = None) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now (WCAG 2 A and AA)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")  # the CSP allows 'self'
    result = page.evaluate(
        """async (include) => {
            const r = await axe.run(include ? {include: [include]} : document,
                {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""",
        include,
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshot(page: Any, name: str) -> Path:
    """``page`` as it is now, full height, to test-artefacts/web/NAME-WxH.png (and docs/images/
    with CORRIDOR_DOCS_IMAGES=1)."""
    size = page.viewport_size
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path), full_page=True, timeout=120_000)
    if os.environ.get("CORRIDOR_DOCS_IMAGES") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / path.name)
    return path


def screenshots(
    open_page: Any, path: str, name: str, role: str, *, ready: str = "main"
) -> list[Path]:
    """``path`` as ``role`` at both viewports (1366x900, 390x844): the screenshots written, each
    after ``ready`` (a CSS selector) is visible; asserts that the page does not scroll
    sideways on either."""
    shots = []
    for width, height in VIEWPORTS:
        page, _w = open_page(role, path, viewport=(width, height))
        page.wait_for_selector(ready, state="visible")
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{path} at {width}x{height} scrolls sideways {widths}"
        shots.append(screenshot(page, name))
        page.context.close()
    return shots
