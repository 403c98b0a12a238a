"""Accounts, tokens and agreements in the warehouse, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from corridor.access import (
    AuthenticationError,
    PermissionDenied,
    account_for_token,
    add_agreement,
    add_user,
    authenticate,
    create_token,
    disable_user,
    granted_scope,
    list_agreements,
    revoke_agreement,
    revoke_token,
)
from corridor.errors import QueryError
from corridor.storage.engine import Engine

PW = "a long enough password"


def test_passwords_are_argon2id_and_never_stored(engine: Engine) -> None:
    add_user(engine, "amina", "analyst", PW, countries="KEN,uga")
    stored = engine.scalar("SELECT password_hash FROM accounts WHERE username = 'amina'")
    assert stored.startswith("$argon2id$") and PW not in stored
    acct = authenticate(engine, "Amina", PW)
    assert acct.role == "analyst" and acct.countries == frozenset({"ken", "uga"})
    with pytest.raises(AuthenticationError):
        authenticate(engine, "amina", PW + "x")
    with pytest.raises(AuthenticationError):  # same answer for an unknown name
        authenticate(engine, "nobody", PW)


def test_bad_accounts_are_user_errors(engine: Engine) -> None:
    add_user(engine, "amina", "analyst", PW)
    for kwargs in (
        {"name": "amina", "role": "analyst"},  # exists
        {"name": "x y", "role": "analyst"},
        {"name": "bob", "role": "boss"},
        {"name": "bob", "role": "analyst", "countries": "KENYA"},
        {"name": "bob", "role": "analyst", "password": "short"},
        {"name": "bob", "role": "partner", "unsuppressed": True},
    ):
        args = {"password": PW, **kwargs}
        with pytest.raises(QueryError):
            add_user(engine, **args)  # type: ignore[arg-type]


def test_tokens_are_random_hashed_revocable_and_expire(engine: Engine) -> None:
    add_user(engine, "amina", "data_manager", PW, countries="UGA")
    token, info = create_token(engine, "amina", days=1)
    assert token.startswith(f"cor_{info.token_id}_")
    stored = engine.query_rows("SELECT token_hash FROM api_tokens")
    assert all(token.split("_", 2)[2] not in r[0] for r in stored)
    assert account_for_token(engine, token).username == "amina"
    other, _ = create_token(engine, "amina", days=1)
    assert other != token
    with pytest.raises(AuthenticationError):
        account_for_token(engine, token[:-1] + ("A" if token[-1] != "A" else "B"))
    revoke_token(engine, info.token_id)
    with pytest.raises(AuthenticationError):
        account_for_token(engine, token)
    engine.execute("UPDATE api_tokens SET expires_at = ?", (info.created_at - timedelta(days=1),))
    with pytest.raises(AuthenticationError):
        account_for_token(engine, other)


def test_disabling_an_account_ends_its_tokens(engine: Engine) -> None:
    add_user(engine, "amina", "analyst", PW)
    token, _ = create_token(engine, "amina")
    disable_user(engine, "amina")
    with pytest.raises(AuthenticationError):
        account_for_token(engine, token)
    with pytest.raises(AuthenticationError):
        authenticate(engine, "amina", PW)


def test_agreements_grant_only_what_they_name_while_in_force(engine: Engine) -> None:
    add_user(engine, "pa", "partner", PW)
    today = date.today()
    a = add_agreement(
        engine,
        "pa",
        indicators="positivity,first_95",
        by="country,sex",
        period_type="year",
        countries="KEN,UGA",
        valid_from=today - timedelta(days=1),
        valid_to=today + timedelta(days=1),
        created_by="t",
    )
    scope = granted_scope(engine, "pa", ["positivity"], ["country"], "2024")
    assert scope.countries == frozenset({"ken", "uga"})
    for ids, by, period, words in (
        (["second_95"], ["country"], "2024", "second_95"),
        (["positivity"], ["place"], "2024", "place"),
        (["positivity"], [], "2024Q1", "quarter"),
        (["positivity"], [], None, "period"),
    ):
        with pytest.raises(PermissionDenied, match=words):
            granted_scope(engine, "pa", ids, by, period)
    with pytest.raises(PermissionDenied, match="no sharing agreement in force"):
        granted_scope(engine, "pa", ["positivity"], [], "2024", on=today + timedelta(days=2))
    revoke_agreement(engine, a.agreement_id)
    assert list_agreements(engine)[0].as_dict()["status"] == "revoked"
    with pytest.raises(PermissionDenied):
        granted_scope(engine, "pa", ["positivity"], [], "2024")


def test_agreements_are_for_partners_with_named_countries(engine: Engine) -> None:
    add_user(engine, "amina", "analyst", PW)
    add_user(engine, "pa", "partner", PW)
    common = {"indicators": "positivity", "by": "", "period_type": "year", "created_by": "t"}
    d = date(2025, 1, 1)
    with pytest.raises(QueryError, match="not a partner"):
        add_agreement(engine, "amina", countries="KEN", valid_from=d, valid_to=d, **common)
    with pytest.raises(QueryError, match="not \\*"):
        add_agreement(engine, "pa", countries="*", valid_from=d, valid_to=d, **common)
    with pytest.raises(QueryError, match="before it starts"):
        add_agreement(
            engine, "pa", countries="KEN", valid_from=d, valid_to=d - timedelta(days=1), **common
        )
