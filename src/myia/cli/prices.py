"""`myia prices`: the catalog's prices against their sources.

`myia prices check` lists deployments without a price, prices older than a limit and prices
that differ from the bundled table, and exits 1 when it finds any (cron-friendly: silence
and exit 0 mean nothing to do). The admin catalog page shows the same report
(`myia.catalog.price_check`). `myia prices update` prices from the bundled table what the
check finds unpriced (when the table knows it) or different.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from myia.catalog.bundled_prices import BundledUpdate, apply_bundled_prices
from myia.catalog.price_check import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_AGE_DAYS,
    MAX_AGE_DAYS_LIMIT,
    MAX_LIMIT,
    Finding,
    PriceCheckReport,
    PriceIssue,
    check_prices,
)
from myia.cli.confirm import DRY_RUN_HELP, YES_HELP, confirm_or_exit
from myia.cli.console import console
from myia.cli.db import run_on_database, say
from myia.cli.models import catalog_cache
from myia.db.engine import Database

app = typer.Typer(
    help="Prices: check them (unpriced, stale, different from the bundled table), update them.",
    no_args_is_help=True,
)

_TITLES: dict[Finding, str] = {
    "unpriced": "💲 Deployments without a price",
    "stale": "⌛ Prices older than the limit (or undated)",
    "differs": "≠ Prices that differ from the bundled table",
}


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _source(issue: PriceIssue) -> str:
    kind = issue.price_source_kind.value if issue.price_source_kind else "no source"
    name = f" · {issue.price_source_name}" if issue.price_source_name else ""
    as_of = f" · {issue.price_as_of.isoformat()}" if issue.price_as_of else ""
    return escape(kind + name + as_of)


def _print(report: PriceCheckReport) -> None:
    for finding, title in _TITLES.items():
        issues = report.of(finding)
        if not issues:
            continue
        table = Table(title=f"{title}: {report.counts[finding]}", title_justify="left")
        for column in ("provider", "deployment id", "model", "$ in / out per 1M", "source", "why"):
            table.add_column(column)
        for issue in issues:
            table.add_row(
                escape(issue.provider),
                escape(issue.deployment_id),
                escape(issue.model),
                f"{_money(issue.cost_per_1m_input)} / {_money(issue.cost_per_1m_output)}",
                _source(issue),
                escape(issue.detail),
            )
        console.print(table)
    if report.truncated:
        say("[yellow]Some findings are not listed (--limit); the counts are complete.[/yellow]")
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
    mark = "[red]❌[/red]" if report.needs_attention else "[green]✅[/green]"
    say(
        f"{mark} {report.checked} active deployments checked: {counts} "
        f"(max age {report.max_age_days} days)"
    )


@app.command()
def check(
    max_age_days: int = typer.Option(
        DEFAULT_MAX_AGE_DAYS,
        "--max-age-days",
        min=0,
        max=MAX_AGE_DAYS_LIMIT,
        help="A price read at its source longer ago than this is stale.",
    ),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", min=1, max=MAX_LIMIT, help="Rows listed per finding."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Unpriced deployments, stale prices, prices unlike the bundled table; exit 1 if any."""

    async def action(database: Database) -> PriceCheckReport:
        async with database.read_session() as session:
            return await check_prices(session=session, max_age_days=max_age_days, limit=limit)

    report = run_on_database(action)
    if as_json:
        payload = report.model_dump(mode="json")
        payload["needs_attention"] = report.needs_attention
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print(report)
    if report.needs_attention:
        raise typer.Exit(1)


def _print_updates(updates: list[BundledUpdate], *, dry_run: bool) -> None:
    verb = "would take" if dry_run else "took"
    table = Table(
        title=f"{len(updates)} deployments {verb} the bundled table's price", title_justify="left"
    )
    for column in ("provider", "deployment id", "$ in / out per 1M", "bundled", "as of"):
        table.add_column(column)
    for update in updates:
        table.add_row(
            escape(update.provider),
            escape(update.deployment_id),
            f"{_money(update.old_input)} / {_money(update.old_output)}",
            f"{update.new_input:g} / {update.new_output:g}",
            update.as_of.isoformat(),
        )
    console.print(table)


@app.command()
def update(
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Price from the bundled table what the check finds unpriced (when the table knows it)
    or different; an operator's entry newer than the table is kept."""

    async def plan(database: Database) -> list[BundledUpdate]:
        async with database.session() as session, catalog_cache() as cache:
            return await apply_bundled_prices(session=session, cache=cache, dry_run=True)

    planned = run_on_database(plan)
    if not planned:
        say("✅ Nothing to update: every priced deployment agrees with the bundled table.")
        return
    _print_updates(planned, dry_run=True)
    if dry_run:
        say("Dry run: nothing was changed.")
        return
    confirm_or_exit(
        yes=yes,
        question=f"Re-price {len(planned)} deployments from the bundled table?",
        action="re-price deployments",
    )

    async def apply(database: Database) -> list[BundledUpdate]:
        async with database.session() as session, catalog_cache() as cache:
            return await apply_bundled_prices(
                session=session, cache=cache, changed_by="myia prices update"
            )

    done = run_on_database(apply)
    say(f"✅ {len(done)} deployments re-priced; each change is in the price history.")
