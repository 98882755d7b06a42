"""Certification badges in catalog responses, and the `certified`/`region`/`badge` filters.

Reads `model_certifications` rows directly (the catalog sits below certification). A badge is
`valid` when its row is CERTIFIED and not expired: exactly what the gateway routes to.
Catalog responses are cached, so a new certification shows within `CATALOG_CACHE_TTL_S`
unless its writer invalidates the catalog.

A page of 50 base models carries ~1,500 badges: they are read as the seven columns a badge
shows (a Core select, no ORM rows: a certification row also holds test results, metrics and
errors) and built as plain dicts, validated once with the page they belong to (issue 22).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, exists, or_, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from myia.db.enums import CertificationStatus
from myia.db.models import BaseModel, ModelCertification, ModelDeployment
from myia.db.types import UTCDateTime, utcnow

# A `CertificationBadge` as a plain dict (the response models validate it).
Badge = dict[str, Any]


class _ReadUTCDateTime(TypeDecorator[datetime]):
    """`UTCDateTime` for reading many rows: asyncpg already returns aware UTC datetimes, so
    PostgreSQL values pass as they are (no Python call per value); SQLite's still go through
    `UTCDateTime`."""

    impl = UTCDateTime
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.driver == "asyncpg":
            return None
        return UTCDateTime().result_processor(dialect, coltype)


# What a badge shows besides its deployment, in this order (see `badge_of`). The status is
# read as its text, not as the enum member SQLAlchemy would make of it (one Python call less
# per row). `region` is NOT NULL: a NULL one is no certification (an outer join's filler).
BADGE_COLUMNS = (
    ModelCertification.region,
    type_coerce(ModelCertification.status, String),
    ModelCertification.badge,
    ModelCertification.rating,
    type_coerce(ModelCertification.certified_at, _ReadUTCDateTime),
    type_coerce(ModelCertification.expires_at, _ReadUTCDateTime),
)
_CERTIFIED = CertificationStatus.CERTIFIED.value


def badge_of(deployment_id: str, columns: Sequence[Any], now: datetime) -> Badge:
    """A badge from the values of `BADGE_COLUMNS` (a row of a select starting with them)."""
    region, status, badge, rating, certified_at, expires_at = columns[:6]
    return {
        "deployment_id": deployment_id,
        "region": region,
        "status": status,
        "badge": badge,
        "rating": rating,
        "certified_at": certified_at,
        "expires_at": expires_at,
        "valid": status == _CERTIFIED and (expires_at is None or expires_at > now),
    }


# Built once: the deployment ids are its only parameter (an expanding IN).
_BADGES_OF = (
    select(*BADGE_COLUMNS, ModelCertification.deployment_id)
    .where(ModelCertification.deployment_id.in_(bindparam("deployment_ids", expanding=True)))
    .order_by(ModelCertification.deployment_id, ModelCertification.region)
)


async def badges_by_deployment(
    session: AsyncSession, deployment_ids: Iterable[str]
) -> dict[str, list[Badge]]:
    """One statement for a whole page: each deployment's certifications, by region."""
    ids = list(set(deployment_ids))
    found: dict[str, list[Badge]] = defaultdict(list)
    if not ids:
        return found
    now = utcnow()
    connection = await session.connection()  # Core rows: no ORM loading per row
    rows = await connection.execute(_BADGES_OF, {"deployment_ids": ids})
    for row in rows.all():
        found[row[6]].append(badge_of(row[6], row, now))
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
