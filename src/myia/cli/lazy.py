"""Commands that load their module only when run, so `myia --help` stays quick.

Importing a command module pulls in what it uses: SQLAlchemy, boto3, the openai SDK. That cost
(about 1.6 s of CPU for the whole tree) was paid by every `myia` run, `--help` included. The
root group knows each command by name, module and one-line help; the module is imported the
first time the command itself is resolved, and never for the root help listing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """`module` holds either a Typer sub-app (`attr="app"`) or a `register(app)` function."""

    name: str
    module: str
    help: str
    attr: str = "register"


def load_command(spec: LazyCommand) -> Any:
    """The click command of `spec`, importing its module now."""
    module = importlib.import_module(spec.module)
    if spec.attr == "app":
        group = typer.main.get_group(module.app)
        group.name = spec.name
        return group
    holder = typer.Typer()
    module.register(holder)
    commands = typer.main.get_group(holder).commands
    return commands[spec.name]


class LazyGroup(TyperGroup):
    """A root group whose commands come from `LAZY_COMMANDS`, imported on first use."""

    lazy_commands: tuple[LazyCommand, ...] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._specs = {spec.name: spec for spec in self.lazy_commands}
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self._specs, *(name for name in self.commands if name not in self._specs)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = self._specs.get(cmd_name)
        if spec is None:
            return None
        if self._listing:
            # The root help only shows names and one-line helps: no import for that.
            return typer.core.TyperCommand(name=spec.name, help=spec.help)
        command = load_command(spec)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
