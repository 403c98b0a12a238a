"""The demonstration accounts of ``corridor demo``: one per role, with one-time credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from corridor.access.accounts import add_user, create_token, generate_password, now
from corridor.access.agreements import add_agreement
from corridor.storage.engine import Engine

#: username, role, countries
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("demo-admin", "admin", "*"),
    ("demo-analyst", "analyst", "KEN,UGA"),
    ("demo-datamanager", "data_manager", "UGA"),
    ("demo-partner", "partner", "*"),
)
CSV_COLUMNS = ("username", "password", "token", "role", "countries")


def create_demo_accounts(engine: Engine, *, token_days: float = 30) -> list[dict[str, Any]]:
    """Create the demo accounts, a token each, and a year-long sharing agreement for the
    partner (the 95-95-95 cascade by country, yearly, Kenya and Uganda). Returns the rows of
    demo-users.csv (passwords and tokens in the clear: the caller writes them owner-only)."""
    rows: list[dict[str, Any]] = []
    for name, role, countries in DEMO_ACCOUNTS:
        password = generate_password()
        acct = add_user(engine, name, role, password, countries=countries)
        token, _ = create_token(engine, acct.username, days=token_days)
        rows.append(
            {
                "username": name,
                "password": password,
                "token": token,
                "role": role,
                "countries": acct.as_dict()["countries"] if role != "partner" else "KEN,UGA",
            }
        )
    today = now().date()
    add_agreement(
        engine,
        "demo-partner",
        indicators="first_95,second_95,third_95",
        by="country",
        period_type="year",
        countries="KEN,UGA",
        valid_from=today - timedelta(days=1),
        valid_to=today + timedelta(days=365),
        created_by="corridor demo",
    )
    return rows
