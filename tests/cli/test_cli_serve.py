"""``corridor serve``: which proxies it trusts (``--trusted-proxies``, the setting
``api_trusted_proxies``), what it hands uvicorn, and what a user sees for a bad value."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from clihelp import run
from corridor.access import add_user, create_token
from corridor.workspace import init_workspace, open_workspace
from served import free_port

PASSWORD = "correct horse battery"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace that can be served: an admin account ``root``."""
    folder = tmp_path / "ws"
    w = init_workspace(folder)
    try:
        add_user(w.engine, "root", "admin", PASSWORD)
    finally:
        w.close()
    return folder


def _set(ws: Path, line: str) -> None:
    with (ws / "corridor.toml").open("a", encoding="utf-8") as f:  # in [settings]
        f.write(line + "\n")


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``uvicorn.run`` replaced: the keyword arguments of each call (nothing is served)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(kw))
    for name in ("CORRIDOR_API_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    return calls


def _serve(capsys: pytest.CaptureFixture[str], ws: Path, *args: str) -> Any:
    return run(capsys, "-w", ws, "serve", "--prepare-seconds", "0", *args)


def test_no_proxy_is_trusted_by_default(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not uvicorn's default (trust 127.0.0.1), nor uvicorn's $FORWARDED_ALLOW_IPS."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    r = _serve(capsys, ws)
    assert r.code == 0, r.err
    assert len(uvicorn_calls) == 1
    assert uvicorn_calls[0]["proxy_headers"] is False
    assert "X-Forwarded-For" not in r.err


def test_trusted_proxies_from_the_settings_file_the_environment_and_the_flag(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def trusted() -> Any:
        kw = uvicorn_calls.pop()
        return kw["forwarded_allow_ips"] if kw["proxy_headers"] else None

    _set(ws, 'api_trusted_proxies = ["127.0.0.1", "10.0.0.0/24"]')
    r = _serve(capsys, ws)
    assert r.code == 0, r.err
    assert trusted() == ["127.0.0.1", "10.0.0.0/24"]
    assert "X-Forwarded-For when the peer is 127.0.0.1, 10.0.0.0/24" in r.err
    monkeypatch.setenv("CORRIDOR_API_TRUSTED_PROXIES", "::1")
    assert _serve(capsys, ws).code == 0
    assert trusted() == ["::1"]
    r = _serve(capsys, ws, "--trusted-proxies", " 127.0.0.1 ,10.0.0.5,")
    assert r.code == 0, r.err
    assert trusted() == ["127.0.0.1", "10.0.0.5"]
    assert _serve(capsys, ws, "--trusted-proxies", "").code == 0  # none, whatever the settings
    assert trusted() is None


@pytest.mark.postgres
def test_every_worker_process_gets_the_trusted_proxies(
    tmp_path: Path,
    pg_database: str,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--workers N (PostgreSQL): uvicorn gets the same options for its worker processes, and
    the workers' own settings (from the environment) agree."""
    folder = tmp_path / "ws"
    w = init_workspace(folder, db=pg_database)
    try:
        add_user(w.engine, "root", "admin", PASSWORD)
    finally:
        w.close()
    for name in ("CORRIDOR_WORKSPACE", "CORRIDOR_DB", "CORRIDOR_API_TRUSTED_PROXIES"):
        monkeypatch.setenv(name, "")  # serve sets them for its workers; restored after
    r = run(
        capsys,
        "-w",
        folder,
        "--db",
        pg_database,
        "serve",
        "--workers",
        "2",
        "--trusted-proxies",
        "10.0.0.0/8",
    )
    assert r.code == 0, r.err
    (kw,) = uvicorn_calls
    assert kw["workers"] == 2 and kw["factory"] is True
    assert kw["proxy_headers"] is True and kw["forwarded_allow_ips"] == ["10.0.0.0/8"]
    assert os.environ["CORRIDOR_API_TRUSTED_PROXIES"] == "10.0.0.0/8"


BAD = [
    ("10.0.0.x", "is not an IP address or network"),
    ("localhost", "host names are not looked up"),
    ("*", "0.0.0.0/0,::/0"),
    ("10.0.0.5/24", "host bits are set (the network is 10.0.0.0/24)"),
    ("10.0.0.0/33", "is not an IP network"),
]


@pytest.mark.parametrize(("value", "reason"), BAD)
def test_a_bad_trusted_proxies_flag_is_a_usage_error(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    value: str,
    reason: str,
) -> None:
    r = _serve(capsys, ws, "--trusted-proxies", f"127.0.0.1,{value}")
    assert r.code == 2, r
    assert "'--trusted-proxies'" in r.err and repr(value) in r.err and reason in r.err, r.err
    assert "Traceback" not in r.err and not uvicorn_calls


@pytest.mark.parametrize(("value", "reason"), BAD)
def test_a_bad_api_trusted_proxies_setting_is_refused(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    reason: str,
) -> None:
    settings = (ws / "corridor.toml").read_text(encoding="utf-8")
    _set(ws, f'api_trusted_proxies = ["{value}"]')
    r = _serve(capsys, ws)
    assert r.code == 2, r
    assert "'api_trusted_proxies'" in r.err and "corridor.toml" in r.err, r.err
    assert repr(value) in r.err and reason in r.err and "Traceback" not in r.err, r.err
    (ws / "corridor.toml").write_text(settings, encoding="utf-8")
    monkeypatch.setenv("CORRIDOR_API_TRUSTED_PROXIES", f"::1, {value}")
    r = _serve(capsys, ws)
    assert r.code == 2, r
    assert "'api_trusted_proxies' from CORRIDOR_API_TRUSTED_PROXIES" in r.err, r.err
    assert repr(value) in r.err and reason in r.err and "Traceback" not in r.err, r.err
    assert not uvicorn_calls


def test_a_setting_of_the_wrong_type_is_refused(
    ws: Path, capsys: pytest.CaptureFixture[str], uvicorn_calls: list[dict[str, Any]]
) -> None:
    _set(ws, "api_trusted_proxies = 127")
    r = _serve(capsys, ws)
    assert r.code == 2 and "expected a list of IP addresses or networks, got 127" in r.err, r
    assert not uvicorn_calls


@pytest.mark.parametrize(
    ("args", "address"), [((), "127.0.0.1"), (("--trusted-proxies", "127.0.0.1"), "203.0.113.9")]
)
def test_the_served_hub_audits_the_resolved_address(
    ws: Path, args: tuple[str, ...], address: str
) -> None:
    """End to end, `corridor serve` in its own process: a failed login that claims
    X-Forwarded-For: 203.0.113.9 is audited under the connection's address unless the
    connection comes from a trusted proxy."""
    opened = open_workspace(ws)
    try:
        token, _ = create_token(opened.engine, "root")
    finally:
        opened.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_")}
    env["FORWARDED_ALLOW_IPS"] = "*"  # uvicorn's own variable: not read by corridor serve
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from corridor.cli.main import main; main()",
            "-w",
            str(ws),
            "serve",
            "--port",
            str(port),
            "--prepare-seconds",
            "0",
            *args,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        failed = httpx.post(
            f"{base}/login",
            json={"username": "root", "password": "wrong"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert failed.status_code == 401, failed.text
        audit = httpx.get(
            f"{base}/audit",
            params={"action": "api.login_failed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert audit.status_code == 200, audit.text
        assert [e["parameters"]["address"] for e in audit.json()["entries"]] == [address]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
