"""Health, login, imports (read and upload), quarantine and the audit trail."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, StringConstraints

from corridor.access.accounts import MAX_NAME, MAX_PASSWORD, authenticate, failed_login_name
from corridor.access.audit import append, entries
from corridor.access.errors import AuthenticationError
from corridor.access.reads import (
    IMPORT_COLUMNS,
    QUARANTINE_COLUMNS,
    read_imports,
    read_quarantine,
)
from corridor.access.roles import require
from corridor.access.writes import import_files
from corridor.api.auth import AccountDep, EngineDep, end_session, hub_of, start_session
from corridor.api.problems import ERRORS
from corridor.api.respond import JSON_OR_CSV, Format, table_response
from corridor.contract.formats import INTAKE_FORMATS
from corridor.contract.schema import KINDS
from corridor.errors import InputError, Problem

#: intake's refusal names the CLI's option ("use --quarantine"); an upload has a form field
CLI_QUARANTINE: Final = "use --quarantine"
API_QUARANTINE: Final = "use quarantine=true"
#: intake's other messages name the CLI's ``--format X`` and ``--kind X`` (a file given the
#: wrong format or kind: "import it with --format csv", "use --kind flows"); here they are the
#: form fields ``format=X`` and ``kind=X``, for the CLI's choices only
CLI_FORMAT: Final = re.compile(
    r"--format (" + "|".join(re.escape(f) for f in INTAKE_FORMATS) + r")(?![\w-])"
)
CLI_KIND: Final = re.compile(r"--kind (" + "|".join(re.escape(k) for k in KINDS) + r")(?![\w-])")
#: detection's refusal of JSON it does not know, which names the option without a value
CLI_NAME_FORMAT: Final = "name the format with --format"
API_NAME_FORMAT: Final = "name the format with the field format"

router = APIRouter(responses=ERRORS)
public = APIRouter()
FormatQ = Annotated[Format | None, Query(description="json (default) or csv")]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Health(BaseModel):
    status: str
    database: str


@public.get("/health", summary="Liveness: the server answers and reaches its warehouse")
def health(engine: EngineDep) -> Health:
    engine.scalar("SELECT 1", step="health")
    return Health(status="ok", database=engine.name)


class Login(BaseModel):
    # bounded: an account name has at most 64 characters; a password that long is plenty
    username: Annotated[str, StringConstraints(max_length=MAX_NAME)]
    password: Annotated[str, StringConstraints(max_length=MAX_PASSWORD)]


class Session(BaseModel):
    token: str
    expires_at: str
    csrf_token: str


@public.post(
    "/login",
    summary="Exchange a user name and password for a session token (and cookie)",
    responses={k: ERRORS[k] for k in (401, 422, 429)},
)
def login(request: Request, response: Response, engine: EngineDep, body: Login) -> Session:
    hub = hub_of(request)
    address = request.client.host if request.client else "unknown"
    user = body.username.strip().lower()
    at = hub.limiter.attempt(user, address)  # counted as a failure until it succeeds
    try:
        account = authenticate(engine, user, body.password)
    except AuthenticationError:
        who = failed_login_name(engine, user)
        append(engine, who, "api.login_failed", {"address": address}, cells=0)
        raise
    hub.limiter.succeeded(user, address, at)
    append(engine, account.username, "api.login", {"address": address}, cells=0)
    token, info, csrf = start_session(response, request, engine, account)
    expires = info.expires_at.isoformat(timespec="seconds") + "Z" if info.expires_at else ""
    return Session(token=token, expires_at=expires, csrf_token=csrf)


@router.post("/logout", summary="Revoke the session token of this cookie or bearer token")
def logout(request: Request, engine: EngineDep, account: AccountDep) -> JSONResponse:
    response = JSONResponse({"status": "logged out"})
    end_session(response, request, engine)
    append(engine, account.username, "api.logout", {}, cells=0)
    return response


@router.get(
    "/imports", summary="Imports (admins: all; data managers: their own)", responses=JSON_OR_CSV
)
def get_imports(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    format: FormatQ = None,
) -> Response:
    rows = read_imports(engine, account, limit=limit, channel="api")
    return table_response(request, format, rows, IMPORT_COLUMNS, key="imports")


@router.get(
    "/quarantine",
    summary="Quarantined rows of the imports you may see (data managers, admins)",
    responses=JSON_OR_CSV,
)
def get_quarantine(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    format: FormatQ = None,
) -> Response:
    rows = read_quarantine(engine, account, limit=limit, channel="api")
    return table_response(request, format, rows, QUARANTINE_COLUMNS, key="quarantine")


def api_message(message: str) -> str:
    """Intake's message as this route says it: the CLI's options that it names become the
    form's fields ("use --quarantine" -> "use quarantine=true", "--format csv" -> "format=csv",
    "--kind places" -> "kind=places"); the rest of the message is intake's, word for word."""
    message = message.replace(CLI_QUARANTINE, API_QUARANTINE)
    message = message.replace(CLI_NAME_FORMAT, API_NAME_FORMAT)
    return CLI_KIND.sub(r"kind=\1", CLI_FORMAT.sub(r"format=\1", message))


def _rename(p: Problem, shown: dict[str, str]) -> Problem:
    """``p`` naming the uploaded file (not the server's copy) and the form's fields."""
    return dataclasses.replace(
        p, file=shown.get(p.file, Path(p.file).name), reason=api_message(p.reason)
    )


def _save(upload: UploadFile, folder: Path, fallback: str) -> Path:
    name = _SAFE_NAME.sub("_", Path(upload.filename or fallback).name).strip("._") or fallback
    path = folder / name
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            out.write(chunk)
    return path


@router.post(
    "/imports",
    summary="Upload a file: the CLI's validation and atomicity; 422 lists the problems",
    status_code=201,
    responses={
        413: {"description": "upload too large", "content": {"application/problem+json": {}}}
    },
)
def post_import(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    file: Annotated[UploadFile, File(description="the file to import")],
    kind: Annotated[str, Form(description="places, flows, services or cases")],
    format: Annotated[str, Form(description="auto, tidy, dhis2-json, ...")] = "auto",
    mapping: Annotated[UploadFile | None, File(description="a mapping file")] = None,
    dry_run: Annotated[bool, Form()] = False,
    quarantine: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    require(account.role, "write_imports", user=account.username)
    hub = hub_of(request)
    with tempfile.TemporaryDirectory(prefix="corridor-upload-") as tmp:
        folder = Path(tmp)
        path = _save(file, folder, "upload")
        mapping_path = None
        if mapping is not None and (mapping.filename or mapping.size):
            (folder / "m").mkdir()
            mapping_path = _save(mapping, folder / "m", "mapping.yaml")
        shown = {str(path): path.name}  # problems name the uploaded file, not the server's copy
        if mapping_path is not None:
            shown[str(mapping_path)] = mapping_path.name
        try:
            with hub.writer():
                results = import_files(
                    engine,
                    account,
                    hub.settings,
                    [path],
                    kind,
                    fmt=format,
                    mapping=mapping_path,
                    quarantine=quarantine,
                    dry_run=dry_run,
                    channel="api",
                    cache=hub.answers,
                )
        except InputError as exc:
            summary = exc.summary
            for full, name in shown.items():
                summary = summary.replace(full, name) if summary else summary
            if summary:  # intake names the CLI's options; here they are the form's fields
                summary = api_message(summary)
            raise InputError([_rename(p, shown) for p in exc.problems], summary=summary) from None
    out = []
    for r in results:
        d = r.as_dict()
        d["file"] = shown.get(r.file, Path(r.file).name)
        d["problems"] = [
            {"file": q.file, "row": q.row, "column": q.column, "value": q.value, "reason": q.reason}
            for q in (_rename(p, shown) for p in r.problems)
        ]
        out.append(d)
    return {"dry_run": dry_run, "imports": out}


@router.get(
    "/audit",
    summary="The audit trail (admins): who read or wrote what, when",
    responses=JSON_OR_CSV,
)
def get_audit(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    user: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    format: FormatQ = None,
) -> Response:
    require(account.role, "read_audit", user=account.username)
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(UTC).replace(tzinfo=None)
    rows = entries(engine, user=user, action=action, since=since, limit=limit)
    append(
        engine,
        account.username,
        "api.read_audit",
        {"user": user, "action": action, "limit": limit},
        cells=0,
    )
    columns = ["seq", "time", "user", "action", "parameters", "cells", "suppressed", "hash"]
    return table_response(request, format, rows, columns, key="entries")
