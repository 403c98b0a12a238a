"""The dashboard without a browser: vendored files as recorded, login redirects, an empty
warehouse explained on the page (no traceback)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from corridor.access import add_user
from corridor.api.app import create_app
from corridor.web.site import NAV, PAGE_MODULES, page_modules
from corridor.workspace import init_workspace

VENDOR = Path(__file__).resolve().parents[2] / "src" / "corridor" / "web" / "static" / "vendor"


def test_vendored_files_are_those_recorded_with_their_licences() -> None:
    text = (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\S+) \| (\S+) \| (\S+) \| (\S+) \| `([0-9a-f]{64})` \|", text, re.M)
    script = (VENDOR.parents[4] / "scripts" / "vendor-web.sh").read_text(encoding="utf-8")
    pinned = set(re.findall(r'^  "(@?[^@"|]+)@', script, re.M))
    assert pinned and {package for package, *_rest in rows} == pinned  # the script's packages
    recorded = {file for _p, _v, _l, file, _s in rows}
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"VENDORED.md"} == recorded  # nothing unrecorded, nothing missing
    for _package, _version, _licence, file, sha in rows:
        assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == sha, file
    for folder in {file.split("/")[0] for *_x, file, _s in rows}:
        assert (VENDOR / folder / "LICENSE").is_file(), f"{folder} has no licence file"
    size = sum((VENDOR / f).stat().st_size for f in recorded if not f.startswith("axe-core"))
    assert size < 1_000_000  # what pages may load (axe-core is for the tests only)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("empty") / "ws"
    ws = init_workspace(folder)
    add_user(ws.engine, "admin1", "admin", "correct horse battery", countries="*")
    ws.close()
    return folder


def test_every_page_needs_a_login(empty: Path) -> None:
    with TestClient(create_app(empty)) as c:
        assert c.get("/", follow_redirects=False).headers["location"] == "/overview"
        for name in page_modules():
            item = next(n for n in NAV if n.slug == name)
            r = c.get(item.path, follow_redirects=False)
            assert r.status_code == 303, item.path
            assert r.headers["location"].startswith("/login?next=")
        assert set(page_modules()) <= set(PAGE_MODULES)


def test_an_empty_warehouse_is_explained_not_a_traceback(empty: Path) -> None:
    with TestClient(create_app(empty)) as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "admin1",
                "password": "correct horse battery",
                "csrf": c.cookies["corridor_csrf"],
                "next": "/map",
            },
        )
        assert r.status_code == 400
        assert "import data first" in r.text and "Traceback" not in r.text
        assert 'role="alert"' in r.text and "<nav" in r.text  # a page with its navigation
        r = c.get("/overview")
        assert r.status_code == 400 and "nothing to report" in r.text
        assert c.get("/map/site/nowhere").status_code in (400, 404)
