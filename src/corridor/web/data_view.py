"""The Data page's answers: imports with their provenance and quarantined rows
(``corridor.access.reads``), and an upload that goes through the API's own import route
(``corridor.api.routes_data.post_import``): the same validation, the same problems as the CLI
(``corridor.errors.Problem``), the same atomicity (a rejected file changes nothing) and the same
country check. Data managers and admins only (the domain's ``require`` says so, as in the API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import Request, UploadFile

from corridor.access.accounts import Account
from corridor.access.reads import IMPORT_COLUMNS, QUARANTINE_COLUMNS, read_imports, read_quarantine
from corridor.access.roles import require
from corridor.api.routes_data import API_NAME_FORMAT, API_QUARANTINE, CLI_QUARANTINE
from corridor.contract.formats import INTAKE_FORMATS
from corridor.contract.schema import KINDS
from corridor.errors import CorridorError, InputError, Problem
from corridor.storage.engine import Engine

#: formats offered in the upload form: the CLI's ``--format`` choices (``auto`` detects)
UPLOAD_FORMATS: Final = INTAKE_FORMATS
#: columns of the imports table on the page (all of IMPORT_COLUMNS are in the CSV of the API)
IMPORT_SHOWN: Final = (
    "import_id",
    "file_name",
    "kind",
    "format",
    "user_name",
    "imported_at",
    "rows_read",
    "rows_new",
    "rows_replaced",
    "rows_unchanged",
    "rows_quarantined",
    "status",
    "sha256",
)
PROBLEMS_SHOWN: Final = 500
#: intake's refusal names the CLI's option (CLI_QUARANTINE; the API's import route, which the
#: page calls, its form field); the page has a checkbox for it instead (data.html.j2:
#: "Quarantine bad rows (import the good ones)")
PAGE_QUARANTINE: Final = "tick 'Quarantine bad rows'"
#: the API's form fields that intake's messages name (``format=X``, ``kind=X``: the route
#: rewrites the CLI's ``--format X`` and ``--kind X``) as the page's selects, by their labels
#: (data.html.j2: "Format", "Kind"); the choices are the selects' own values
PAGE_SELECTS: Final = {"format": "Format", "kind": "Kind"}
_API_FIELD: Final = re.compile(
    r"(?P<verb>import it with |use )?\b(?P<field>format|kind)=(?P<value>"
    + "|".join(re.escape(v) for v in sorted({*UPLOAD_FORMATS, *KINDS}, key=len, reverse=True))
    + r")(?![\w-])"
)
_OR_WITH: Final = re.compile(r"\(or with (?=Format ')")
PAGE_NAME_FORMAT: Final = "choose the file's format under 'Format'"


@dataclass(slots=True)
class DataView:
    imports: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    kinds: tuple[str, ...] = KINDS
    formats: tuple[str, ...] = UPLOAD_FORMATS


@dataclass(slots=True)
class UploadOutcome:
    """What an upload did: ``ok`` with the imports (dry run or real), or the problems."""

    ok: bool
    dry_run: bool
    file_name: str
    kind: str
    imports: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0
    message: str = ""


def data_view(engine: Engine, account: Account, *, limit: int = 100) -> DataView:
    require(account.role, "read_imports", user=account.username)
    imports = read_imports(engine, account, limit=limit, channel="web")
    quarantine = read_quarantine(engine, account, limit=1000, channel="web")
    for row in imports:
        row["sha256_short"] = str(row.get("sha256") or "")[:12]
    return DataView(imports, quarantine)


def problem_row(p: Problem) -> dict[str, Any]:
    """One problem as the page shows it, and as the CLI prints it (``text``)."""
    return {
        "file": p.file,
        "row": p.row,
        "column": p.column,
        "value": p.value,
        "reason": page_message(p.reason),
        "text": page_message(p.format()),
    }


def page_message(message: str) -> str:
    """A refusal as the page says it: intake's "use --quarantine" (the CLI's option, or the
    API's field) becomes the form's checkbox, and the API's fields ``format=X`` and ``kind=X``
    (which the import route makes of the CLI's ``--format X`` and ``--kind X``) the selects:
    "import it with format=csv (or with format=auto, ...)" -> "choose Format 'csv' (or Format
    'auto', ...)", "use kind=flows" -> "choose Kind 'flows'". The rest of the message is
    intake's, word for word."""
    message = message.replace(CLI_QUARANTINE, PAGE_QUARANTINE)
    message = message.replace(API_QUARANTINE, PAGE_QUARANTINE)
    message = message.replace(API_NAME_FORMAT, PAGE_NAME_FORMAT)
    message = _API_FIELD.sub(_select, message)
    return _OR_WITH.sub("(or ", message)


def _select(m: re.Match[str]) -> str:
    named = f"{PAGE_SELECTS[m.group('field')]} {m.group('value')!r}"
    return f"choose {named}" if m.group("verb") else named


def upload(
    request: Request,
    engine: Engine,
    account: Account,
    file: UploadFile,
    kind: str,
    *,
    fmt: str = "auto",
    dry_run: bool = True,
    quarantine: bool = False,
) -> UploadOutcome:
    """Import (or dry-run) ``file`` through the API's import route; a CorridorError other than
    bad rows (wrong kind, outside the account's countries) comes back as ``message``."""
    from corridor.api.routes_data import post_import

    require(account.role, "write_imports", user=account.username)
    name = file.filename or "upload"
    try:
        answer = post_import(
            request,
            engine,
            account,
            file=file,
            kind=kind,
            format=fmt,
            mapping=None,
            dry_run=dry_run,
            quarantine=quarantine,
        )
    except InputError as exc:
        problems = [problem_row(p) for p in exc.problems]
        return UploadOutcome(
            ok=False,
            dry_run=dry_run,
            file_name=name,
            kind=kind,
            problems=problems[:PROBLEMS_SHOWN],
            problem_count=len(problems),
            message=page_message(exc.summary or str(exc)),
        )
    except CorridorError as exc:
        return UploadOutcome(
            ok=False, dry_run=dry_run, file_name=name, kind=kind, message=page_message(str(exc))
        )
    imports = answer["imports"]
    problems = [p for i in imports for p in i.get("problems", [])]
    for p in problems:
        p["reason"] = page_message(p["reason"])
        p["text"] = Problem(p["file"], p["row"], p["column"], p["value"], p["reason"]).format()
    return UploadOutcome(
        ok=True,
        dry_run=dry_run,
        file_name=name,
        kind=kind,
        imports=imports,
        problems=problems[:PROBLEMS_SHOWN],
        problem_count=len(problems),
    )


__all__ = [
    "IMPORT_COLUMNS",
    "QUARANTINE_COLUMNS",
    "DataView",
    "UploadOutcome",
    "data_view",
    "page_message",
    "upload",
]
