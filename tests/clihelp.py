"""Run the ``corridor`` CLI in-process and capture exit code, stdout and stderr."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from corridor.cli.main import main


class Result(NamedTuple):
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *args: object) -> Result:
    """The CLI as a user calls it; arguments may be paths."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 1
    return Result(code, captured.out, captured.err)
