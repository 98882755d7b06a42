"""`myia certifications`: check (table), show (one deployment's tests and figures), clear
(delete rows), uncertified (what is missing)."""

from __future__ import annotations

from collections import Counter

import typer
from rich.markup import escape
from rich.table import Table

from myia.catalog.filters import MAX_PAGE_SIZE
from myia.certification import queries
from myia.certification.schemas import (
    CertificationDetail,
    CertificationFilters,
    CertificationPublic,
    CertificationQuery,
    UncertifiedPublic,
)
from myia.certification.scoring import Badge
from myia.cli.console import console, fail, is_interactive
from myia.cli.db import say
from myia.cli.report import BADGE_STARS, latency_figures, stars, tool_figures
from myia.cli.runs import run_checked, split_list
from myia.config import get_settings
from myia.db.engine import Database
from myia.db.enums import CertificationStatus

app = typer.Typer(
    help="Certification results: check, show, clear, uncertified.", no_args_is_help=True
)

RegionOpt = typer.Option(None, "--region", help="Only this region.")
VendorOpt = typer.Option(None, "--vendor", help="Only this vendor (case-insensitive).")
StatusOpt = typer.Option(None, "--status", help="Only this status.")
BadgeOpt = typer.Option(None, "--badge", help="Only this badge.")
ModelOpt = typer.Option(None, "--model", help="Base model id or name.")
DeploymentOpt = typer.Option(None, "--deployment", help="Deployment row id or provider model id.")
ProviderOpt = typer.Option(None, "--provider", help="Provider slug.")


def _query(**fields: object) -> CertificationQuery:
    return CertificationQuery.model_validate({k: v for k, v in fields.items() if v is not None})


async def _all_rows(database: Database, query: CertificationQuery) -> list[CertificationPublic]:
    rows: list[CertificationPublic] = []
    page = 1
    async with database.session() as session:
        while True:
            filters = CertificationFilters(**query.model_dump(), page=page, page_size=MAX_PAGE_SIZE)
            found = await queries.list_certifications(session=session, filters=filters)
            rows += found.items
            if len(rows) >= found.total or not found.items:
                return rows
            page += 1


def _rating(row: CertificationPublic) -> str:
    """Stars and rating; a FAILED row's rating is 0 by rule, so it shows its partial score."""
    if row.status is CertificationStatus.FAILED:
        partial = f" (partial {row.partial_rating:.1f})" if row.partial_rating else ""
        return f"❌ 0{partial}"
    if row.rating is None:
        return "—"
    return f"{stars(BADGE_STARS.get(row.badge or '', 0))} {row.rating:.1f}"


def check_certifications(query: CertificationQuery) -> list[CertificationPublic]:
    rows = run_checked(lambda database: _all_rows(database, query))
    if not rows:
        say("No certification matches. Run `myia certify` to create some.")
        return rows
    table = Table(title=f"🏅 Certifications ({len(rows)})", title_justify="left")
    columns = ("model", "deployment", "provider", "region", "status", "rating", "badge")
    for column in (*columns, "success", "latency", "tools", "transient", "expires", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = row.status.value + (" (expired)" if row.expired else "")
        colour = "green" if row.status is CertificationStatus.CERTIFIED else "yellow"
        if row.status is CertificationStatus.FAILED or row.expired:
            colour = "red"
        table.add_row(
            escape(row.base_model_name),
            escape(row.deployment_id),
            row.provider_slug,
            row.region,
            f"[{colour}]{status}[/{colour}]",
            _rating(row),
            row.badge or "—",
            f"{100 * row.success_rate:.0f}%",
            latency_figures(row.latency_p50_ms, row.latency_p95_ms),
            tool_figures(row.tool_schema_accuracy, row.tool_trigger_f1) or "—",
            str(row.transient_errors + row.throttled_calls),
            row.expires_at.strftime("%Y-%m-%d") if row.expires_at else "—",
            escape(row.error_category or ""),
        )
    console.print(table)
    by_status = Counter(r.status.value for r in rows)
    by_badge = Counter(r.badge or "—" for r in rows)
    say("By status: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    say("By badge:  " + ", ".join(f"{k} {v}" for k, v in sorted(by_badge.items())))
    expired = sum(r.expired for r in rows)
    if expired:
        say(f"[yellow]⚠️  {expired} expired: `myia recertify --expired` renews them[/yellow]")
    return rows


@app.command("check")
def check(
    region: str | None = RegionOpt,
    vendor: str | None = VendorOpt,
    status: CertificationStatus | None = StatusOpt,
    badge: Badge | None = BadgeOpt,
    model: str | None = ModelOpt,
    deployment: str | None = DeploymentOpt,
    provider: str | None = ProviderOpt,
) -> None:
    """A table of certifications (all, or filtered) with totals by status and badge."""
    check_certifications(
        _query(
            region=region,
            vendor=vendor,
            status=status,
            badge=badge,
            model=model,
            deployment=deployment,
            provider=provider,
        )
    )


async def _details(database: Database, query: CertificationQuery) -> list[CertificationDetail]:
    rows = await _all_rows(database, query)
    async with database.session() as session:
        return [
            await queries.certification_detail(session=session, certification_id=row.id)
            for row in rows
        ]


def show_certifications(query: CertificationQuery) -> list[CertificationDetail]:
    details = run_checked(lambda database: _details(database, query))
    if not details:
        say("No certification matches. Run `myia certify` to create some.")
    for cert in details:
        say(
            f"\n🏅 {escape(cert.deployment_id)} @ {cert.region}: {cert.status.value} "
            f"{_rating(cert)} {cert.badge or '—'}"
        )
        if cert.partial_rating is not None and cert.partial_rating != cert.rating:
            say(f"   Partial score (before the status cap): {cert.partial_rating:.1f}")
        say(f"   Latency per call: {latency_figures(cert.latency_p50_ms, cert.latency_p95_ms)}")
        if cert.ttft_p50_ms is not None:
            say(f"   Time to first token: p50 {cert.ttft_p50_ms:.0f}ms")
        tools = tool_figures(cert.tool_schema_accuracy, cert.tool_trigger_f1)
        if tools:
            say(f"   Tool calls: {tools}")
        say(
            f"   Absorbed: {cert.transient_errors} transient errors, {cert.throttled_calls} "
            f"throttles; inconclusive tests: {cert.inconclusive_tests}"
        )
        observed = cert.observed_capabilities or {}
        if observed:
            shown = ", ".join(
                f"{k} {'✓' if v else '✗' if v is False else '?'}"
                for k, v in sorted(observed.items())
            )
            say(f"   Observed here: {shown}")
        for test in cert.test_results:
            samples = test.get("samples") or []
            asked = f" [{len(samples)} samples]" if len(samples) > 1 else ""
            say(
                f"   • {test.get('name')}: {test.get('status')}{asked} — "
                f"{escape(str(test.get('detail', ''))[:120])}"
            )
    return details


@app.command("show")
def show(
    deployment: str = typer.Argument(..., help="Deployment row id or provider model id."),
    region: str | None = RegionOpt,
) -> None:
    """One deployment's certifications in detail: every test with its samples, latency
    p50/p95, tool-call schema accuracy and trigger F1, transient errors absorbed."""
    show_certifications(_query(deployment=deployment, region=region))


@app.command("clear")
def clear(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; delete nothing."),
    region: str | None = RegionOpt,
    vendor: str | None = VendorOpt,
    status: CertificationStatus | None = StatusOpt,
    badge: Badge | None = BadgeOpt,
    model: str | None = ModelOpt,
    deployment: str | None = DeploymentOpt,
    provider: str | None = ProviderOpt,
) -> None:
    """Delete certification rows (all, or those matching the filters)."""
    query = _query(
        region=region,
        vendor=vendor,
        status=status,
        badge=badge,
        model=model,
        deployment=deployment,
        provider=provider,
    )

    async def count(database: Database, really: bool) -> int:
        async with database.session() as session:
            return await queries.clear_certifications(
                session=session, query=query, dry_run=not really
            )

    found = run_checked(lambda database: count(database, False))
    scope = "matching the filters" if query.model_dump(exclude_none=True) else "(ALL of them)"
    say(f"🧹 {found} certification(s) {scope} would be deleted.")
    if dry_run or not found:
        if dry_run:
            say("Dry run: nothing was changed.")
        return
    if not yes:
        if not is_interactive():
            raise fail("refusing to delete certifications without --yes: no terminal to ask")
        if not typer.confirm(f"Delete {found} certification(s)?", default=False):
            raise fail("cancelled: nothing was changed")
    deleted = run_checked(lambda database: count(database, True))
    say(f"[green]✅[/green] {deleted} certification(s) deleted")


def list_uncertified(
    regions: list[str], vendor: str | None = None, provider: str | None = None
) -> list[UncertifiedPublic]:
    default_regions = get_settings().default_regions

    async def action(database: Database) -> list[UncertifiedPublic]:
        async with database.session() as session:
            return await queries.uncertified(
                session=session,
                default_regions=default_regions,
                regions=regions,
                vendor=vendor,
                provider=provider,
            )

    missing = run_checked(action)
    shown = ", ".join(regions or default_regions)
    if not missing:
        say(f"✅ Every active deployment has a certification in {shown}.")
        return missing
    table = Table(title=f"❔ Without a certification ({len(missing)})", title_justify="left")
    for column in ("model", "vendor", "deployment", "provider", "region"):
        table.add_column(column, overflow="fold")
    for row in missing:
        table.add_row(
            escape(row.base_model_name),
            escape(row.vendor),
            escape(row.deployment_id),
            row.provider_slug,
            row.region,
        )
    console.print(table)
    say("Certify them with: myia certify --all (or --model …)")
    return missing


@app.command("uncertified")
def uncertified(
    regions: str | None = typer.Option(None, "--regions", help="Regions (default: settings)."),
    vendor: str | None = VendorOpt,
    provider: str | None = ProviderOpt,
) -> None:
    """Active deployments × regions that have no certification at all."""
    list_uncertified(split_list(regions), vendor, provider)
