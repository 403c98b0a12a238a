"""Accounts and API tokens, stored in the warehouse (both engines).

Passwords are hashed with Argon2id (argon2-cffi); tokens are 256-bit random strings stored only
as SHA-256 hashes (a random token needs no slow hash) and compared in constant time.
A token reads ``cor_<id>_<secret>``: the id finds the row, the secret is checked against it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from corridor.access.errors import AuthenticationError, NotFound, PermissionDenied
from corridor.access.roles import check_role
from corridor.access.scope import (
    Scope,
    format_countries,
    parse_countries,
    parse_granted_countries,
)
from corridor.errors import QueryError
from corridor.storage.engine import Engine

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
_HASHER = PasswordHasher()  # Argon2id with the library's (RFC 9106 low-memory) parameters
# verified against when the account does not exist, so that unknown names take as long
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # a login with a longer password is refused unread
MAX_NAME = 64  # the longest account name (check_name)
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3660  # ten years: the longest lifetime a token may be given
SESSION_HOURS = 12


def now() -> datetime:
    """UTC now without a time zone (the warehouse stores naive UTC timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: str
    countries: frozenset[str] | None  # None: every country
    unsuppressed: bool = False
    disabled: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(self.countries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "countries": format_countries(self.countries).upper(),
            "unsuppressed": self.unsuppressed,
            "disabled": self.disabled,
        }


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise QueryError(
            f"bad account name {name!r}: 2-64 characters, a letter first, then letters, "
            "digits, '_', '.' or '-'"
        )
    return name


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise QueryError(f"password too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:  # a login refuses longer ones unread
        raise QueryError(f"password too long: at most {MAX_PASSWORD} characters")
    return _HASHER.hash(password)


def admin_exists(engine: Engine) -> bool:
    n = engine.scalar(
        "SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND NOT disabled", step="admins"
    )
    return int(n or 0) > 0


def add_user(
    engine: Engine,
    name: str,
    role: str,
    password: str,
    *,
    countries: str = "*",
    unsuppressed: bool = False,
) -> Account:
    """Create an account. Partners' countries come from their agreements (give ``*``)."""
    name = check_name(name)
    check_role(role)
    scope = parse_granted_countries(engine, countries)
    if unsuppressed and role not in ("analyst", "admin"):
        raise QueryError("only analysts can be granted unsuppressed reads (admins always can)")
    if engine.scalar("SELECT COUNT(*) FROM accounts WHERE username = ?", (name,)):
        raise QueryError(f"account {name!r} exists already")
    engine.execute(
        "INSERT INTO accounts (username, role, countries, password_hash, unsuppressed, "
        "disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (name, role, format_countries(scope), hash_password(password), unsuppressed, False, now()),
        step="add account",
    )
    return Account(name, role, scope, unsuppressed, False)


def _account(row: tuple[Any, ...]) -> Account:
    username, role, countries, unsuppressed, disabled = row
    return Account(username, role, parse_countries(countries), bool(unsuppressed), bool(disabled))


_COLS = "username, role, countries, unsuppressed, disabled"


def list_users(engine: Engine) -> list[Account]:
    rows = engine.query_rows(f"SELECT {_COLS} FROM accounts ORDER BY username", step="accounts")
    return [_account(r) for r in rows]


def get_user(engine: Engine, name: str) -> Account:
    rows = engine.query_rows(
        f"SELECT {_COLS} FROM accounts WHERE username = ?", (name.strip().lower(),), step="account"
    )
    if not rows:
        raise NotFound(f"no account named {name!r} (see `corridor users list`)")
    return _account(rows[0])


def disable_user(engine: Engine, name: str) -> Account:
    """Disable an account and revoke all its tokens; never the last active admin (the hub
    would have nobody to run it: `corridor serve` refuses a warehouse without an admin)."""
    acct = get_user(engine, name)
    with engine.transaction():
        if acct.role == "admin" and not acct.disabled:
            others = engine.scalar(
                "SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND NOT disabled "
                "AND username <> ?",
                (acct.username,),
                step="other admins",
            )
            if not int(others or 0):
                raise PermissionDenied(
                    f"{acct.username} is the last active admin: add another admin first "
                    "(`corridor users add NAME --role admin`), then disable this one"
                )
        engine.execute(
            "UPDATE accounts SET disabled = TRUE WHERE username = ?", (acct.username,), step="off"
        )
        engine.execute(
            "UPDATE api_tokens SET revoked = TRUE WHERE username = ?", (acct.username,), step="rv"
        )
    return get_user(engine, acct.username)


def authenticate(engine: Engine, name: str, password: str) -> Account:
    """The account for a name and password, or AuthenticationError (same message either way)."""
    rows = engine.query_rows(
        f"SELECT {_COLS}, password_hash FROM accounts WHERE username = ?",
        (name.strip().lower(),),
        step="login",
    )
    stored = rows[0][-1] if rows else _DUMMY_HASH
    ok: bool
    try:
        ok = bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or not rows or rows[0][4]:
        raise AuthenticationError("wrong user name or password, or the account is disabled")
    return _account(rows[0][:-1])


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token_id: str
    username: str
    purpose: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


def _days_refused(typed: str) -> QueryError:
    return QueryError(
        f"--expires must be a number of days, more than 0 and at most {MAX_TOKEN_DAYS} (ten "
        f"years); got {typed}"
    )


def check_token_days(days: float) -> float:
    """``days`` when a token may live that long (more than 0, at most :data:`MAX_TOKEN_DAYS`);
    else a QueryError naming the allowed range and the number as written (``4000``, not
    ``4000.0``)."""
    if not (math.isfinite(days) and 0 < days <= MAX_TOKEN_DAYS):
        raise _days_refused(f"{days:g}")
    return days


def parse_token_days(text: str) -> float:
    """A token's lifetime in days as typed (``corridor tokens create --expires``): the number,
    or a QueryError naming the allowed range and the text as typed."""
    try:
        days = float(text)
    except ValueError:
        raise _days_refused(repr(text)) from None
    if not (math.isfinite(days) and 0 < days <= MAX_TOKEN_DAYS):
        raise _days_refused(text.strip())
    return days


def create_token(
    engine: Engine,
    name: str,
    *,
    days: float | None = DEFAULT_TOKEN_DAYS,
    purpose: str = "api",
) -> tuple[str, TokenInfo]:
    """A new token for an active account: (the token, shown once; its stored record)."""
    acct = get_user(engine, name)
    if acct.disabled:
        raise QueryError(f"account {acct.username!r} is disabled")
    if days is not None:
        check_token_days(days)
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    created = now()
    expires = created + timedelta(days=days) if days is not None else None
    engine.execute(
        "INSERT INTO api_tokens (token_id, username, token_hash, purpose, created_at, "
        "expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, acct.username, _digest(secret), purpose, created, expires, False),
        step="add token",
    )
    info = TokenInfo(token_id, acct.username, purpose, created, expires, False)
    return f"cor_{token_id}_{secret}", info


def revoke_token(engine: Engine, token_id: str) -> None:
    n = engine.scalar("SELECT COUNT(*) FROM api_tokens WHERE token_id = ?", (token_id,))
    if not n:
        raise NotFound(f"no token with id {token_id!r} (see `corridor users list --tokens`)")
    engine.execute(
        "UPDATE api_tokens SET revoked = TRUE WHERE token_id = ?", (token_id,), step="revoke"
    )


def revoke_own_token(engine: Engine, token: str) -> str | None:
    """Revoke ``token`` itself (a logout): only when its secret matches the stored hash, so
    that nobody can revoke a token by its id alone. Returns the token's id, or None when the
    token is not one of this warehouse's (malformed, unknown or wrong secret; nothing is
    changed). An expired or already revoked token is revoked again (harmless)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cor" or not parts[1] or not parts[2]:
        return None
    rows = engine.query_rows(
        "SELECT token_hash FROM api_tokens WHERE token_id = ?", (parts[1],), step="token"
    )
    stored = rows[0][0] if rows else _digest("")
    if not hmac.compare_digest(stored, _digest(parts[2])) or not rows:
        return None
    engine.execute(
        "UPDATE api_tokens SET revoked = TRUE WHERE token_id = ?", (parts[1],), step="revoke"
    )
    return parts[1]


def failed_login_name(engine: Engine, name: str) -> str:
    """The name a failed login is audited under: the account's, when one of that name exists;
    else ``?``. What was typed in the name field of a failed login is often a password (typed
    one field early), and the audit trail keeps what it is given for good."""
    name = name.strip().lower()
    if not name or len(name) > MAX_NAME or not account_exists(engine, name):
        return "?"
    return name


def account_exists(engine: Engine, name: str) -> bool:
    """Whether an account of this name exists (disabled or not)."""
    n = engine.scalar(
        "SELECT COUNT(*) FROM accounts WHERE username = ?", (name.strip().lower(),), step="account"
    )
    return bool(n)


def list_tokens(engine: Engine, name: str | None = None) -> list[TokenInfo]:
    sql = (
        "SELECT token_id, username, purpose, created_at, expires_at, revoked FROM api_tokens"
        + (" WHERE username = ?" if name else "")
        + " ORDER BY created_at"
    )
    rows = engine.query_rows(sql, (name.strip().lower(),) if name else None, step="tokens")
    return [TokenInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def account_for_token(engine: Engine, token: str) -> Account:
    """The active account a bearer token belongs to, or AuthenticationError."""
    fail = AuthenticationError("invalid, expired or revoked token")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cor" or not parts[1] or not parts[2]:
        raise fail
    rows = engine.query_rows(
        "SELECT t.token_hash, t.expires_at, t.revoked, "
        "a.username, a.role, a.countries, a.unsuppressed, a.disabled "
        "FROM api_tokens t JOIN accounts a ON a.username = t.username WHERE t.token_id = ?",
        (parts[1],),
        step="token",
    )
    stored = rows[0][0] if rows else _digest("")
    match = hmac.compare_digest(stored, _digest(parts[2]))
    if not rows or not match:
        raise fail
    _, expires, revoked, *acct = rows[0]
    if revoked or (expires is not None and expires < now()):
        raise fail
    account = _account(tuple(acct))
    if account.disabled:
        raise fail
    return account
