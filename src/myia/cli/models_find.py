"""`myia models find`: deployments meeting constraints, cheapest first (issue 27).

The same search as `GET /api/v2/deployments/search` and the /models page
(`catalog/search.py`), with the same constraints as options; a table, or `--json` (the API's
answer, byte for byte the same shape).
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from myia.catalog.cache import CatalogCache
from myia.catalog.filters import MAX_PAGE_SIZE
from myia.catalog.schemas import CAPABILITY_FLAGS
from myia.catalog.search import search_deployments
from myia.catalog.search_schemas import (
    BADGE_ORDER,
    DEFAULT_SEARCH_PAGE_SIZE,
    GEOGRAPHIES,
    DeploymentSearch,
    DeploymentSearchResults,
    SearchResult,
)
from myia.cli.console import console, fail
from myia.cli.db import run_on_database, say
from myia.db.engine import Database
from myia.db.enums import InferenceType

_INFERENCE_TYPES = ", ".join(kind.value for kind in InferenceType)


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def _constraints(values: dict[str, Any]) -> DeploymentSearch:
    """The options as the search's model; a bad one is a red line naming its option."""
    given = {k: v for k, v in values.items() if v is not None and v != []}
    for name, normalise in (("min_badge", str.upper), ("inference_type", str.upper),
                            ("geography", str.lower)):  # fmt: skip
        if name in given:
            given[name] = normalise(given[name])
    try:
        return DeploymentSearch(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_option(str(error['loc'][0])) if error['loc'] else 'options'}: {error['msg']}"
            for error in exc.errors()
        )
        raise fail(escape(problems)) from exc


def _money(value: float | None) -> str:
    return "[yellow]unknown[/yellow]" if value is None else f"${value:.6f}"


def _price(result: SearchResult) -> str:
    price = result.price
    if price.cost_per_1m_input is None or price.cost_per_1m_output is None:
        return "[yellow]unknown[/yellow]"
    where = f" ({escape(price.region)})" if price.region else ""
    return f"{price.cost_per_1m_input:g} / {price.cost_per_1m_output:g}{where}"


def _source(result: SearchResult) -> str:
    price = result.price
    if price.source_kind is None:
        return "[dim]no source[/dim]"
    name = escape(price.source_name or price.source_kind.value)
    return name + (f", {price.as_of.isoformat()}" if price.as_of else "")


def _certification(result: SearchResult) -> str:
    cert = result.certification
    if cert is None:
        return "[dim]not certified[/dim]"
    rating = f" {cert.rating:.1f}★" if cert.rating is not None else ""
    badge = cert.badge or cert.status
    until = f" until {cert.expires_at.date().isoformat()}" if cert.expires_at else ""
    state = "" if cert.valid else f" [yellow]({escape(cert.status)}, not valid)[/yellow]"
    return f"{escape(badge)}{rating}{until}{state}"


def _print(found: DeploymentSearchResults) -> None:
    if not found.items:
        say(
            "No deployment meets these constraints"
            + (f" on page {found.page}" if found.page > 1 and found.total else "")
            + f" ({found.total} in all)."
        )
        return
    first = (found.page - 1) * found.page_size + 1
    title = (
        f"🔎 {first}-{first + len(found.items) - 1} of {found.total}, cheapest first for "
        f"{found.input_tokens:,} input + {found.output_tokens:,} output tokens"
    )
    table = Table(title=title, title_justify="left")
    for column in ("#", "model", "provider", "deployment id", "region", "certification",
                   "$ in/out per 1M", "cost", "price source"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("#", "cost") else "left")
    for n, result in enumerate(found.items, start=first):
        simulated = " [magenta](sim)[/magenta]" if result.provider.is_simulated else ""
        table.add_row(
            str(n),
            escape(result.base_model.name),
            escape(result.provider.slug) + simulated,
            escape(result.deployment_id),
            escape(result.region or "—"),
            _certification(result),
            _price(result),
            _money(result.total_cost),
            _source(result),
        )
    console.print(table)
    if first + len(found.items) - 1 < found.total:
        say(f"More: --page {found.page + 1}")


def find(
    capability: list[str] = typer.Option(
        [], help=f"Needs this capability (repeatable): {', '.join(CAPABILITY_FLAGS)}."
    ),
    region: str | None = typer.Option(None, help="Only in this region (eu-west-1, global)."),
    geography: str | None = typer.Option(
        None, help=f"Only in a region of this geography: {', '.join(GEOGRAPHIES)}."
    ),
    min_context: int | None = typer.Option(None, help="A context window of at least N tokens."),
    max_input_price: float | None = typer.Option(
        None, help="At most this many USD per 1M input tokens (in the result's region)."
    ),
    max_output_price: float | None = typer.Option(
        None, help="At most this many USD per 1M output tokens."
    ),
    min_badge: str | None = typer.Option(
        None, help=f"This badge or better: {', '.join(BADGE_ORDER)} (best first)."
    ),
    include_uncertified: bool = typer.Option(
        False,
        "--include-uncertified",
        help="Also certifications that are not valid, and deployments never certified.",
    ),
    provider: str | None = typer.Option(None, help="Only this provider slug."),
    vendor: str | None = typer.Option(None, help="Only this vendor's models."),
    inference_type: str | None = typer.Option(None, help=_INFERENCE_TYPES + "."),
    input_tokens: int = typer.Option(1000, help="Input tokens of the mix ranked by."),
    output_tokens: int = typer.Option(1000, help="Output tokens of the mix ranked by."),
    page: int = typer.Option(1, help="Page of results."),
    page_size: int = typer.Option(
        DEFAULT_SEARCH_PAGE_SIZE, help=f"Results per page (at most {MAX_PAGE_SIZE})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON answer."),
) -> None:
    """Deployments meeting every constraint, one row per certified region, cheapest first."""
    search = _constraints(
        {
            "capability": capability, "region": region, "geography": geography,
            "min_context": min_context, "max_input_price": max_input_price,
            "max_output_price": max_output_price, "min_badge": min_badge,
            "certified": not include_uncertified, "provider": provider, "vendor": vendor,
            "inference_type": inference_type, "input_tokens": input_tokens,
            "output_tokens": output_tokens, "page": page, "page_size": page_size,
        }
    )  # fmt: skip

    async def action(database: Database) -> DeploymentSearchResults:
        async with database.read_session() as session:
            # A one-off read: nothing to share a cache with.
            return await search_deployments(
                session=session, cache=CatalogCache(ttl_s=0), search=search
            )

    found = run_on_database(action)
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
    else:
        _print(found)
