"""Run the ``corridor`` CLI in-process and capture exit code, stdout and stderr."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from corridor.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 1
    return Result(code, captured.out, captured.err)
