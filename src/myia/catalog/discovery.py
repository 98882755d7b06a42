"""Model discovery (seed 000, step 3): what a provider offers -> new catalog rows.

List the provider's models through its adapter, keep what MyIA can serve (rules in
`discovery_rules`), drop the blacklist, skip what the catalog has, and write new base
models and deployments with capabilities (listing + curated data) and prices (pricing file).
Idempotent: a second run adds nothing. `dry_run` computes the same report and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.bundled_prices import record_bundled_price
from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.capability_data import CapabilityData, default_capability_data
from myia.catalog.discovery_report import (
    PRICE_FROM_FILE,
    PRICE_FROM_LISTING,
    PRICE_UNKNOWN,
    DiscoveryReport,
    ModelPlan,
)
from myia.catalog.discovery_rules import (
    bedrock_drop_reason,
    bedrock_inference_type,
    bedrock_vendor,
    is_blacklisted,
    listing_context_window,
    listing_price,
    openai_compat_drop_reason,
    openai_compat_vendor,
    parse_blacklist,
    slugify_vendor,
)
from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.catalog.schemas import Capabilities
from myia.config import get_settings
from myia.credentials.connections import connection_for
from myia.db.enums import AuthType, CapabilitiesSource, InferenceType, PriceSourceKind
from myia.db.models import BaseModel, ModelDeployment, Provider
from myia.db.types import utcnow
from myia.errors import ConflictError, InvalidInputError
from myia.maintenance.pricing_file import PriceEntry, PricingTable, default_pricing
from myia.observability.logging import get_logger
from myia.providers.adapter import ProviderAdapter
from myia.providers.bedrock.model_ids import choose_profile
from myia.providers.connection import ProviderConnection
from myia.providers.discovery import DiscoveredModel
from myia.providers.regions import unknown_regions
from myia.providers.registry import get_adapter

__all__ = ["DiscoveryReport", "ModelPlan", "discover", "discover_models", "find_provider"]

AdapterFactory = Callable[[ProviderConnection], ProviderAdapter]
log = get_logger(__name__)


async def find_provider(*, session: AsyncSession, slug: str) -> Provider:
    """The provider row, or an error that lists the slugs there are."""
    provider = await session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None:
        slugs = (await session.scalars(select(Provider.slug).order_by(Provider.slug))).all()
        known = ", ".join(slugs) or "none (run `myia db seed`)"
        raise InvalidInputError("provider", f"no provider '{slug}'; known providers: {known}")
    return provider


def check_region(provider: Provider, region: str | None) -> None:
    bedrock = provider.auth_type is AuthType.AWS_CREDENTIALS
    if bedrock and region is not None and unknown_regions([region]):
        raise InvalidInputError("region", f"'{region}' is not an AWS region Bedrock runs in")


async def discover_models(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    provider_slug: str,
    region: str | None = None,
    vendor: str | None = None,
    dry_run: bool = False,
    user_id: str | None = None,
    secret: str | Sequence[str] = "",
    blacklist: Iterable[str] | None = None,
    pricing: PricingTable | None = None,
    capabilities: CapabilityData | None = None,
    adapter_factory: AdapterFactory = get_adapter,
    timeout_s: float = 60.0,
) -> DiscoveryReport:
    """Discover on the provider named `provider_slug` with the user's stored credential
    (`user_id`) or, without one, the provider's standard chain (environment)."""
    provider = await find_provider(session=session, slug=provider_slug)
    check_region(provider, region)
    connection = await connection_for(
        session=session,
        provider=provider,
        region=region,
        user_id=user_id,
        secret=secret,
        timeout_s=timeout_s,
    )
    # End the read transaction before the provider call: an SQLite snapshot held across it
    # could not be written from afterwards if another process committed meanwhile.
    await session.commit()
    return await discover(
        session=session,
        cache=cache,
        provider=provider,
        connection=connection,
        region=region,
        vendor=vendor,
        dry_run=dry_run,
        blacklist=blacklist,
        pricing=pricing,
        capabilities=capabilities,
        adapter_factory=adapter_factory,
    )


async def discover(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    provider: Provider,
    connection: ProviderConnection,
    region: str | None = None,
    vendor: str | None = None,
    dry_run: bool = False,
    blacklist: Iterable[str] | None = None,
    pricing: PricingTable | None = None,
    capabilities: CapabilityData | None = None,
    adapter_factory: AdapterFactory = get_adapter,
) -> DiscoveryReport:
    """The whole run for one provider row and connection; see the module docstring."""
    provider_id, slug = provider.id, provider.slug
    bedrock = provider.auth_type is AuthType.AWS_CREDENTIALS
    banned = parse_blacklist(get_settings().discovery_blacklist if blacklist is None else blacklist)
    async with adapter_factory(connection) as adapter:
        listed = await adapter.list_models(region if bedrock else None)
    if bedrock and listed:
        region = listed[0].region or region  # the adapter may have taken the chain's default
    report = DiscoveryReport(
        provider_slug=slug,
        provider_name=provider.name,
        is_simulated=provider.is_simulated,
        region=region if bedrock else None,
        vendor=slugify_vendor(vendor) if vendor else None,
        dry_run=dry_run,
        listed=len(listed),
    )
    relevant = _relevant(listed, report, banned, bedrock=bedrock)
    vendors = {
        m.model_id: bedrock_vendor(m) if bedrock else openai_compat_vendor(m, slug)
        for m in relevant
    }
    _check_vendor(report, sorted(set(vendors.values())))

    existing = await _existing_deployments(session, provider_id)
    report.catalog_before = len(existing)
    new: list[DiscoveredModel] = []
    extend: list[tuple[ModelDeployment, dict[str, Any]]] = []
    for model in relevant:
        in_scope = report.vendor is None or vendors[model.model_id] == report.vendor
        found = existing.get(model.model_id)
        if found is None:
            report.new_by_vendor[vendors[model.model_id]] += 1
            if in_scope:
                new.append(model)
            continue
        if in_scope:
            report.already_in_catalog += 1
            seen = _seen_in_region(found.provider_config, model, region) if bedrock else None
            if seen is not None:
                extend.append((found, seen))
                if region not in _regions(found):
                    report.regions_extended += 1

    plans = [
        _plan(
            model,
            vendors[model.model_id],
            slug=slug,
            bedrock=bedrock,
            pricing=pricing or default_pricing(),
            data=capabilities or default_capability_data(),
        )
        for model in new
    ]
    report.added = await _mark_existing_names(session, plans)
    report.base_models_created = len({p.name for p in report.added if not p.base_model_exists})
    if not dry_run and (report.added or extend):
        await _write(session, provider_id, slug, report.added, extend)
        await cache.invalidate(BASE_MODELS, DEPLOYMENTS)
    log.info(
        "model discovery",
        provider=slug,
        region=report.region,
        vendor=report.vendor,
        dry_run=dry_run,
        listed=report.listed,
        relevant=report.relevant,
        added=report.added_count,
    )
    return report


def _relevant(
    listed: list[DiscoveredModel], report: DiscoveryReport, banned: frozenset[str], *, bedrock: bool
) -> list[DiscoveredModel]:
    kept: list[DiscoveredModel] = []
    seen: set[str] = set()
    for model in listed:
        if model.model_id in seen:  # one deployment per id, whatever the listing repeats
            continue
        seen.add(model.model_id)
        # The blacklist goes first so the report names every listed blacklisted id, even
        # one the other rules would have dropped anyway.
        if is_blacklisted(model, banned):
            report.blacklisted.append(model.model_id)
            continue
        reason = bedrock_drop_reason(model) if bedrock else openai_compat_drop_reason(model)
        if reason is not None:
            report.dropped[reason] += 1
            continue
        kept.append(model)
    report.relevant = len(kept)
    return kept


def _check_vendor(report: DiscoveryReport, offered: list[str]) -> None:
    if report.vendor is not None and report.vendor not in offered:
        where = f" in {report.region}" if report.region else ""
        raise InvalidInputError(
            "vendor",
            f"{report.provider_slug} offers no relevant model from '{report.vendor}'{where}; "
            f"vendors offered: {', '.join(offered) or 'none'}",
        )


async def _existing_deployments(
    session: AsyncSession, provider_id: str
) -> dict[str, ModelDeployment]:
    rows = await session.scalars(
        select(ModelDeployment).where(ModelDeployment.provider_id == provider_id)
    )
    return {row.deployment_id: row for row in rows}


def _regions(deployment: ModelDeployment) -> list[str]:
    regions = (deployment.provider_config or {}).get("regions")
    return [str(r) for r in regions] if isinstance(regions, list) else []


def _region_facts(model: DiscoveredModel, region: str) -> dict[str, Any]:
    """What one region's listing says of a model: its profile there and its lifecycle."""
    facts: dict[str, Any] = {}
    profile = choose_profile(model.inference_profile_ids, region)
    if profile is not None:
        facts["inference_profiles"] = {region: profile}
    if model.lifecycle_status:
        facts["lifecycle"] = {region: model.lifecycle_status}
    return facts


def _seen_in_region(
    config: dict[str, Any] | None, model: DiscoveredModel, region: str | None
) -> dict[str, Any] | None:
    """`config` updated with what `region`'s listing says (the region joins `regions`, its
    profile id and lifecycle are recorded), or None when nothing changes. Nothing else of
    the deployment is touched: an operator's edits are kept."""
    region = model.region or region
    if not region:
        return None
    updated = dict(config or {})
    regions = updated.get("regions")
    known = [str(r) for r in regions] if isinstance(regions, list) else []
    updated["regions"] = sorted({*known, region})
    for key, value in _region_facts(model, region).items():
        current = updated.get(key)
        updated[key] = {**(current if isinstance(current, dict) else {}), **value}
    profiles = updated.get("inference_profile_ids")
    listed = [str(p) for p in profiles] if isinstance(profiles, list) else []
    if model.inference_profile_ids or listed:
        updated["inference_profile_ids"] = sorted({*listed, *model.inference_profile_ids})
    return None if updated == (config or {}) else updated


def _price(
    model: DiscoveredModel, slug: str, pricing: PricingTable
) -> tuple[float | None, float | None, str, dict[str, Any], PriceEntry | None]:
    entry = pricing.entry_for(slug, model.model_id)
    if entry is not None:
        extra = {"price_as_of": entry.as_of.isoformat()}
        return entry.input, entry.output, PRICE_FROM_FILE, extra, entry
    listed = listing_price(model)
    if listed is not None:
        return listed[0], listed[1], PRICE_FROM_LISTING, {}, None
    return None, None, PRICE_UNKNOWN, {}, None  # unknown is null, never 0 (free)


def _plan(
    model: DiscoveredModel,
    vendor: str,
    *,
    slug: str,
    bedrock: bool,
    pricing: PricingTable,
    data: CapabilityData,
) -> ModelPlan:
    family = data.for_model(model.model_id)
    if bedrock:
        inference_type = bedrock_inference_type(model) or InferenceType.ON_DEMAND
        vision = "IMAGE" in model.input_modalities
        streaming = bool(model.streaming_supported)
        context = family.max_context_window if family else None
    else:
        inference_type = InferenceType.ON_DEMAND
        vision = bool(family and family.vision)
        streaming = True  # every chat-completions server streams
        context = listing_context_window(model) or (family.max_context_window if family else None)
    capabilities = Capabilities(
        streaming=streaming,
        vision=vision,
        tool_calling=bool(family and family.tool_calling),
        json_output=bool(family and family.json_output),
        max_context_window=context,
        max_output_tokens=family.max_output_tokens if family else None,
    ).model_dump()
    cost_in, cost_out, source, price_extra, entry = _price(model, slug, pricing)
    config: dict[str, Any] = {
        "price_source": source,
        **price_extra,
        "capabilities_from": f"capabilities.yaml:{family.family}" if family else "listing",
        "discovered_at": utcnow().isoformat(),
    }
    if bedrock:
        config.update(
            regions=[model.region] if model.region else [],
            model_arn=model.raw.get("modelArn"),
            inference_profile_ids=list(model.inference_profile_ids),
            lifecycle_status=model.lifecycle_status,
            **(_region_facts(model, model.region) if model.region else {}),
        )
        if inference_type is InferenceType.INFERENCE_PROFILE:
            config["profile_format"] = "{geo}.{model_id}"
    elif model.provider_name:
        config["owned_by"] = model.provider_name
    return ModelPlan(
        deployment_id=model.model_id,
        name=model.name.strip()[:200] or model.model_id,
        vendor=vendor,
        family=family.family if family else None,
        inference_type=inference_type,
        capabilities=capabilities,
        cost_per_1m_input=cost_in,
        cost_per_1m_output=cost_out,
        price_source=source,
        price_entry=entry,
        provider_config=config,
        deprecated=model.lifecycle_status == "LEGACY",
    )


async def _mark_existing_names(session: AsyncSession, plans: list[ModelPlan]) -> list[ModelPlan]:
    if not plans:
        return []
    names = {p.name for p in plans}
    taken = set(
        (await session.scalars(select(BaseModel.name).where(BaseModel.name.in_(names)))).all()
    )
    return [replace(p, base_model_exists=True) if p.name in taken else p for p in plans]


def _override(base: dict[str, Any] | None, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """Only what differs from the base model, as the catalog stores deployment capabilities."""
    stored = Capabilities.from_stored(base).model_dump()
    diff = {k: v for k, v in wanted.items() if v is not None and stored.get(k) != v}
    return diff or None


async def _record_price(
    session: AsyncSession, row: ModelDeployment, plan: ModelPlan, provider_slug: str
) -> None:
    """The new deployment's price with its source: the bundled table's entry, or what the
    provider's own listing states (dated today); nothing when neither knows it."""
    if plan.price_entry is not None:
        await record_bundled_price(
            session=session, deployment=row, entry=plan.price_entry, via=ChangeVia.DISCOVERY
        )
    elif plan.cost_per_1m_input is not None and plan.cost_per_1m_output is not None:
        listing = PriceSource(
            PriceSourceKind.DISCOVERY, f"{provider_slug} model listing", None, utcnow().date()
        )
        await record_price_change(
            session=session,
            deployment=row,
            price=Price(plan.cost_per_1m_input, plan.cost_per_1m_output),
            source=listing,
            via=ChangeVia.DISCOVERY,
        )


async def _write(
    session: AsyncSession,
    provider_id: str,
    provider_slug: str,
    plans: list[ModelPlan],
    extend: list[tuple[ModelDeployment, dict[str, Any]]],
) -> None:
    names = {p.name for p in plans}
    bases = {
        row.name: row
        for row in (await session.scalars(select(BaseModel).where(BaseModel.name.in_(names))))
    }
    for plan in plans:
        base = bases.get(plan.name)
        override = None
        if base is None:
            base = BaseModel(
                name=plan.name,
                vendor=plan.vendor,
                family=plan.family,
                capabilities=plan.capabilities,
                deprecated=plan.deprecated,
            )
            session.add(base)
            await session.flush()
            bases[plan.name] = base
        else:
            override = _override(base.capabilities, plan.capabilities)
        row = ModelDeployment(
            base_model_id=base.id,
            provider_id=provider_id,
            deployment_id=plan.deployment_id,
            inference_type=plan.inference_type,
            provider_config=plan.provider_config,
            capabilities=override,
            # Curated claims, not test results: certification replaces them (auto_test).
            capabilities_source=CapabilitiesSource.MANUAL,
        )
        session.add(row)
        await _record_price(session, row, plan, provider_slug)
    for deployment, config in extend:
        # A new dict, not an in-place edit: the JSON column must see the change.
        deployment.provider_config = config
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError(
            "the catalog changed while discovery was writing (another run?); run it again"
        ) from exc
