"""A base model's prices for its page: each deployment's price with its source and date, its
regional prices, and the model's price history — three queries whatever the deployment count."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from myia.catalog.price_history import HISTORY_PAGE, price_history, regional_prices
from myia.catalog.price_schemas import PriceHistoryEntry, RegionalPricePublic
from myia.db.enums import PriceSourceKind
from myia.db.models import BaseModel as BaseModelRow
from myia.db.models import ModelDeployment, Provider
from myia.errors import NotFoundError


class DeploymentPriceView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    deployment_id: str
    provider_slug: str
    provider_name: str
    is_active: bool
    cost_per_1m_input: float | None
    cost_per_1m_output: float | None
    cost_per_hour: float | None
    price_source_kind: PriceSourceKind | None
    price_source_name: str | None
    price_source_url: str | None
    price_as_of: date | None
    regional: list[RegionalPricePublic]


class ModelPrices(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_model_id: str
    name: str
    vendor: str
    deployments: list[DeploymentPriceView]
    # Newest first, at most HISTORY_PAGE rows; `deployment_id` is the catalog id.
    history: list[PriceHistoryEntry]


async def model_prices(
    *, session: AsyncSession, model_id: str, history_limit: int = HISTORY_PAGE
) -> ModelPrices:
    model = await session.scalar(select(BaseModelRow).where(BaseModelRow.id == model_id))
    if model is None:
        raise NotFoundError("base model", model_id)
    rows = list(
        await session.scalars(
            select(ModelDeployment)
            .join(ModelDeployment.provider)
            .where(ModelDeployment.base_model_id == model_id)
            .options(contains_eager(ModelDeployment.provider))
            .order_by(Provider.slug, ModelDeployment.deployment_id)
        )
    )
    ids = [row.id for row in rows]
    regional = await regional_prices(session=session, deployment_ids=ids)
    history = await price_history(session=session, deployment_ids=ids, limit=history_limit)
    deployments = [
        DeploymentPriceView(
            id=row.id,
            deployment_id=row.deployment_id,
            provider_slug=row.provider.slug,
            provider_name=row.provider.name,
            is_active=row.is_active,
            cost_per_1m_input=row.cost_per_1m_input,
            cost_per_1m_output=row.cost_per_1m_output,
            cost_per_hour=row.cost_per_hour,
            price_source_kind=row.price_source_kind,
            price_source_name=row.price_source_name,
            price_source_url=row.price_source_url,
            price_as_of=row.price_as_of,
            regional=[RegionalPricePublic.model_validate(p) for p in regional.get(row.id, [])],
        )
        for row in rows
    ]
    return ModelPrices(
        base_model_id=model.id,
        name=model.name,
        vendor=model.vendor,
        deployments=deployments,
        history=history,
    )
