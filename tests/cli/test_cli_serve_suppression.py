"""``corridor serve`` and ``disclosure_method = suppression``: suppression protects one output,
not the series of answers that the HTTP API and the dashboard give (docs/disclosure.md), so
serve refuses such a workspace unless the operator passes ``--allow-suppression``, and then
logs a warning."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from clihelp import run
from corridor.access import add_user
from corridor.workspace import init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace that can be served (an admin account)."""
    folder = tmp_path / "ws"
    w = init_workspace(folder)
    try:
        add_user(w.engine, "root", "admin", "correct horse battery")
    finally:
        w.close()
    return folder


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``uvicorn.run`` replaced: the apps it was given (nothing is served)."""
    calls: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(app))
    monkeypatch.delenv("CORRIDOR_DISCLOSURE_METHOD", raising=False)
    return calls


def _suppression(ws: Path) -> None:
    with (ws / "corridor.toml").open("a", encoding="utf-8") as f:  # in [settings]
        f.write('disclosure_method = "suppression"\n')


def _serve(capsys: pytest.CaptureFixture[str], ws: Path, *args: str) -> Any:
    return run(capsys, "-w", ws, "serve", "--prepare-seconds", "0", *args)


def test_serve_refuses_a_workspace_under_suppression(
    ws: Path, capsys: pytest.CaptureFixture[str], served: list[Any]
) -> None:
    _suppression(ws)
    r = _serve(capsys, ws)
    assert r.code == 2, r.err
    assert not served
    err = " ".join(r.err.split())
    assert "disclosure_method = suppression" in err
    assert f"set in {ws / 'corridor.toml'}" in err  # where it is set
    assert "not a series of outputs" in err  # why
    assert 'disclosure_method = "cellkey"' in err  # how to proceed
    assert "--allow-suppression" in err
    assert "Traceback" not in r.err


def test_serve_refuses_suppression_set_in_the_environment(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    served: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORRIDOR_DISCLOSURE_METHOD", "suppression")
    r = _serve(capsys, ws)
    assert r.code == 2, r.err
    assert not served
    assert "environment variable CORRIDOR_DISCLOSURE_METHOD" in " ".join(r.err.split())
    assert "unset CORRIDOR_DISCLOSURE_METHOD" in " ".join(r.err.split())


def test_allow_suppression_serves_and_logs_a_warning(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    served: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _suppression(ws)
    with caplog.at_level(logging.WARNING, logger="corridor.serve"):
        r = _serve(capsys, ws, "--allow-suppression")
    assert r.code == 0, r.err
    assert len(served) == 1
    assert served[0].state.hub.settings.disclosure_method == "suppression"
    warnings = [
        rec.getMessage()
        for rec in caplog.records
        if rec.name == "corridor.serve" and rec.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "only within one output" in warnings[0]


def test_the_cellkey_method_serves_without_a_word(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    served: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for args in ((), ("--allow-suppression",)):  # the flag changes nothing then
        with caplog.at_level(logging.WARNING, logger="corridor.serve"):
            r = _serve(capsys, ws, *args)
        assert r.code == 0, r.err
        assert "suppression" not in r.err
    assert len(served) == 2
    assert not [rec for rec in caplog.records if rec.name == "corridor.serve"]


def test_the_flags_help_says_the_guarantee_holds_within_one_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = run(capsys, "serve", "--help")
    assert r.code == 0
    text = " ".join(r.out.split())
    assert "--allow-suppression" in text
    assert "only within one output" in text
