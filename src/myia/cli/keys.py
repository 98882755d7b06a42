"""`myia keys`: a user's gateway API keys — create (shown once), list by prefix, revoke.

Revoking from the command line reaches running servers too: with REDIS_URL set, the
invalidation goes out on the catalog cache's channel and every `myia serve` drops the key.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from myia.apikeys.service import create_api_key, list_api_keys, revoke_api_key
from myia.catalog.cache import build_catalog_cache
from myia.cli.console import console, fail
from myia.cli.db import run_on_database, say
from myia.config import get_settings
from myia.db.engine import Database
from myia.db.models import ApiKey
from myia.users.accounts import find_user

app = typer.Typer(
    help="API keys of the OpenAI-compatible gateway: create, list, revoke.",
    no_args_is_help=True,
)


async def _user_id(database: Database, email: str) -> str:
    async with database.session() as session:
        user = await find_user(session=session, email=email)
    return user.id


@app.command()
def create(
    email: str = typer.Option(..., "--email", help="Whose key (the user's email)."),
    name: str = typer.Option(..., "--name", help="What the key is for, e.g. 'laptop'."),
) -> None:
    """Create a key and print it once: MyIA stores only its hash."""

    async def action(database: Database) -> tuple[ApiKey, str]:
        user_id = await _user_id(database, email)
        async with database.session() as session:
            return await create_api_key(session=session, user_id=user_id, name=name)

    row, key = run_on_database(action)
    say(f"[green]✅[/green] Created key {escape(row.name)} (ID: {row.id}) for {escape(email)}")
    say("Store it now, it will not be shown again:")
    typer.echo(key)


@app.command("list")
def list_(
    email: str = typer.Option(..., "--email", help="Whose keys."),
    include_revoked: bool = typer.Option(False, "--all", help="Show revoked keys too."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A user's keys by prefix (the keys themselves are never stored)."""

    async def action(database: Database) -> list[ApiKey]:
        user_id = await _user_id(database, email)
        async with database.session() as session:
            return await list_api_keys(
                session=session, user_id=user_id, include_revoked=include_revoked
            )

    rows = run_on_database(action)
    if as_json:
        plain = [
            {
                "id": r.id,
                "name": r.name,
                "prefix": r.prefix,
                "created_at": r.created_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in rows
        ]
        typer.echo(json.dumps(plain, indent=2))
        return
    table = Table(title=f"🔑 API keys of {escape(email)} ({len(rows)})", title_justify="left")
    for column in ("id", "name", "prefix", "created", "state"):
        table.add_column(column)
    for r in rows:
        state = f"[red]revoked {r.revoked_at:%Y-%m-%d}[/red]" if r.revoked_at else "active"
        table.add_row(r.id, escape(r.name), r.prefix + "…", f"{r.created_at:%Y-%m-%d}", state)
    console.print(table)


@app.command()
def revoke(key_id: str = typer.Argument(..., help="The key's ID (see `myia keys list`).")) -> None:
    """Revoke a key at once, in every running server that shares REDIS_URL."""
    settings = get_settings()

    async def action(database: Database) -> ApiKey:
        cache = build_catalog_cache(ttl_s=0, redis_url=settings.redis_url)
        await cache.start()
        try:
            async with database.session() as session:
                return await revoke_api_key(session=session, cache=cache, key_id=key_id)
        finally:
            await cache.stop()

    row = run_on_database(action)
    if row.revoked_at is None:  # pragma: no cover - revoke_api_key always sets it
        raise fail("the key was not revoked")
    say(f"[green]✅[/green] Revoked key {escape(row.name)} ({row.prefix}…)")
