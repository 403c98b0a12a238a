"""Admin (admins only): accounts, sharing agreements and the audit trail with search.

Read from ``corridor.access`` (``admin_view``); reading the audit trail is itself audited.
Accounts and agreements are made with the CLI (``corridor users add``, ``corridor agreements
add``), which prints one-time passwords and tokens where only the admin sees them.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from corridor.access.roles import require
from corridor.api.auth import EngineDep
from corridor.web.admin_view import admin_view, search_from
from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()


@router.get("/admin")
def admin_page(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    require(account.role, "manage_accounts", user=account.username)
    view = admin_view(engine, account, search_from(request.query_params))
    return render(
        request,
        "admin.html.j2",
        {"title": "Admin", "view": view},
        account=account,
        active="admin",
    )
