"""The Admin page's answers: accounts, sharing agreements and the audit trail with search, from
``corridor.access`` (the functions ``corridor users``, ``corridor agreements`` and
``corridor audit`` call). Admins only: ``manage_accounts`` and ``read_audit``, as in the API.
Reading the audit trail is itself audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from corridor.access.accounts import Account, list_tokens, list_users, now
from corridor.access.agreements import list_agreements
from corridor.access.audit import append, entries
from corridor.access.roles import require
from corridor.errors import QueryError
from corridor.storage.engine import Engine

#: entries read from the trail before the free-text filter (newest first)
SCAN_LIMIT: Final = 5000
SHOWN_LIMIT: Final = 200


@dataclass(frozen=True, slots=True)
class AuditSearch:
    user: str = ""
    action: str = ""  # exact action, or a prefix ending in "." (e.g. ``web.``)
    since: str = ""  # ISO date or date-time (UTC)
    text: str = ""  # contained in the action or the parameters (case-insensitive)

    @property
    def active(self) -> bool:
        return bool(self.user or self.action or self.since or self.text)


@dataclass(slots=True)
class AdminView:
    accounts: list[dict[str, Any]]
    agreements: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    search: AuditSearch
    audit_more: bool = False
    tokens: dict[str, int] = field(default_factory=dict)
    message: str = ""  # a search that cannot run (a bad date), said next to the form


def search_from(params: Mapping[str, Any]) -> AuditSearch:
    def text(key: str) -> str:
        return str(params.get(key) or "").strip()

    return AuditSearch(text("user").lower(), text("action"), text("since"), text("text"))


def _since(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"since: {value!r} is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T08:00)"
        ) from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def search_audit(engine: Engine, search: AuditSearch) -> tuple[list[dict[str, Any]], bool]:
    """Entries matching ``search`` (newest first, at most SHOWN_LIMIT) and whether more match."""
    exact = search.action if search.action and not search.action.endswith(".") else None
    rows = entries(
        engine,
        user=search.user or None,
        action=exact,
        since=_since(search.since),
        limit=SCAN_LIMIT,
    )
    prefix = search.action if search.action.endswith(".") else ""
    needle = search.text.lower()
    out = []
    for r in rows:
        if prefix and not str(r["action"]).startswith(prefix):
            continue
        params = json.dumps(r["parameters"], sort_keys=True, default=str)
        if needle and needle not in str(r["action"]).lower() and needle not in params.lower():
            continue
        out.append({**r, "parameters_text": params})
    return out[:SHOWN_LIMIT], len(out) > SHOWN_LIMIT


def admin_view(engine: Engine, account: Account, search: AuditSearch) -> AdminView:
    require(account.role, "manage_accounts", user=account.username)
    require(account.role, "read_audit", user=account.username)
    today = now().date()
    tokens: dict[str, int] = {}
    for t in list_tokens(engine):
        if not t.revoked and (t.expires_at is None or t.expires_at > now()):
            tokens[t.username] = tokens.get(t.username, 0) + 1
    accounts = [a.as_dict() for a in list_users(engine)]
    agreements = [a.as_dict(today) for a in list_agreements(engine)]
    message = ""
    try:
        audit, more = search_audit(engine, search)
    except QueryError as exc:
        audit, more, message = [], False, str(exc)
    append(
        engine,
        account.username,
        "web.read_audit",
        {"user": search.user, "action": search.action, "since": search.since, "text": search.text},
        cells=0,
    )
    return AdminView(accounts, agreements, audit, search, more, tokens, message)
