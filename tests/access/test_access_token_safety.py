"""Tokens: lifetimes are finite numbers of days; a logout revokes a token only with its secret."""

from __future__ import annotations

import pytest

from corridor.access import AuthenticationError, account_for_token, add_user, create_token
from corridor.errors import QueryError
from corridor.storage.engine import Engine

PW = "a long enough password"
MAX_TOKEN_DAYS = 3660  # corridor.access.accounts.MAX_TOKEN_DAYS


@pytest.mark.parametrize("days", [float("nan"), float("inf"), 1e12, MAX_TOKEN_DAYS + 1, 0, -1])
def test_a_token_lifetime_must_be_a_finite_positive_number_of_days(
    engine: Engine, days: float
) -> None:
    # NaN, infinity and huge numbers used to escape as a ValueError/OverflowError traceback
    add_user(engine, "amina", "analyst", PW)
    with pytest.raises(QueryError, match="--expires"):
        create_token(engine, "amina", days=days)


def test_the_longest_token_lifetime_is_accepted(engine: Engine) -> None:
    from corridor.access.accounts import MAX_TOKEN_DAYS as most

    add_user(engine, "amina", "analyst", PW)
    assert most == MAX_TOKEN_DAYS
    token, info = create_token(engine, "amina", days=MAX_TOKEN_DAYS)
    assert info.expires_at is not None and account_for_token(engine, token).username == "amina"


def test_a_token_is_revoked_by_its_owner_s_secret_never_by_its_id_alone(engine: Engine) -> None:
    from corridor.access.accounts import revoke_own_token

    add_user(engine, "amina", "admin", PW)
    add_user(engine, "bruno", "analyst", PW)
    victim, info = create_token(engine, "amina")
    forged = f"cor_{info.token_id}_not-the-secret"
    assert revoke_own_token(engine, forged) is None
    assert revoke_own_token(engine, "garbage") is None
    assert account_for_token(engine, victim).username == "amina"
    own, own_info = create_token(engine, "bruno")
    assert revoke_own_token(engine, own) == own_info.token_id
    with pytest.raises(AuthenticationError):
        account_for_token(engine, own)


def test_failed_logins_are_audited_under_an_account_name_only_when_it_exists(
    engine: Engine,
) -> None:
    from corridor.access.accounts import account_exists, failed_login_name

    add_user(engine, "amina", "analyst", PW)
    assert account_exists(engine, " Amina ") and not account_exists(engine, "nobody")
    assert failed_login_name(engine, "AMINA") == "amina"
    # a password typed into the name field is not written to the audit trail
    assert failed_login_name(engine, "my secret password 2024") == "?"
    assert failed_login_name(engine, "x" * 10_000) == "?"
    assert failed_login_name(engine, "") == "?"


def test_a_password_longer_than_a_login_accepts_is_refused(engine: Engine) -> None:
    # the login refuses passwords over 1024 characters unread: such an account could never log in
    with pytest.raises(QueryError, match="too long"):
        add_user(engine, "amina", "analyst", "p" * 1025)
    add_user(engine, "amina", "analyst", "p" * 1024)
