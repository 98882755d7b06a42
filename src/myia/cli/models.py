"""`myia models`: discover what providers offer, list or search the catalog, check credentials.

Credentials: `--user EMAIL` uses that user's stored (BYOK) credential; without it the
provider's standard chain (AWS_* variables / profile / role, `<SLUG>_API_KEY`) is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.service import get_user_by_email
from myia.catalog.cache import CatalogCache, build_catalog_cache
from myia.catalog.deployments import list_deployments
from myia.catalog.discovery import discover_models
from myia.catalog.discovery_report import DiscoveryReport
from myia.catalog.filters import MAX_PAGE_SIZE, DeploymentFilters
from myia.catalog.schemas import CAPABILITY_FLAGS, DeploymentPublic
from myia.certification.queries import list_certifications
from myia.certification.regions import GLOBAL_REGION, unknown_regions
from myia.certification.schemas import CertificationFilters, CertificationPublic
from myia.cli.console import console, fail
from myia.cli.db import run_on_database, say
from myia.cli.models_find import find
from myia.cli.models_report import count, print_discovery_report, print_discovery_start
from myia.config import get_settings
from myia.credentials.checks import CredentialCheckResult, check_credentials
from myia.db.engine import Database
from myia.db.enums import InferenceType
from myia.errors import InvalidInputError
from myia.observability.logging import configure_logging, get_logger
from myia.providers.errors import ProviderError

T = TypeVar("T")
log = get_logger(__name__)

app = typer.Typer(
    help="Models: discover new ones on a provider, list or search the catalog, check credentials.",
    no_args_is_help=True,
)
app.command(name="find")(find)


@app.callback()
def _quiet_logs() -> None:
    # The commands print their own report; INFO log lines would repeat it in JSON.
    level = get_settings().log_level.upper()
    configure_logging("WARNING" if level == "INFO" else level)


def _run(action: Callable[[Database], Awaitable[T]]) -> T:
    """Database errors and domain errors -> one red line; provider errors too."""
    try:
        return run_on_database(action)
    except ProviderError as exc:
        raise fail(f"{escape(exc.provider or 'provider')}: {exc.category.value}: "
                   f"{escape(exc.message)}") from exc  # fmt: skip


async def _user_id(session: AsyncSession, email: str | None) -> str | None:
    if email is None:
        return None
    user = await get_user_by_email(session=session, email=email)
    if user is None:
        raise InvalidInputError("user", f"no user with email '{email}'")
    return user.id


@contextlib.asynccontextmanager
async def catalog_cache() -> AsyncIterator[CatalogCache]:
    """A cache whose invalidations reach running servers through Redis when configured."""
    settings = get_settings()
    cache = build_catalog_cache(ttl_s=settings.catalog_cache_ttl_s, redis_url=settings.redis_url)
    try:
        await cache.start()
    except Exception as exc:
        # Discovery still works; servers just keep their copy until the TTL expires.
        log.warning("catalog cache bus unavailable", error=type(exc).__name__)
        with contextlib.suppress(Exception):
            await cache.stop()
        cache = CatalogCache(ttl_s=settings.catalog_cache_ttl_s)
    try:
        yield cache
    finally:
        await cache.stop()


@app.command()
def discover(
    provider: str = typer.Option(..., "--provider", help="Provider slug, e.g. bedrock, openai."),
    region: str | None = typer.Option(
        None, help="AWS region (Bedrock). Default: the credential's or AWS_REGION."
    ),
    vendor: str | None = typer.Option(None, help="Only add this vendor's models (e.g. mistral)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would be added; write nothing."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Use this user's stored credential instead of the standard chain."
    ),
) -> None:
    """Add the provider's new chat models to the catalog (seed 000's add-models script)."""
    settings = get_settings()
    print_discovery_start(provider=provider, region=region, dry_run=dry_run)

    async def action(database: Database) -> DiscoveryReport:
        async with database.session() as session, catalog_cache() as cache:
            return await discover_models(
                session=session,
                cache=cache,
                provider_slug=provider,
                region=region,
                vendor=vendor,
                dry_run=dry_run,
                user_id=await _user_id(session, user),
                secret=settings.encryption_secret,
            )

    with console.status("Asking the provider...", spinner="dots"):
        report = _run(action)
    print_discovery_report(report)


def _capabilities(deployment: DeploymentPublic) -> str:
    caps = deployment.effective_capabilities
    marks = [
        ("👁️", caps.vision),
        ("⚙️", caps.tool_calling),
        ("{}", caps.json_output),
        ("≋", caps.streaming),
    ]
    return " ".join(mark for mark, on in marks if on) or "—"


def _certification(cert: CertificationPublic | None) -> str:
    if cert is None:
        return "[dim]not certified[/dim]"
    badge = f" {cert.badge}" if cert.badge else ""
    rating = f" {cert.rating:.1f}★" if cert.rating is not None else ""
    expired = " [yellow](expired)[/yellow]" if cert.expired else ""
    return f"{cert.status.value}{badge}{rating}{expired}"


def _offered(row: DeploymentPublic) -> list[str] | None:
    """Regions the deployment is known to be offered in; None = unknown or no regions."""
    regions = (row.provider_config or {}).get("regions")
    return [str(r) for r in regions] if isinstance(regions, list) else None


def _is_end_of_life(cert: CertificationPublic | None) -> bool:
    # The provider's end-of-life refusal, as the Bedrock adapter words it.
    return bool(cert and cert.last_error and "end of life" in cert.last_error.lower())


def _lifecycle(row: DeploymentPublic, region: str | None, cert: CertificationPublic | None) -> str:
    """LEGACY / EOL next to the model's name: the region's when known, else where it is."""
    if _is_end_of_life(cert):
        return " [red]END OF LIFE[/red]"
    config = row.provider_config or {}
    stored = config.get("lifecycle")
    by_region = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    if region is not None and region in by_region:
        return " [yellow]LEGACY[/yellow]" if by_region[region] == "LEGACY" else ""
    legacy = sorted(r for r, status in by_region.items() if status == "LEGACY")
    if legacy and region is None:
        everywhere = len(legacy) == len(by_region)
        where = "" if everywhere else f" in {', '.join(legacy)}"
        return f" [yellow]LEGACY{where}[/yellow]"
    if not by_region and config.get("lifecycle_status") == "LEGACY":
        return " [yellow]LEGACY[/yellow]"
    return ""


async def _all_deployments(
    session: AsyncSession, cache: CatalogCache, filters: DeploymentFilters
) -> list[DeploymentPublic]:
    rows: list[DeploymentPublic] = []
    page = 1
    while True:
        result = await list_deployments(
            session=session,
            cache=cache,
            filters=filters.model_copy(update={"page": page, "page_size": MAX_PAGE_SIZE}),
        )
        rows.extend(result.items)
        if page * MAX_PAGE_SIZE >= result.total:
            return rows
        page += 1


async def _certifications(
    session: AsyncSession, region: str, provider: str | None, vendor: str | None
) -> dict[tuple[str, str], CertificationPublic]:
    found: dict[tuple[str, str], CertificationPublic] = {}
    # OpenAI-compatible deployments are certified once, under "global".
    for where in dict.fromkeys((region, GLOBAL_REGION)):
        page = 1
        while True:
            result = await list_certifications(
                session=session,
                filters=CertificationFilters(
                    region=where, provider=provider, vendor=vendor, page=page, page_size=200
                ),
            )
            for cert in result.items:
                found[(cert.deployment_row_id, cert.region)] = cert
            if page * 200 >= result.total:
                break
            page += 1
    return found


def _filters(
    vendor: str | None, provider: str | None, capability: list[str], inference_type: str | None
) -> DeploymentFilters:
    kind: InferenceType | None = None
    if inference_type is not None:
        try:
            kind = InferenceType(inference_type.upper())
        except ValueError as exc:
            choices = ", ".join(t.value for t in InferenceType)
            raise fail(
                f"unknown inference type '{escape(inference_type)}'; one of: {choices}"
            ) from exc
    try:
        return DeploymentFilters(
            vendor=vendor, provider=provider, capability=capability, inference_type=kind
        )
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]) for e in exc.errors())
        raise fail(escape(messages)) from exc


@app.command(name="list")
def list_models(
    vendor: str | None = typer.Option(None, help="Only this vendor (e.g. anthropic)."),
    provider: str | None = typer.Option(None, help="Only this provider slug."),
    capability: list[str] = typer.Option(
        [], help=f"Only deployments with it (repeatable): {', '.join(CAPABILITY_FLAGS)}."
    ),
    inference_type: str | None = typer.Option(
        None, help="ON_DEMAND, INFERENCE_PROFILE or PROVISIONED."
    ),
    region: str | None = typer.Option(
        None,
        help="Only deployments offered in this region (or of providers without regions), "
        "with their certification status and badge there.",
    ),
) -> None:
    """The catalog's deployments as a table (model, provider, capabilities, price)."""
    filters = _filters(vendor, provider, capability, inference_type)
    if region is not None and unknown_regions([region]):
        raise fail(f"unknown region '{escape(region)}'")
    settings = get_settings()

    async def action(
        database: Database,
    ) -> tuple[list[DeploymentPublic], dict[tuple[str, str], CertificationPublic]]:
        async with database.session() as session:
            cache = CatalogCache(ttl_s=settings.catalog_cache_ttl_s)
            rows = await _all_deployments(session, cache, filters)
            certs = await _certifications(session, region, provider, vendor) if region else {}
            return rows, certs

    rows, certs = _run(action)
    if region is not None:
        listed = len(rows)
        rows = [r for r in rows if (offered := _offered(r)) is None or region in offered]
        if listed and not rows:
            say(
                f"No deployment of the {count(listed, 'matching one')} is offered in "
                f"{escape(region)} (`myia models discover --region {escape(region)}` "
                "asks the provider)."
            )
            return
    if not rows:
        say("No deployment matches (`myia db seed` and `myia models discover` fill the catalog).")
        return
    where = f" offered in {escape(region)}" if region else ""
    title = f"📚 Catalog: {count(len(rows), 'deployment')}{where}"
    table = Table(title=title, title_justify="left")
    for column in (
        "vendor",
        "model",
        "provider",
        "deployment id",
        "type",
        "caps",
        "$ in/out per 1M",
    ):
        table.add_column(column)
    if region:
        table.add_column(f"certification {region}")
    for row in sorted(
        rows, key=lambda r: (r.base_model.vendor, r.base_model.name, r.provider.slug)
    ):
        simulated = " [magenta](sim)[/magenta]" if row.provider.is_simulated else ""
        kind = (
            "🔐 profile"
            if row.inference_type is InferenceType.INFERENCE_PROFILE
            else (row.inference_type.value.lower().replace("_", "-"))
        )
        price = f"{row.cost_per_1m_input or 0:g} / {row.cost_per_1m_output or 0:g}"
        unpriced = row.cost_per_1m_input is None or row.cost_per_1m_output is None
        if unpriced or (row.provider_config or {}).get("price_source") == "unknown":
            price = "[yellow]unknown[/yellow]"
        cert = None
        if region:
            cert = certs.get((row.id, region)) or certs.get((row.id, GLOBAL_REGION))
        cells = [
            escape(row.base_model.vendor),
            escape(row.base_model.name) + _lifecycle(row, region, cert),
            escape(row.provider.slug) + simulated,
            escape(row.deployment_id),
            kind,
            _capabilities(row),
            price,
        ]
        if region:
            cells.append(_certification(cert))
        table.add_row(*cells)
    console.print(table)
    say(
        "Legend: 👁️ vision · ⚙️ tools · {} JSON · ≋ streaming · 🔐 needs an inference profile · "
        "LEGACY: the provider marks it legacy (per region when known) · END OF LIFE: the "
        "provider refused it as end of life"
    )


def _print_checks(results: list[CredentialCheckResult]) -> None:
    table = Table(title="🔐 Credential checks", title_justify="left")
    for column in ("provider", "credential", "result", "detail", "ms"):
        table.add_column(column)
    for result in results:
        mark = (
            "[green]✅ ok[/green]" if result.ok else f"[red]❌ {result.category or 'error'}[/red]"
        )
        simulated = " [magenta](sim)[/magenta]" if result.is_simulated else ""
        recorded = " (recorded)" if result.recorded else ""
        table.add_row(
            escape(result.provider_slug) + simulated,
            escape(result.source) + recorded,
            mark,
            escape(result.detail),
            f"{result.latency_ms:.0f}",
        )
    console.print(table)


@app.command(name="check-credentials")
def check_credentials_command(
    provider: str | None = typer.Option(
        None, help="Only this provider slug (default: all active)."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Check this user's stored credentials (recorded as validations)."
    ),
    region: str | None = typer.Option(None, help="AWS region for Bedrock checks."),
) -> None:
    """Validate credentials against each provider; exit 1 if any check fails."""
    if region is not None and unknown_regions([region]):
        raise fail(f"unknown region '{escape(region)}'")
    settings = get_settings()

    async def action(database: Database) -> list[CredentialCheckResult]:
        async with database.session() as session:
            return await check_credentials(
                session=session,
                secret=settings.encryption_secret,
                provider_slug=provider,
                user_id=await _user_id(session, user),
                region=region,
            )

    with console.status("Checking credentials...", spinner="dots"):
        results = _run(action)
    if not results:
        raise fail("no active provider to check (run `myia db seed`)")
    _print_checks(results)
    failed = [r.provider_slug for r in results if not r.ok]
    if failed:
        raise fail(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}")
    say(f"[green]✅[/green] {len(results)} credential checks passed")
