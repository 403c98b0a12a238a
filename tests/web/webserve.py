"""What the browser tests share, outside conftest.py so that a test imports it by a name no other
test folder uses (tests/api has a conftest.py too): the quick-start workspace with one account per
role, the served address, a free port and logging in through the form."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from corridor.access import add_agreement, add_user
from corridor.workspace import init_workspace
from served import serving_app

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


def log_in(page: Any, base_url: str, user: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The dashboard of the workspace ``folder`` served by uvicorn on a loopback port, in a
    thread of this process, while the block runs: its base URL."""
    from corridor.api.app import create_app

    with serving_app(create_app(folder)) as base:
        yield base
