"""A deployment's prices through the API: read them with their history, set or remove the
price of one region or geography. Writes go through `record_price_change` (one history row
each) and clear the catalog cache: the route table prices calls with them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.price_history import (
    HISTORY_PAGE,
    ChangeVia,
    Price,
    PriceSource,
    price_history,
    record_price_change,
    regional_prices,
)
from myia.catalog.price_schemas import (
    DeploymentPricesPublic,
    RegionalPricePublic,
    RegionalPriceWrite,
)
from myia.db.models import ModelDeployment
from myia.db.types import utcnow
from myia.errors import NotFoundError

MAX_HISTORY = 500


async def _deployment(session: AsyncSession, deployment_id: str) -> ModelDeployment:
    row = await session.scalar(
        select(ModelDeployment)
        .where(ModelDeployment.id == deployment_id)
        .options(joinedload(ModelDeployment.provider))
    )
    if row is None:
        raise NotFoundError("deployment", deployment_id)
    return row


async def get_deployment_prices(
    *, session: AsyncSession, deployment_id: str, limit: int = HISTORY_PAGE
) -> DeploymentPricesPublic:
    row = await _deployment(session, deployment_id)
    regional = await regional_prices(session=session, deployment_ids=[row.id])
    history = await price_history(
        session=session, deployment_ids=[row.id], limit=min(limit, MAX_HISTORY)
    )
    return DeploymentPricesPublic(
        id=row.id,
        deployment_id=row.deployment_id,
        provider_slug=row.provider.slug,
        cost_per_1m_input=row.cost_per_1m_input,
        cost_per_1m_output=row.cost_per_1m_output,
        cost_per_hour=row.cost_per_hour,
        price_source_kind=row.price_source_kind,
        price_source_name=row.price_source_name,
        price_source_url=row.price_source_url,
        price_as_of=row.price_as_of,
        regional=[RegionalPricePublic.model_validate(p) for p in regional.get(row.id, [])],
        history=history,
    )


async def set_regional_price(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    deployment_id: str,
    region: str,
    data: RegionalPriceWrite,
    via: ChangeVia = ChangeVia.API,
    changed_by: str | None = None,
) -> DeploymentPricesPublic:
    row = await _deployment(session, deployment_id)
    source = PriceSource(
        data.price_source_kind,
        data.price_source_name,
        data.price_source_url,
        data.price_as_of or utcnow().date(),
    )
    await record_price_change(
        session=session,
        deployment=row,
        price=Price(data.cost_per_1m_input, data.cost_per_1m_output),
        source=source,
        via=via,
        changed_by=changed_by,
        region=region,
    )
    await session.commit()
    await cache.invalidate(DEPLOYMENTS, BASE_MODELS)
    return await get_deployment_prices(session=session, deployment_id=deployment_id)


async def delete_regional_price(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    deployment_id: str,
    region: str,
    via: ChangeVia = ChangeVia.API,
    changed_by: str | None = None,
) -> None:
    """Remove the price of `region` (calls from there pay the deployment's price again);
    404 when the deployment has none there."""
    row = await _deployment(session, deployment_id)
    removed = await record_price_change(
        session=session,
        deployment=row,
        price=None,
        source=None,
        via=via,
        changed_by=changed_by,
        region=region,
    )
    if not removed:
        raise NotFoundError("regional price", f"{deployment_id} in {region}")
    await session.commit()
    await cache.invalidate(DEPLOYMENTS, BASE_MODELS)
