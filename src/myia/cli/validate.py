"""`myia validate`: the full-setup check (seed 000 §5.2), one line per check, exit 1 when any
fails, `--json` for scripts. The server checks need `myia serve` running at --url."""

from __future__ import annotations

import json
import os
import sys

import typer
from rich.markup import escape

from myia.cli.console import fail, is_interactive
from myia.cli.db import run_on_database, say
from myia.config import get_settings
from myia.db.engine import Database
from myia.maintenance.validate import Check, validate_setup

PASSWORD_VARIABLE = "MYIA_VALIDATE_PASSWORD"


def validate(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Where `myia serve` answers."),
    email: str | None = typer.Option(
        None, "--email", help="An account to log in with (auth and endpoint checks)."
    ),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help=f"Read that account's password from stdin (or set {PASSWORD_VARIABLE}).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check the whole setup: database, schema, data, queue, server, auth, endpoints."""
    password = os.environ.get(PASSWORD_VARIABLE) or None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n") or None
    if email and not password and is_interactive() and not password_stdin:
        password = typer.prompt("Password", hide_input=True) or None
    if email and not password:
        raise fail(f"--email needs a password: --password-stdin or {PASSWORD_VARIABLE}")
    settings = get_settings()

    async def action(database: Database) -> list[Check]:
        return await validate_setup(
            database=database, settings=settings, url=url, email=email, password=password
        )

    checks = run_on_database(action, connect_first=False)
    failed = [c for c in checks if not c.ok]
    if as_json:
        payload = {"ok": not failed, "checks": [c.to_dict() for c in checks]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        for number, check in enumerate(checks, start=1):
            mark = "⏭️ " if check.skipped else "[green]✅[/green]" if check.ok else "[red]❌[/red]"
            say(f"{number}. {mark} {check.name}: {escape(check.detail)}")
    if failed:
        if as_json:
            raise typer.Exit(1)
        raise fail(f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}")
    if not as_json:
        say(f"[green]🎉 All {len(checks)} checks passed[/green]")


def register(app: typer.Typer) -> None:
    app.command()(validate)
