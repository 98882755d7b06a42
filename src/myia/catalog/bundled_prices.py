"""Prices from the bundled table (`myia/data/pricing.yaml`) written onto deployments.

The seed and discovery price new deployments from the file through `record_bundled_price`:
the deployment's price and each regional price the entry lists, every one cited with the
entry's source page and as-of date, all through `record_price_change` (so each leaves its
history row). `apply_bundled_prices` brings the catalog back to the table where the price
check finds it unpriced or different (`myia prices update`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.price_check import MAX_LIMIT, check_prices
from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.db.enums import PriceSourceKind
from myia.db.models import ModelDeployment
from myia.maintenance.pricing_file import PriceEntry, PricingTable, default_pricing


def bundled_source(entry: PriceEntry) -> PriceSource:
    return PriceSource(PriceSourceKind.BUNDLED, entry.source_name, entry.source, entry.as_of)


async def record_bundled_price(
    *,
    session: AsyncSession,
    deployment: ModelDeployment,
    entry: PriceEntry,
    via: ChangeVia,
    changed_by: str | None = None,
) -> bool:
    """Set the entry's price (and regional prices) on `deployment`; True when any changed."""
    source = bundled_source(entry)
    changed = await record_price_change(
        session=session,
        deployment=deployment,
        price=Price(entry.input, entry.output, deployment.cost_per_hour),
        source=source,
        via=via,
        changed_by=changed_by,
    )
    for region, regional in sorted(entry.regions.items()):
        regional_source = PriceSource(
            PriceSourceKind.BUNDLED,
            regional.source_name,
            regional.source or entry.source,
            regional.as_of or entry.as_of,
        )
        changed |= await record_price_change(
            session=session,
            deployment=deployment,
            price=Price(regional.input, regional.output),
            source=regional_source,
            via=via,
            changed_by=changed_by,
            region=region,
        )
    return changed


@dataclass(frozen=True)
class BundledUpdate:
    """One deployment the bundled table re-prices (or, in a dry run, would)."""

    provider: str
    deployment_id: str
    old_input: float | None
    old_output: float | None
    new_input: float
    new_output: float
    as_of: date


async def apply_bundled_prices(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    pricing: PricingTable | None = None,
    dry_run: bool = False,
    changed_by: str | None = None,
) -> list[BundledUpdate]:
    """Price from the bundled table every active deployment the price check reports as
    unpriced (when the table knows it) or as different from the table, and give the table's
    citation to a price written before prices had a source; an operator's entry newer than
    the table is left alone (the check does not report it). Each change goes through
    `record_price_change` and leaves its history row."""
    pricing = pricing or default_pricing()
    report = await check_prices(session=session, limit=MAX_LIMIT, pricing=pricing)
    wanted = [
        issue
        for issue in report.issues
        if issue.finding == "differs"
        or (
            issue.finding in ("unpriced", "stale")
            # stale: only a price written before prices had a source (migration 0010), which
            # takes the table's citation.
            and (issue.finding == "unpriced" or issue.price_source_kind is None)
            and pricing.entry_for(issue.provider, issue.deployment_id) is not None
        )
    ]
    # A deployment can be both stale and different: one update each.
    wanted = list({issue.deployment_row_id: issue for issue in wanted}.values())
    rows = {
        row.id: row
        for row in await session.scalars(
            select(ModelDeployment).where(
                ModelDeployment.id.in_([issue.deployment_row_id for issue in wanted])
            )
        )
    }
    updates: list[BundledUpdate] = []
    for issue in wanted:
        entry = pricing.entry_for(issue.provider, issue.deployment_id)
        row = rows.get(issue.deployment_row_id)
        if entry is None or row is None:
            continue
        updates.append(
            BundledUpdate(
                provider=issue.provider,
                deployment_id=issue.deployment_id,
                old_input=row.cost_per_1m_input,
                old_output=row.cost_per_1m_output,
                new_input=entry.input,
                new_output=entry.output,
                as_of=entry.as_of,
            )
        )
        if not dry_run:
            await record_bundled_price(
                session=session, deployment=row, entry=entry, via=ChangeVia.CLI,
                changed_by=changed_by,
            )  # fmt: skip
    if dry_run:
        await session.rollback()
    elif updates:
        await session.commit()
        await cache.invalidate(DEPLOYMENTS, BASE_MODELS)
    return updates
