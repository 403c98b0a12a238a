"""``corridor users|tokens|agreements|audit|serve``: what a user sees (exit codes, output)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from clihelp import run
from corridor.storage.engine import connect


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "ws"
    assert run(capsys, "init", path).code == 0
    return path


def test_users_tokens_and_agreements(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    added = run(capsys, "-w", ws, "users", "add", "Root", "--role", "admin")
    assert added.code == 0, added.err
    assert added.out.startswith("password: ") and len(added.out.split()[1]) >= 12
    assert (
        run(
            capsys, "-w", ws, "users", "add", "amina", "--role", "analyst", "--countries", "KEN,UGA"
        ).code
        == 0
    )
    listed = run(capsys, "-w", ws, "users", "list", "--format", "csv")
    assert 'amina,analyst,"KEN,UGA",False,False' in listed.out
    token = run(capsys, "-w", ws, "tokens", "create", "amina", "--expires", "7")
    assert token.code == 0 and token.out.count("\n") == 1 and token.out.startswith("cor_")
    token_id = token.out.split("_")[1]
    assert run(capsys, "-w", ws, "tokens", "revoke", token_id).code == 0
    tokens = run(capsys, "-w", ws, "users", "list", "--tokens", "--format", "csv")
    assert f"{token_id},amina,api" in tokens.out and tokens.out.strip().endswith("True")
    assert run(capsys, "-w", ws, "users", "add", "pa", "--role", "partner").code == 0
    agreed = run(
        capsys,
        "-w",
        ws,
        "agreements",
        "add",
        "pa",
        "--indicators",
        "first_95",
        "--by",
        "country",
        "--countries",
        "KEN",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
    )
    assert agreed.code == 0 and agreed.out.strip() == "1"
    shown = run(capsys, "-w", ws, "agreements", "list", "--format", "csv")
    assert "1,pa,first_95,country,year,KEN,2025-01-01,2025-12-31," in shown.out
    assert run(capsys, "-w", ws, "agreements", "revoke", "1").code == 0
    assert run(capsys, "-w", ws, "users", "disable", "amina").code == 0


def test_the_password_can_come_from_standard_input(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a very long password\n"))
    r = run(capsys, "-w", ws, "users", "add", "amina", "--role", "analyst")
    assert r.code == 0 and "password" not in r.out
    from corridor.access import authenticate

    eng = connect(str(ws / "warehouse.duckdb"))
    try:
        assert authenticate(eng, "amina", "a very long password").role == "analyst"
    finally:
        eng.close()


def test_user_errors_exit_2_without_a_traceback(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ("users", "add", "x y", "--role", "admin"),
        ("users", "add", "bob", "--role", "analyst", "--countries", "KENYA"),
        ("users", "disable", "nobody"),
        ("tokens", "create", "nobody"),
        ("tokens", "revoke", "nope"),
        ("agreements", "revoke", "42"),
        (
            "agreements",
            "add",
            "nobody",
            "--indicators",
            "first_95",
            "--countries",
            "KEN",
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
        ),
        ("serve",),  # no admin account yet
    ):
        r = run(capsys, "-w", ws, *args)
        assert r.code == 2, (args, r)
        assert "Traceback" not in r.err and r.err.strip()
    r = run(capsys, "serve", "-w", ws)  # -w after the command too, as the issue writes it
    assert r.code == 2 and "corridor users add NAME --role admin" in r.err


def test_made_up_country_codes_are_refused_and_nothing_is_written(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three capital letters are not enough: KNE (for KEN) would make an account that sees
    nothing, or an agreement that shares with nobody."""
    reason = "is not an ISO 3166-1 alpha-3 country code"
    assert run(capsys, "-w", ws, "users", "add", "pa", "--role", "partner").code == 0
    agreement = ("agreements", "add", "pa", "--indicators", "first_95", "--from", "2025-01-01")
    for args, said in (
        (
            ("users", "add", "bob", "--role", "analyst", "--countries", "KEN,KNE"),
            f"error: KNE {reason} (did you mean KEN for Kenya, KNA for Saint Kitts and Nevis "
            "or MNE for Montenegro?)",
        ),
        (
            ("users", "add", "bob", "--role", "data_manager", "--countries", "ZZZ"),
            f"error: ZZZ {reason}\n",
        ),
        (
            (*agreement, "--to", "2025-12-31", "--countries", "UGA,UGX"),
            f"error: UGX {reason} (did you mean UGA for Uganda?)",
        ),
    ):
        r = run(capsys, "-w", ws, *args)
        assert r.code == 2, (args, r)
        assert said in r.err and "Traceback" not in r.err and r.out == ""
    # nothing written: no account, no agreement, no audit entry beyond the partner's
    users = run(capsys, "-w", ws, "users", "list", "--format", "csv").out
    assert "bob" not in users
    assert run(capsys, "-w", ws, "agreements", "list", "--format", "csv").out.count("\n") == 1
    audit = run(capsys, "-w", ws, "audit", "show", "--format", "csv").out
    assert audit.count("cli.") == 1 and "cli.add_user" in audit
    # Kosovo's user-assigned code, and ISO codes in any case, are accepted
    r = run(capsys, "-w", ws, "users", "add", "bob", "--role", "analyst", "--countries", "xkx,ken")
    assert r.code == 0 and "countries KEN,XKX" in r.err
    r = run(capsys, "-w", ws, *agreement, "--to", "2025-12-31", "--countries", "uga")
    assert r.code == 0 and r.out.strip() == "1"


def test_audit_verify_detects_tampering(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("amina", "bakari", "chausiku"):
        assert run(capsys, "-w", ws, "users", "add", name, "--role", "analyst").code == 0
    ok = run(capsys, "-w", ws, "audit", "verify")
    assert ok.code == 0 and "3 entries" in ok.out
    shown = run(capsys, "-w", ws, "audit", "show", "--format", "csv")
    assert shown.out.count("cli.add_user") == 3
    eng = connect(str(ws / "warehouse.duckdb"))
    try:
        eng.execute("DELETE FROM audit_chain WHERE seq = 2")
    finally:
        eng.close()
    bad = run(capsys, "-w", ws, "audit", "verify")
    assert bad.code == 2 and "entry 2 deleted" in bad.err


def test_a_command_on_a_workspace_held_by_another_process_says_why(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DuckDB file is held by one process (a running server): the CLI fails at once, exit 2,
    saying why and what to do, never a lock error with a traceback."""
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            # held as `corridor serve` holds it: the file open, and the marker beside it
            "import duckdb, sys, time\n"
            "from corridor.storage.duckdb import serving\n"
            "with serving(sys.argv[1], 'pid test, http://127.0.0.1:8421'):\n"
            "    c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)\n",
            str(ws / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        r = run(capsys, "-w", ws, "status")
        assert r.code == 2 and time.perf_counter() - t0 < 10
        assert "held by another process" in r.err and "corridor serve" in r.err
        assert "Traceback" not in r.err
    finally:
        holder.kill()
        holder.wait()
    assert os.path.exists(ws / "warehouse.duckdb")


def test_a_write_that_meets_another_process_at_commit_says_why(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB 2 may open a file that another process writes and fail only when a write commits
    (the lock of the write-ahead log): that is the same user error as at opening, exit 2 with
    what to do, no traceback, and nothing written."""
    import duckdb

    from corridor.storage.duckdb import DuckDBEngine

    assert run(capsys, "-w", ws, "users", "add", "amina", "--role", "analyst").code == 0

    def held(self: DuckDBEngine) -> None:
        raise duckdb.TransactionException(
            'TransactionContext Error: Failed to commit: Could not set lock on file "'
            f'{self.url}.wal": Conflicting lock is held in python3.11 (PID 1783).'
        )

    monkeypatch.setattr(DuckDBEngine, "_commit", held)
    r = run(capsys, "-w", ws, "users", "disable", "amina")
    assert r.code == 2, r.err
    assert "held by another process" in r.err and "Nothing was changed" in r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    monkeypatch.undo()
    listed = run(capsys, "-w", ws, "users", "list", "--format", "csv")
    assert "amina,analyst,*,False,False" in listed.out  # not disabled


def test_the_last_active_admin_cannot_be_disabled(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hub without an active admin cannot be served (`corridor serve` refuses it): the last
    admin is not disabled, exit 2 with what to do; with another admin it is."""
    assert run(capsys, "-w", ws, "users", "add", "root", "--role", "admin").code == 0
    r = run(capsys, "-w", ws, "users", "disable", "root")
    assert r.code == 2 and "last active admin" in r.err and "Traceback" not in r.err
    listed = run(capsys, "-w", ws, "users", "list", "--format", "csv")
    assert "root,admin,*,False,False" in listed.out
    assert run(capsys, "-w", ws, "users", "add", "second", "--role", "admin").code == 0
    assert run(capsys, "-w", ws, "users", "disable", "root").code == 0
    r = run(capsys, "-w", ws, "users", "disable", "second")
    assert r.code == 2 and "last active admin" in r.err


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("4000", "4000"), ("3660.5", "3660.5"), ("1e5", "1e5"), ("0", "0"), ("-1", "-1"),
     ("nan", "nan"), ("abc", "'abc'")],
)  # fmt: skip
def test_a_token_lifetime_out_of_range_is_named_as_typed(
    ws: Path, capsys: pytest.CaptureFixture[str], typed: str, shown: str
) -> None:
    """``--expires 4000`` answered "got 4000.0" (click's float), without saying what is allowed."""
    from corridor.access.accounts import MAX_TOKEN_DAYS

    assert run(capsys, "-w", ws, "users", "add", "bob", "--role", "analyst").code == 0
    r = run(capsys, "-w", ws, "tokens", "create", "bob", "--expires", typed)
    assert r.code == 2 and r.out == ""
    said = " ".join(r.err.split())
    assert f"more than 0 and at most {MAX_TOKEN_DAYS}" in said and said.endswith(f"got {shown}")
    assert f"at most {MAX_TOKEN_DAYS})" in " ".join(  # the help says the same
        run(capsys, "tokens", "create", "--help").out.split()
    )
    ok = run(capsys, "-w", ws, "tokens", "create", "bob", "--expires", "0.5")
    assert ok.code == 0 and ok.out.startswith("cor_")


def _agreement(ws: Path, capsys: pytest.CaptureFixture[str], start: str, end: str) -> Any:
    return run(
        capsys, "-w", ws, "agreements", "add", "pa", "--indicators", "first_95",
        "--countries", "KEN", "--from", start, "--to", end,
    )  # fmt: skip


def test_an_agreement_not_in_force_is_recorded_and_said_so(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agreement that ended before today was recorded with exit 0 and no word (it grants
    nothing); one that starts later says when. Both are recorded (exit 0): an agreement may be
    entered for the record, or ahead of time."""
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()  # the agreements' clock (UTC), with days to spare
    day = timedelta(days=1)
    assert run(capsys, "-w", ws, "users", "add", "pa", "--role", "partner").code == 0
    ended = _agreement(ws, capsys, str(today - 400 * day), str(today - 10 * day))
    assert ended.code == 0 and ended.out.strip() == "1"
    said = " ".join(ended.err.split())
    assert f"warning: agreement 1 is not in force: it ended on {today - 10 * day}" in said, said
    assert "grants pa nothing" in said
    later = _agreement(ws, capsys, str(today + 10 * day), str(today + 400 * day))
    assert later.code == 0 and later.out.strip() == "2"
    said = " ".join(later.err.split())
    assert "warning" not in said
    assert f"agreement 2 is not in force yet: it starts on {today + 10 * day}" in said, said
    now = _agreement(ws, capsys, str(today - 10 * day), str(today + 10 * day))
    assert now.code == 0 and "not in force" not in now.err
    shown = run(capsys, "-w", ws, "agreements", "list", "--format", "csv").out.splitlines()
    assert [line.rsplit(",", 1)[1] for line in shown[1:]] == [
        "not in force",
        "not in force",
        "active",
    ]
