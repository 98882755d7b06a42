"""`myia db seed [--demo]`: providers, the basic models and, on demand, demo data (seed 000).

Idempotent by natural keys (provider slug, base model name, (provider, deployment_id), user
email, chat title per user): a row that already exists is left as it is, so running the seed
again adds nothing and never overwrites what an operator has edited since.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.bundled_prices import record_bundled_price
from myia.catalog.price_history import ChangeVia
from myia.db.enums import CapabilitiesSource
from myia.db.models import BaseModel, ModelDeployment, Provider
from myia.errors import InvalidInputError
from myia.maintenance.demo_data import SeededUser, seed_demo
from myia.maintenance.pricing_file import PriceEntry, PricingTable, default_pricing
from myia.maintenance.seed_file import SeedBaseModel, SeedFile, default_seed


@dataclass(frozen=True)
class SeededProvider:
    slug: str
    name: str
    id: str
    models: int
    created: bool


@dataclass
class SeedReport:
    demo: bool
    providers: list[SeededProvider] = field(default_factory=list)
    users: list[SeededUser] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    chats_skipped: int = 0

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def _as_datetime(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def _prices(seed: SeedFile, pricing: PricingTable) -> dict[tuple[str, str], PriceEntry]:
    """Every seeded deployment's price, checked before anything is written."""
    prices: dict[tuple[str, str], PriceEntry] = {}
    for model in seed.base_models:
        for deployment in model.deployments:
            key = (deployment.provider, deployment.deployment_id)
            price = pricing.entry_for(*key)
            if price is None:
                raise InvalidInputError(
                    "pricing file", f"no price for {key[0]} model '{key[1]}' in pricing.yaml"
                )
            prices[key] = price
    return prices


async def _seed_providers(
    session: AsyncSession, seed: SeedFile, report: SeedReport
) -> tuple[dict[str, Provider], set[str]]:
    existing = {p.slug: p for p in (await session.scalars(select(Provider))).all()}
    created: set[str] = set()
    for item in seed.providers:
        if item.slug in existing:
            continue
        created.add(item.slug)
        provider = Provider(
            slug=item.slug, name=item.name, base_url=item.base_url, auth_type=item.auth_type
        )
        session.add(provider)
        existing[item.slug] = provider
        report.created["providers"] += 1
    await session.flush()
    return existing, created


async def _seed_base_model(
    session: AsyncSession,
    item: SeedBaseModel,
    providers: dict[str, Provider],
    prices: dict[tuple[str, str], PriceEntry],
    report: SeedReport,
) -> None:
    base = await session.scalar(select(BaseModel).where(BaseModel.name == item.name))
    if base is None:
        base = BaseModel(
            name=item.name,
            vendor=item.vendor,
            family=item.family,
            version=item.version,
            capabilities=dict(item.capabilities),
            description=item.description,
            release_date=_as_datetime(item.release_date),
        )
        session.add(base)
        await session.flush()
        report.created["base_models"] += 1
    for deployment in item.deployments:
        provider = providers[deployment.provider]
        found = await session.scalar(
            select(ModelDeployment.id).where(
                ModelDeployment.provider_id == provider.id,
                ModelDeployment.deployment_id == deployment.deployment_id,
            )
        )
        if found is not None:
            continue
        row = ModelDeployment(
            base_model_id=base.id,
            provider_id=provider.id,
            deployment_id=deployment.deployment_id,
            inference_type=deployment.inference_type,
            capabilities_source=CapabilitiesSource.MANUAL,
        )
        session.add(row)
        await record_bundled_price(
            session=session,
            deployment=row,
            entry=prices[(deployment.provider, deployment.deployment_id)],
            via=ChangeVia.SEED,
        )
        report.created["model_deployments"] += 1


async def seed_catalog(
    *,
    session: AsyncSession,
    report: SeedReport,
    seed: SeedFile | None = None,
    pricing: PricingTable | None = None,
) -> None:
    """Providers, base models and deployments, with prices from the pricing file."""
    seed = seed or default_seed()
    prices = _prices(seed, pricing or default_pricing())
    providers, created = await _seed_providers(session, seed, report)
    for item in seed.base_models:
        await _seed_base_model(session, item, providers, prices, report)
    await session.commit()
    per_provider = select(ModelDeployment.provider_id, func.count()).group_by(
        ModelDeployment.provider_id
    )
    counts: dict[str, int] = {row[0]: row[1] for row in await session.execute(per_provider)}
    for seeded in seed.providers:
        provider = providers[seeded.slug]
        report.providers.append(
            SeededProvider(
                slug=provider.slug,
                name=provider.name,
                id=provider.id,
                models=counts.get(provider.id, 0),
                created=provider.slug in created,
            )
        )


async def seed_database(
    *,
    session: AsyncSession,
    demo: bool = False,
    seed: SeedFile | None = None,
    pricing: PricingTable | None = None,
) -> SeedReport:
    """Run the seed; with `demo`, also the demo users, chats, messages and call logs."""
    seed = seed or default_seed()
    report = SeedReport(demo=demo)
    await seed_catalog(session=session, report=report, seed=seed, pricing=pricing)
    if demo:
        demo_report = await seed_demo(session=session, seed=seed)
        report.created.update(demo_report.created)
        report.chats_skipped = demo_report.chats_skipped
        report.users = demo_report.users
    return report
