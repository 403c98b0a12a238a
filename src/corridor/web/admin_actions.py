"""What the Admin page's forms change: accounts (add, disable) and sharing agreements (add,
revoke), through the functions ``corridor users`` and ``corridor agreements`` call, with the
same rules and messages, and audited as the CLI's commands are (``web.add_user``,
``web.disable_user``, ``web.add_agreement``, ``web.revoke_agreement``, with the CLI's details).

A generated password is returned to the page once and is never stored in clear nor written to
the audit trail (which holds the account's name, role and countries).
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor.access.accounts import Account, add_user, disable_user, generate_password, now
from corridor.access.agreements import add_agreement, in_force_note, parse_day, revoke_agreement
from corridor.access.audit import append
from corridor.access.errors import PermissionDenied
from corridor.access.roles import require
from corridor.errors import QueryError
from corridor.storage.engine import Engine


@dataclass(frozen=True, slots=True)
class Outcome:
    """A change made: what the page says, and the one-time password of a new account."""

    message: str
    password: str = ""
    username: str = ""


def _admin(account: Account) -> None:
    require(account.role, "manage_accounts", user=account.username)


def add_account(
    engine: Engine,
    account: Account,
    *,
    name: str,
    role: str,
    countries: str,
    unsuppressed: bool = False,
) -> Outcome:
    """``corridor users add`` with a generated password (shown once by the page)."""
    _admin(account)
    password = generate_password()
    # a partner reads what its agreements grant: its countries are ``*`` (a blank field says
    # so). Any other role names them, as ``corridor users add --countries``: a blank field is
    # refused by the domain ("name the countries ..."), never read as every country
    if role == "partner" and not countries.strip():
        countries = "*"
    acct = add_user(engine, name, role, password, countries=countries, unsuppressed=unsuppressed)
    append(engine, account.username, "web.add_user", acct.as_dict(), cells=0)
    shown = acct.as_dict()
    return Outcome(
        f"Added {acct.username} ({acct.role}, countries {shown['countries']}).",
        password,
        acct.username,
    )


def disable_account(engine: Engine, account: Account, *, name: str) -> Outcome:
    """``corridor users disable``: the account is disabled and its tokens (sessions) revoked."""
    _admin(account)
    if name.strip().lower() == account.username:  # (the form does not offer it either)
        raise PermissionDenied(
            "you cannot disable your own account here: it would sign you out for good; "
            "ask another admin"
        )
    acct = disable_user(engine, name)
    append(engine, account.username, "web.disable_user", {"username": acct.username})
    return Outcome(f"Disabled {acct.username}; its tokens and sessions are revoked.")


def add_sharing(
    engine: Engine,
    account: Account,
    *,
    partner: str,
    indicators: str,
    by: str,
    period_type: str,
    countries: str,
    valid_from: str,
    valid_to: str,
) -> Outcome:
    """``corridor agreements add``."""
    _admin(account)
    a = add_agreement(
        engine,
        partner,
        indicators=indicators,
        by=by,
        period_type=period_type,
        countries=countries,
        valid_from=parse_day(valid_from.strip(), "valid from"),
        valid_to=parse_day(valid_to.strip(), "valid to"),
        created_by=account.username,
    )
    append(engine, account.username, "web.add_agreement", a.as_dict())
    said = in_force_note(
        a, now().date()
    )  # (an ended agreement grants nothing: said, as by the CLI)
    extra = "" if said is None else f" {said[0].capitalize()}: {said[1]}."
    return Outcome(f"Agreement {a.agreement_id} recorded for {a.partner}.{extra}")


def revoke_sharing(engine: Engine, account: Account, *, agreement_id: str) -> Outcome:
    """``corridor agreements revoke``: the agreement grants nothing from now on."""
    _admin(account)
    try:
        number = int(agreement_id)
    except ValueError:
        raise QueryError(f"agreement id {agreement_id!r}: expected a number") from None
    revoke_agreement(engine, number)
    append(engine, account.username, "web.revoke_agreement", {"id": number})
    return Outcome(f"Revoked agreement {number}.")
