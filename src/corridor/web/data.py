"""Data (data managers and admins): the imports with their provenance (file, hash, who, when,
rows), an upload with a dry run first and the problems row by row, and quarantine review.

The upload goes through the API's import route (``data_view.upload``), so the problems are the
CLI's and a rejected file changes nothing. The form is a plain multipart POST with the CSRF
field (works without JavaScript).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import Response

from corridor.access.roles import require
from corridor.api.auth import EngineDep
from corridor.web.data_view import UploadOutcome, data_view, upload
from corridor.web.session import PageAccount, check_csrf
from corridor.web.site import page_router, render

router = page_router()


def _page(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    outcome: UploadOutcome | None = None,
) -> Response:
    view = data_view(engine, account)
    return render(
        request,
        "data.html.j2",
        {"title": "Data", "view": view, "outcome": outcome},
        account=account,
        active="data",
    )


@router.get("/data")
def data_page(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    require(account.role, "read_imports", user=account.username)
    return _page(request, engine, account)


@router.post("/data/upload")
def data_upload(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "auto",
    action: Annotated[str, Form()] = "dry_run",
    quarantine: Annotated[bool, Form()] = False,
) -> Response:
    check_csrf(request, csrf)
    require(account.role, "write_imports", user=account.username)
    outcome = upload(
        request,
        engine,
        account,
        file,
        kind,
        fmt=format,
        dry_run=action != "import",
        quarantine=quarantine,
    )
    # the page renders the outcome either way (a rejected file is an answer, not a failure)
    return _page(request, engine, account, outcome)
