"""A click group that imports a subcommand's module only when that subcommand is used.

Follows the pattern of click's documentation ("Lazily loading subcommands"): the group holds a
table ``name -> "module:attribute"``; ``get_command`` imports the module on first use. Listing
the commands (``corridor --help``) imports every command module, which is cheap because command
modules keep their heavy imports inside the command functions.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """``click.Group`` with ``lazy_commands={"name": "package.module:command"}``."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The table's order (the order of a day's work), then commands added eagerly."""
        eager = [c for c in super().list_commands(ctx) if c not in self.lazy_commands]
        return [*self.lazy_commands, *eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # a wrong table entry is a bug: fail loudly
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command
