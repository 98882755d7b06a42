"""What a delete takes with it, counted before an operator confirms it (the admin pages).

A base model's deployments go with it, and with each deployment its certifications, queued
certification items, regional prices and price history (ON DELETE CASCADE); chat messages and
call logs that used a deployment keep their text and lose the link (SET NULL). The counts are
read in one statement per table, whatever the number of deployments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from myia.db.models import (
    ApiCallLog,
    BaseModel,
    CertificationJobItem,
    DeploymentPrice,
    Message,
    ModelCertification,
    ModelDeployment,
    PriceHistory,
    Provider,
)
from myia.errors import NotFoundError

# Deployments named one by one on the confirm page; the count is always complete.
LISTED_DEPLOYMENTS = 50


@dataclass(frozen=True)
class DeleteImpact:
    """What goes (deleted with it) and what stays but loses its link."""

    name: str
    deployments: list[str]  # "provider · deployment id", at most LISTED_DEPLOYMENTS
    deployment_count: int
    certifications: int
    queued_items: int
    regional_prices: int
    price_changes: int
    messages_unlinked: int
    call_logs_unlinked: int


async def _count(session: AsyncSession, column: QueryableAttribute[Any], ids: list[str]) -> int:
    if not ids:
        return 0
    found = await session.scalar(select(func.count()).where(column.in_(ids)))
    return int(found or 0)


async def _impact(
    session: AsyncSession, name: str, ids: list[str], labels: list[str]
) -> DeleteImpact:
    return DeleteImpact(
        name=name,
        deployments=labels[:LISTED_DEPLOYMENTS],
        deployment_count=len(ids),
        certifications=await _count(session, ModelCertification.deployment_id, ids),
        queued_items=await _count(session, CertificationJobItem.deployment_id, ids),
        regional_prices=await _count(session, DeploymentPrice.deployment_id, ids),
        price_changes=await _count(session, PriceHistory.deployment_id, ids),
        messages_unlinked=await _count(session, Message.deployment_id, ids),
        call_logs_unlinked=await _count(session, ApiCallLog.deployment_id, ids),
    )


async def base_model_delete_impact(*, session: AsyncSession, model_id: str) -> DeleteImpact:
    name = await session.scalar(select(BaseModel.name).where(BaseModel.id == model_id))
    if name is None:
        raise NotFoundError("base model", model_id)
    rows = (
        await session.execute(
            select(ModelDeployment.id, Provider.slug, ModelDeployment.deployment_id)
            .join(Provider, Provider.id == ModelDeployment.provider_id)
            .where(ModelDeployment.base_model_id == model_id)
            .order_by(Provider.slug, ModelDeployment.deployment_id)
        )
    ).all()
    ids = [row[0] for row in rows]
    return await _impact(session, name, ids, [f"{row[1]} · {row[2]}" for row in rows])


async def deployment_delete_impact(*, session: AsyncSession, deployment_id: str) -> DeleteImpact:
    row = (
        await session.execute(
            select(Provider.slug, ModelDeployment.deployment_id)
            .join(Provider, Provider.id == ModelDeployment.provider_id)
            .where(ModelDeployment.id == deployment_id)
        )
    ).first()
    if row is None:
        raise NotFoundError("deployment", deployment_id)
    label = f"{row[0]} · {row[1]}"
    return await _impact(session, label, [deployment_id], [label])
