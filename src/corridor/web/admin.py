"""Admin (admins only): accounts, sharing agreements and the audit trail with search.

Read from ``corridor.access`` (``admin_view``); reading the audit trail is itself audited.
Plain POST forms (with the session's CSRF field) add and disable accounts and add and revoke
sharing agreements through ``admin_actions``, with the CLI's rules and messages: a refused change
shows the page again with the message and a 4xx status. A new account's generated password is
shown once, on the answer to its form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from corridor.access.accounts import Account
from corridor.access.agreements import PERIOD_TYPES
from corridor.access.roles import ROLES, require
from corridor.api.auth import EngineDep, hub_of
from corridor.api.problems import status_of
from corridor.errors import CorridorError
from corridor.storage.engine import Engine
from corridor.web.admin_actions import (
    Outcome,
    add_account,
    add_sharing,
    disable_account,
    revoke_sharing,
)
from corridor.web.admin_view import AuditSearch, admin_view, search_from
from corridor.web.session import PageAccount, check_csrf
from corridor.web.site import page_router, render

router = page_router()
Field = Annotated[str, Form()]


def _page(
    request: Request,
    engine: Engine,
    account: Account,
    *,
    search: AuditSearch | None = None,
    outcome: Outcome | None = None,
    error: str = "",
    form: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = admin_view(engine, account, search or AuditSearch())
    return render(
        request,
        "admin.html.j2",
        {
            "title": "Admin",
            "view": view,
            "outcome": outcome,
            "error": error,
            "form": form,  # which form the outcome or error belongs to
            "values": values or {},
            "roles": ROLES,
            "period_types": PERIOD_TYPES,
        },
        account=account,
        active="admin",
        status=status,
    )


@router.get("/admin")
def admin_page(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    require(account.role, "manage_accounts", user=account.username)
    return _page(request, engine, account, search=search_from(request.query_params))


def _change(
    request: Request,
    engine: Engine,
    account: Account,
    csrf: str,
    form: str,
    values: dict[str, str],
    change: Callable[[], Outcome],
) -> Response:
    """Check the CSRF field and the role (403 page), make the change, and show the page with
    its outcome, or with the refusal's message and its status (400 or 404)."""
    check_csrf(request, csrf)
    require(account.role, "manage_accounts", user=account.username)
    try:
        outcome = change()
    except CorridorError as exc:
        return _page(
            request,
            engine,
            account,
            error=str(exc),
            form=form,
            values=values,
            status=status_of(exc),
        )
    return _page(request, engine, account, outcome=outcome, form=form)


@router.post("/admin/accounts")
def admin_add_account(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    csrf: Field = "",
    username: Field = "",
    role: Field = "",
    countries: Field = "",
    unsuppressed: Annotated[bool, Form()] = False,
) -> Response:
    values = {"username": username, "role": role, "countries": countries}
    return _change(
        request,
        engine,
        account,
        csrf,
        "add-account",
        values,
        lambda: add_account(
            engine,
            account,
            name=username,
            role=role,
            countries=countries,
            unsuppressed=unsuppressed,
        ),
    )


@router.post("/admin/accounts/disable")
def admin_disable_account(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    csrf: Field = "",
    username: Field = "",
) -> Response:

    def disable() -> Outcome:
        outcome = disable_account(engine, account, name=username)
        # its tokens are revoked in the warehouse; the ones this server has in memory go too
        hub_of(request).tokens.forget_account(username.strip().lower())
        return outcome

    return _change(
        request, engine, account, csrf, "disable-account", {"username": username}, disable
    )


@router.post("/admin/agreements")
def admin_add_agreement(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    csrf: Field = "",
    partner: Field = "",
    indicators: Field = "",
    by: Field = "",
    period_type: Field = "year",
    countries: Field = "",
    valid_from: Field = "",
    valid_to: Field = "",
) -> Response:
    values = {
        "partner": partner,
        "indicators": indicators,
        "by": by,
        "period_type": period_type,
        "countries": countries,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    return _change(
        request,
        engine,
        account,
        csrf,
        "add-agreement",
        values,
        lambda: add_sharing(engine, account, **values),
    )


@router.post("/admin/agreements/revoke")
def admin_revoke_agreement(
    request: Request, engine: EngineDep, account: PageAccount, csrf: Field = "", id: Field = ""
) -> Response:
    return _change(
        request,
        engine,
        account,
        csrf,
        "revoke-agreement",
        {"id": id},
        lambda: revoke_sharing(engine, account, agreement_id=id),
    )
