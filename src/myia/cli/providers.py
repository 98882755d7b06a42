"""`myia providers`: list the providers and point one at another base URL.

`set-url` is how an operator points a seeded OpenAI-compatible provider (or Bedrock, whose
boto3 endpoint it becomes) at a proxy, a private endpoint or the provider simulator.
"""

from __future__ import annotations

import json

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from myia.catalog.cache import CatalogCache
from myia.catalog.providers import update_provider
from myia.catalog.schemas import ProviderPublic, ProviderUpdate
from myia.cli.console import console, fail
from myia.cli.db import run_on_database, say
from myia.db.engine import Database
from myia.db.models import Provider
from myia.errors import NotFoundError

app = typer.Typer(help="Providers: list them, point one at another base URL.", no_args_is_help=True)


async def _all(database: Database) -> list[ProviderPublic]:
    async with database.session() as session:
        rows = await session.scalars(select(Provider).order_by(Provider.slug))
        return [ProviderPublic.model_validate(row) for row in rows]


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every provider: slug, name, base URL, auth type, simulated, active."""
    providers = run_on_database(_all)
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in providers], indent=2))
        return
    table = Table(title=f"🔌 Providers ({len(providers)})", title_justify="left")
    for column in ("slug", "name", "base_url", "auth", "simulated", "active"):
        table.add_column(column)
    for p in providers:
        table.add_row(
            p.slug,
            escape(p.name),
            escape(p.base_url or "(SDK default)"),
            p.auth_type.value,
            "yes" if p.is_simulated else "no",
            "yes" if p.is_active else "no",
        )
    console.print(table)


@app.command("set-url")
def set_url(
    slug: str = typer.Argument(..., help="The provider's slug, e.g. openai."),
    url: str = typer.Argument(..., help="The new base URL (http:// or https://)."),
    simulated: bool = typer.Option(
        False, "--simulated", help="Label it as the provider simulator (not a real cloud)."
    ),
) -> None:
    """Point a provider at another base URL (a proxy, a private endpoint, the simulator)."""
    try:
        changes = ProviderUpdate(base_url=url.rstrip("/"), is_simulated=simulated)
    except ValidationError as exc:
        raise fail(f"invalid URL '{escape(url)}': it must start with http:// or https://") from exc

    async def action(database: Database) -> ProviderPublic:
        async with database.session() as session:
            provider_id = await session.scalar(select(Provider.id).where(Provider.slug == slug))
            if provider_id is None:
                raise NotFoundError("provider", slug)
            return await update_provider(
                session=session, cache=CatalogCache(ttl_s=0), provider_id=provider_id, data=changes
            )

    provider = run_on_database(action)
    label = " (simulated)" if provider.is_simulated else ""
    say(f"[green]✅[/green] {provider.slug} now points at {escape(provider.base_url or '')}{label}")
