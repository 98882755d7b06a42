"""Rich consoles shared by every command: colours on a TTY, plain text otherwise."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error to stderr and return the Exit to raise (`raise fail(...)`)."""
    err_console.print(f"[red]✗[/red] {message}", soft_wrap=True)  # one line, for scripts too
    return typer.Exit(code)


def is_interactive() -> bool:
    return sys.stdin.isatty()
