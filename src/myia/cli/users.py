"""`myia users`: accounts from the command line, the first admin included.

A password never travels as an argument (it would sit in the shell history and in `ps`):
it is typed at a hidden prompt, or read as one line from stdin with `--password-stdin`.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.markup import escape
from rich.table import Table

from myia.auth.throttle import LoginThrottle
from myia.catalog.cache import CatalogCache, build_catalog_cache
from myia.cli.confirm import DRY_RUN_HELP, YES_HELP, confirm_or_exit
from myia.cli.console import console, fail, is_interactive
from myia.cli.db import run_on_database, say
from myia.config import get_settings
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.users.accounts import (
    UserSummary,
    add_user,
    find_user,
    list_users,
    reset_password,
    set_active,
    set_role,
)

app = typer.Typer(
    help="Users: create (the first admin too), list, set-role, disable, reset-password, unlock.",
    no_args_is_help=True,
)

PASSWORD_STDIN_HELP = "Read the password from stdin (one line) instead of prompting."


def _cache() -> CatalogCache:
    """No cache of its own to keep: the bus only, to tell every running server."""
    return build_catalog_cache(ttl_s=0, redis_url=get_settings().redis_url)


def read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("--password-stdin: stdin gave no password")
        return password
    if not is_interactive():
        raise fail("no terminal to prompt for the password on: pipe it with --password-stdin")
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@app.command()
def create(
    email: str = typer.Option(..., "--email", help="The user's email (the login)."),
    admin: bool = typer.Option(False, "--admin", help="Give the admin role."),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_STDIN_HELP),
) -> None:
    """Create a user; with --admin, an administrator (how production gets its first admin)."""

    password = read_password(from_stdin=password_stdin)
    role = UserRole.ADMIN if admin else UserRole.USER

    async def action(database: Database) -> UserSummary:
        async with database.session() as session:
            return await add_user(
                session=session, email=email, password=password, role=role, name=name
            )

    user = run_on_database(action)
    say(f"[green]✅[/green] Created {escape(user.email)} (role: {user.role.value}, ID: {user.id})")


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every account: email, role, active or disabled."""

    async def action(database: Database) -> list[UserSummary]:
        async with database.session() as session:
            return await list_users(session=session)

    users = run_on_database(action)
    if as_json:
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "role": u.role.value,
                "is_active": u.is_active,
            }
            for u in users
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"👤 Users ({len(users)})", title_justify="left")
    for column in ("email", "name", "role", "active"):
        table.add_column(column)
    for u in users:
        state = "[green]yes[/green]" if u.is_active else "[red]disabled[/red]"
        table.add_row(escape(u.email), escape(u.name or ""), u.role.value, state)
    console.print(table)


@app.command("set-role")
def set_role_(
    email: str = typer.Argument(..., help="The user's email."),
    role: UserRole = typer.Argument(..., help="user or admin."),
) -> None:
    """Give a user the user or the admin role."""

    async def action(database: Database) -> UserSummary:
        async with database.session() as session:
            return await set_role(session=session, cache=_cache(), email=email, role=role)

    user = run_on_database(action)
    say(f"[green]✅[/green] {escape(user.email)} now has the role {user.role.value}")


@app.command()
def disable(
    email: str = typer.Argument(..., help="The user's email."),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
) -> None:
    """Disable an account: login and its tokens stop working; its data stays."""

    async def look(database: Database) -> UserSummary:
        async with database.session() as session:
            return await find_user(session=session, email=email)

    user = run_on_database(look)
    if not user.is_active:
        say(f"{escape(user.email)} is already disabled; nothing to do")
        return
    say(f"Would disable {escape(user.email)} (role: {user.role.value})")
    if dry_run:
        say("Dry run: nothing was changed.")
        return
    confirm_or_exit(yes=yes, question=f"Disable {user.email}?", action="disable a user")

    async def act(database: Database) -> UserSummary:
        async with database.session() as session:
            return await set_active(session=session, cache=_cache(), email=email, active=False)

    run_on_database(act)
    say(f"[green]✅[/green] Disabled {escape(user.email)}")


@app.command()
def enable(email: str = typer.Argument(..., help="The user's email.")) -> None:
    """Enable a disabled account again."""

    async def action(database: Database) -> UserSummary:
        async with database.session() as session:
            return await set_active(session=session, cache=_cache(), email=email, active=True)

    user = run_on_database(action)
    say(f"[green]✅[/green] Enabled {escape(user.email)}")


@app.command("reset-password")
def reset_password_(
    email: str = typer.Argument(..., help="The user's email."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_STDIN_HELP),
) -> None:
    """Set a new password for a user (prompted, or one line from stdin)."""

    password = read_password(from_stdin=password_stdin)

    async def action(database: Database) -> UserSummary:
        async with database.session() as session:
            return await reset_password(
                session=session, cache=_cache(), email=email, password=password
            )

    user = run_on_database(action)
    say(f"[green]✅[/green] Password of {escape(user.email)} changed")


@app.command()
def unlock(
    email: str = typer.Argument(..., help="The user's email."),
    address: str | None = typer.Option(
        None, "--address", help="Also lift this client address's ceiling (all accounts)."
    ),
) -> None:
    """Clear the account's failed-login delays, from every address (through REDIS_URL)."""
    settings = get_settings()
    if not settings.redis_url:
        raise fail(
            "REDIS_URL is not set: failed logins are counted inside each server process, which "
            "this command cannot reach. Restart `myia serve` to clear them, or wait (at most "
            "LOGIN_MAX_DELAY_S for an account, LOGIN_LOCKOUT_S for an address)."
        )
    throttle = LoginThrottle.from_settings(settings)

    async def action(database: Database) -> tuple[UserSummary, int]:
        try:
            async with database.session() as session:
                user = await find_user(session=session, email=email)
            cleared = await throttle.unlock(email=user.email)
            if address:
                await throttle.unlock_address(address)
            return user, cleared
        finally:
            await throttle.close()

    user, cleared = run_on_database(action)
    where = f"{cleared} address" + ("" if cleared == 1 else "es")
    say(f"[green]✅[/green] Unlocked {escape(user.email)} (failed logins cleared from {where})")
    if address:
        say(f"[green]✅[/green] Lifted the ceiling of address {escape(address)}")
