"""``corridor users|tokens|agreements|audit``: accounts, tokens, sharing agreements, the audit
trail. Heavy imports (argon2, the warehouse) happen inside the commands, so --help stays fast."""

from __future__ import annotations

import sys

import click

from corridor.cli.common import err_console, print_table, to_csv, to_json, workspace, write_output

_ROLES = ("admin", "data_manager", "analyst", "partner")
_FORMATS = click.Choice(["table", "csv", "json"])


def _show(rows: list[dict[str, object]], columns: list[str], fmt: str, title: str) -> None:
    if fmt == "json":
        write_output(to_json(rows), None)
    elif fmt == "csv":
        write_output(to_csv(rows, columns), None)
    else:
        print_table(rows, columns, title=title)


def _password_from_stdin() -> str | None:
    """The first line of standard input when it is not a terminal (piped), else None."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return None
        line = sys.stdin.readline().rstrip("\r\n")
    except (OSError, ValueError):  # no readable standard input (closed, or captured)
        return None
    return line or None


@click.group("users")
def users_group() -> None:
    """Accounts of the data hub: add, list, disable."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(_ROLES), help="What the account may do.")
@click.option(
    "--countries",
    default="*",
    show_default=True,
    metavar="ISO3,ISO3|*",
    help="Countries the account reads (and, for a data manager, imports): ISO 3166-1 alpha-3 "
    "codes, or * for all. Partners: from their sharing agreements.",
)
@click.option(
    "--unsuppressed",
    is_flag=True,
    help="Analysts: allow reads without disclosure control (each one is audited).",
)
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, countries: str, unsuppressed: bool) -> None:
    """Add an account. The password is read from standard input, or generated and printed once."""
    from corridor.access import add_user, audit_append, generate_password

    ws = workspace(ctx)
    given = _password_from_stdin()
    password = given or generate_password()
    acct = add_user(ws.engine, name, role, password, countries=countries, unsuppressed=unsuppressed)
    audit_append(ws.engine, ws.settings.user, "cli.add_user", acct.as_dict(), cells=0)
    err_console.print(
        f"added {acct.username} ({acct.role}, countries {acct.as_dict()['countries']})",
        highlight=False,
    )
    if given is None:
        click.echo(f"password: {password}")
        err_console.print("the password is shown once: keep it somewhere safe", highlight=False)


@users_group.command("list")
@click.option("--tokens", is_flag=True, help="List the accounts' tokens instead.")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def users_list(ctx: click.Context, tokens: bool, fmt: str) -> None:
    """List the accounts (or their tokens, never the secrets)."""
    from corridor.access import list_tokens, list_users

    ws = workspace(ctx)
    if tokens:
        rows: list[dict[str, object]] = [
            {
                "id": t.token_id,
                "username": t.username,
                "purpose": t.purpose,
                "created_at": t.created_at.isoformat(timespec="seconds"),
                "expires_at": t.expires_at.isoformat(timespec="seconds") if t.expires_at else "",
                "revoked": t.revoked,
            }
            for t in list_tokens(ws.engine)
        ]
        _show(
            rows,
            ["id", "username", "purpose", "created_at", "expires_at", "revoked"],
            fmt,
            "tokens",
        )
        return
    rows = [a.as_dict() for a in list_users(ws.engine)]
    _show(rows, ["username", "role", "countries", "unsuppressed", "disabled"], fmt, "accounts")


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Disable an account and revoke its tokens."""
    from corridor.access import audit_append, disable_user

    ws = workspace(ctx)
    acct = disable_user(ws.engine, name)
    audit_append(ws.engine, ws.settings.user, "cli.disable_user", {"username": acct.username})
    err_console.print(f"disabled {acct.username}; its tokens are revoked", highlight=False)


@click.group("tokens")
def tokens_group() -> None:
    """API tokens: create (printed once), revoke."""


@tokens_group.command("create")
@click.argument("name")
@click.option(
    "--expires",
    default="90",
    show_default=True,
    metavar="DAYS",
    help="Days until the token expires (more than 0, at most 3660).",
)
@click.pass_context
def tokens_create(ctx: click.Context, name: str, expires: str) -> None:
    """Create a token for account NAME; prints the token alone on standard output, once."""
    from corridor.access import audit_append, create_token
    from corridor.access.accounts import parse_token_days

    # a refusal names the value as typed ("got 4000", not click's float "4000.0")
    days = parse_token_days(expires)
    ws = workspace(ctx)
    token, info = create_token(ws.engine, name, days=days)
    audit_append(
        ws.engine,
        ws.settings.user,
        "cli.create_token",
        {"username": info.username, "token_id": info.token_id, "expires_days": days},
    )
    click.echo(token)
    err_console.print(
        f"token {info.token_id} for {info.username}, expires "
        f"{info.expires_at.isoformat(timespec='minutes') if info.expires_at else 'never'} UTC; "
        "it is shown once",
        highlight=False,
    )


@tokens_group.command("revoke")
@click.argument("token_id")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token by its id (see `corridor users list --tokens`)."""
    from corridor.access import audit_append, revoke_token

    ws = workspace(ctx)
    revoke_token(ws.engine, token_id)
    audit_append(ws.engine, ws.settings.user, "cli.revoke_token", {"token_id": token_id})
    err_console.print(f"revoked token {token_id}", highlight=False)


@click.group("agreements")
def agreements_group() -> None:
    """Sharing agreements: what a partner may read, for which countries, from when to when."""


@agreements_group.command("add")
@click.argument("partner")
@click.option("--indicators", required=True, metavar="ID[,ID...]", help="Indicators granted.")
@click.option(
    "--by", default="", metavar="DIM[,DIM...]", help="Disaggregations granted (default: none)."
)
@click.option(
    "--period-type",
    type=click.Choice(["year", "quarter", "month"]),
    default="year",
    show_default=True,
)
@click.option(
    "--countries",
    required=True,
    metavar="ISO3,ISO3",
    help="Countries granted (ISO 3166-1 alpha-3 codes).",
)
@click.option("--from", "valid_from", required=True, metavar="DATE", help="First valid day.")
@click.option("--to", "valid_to", required=True, metavar="DATE", help="Last valid day.")
@click.pass_context
def agreements_add(
    ctx: click.Context,
    partner: str,
    indicators: str,
    by: str,
    period_type: str,
    countries: str,
    valid_from: str,
    valid_to: str,
) -> None:
    """Record an agreement granting PARTNER agreed aggregates."""
    from corridor.access import add_agreement, audit_append
    from corridor.access.accounts import now
    from corridor.access.agreements import in_force_note, parse_day

    ws = workspace(ctx)
    a = add_agreement(
        ws.engine,
        partner,
        indicators=indicators,
        by=by,
        period_type=period_type,
        countries=countries,
        valid_from=parse_day(valid_from, "--from"),
        valid_to=parse_day(valid_to, "--to"),
        created_by=ws.settings.user,
    )
    audit_append(ws.engine, ws.settings.user, "cli.add_agreement", a.as_dict())
    click.echo(str(a.agreement_id))
    err_console.print(f"agreement {a.agreement_id} recorded for {a.partner}", highlight=False)
    # recording a past or future agreement can be meant (for the record, or ahead of time), so
    # it is said, not refused: an agreement that has already ended grants nothing
    said = in_force_note(a, now().date())
    if said is not None:
        level, text = said
        prefix = "[bold yellow]warning:[/]" if level == "warning" else "note:"
        err_console.print(f"{prefix} {text}", highlight=False)


@agreements_group.command("list")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def agreements_list(ctx: click.Context, fmt: str) -> None:
    """List the agreements and whether each is in force today."""
    from corridor.access import list_agreements

    ws = workspace(ctx)
    rows: list[dict[str, object]] = [a.as_dict() for a in list_agreements(ws.engine)]
    cols = [
        "id",
        "partner",
        "indicators",
        "by",
        "period_type",
        "countries",
        "valid_from",
        "valid_to",
        "status",
    ]
    _show(rows, cols, fmt, "sharing agreements")


@agreements_group.command("revoke")
@click.argument("agreement_id", type=int)
@click.pass_context
def agreements_revoke(ctx: click.Context, agreement_id: int) -> None:
    """Revoke an agreement: it grants nothing from now on."""
    from corridor.access import audit_append, revoke_agreement

    ws = workspace(ctx)
    revoke_agreement(ws.engine, agreement_id)
    audit_append(ws.engine, ws.settings.user, "cli.revoke_agreement", {"id": agreement_id})
    err_console.print(f"revoked agreement {agreement_id}", highlight=False)


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail: show it, verify it."""


@audit_group.command("verify")
@click.pass_context
def audit_verify_command(ctx: click.Context) -> None:
    """Recompute the chain; exit 2 naming every edited or deleted entry."""
    from corridor.access import audit_verify
    from corridor.errors import CorridorError

    ws = workspace(ctx)
    result = audit_verify(ws.engine)
    if not result.ok:
        raise CorridorError(
            f"the audit trail has been tampered with ({result.entries} entries checked):\n  "
            + "\n  ".join(result.problems)
        )
    click.echo(f"audit trail intact: {result.entries} entries, every hash and link checked")


@audit_group.command("show")
@click.option("--user", help="Only this account's entries.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def audit_show(ctx: click.Context, user: str | None, limit: int, fmt: str) -> None:
    """The latest entries: who read or wrote what, when, how many cells, whether suppressed."""
    from corridor.access.audit import entries

    ws = workspace(ctx)
    rows = entries(ws.engine, user=user, limit=limit)
    cols = ["seq", "time", "user", "action", "parameters", "cells", "suppressed"]
    _show(rows, cols, fmt, "audit trail")
