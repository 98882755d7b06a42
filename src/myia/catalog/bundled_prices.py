"""Prices from the bundled table (`myia/data/pricing.yaml`) written onto deployments.

The seed and discovery price new deployments from the file through `record_bundled_price`:
the deployment's price and each regional price the entry lists, every one cited with the
entry's source page and as-of date, all through `record_price_change` (so each leaves its
history row).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.db.enums import PriceSourceKind
from myia.db.models import ModelDeployment
from myia.maintenance.pricing_file import PriceEntry


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
