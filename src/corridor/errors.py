"""Errors a user can cause. The CLI prints them without a traceback and exits 2."""

from __future__ import annotations

from dataclasses import dataclass


class CorridorError(Exception):
    """Base class for every error a user can cause (bad file, bad flag, bad query)."""

    exit_code = 2


class ConfigError(CorridorError):
    """A setting is invalid; the message names where it came from."""


class WorkspaceError(CorridorError):
    """No workspace, or a workspace that cannot be opened."""


class DatabaseConnectionError(CorridorError):
    """The database named by --db / CORRIDOR_DB cannot be reached."""


class WarehouseDamagedError(CorridorError):
    """The warehouse file is damaged (truncated, overwritten, unreadable blocks)."""


class WarehouseBusyError(CorridorError):
    """Another process holds the warehouse (an import in progress) for longer than we wait."""


class ConcurrentChangeError(CorridorError):
    """Another writer changed the same rows at the same time; nothing was changed by this one."""


class OutputError(CorridorError):
    """An output file cannot be written there (read-only, under a file, a workspace file)."""


class QueryError(CorridorError):
    """A query asked for something that does not exist (unknown indicator, dimension, period)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one value of an input file."""

    file: str
    row: int | None  # 1-based data-row number; None for file-level problems
    column: str | None
    value: str | None
    reason: str

    def format(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            parts.append(f"value {shown!r}")
        return ", ".join(parts) + f": {self.reason}"


class InputError(CorridorError):
    """An input file is invalid. Carries every problem found, shown up to a readable number."""

    max_shown = 20

    def __init__(self, problems: list[Problem], *, summary: str | None = None) -> None:
        self.problems = problems
        self.summary = summary
        super().__init__(self.render())

    def render(self) -> str:
        lines: list[str] = []
        if self.summary:
            lines.append(self.summary)
        shown = self.problems[: self.max_shown]
        lines.extend(p.format() for p in shown)
        rest = len(self.problems) - len(shown)
        if rest > 0:
            lines.append(f"... and {rest} more problem(s)")
        return "\n".join(lines)


def file_error(file: str, reason: str) -> InputError:
    """A problem with a whole file (unreadable, empty, wrong format)."""
    return InputError([Problem(file, None, None, None, reason)])
