"""The one way a deployment's price changes, and the history each change leaves.

Every path that sets a price (the API, the admin page, the seed, discovery, a catalog import)
calls `record_price_change`: it writes the price with its source and as-of date, on the
deployment (region None) or as the deployment's price in one region or geography, and
appends a `price_history` row when the price or its source changed. It does not commit: the
caller's transaction holds the change and its history together.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_schemas import PriceHistoryEntry
from myia.db.enums import PriceSourceKind
from myia.db.models import DeploymentPrice, ModelDeployment, PriceHistory
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.telemetry.cost import price_in_region

# How many history rows one page shows; the table keeps them all.
HISTORY_PAGE = 50
MAX_REGION_LENGTH = 64


class ChangeVia(enum.StrEnum):
    """The path that wrote a price, kept on its history row."""

    API = "api"
    ADMIN = "admin"
    SEED = "seed"
    DISCOVERY = "discovery"
    IMPORT = "import"
    CLI = "cli"


@dataclass(frozen=True)
class PriceSource:
    kind: PriceSourceKind
    name: str | None = None
    url: str | None = None
    as_of: date | None = None

    @classmethod
    def operator(cls, name: str | None = None, url: str | None = None) -> PriceSource:
        """An operator's entry, dated today unless they said otherwise."""
        return cls(PriceSourceKind.OPERATOR, name, url, utcnow().date())


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens in and out, and per hour (provisioned); None = unknown, never 0."""

    input: float | None
    output: float | None
    hour: float | None = None


def _source_of(row: ModelDeployment) -> PriceSource | None:
    if row.price_source_kind is None:
        return None
    return PriceSource(
        row.price_source_kind, row.price_source_name, row.price_source_url, row.price_as_of
    )


def _history(
    deployment_id: str,
    region: str | None,
    old: Price,
    new: Price,
    source: PriceSource | None,
    via: ChangeVia,
    changed_by: str | None,
) -> PriceHistory:
    return PriceHistory(
        deployment_id=deployment_id,
        region=region,
        old_input=old.input,
        old_output=old.output,
        old_hour=old.hour,
        new_input=new.input,
        new_output=new.output,
        new_hour=new.hour,
        source_kind=source.kind if source else None,
        source_name=source.name if source else None,
        source_url=source.url if source else None,
        as_of=source.as_of if source else None,
        via=via.value,
        changed_by=changed_by[:200] if changed_by else None,
        changed_at=utcnow(),
    )


async def record_price_change(
    *,
    session: AsyncSession,
    deployment: ModelDeployment,
    price: Price | None,
    source: PriceSource | None,
    via: ChangeVia,
    changed_by: str | None = None,
    region: str | None = None,
) -> bool:
    """Set `deployment`'s price (or, with `region`, its price there; `price` None removes
    that regional price) and record the change. True when something changed."""
    if inspect(deployment).pending:
        # No relationship orders the two inserts: the deployment's row must exist first.
        await session.flush()
    if region is not None:
        return await _record_regional(
            session, deployment.id, region, price, source, via, changed_by
        )
    old = Price(
        deployment.cost_per_1m_input, deployment.cost_per_1m_output, deployment.cost_per_hour
    )
    new = price if price is not None else Price(None, None, None)
    if new.input is None and new.output is None and new.hour is None:
        source = None  # no price, nothing to cite
    if old == new and _source_of(deployment) == source:
        return False
    deployment.cost_per_1m_input = new.input
    deployment.cost_per_1m_output = new.output
    deployment.cost_per_hour = new.hour
    deployment.price_source_kind = source.kind if source else None
    deployment.price_source_name = source.name if source else None
    deployment.price_source_url = source.url if source else None
    deployment.price_as_of = source.as_of if source else None
    session.add(_history(deployment.id, None, old, new, source, via, changed_by))
    return True


async def _record_regional(
    session: AsyncSession,
    deployment_id: str,
    region: str,
    price: Price | None,
    source: PriceSource | None,
    via: ChangeVia,
    changed_by: str | None,
) -> bool:
    region = region.strip().lower()
    if not region or len(region) > MAX_REGION_LENGTH:
        raise InvalidInputError("region", f"a region or geography of 1-{MAX_REGION_LENGTH} chars")
    row = await session.scalar(
        select(DeploymentPrice).where(
            DeploymentPrice.deployment_id == deployment_id, DeploymentPrice.region == region
        )
    )
    old = Price(None, None) if row is None else Price(row.cost_per_1m_input, row.cost_per_1m_output)
    if price is None or price.input is None or price.output is None:
        if price is not None:
            raise InvalidInputError("price", "a regional price needs both input and output")
        if row is None:
            return False
        await session.delete(row)
        session.add(_history(deployment_id, region, old, Price(None, None), None, via, changed_by))
        return True
    if source is None:
        raise InvalidInputError("source", "a regional price needs its source")
    if row is None:
        row = DeploymentPrice(deployment_id=deployment_id, region=region)
        session.add(row)
    else:
        same_source = (row.source_kind, row.source_name, row.source_url, row.as_of) == (
            source.kind,
            source.name,
            source.url,
            source.as_of,
        )
        if old == Price(price.input, price.output) and same_source:
            return False
    row.cost_per_1m_input = price.input
    row.cost_per_1m_output = price.output
    row.source_kind = source.kind
    row.source_name = source.name
    row.source_url = source.url
    row.as_of = source.as_of
    new = Price(price.input, price.output)
    session.add(_history(deployment_id, region, old, new, source, via, changed_by))
    return True


async def price_history(
    *, session: AsyncSession, deployment_ids: list[str], limit: int = HISTORY_PAGE
) -> list[PriceHistoryEntry]:
    """The newest changes of these deployments first, at most `limit` (one query)."""
    if not deployment_ids:
        return []
    rows = await session.scalars(
        select(PriceHistory)
        .where(PriceHistory.deployment_id.in_(deployment_ids))
        .order_by(PriceHistory.changed_at.desc(), PriceHistory.id)
        .limit(max(1, min(limit, 500)))
    )
    return [PriceHistoryEntry.model_validate(row, from_attributes=True) for row in rows]


async def regional_prices(
    *, session: AsyncSession, deployment_ids: list[str]
) -> dict[str, list[DeploymentPrice]]:
    """Each deployment's regional prices (one query), by region."""
    if not deployment_ids:
        return {}
    rows = await session.scalars(
        select(DeploymentPrice)
        .where(DeploymentPrice.deployment_id.in_(deployment_ids))
        .order_by(DeploymentPrice.deployment_id, DeploymentPrice.region)
    )
    found: dict[str, list[DeploymentPrice]] = {}
    for row in rows:
        found.setdefault(row.deployment_id, []).append(row)
    return found


async def deployment_price_in_region(
    *, session: AsyncSession, deployment: ModelDeployment, region: str | None
) -> tuple[float | None, float | None]:
    """What a call to `deployment` made from `region` costs per 1M tokens (one query)."""
    if region is None:
        return deployment.cost_per_1m_input, deployment.cost_per_1m_output
    found = await regional_prices(session=session, deployment_ids=[deployment.id])
    regional = {
        p.region: (p.cost_per_1m_input, p.cost_per_1m_output) for p in found.get(deployment.id, [])
    }
    return price_in_region(
        deployment.cost_per_1m_input, deployment.cost_per_1m_output, regional, region
    )
