"""Numbers out of range on the command line are usage errors (exit 2, the option named), never
an internal error from the database or a library (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clihelp import run
from corridor import init_workspace


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["audit", "show", "--limit", "-1"], "'--limit'"),
        (["demo", "--seed", "-1"], "'--seed'"),
        (["report", "--seed", "-1"], "'--seed'"),
    ],
)
def test_negative_numbers_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    init_workspace(tmp_path / "ws").close()
    if args[0] == "demo":
        args = [*args, "--out", str(tmp_path / "world")]
    r = run(capsys, "-w", tmp_path / "ws", *args)
    assert r.code == 2, r
    assert option in r.err and "x>=0" in r.err and "internal error" not in r.err + r.out
    assert not (tmp_path / "world").exists()
