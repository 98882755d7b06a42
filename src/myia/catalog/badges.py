"""Certification badges in catalog responses, and the `certified`/`region`/`badge` filters.

Reads `model_certifications` rows directly (the catalog sits below certification). A badge is
`valid` when its row is CERTIFIED and not expired: exactly what the gateway routes to.
Catalog responses are cached, so a new certification shows within `CATALOG_CACHE_TTL_S`
unless its writer invalidates the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.schemas import CertificationBadge
from myia.db.enums import CertificationStatus
from myia.db.models import BaseModel, ModelCertification, ModelDeployment
from myia.db.types import utcnow


def _status(value: object) -> str:
    return value.value if isinstance(value, CertificationStatus) else str(value)


def badge_of(row: ModelCertification, now: datetime) -> CertificationBadge:
    status = _status(row.status)
    return CertificationBadge(
        deployment_id=row.deployment_id,
        region=row.region,
        status=status,
        badge=row.badge,
        rating=row.rating,
        certified_at=row.certified_at,
        expires_at=row.expires_at,
        valid=status == CertificationStatus.CERTIFIED.value
        and (row.expires_at is None or row.expires_at > now),
    )


async def badges_by_deployment(
    session: AsyncSession, deployment_ids: Iterable[str]
) -> dict[str, list[CertificationBadge]]:
    """One statement for a whole page: each deployment's certifications, by region."""
    ids = list(set(deployment_ids))
    found: dict[str, list[CertificationBadge]] = defaultdict(list)
    if not ids:
        return found
    now = utcnow()
    rows = await session.scalars(
        select(ModelCertification)
        .where(ModelCertification.deployment_id.in_(ids))
        .order_by(ModelCertification.region)
    )
    for row in rows:
        found[row.deployment_id].append(badge_of(row, now))
    return found


async def badges_by_base_model(
    session: AsyncSession, model_ids: Iterable[str]
) -> dict[str, list[CertificationBadge]]:
    ids = list(set(model_ids))
    found: dict[str, list[CertificationBadge]] = defaultdict(list)
    if not ids:
        return found
    now = utcnow()
    rows = await session.execute(
        select(ModelDeployment.base_model_id, ModelCertification)
        .join(ModelCertification, ModelCertification.deployment_id == ModelDeployment.id)
        .where(ModelDeployment.base_model_id.in_(ids))
        .order_by(ModelDeployment.deployment_id, ModelCertification.region)
    )
    for model_id, row in rows.all():
        found[model_id].append(badge_of(row, now))
    return found


def _valid_now() -> ColumnElement[bool]:
    return and_(
        ModelCertification.status == CertificationStatus.CERTIFIED,
        or_(ModelCertification.expires_at.is_(None), ModelCertification.expires_at > utcnow()),
    )


def certification_conditions(
    *, certified: bool | None, region: str | None, badge: str | None, on_base_model: bool = False
) -> list[ColumnElement[bool]]:
    """Conditions on a deployment (or, `on_base_model`, on any of a model's deployments):
    one certification row must match region, badge and (certified=true) validity together;
    certified=false means no valid row (in `region` when given)."""
    if certified is None and region is None and badge is None:
        return []
    owner = (
        and_(
            ModelCertification.deployment_id == ModelDeployment.id,
            ModelDeployment.base_model_id == BaseModel.id,
        )
        if on_base_model
        else ModelCertification.deployment_id == ModelDeployment.id
    )
    same_row: list[ColumnElement[bool]] = [owner]
    if region is not None:
        same_row.append(ModelCertification.region == region)
    conditions: list[ColumnElement[bool]] = []
    if certified is False:
        conditions.append(~exists().where(*same_row, _valid_now()))
        if badge is not None:
            conditions.append(exists().where(*same_row, ModelCertification.badge == badge))
        return conditions
    if badge is not None:
        same_row.append(ModelCertification.badge == badge)
    if certified:
        same_row.append(_valid_now())
    conditions.append(exists().where(*same_row))
    return conditions
