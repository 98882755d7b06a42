"""What /models shows: deployments with a certification per region, filtered, and the
choices of its filter form. Built from catalog and certification services only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.catalog.deployments import list_deployments
from myia.catalog.filters import MAX_PAGE_SIZE, DeploymentFilters
from myia.catalog.schemas import DeploymentPublic
from myia.certification.queries import certifications_of
from myia.certification.regions import GLOBAL_REGION
from myia.db.enums import AuthType
from myia.db.types import utcnow


@dataclass(frozen=True)
class Cell:
    """One (deployment, region): its certification, or why there is none."""

    region: str
    badge: str | None = None
    status: str | None = None
    rating: float | None = None
    expires_at: datetime | None = None
    expired: bool = False
    offered: bool = True

    @property
    def title(self) -> str:
        if not self.offered:
            return f"not offered in {self.region}"
        if self.status is None:
            return f"not certified in {self.region}"
        expiry = self.expires_at.strftime("%Y-%m-%d") if self.expires_at else "never"
        verb = "expired" if self.expired else "expires"
        return f"{self.status} in {self.region}, rating {self.rating or 0:.1f}/5 — {verb} {expiry}"


@dataclass
class Row:
    deployment: DeploymentPublic
    regional: bool
    cells: list[Cell] = field(default_factory=list)

    @property
    def best_badge(self) -> str | None:
        return next((c.badge for c in self.cells if c.badge and not c.expired), None)


async def all_deployments(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    vendor: str | None = None,
    capability: str = "",
    active: bool | None = True,
) -> list[DeploymentPublic]:
    found: list[DeploymentPublic] = []
    page = 1
    while True:
        filters = DeploymentFilters(
            vendor=vendor or None,
            capability=[capability] if capability else [],
            active=active,
            page=page,
            page_size=MAX_PAGE_SIZE,
        )
        result = await list_deployments(session=session, cache=cache, filters=filters)
        found += result.items
        if page * MAX_PAGE_SIZE >= result.total:
            return found
        page += 1


def _offered_regions(deployment: DeploymentPublic) -> list[str] | None:
    config: dict[str, Any] = deployment.provider_config or {}
    regions = config.get("regions")
    return [str(r) for r in regions] if isinstance(regions, list) else None


async def certification_rows(
    *,
    session: AsyncSession,
    deployments: list[DeploymentPublic],
    regions: list[str],
    badge: str | None = None,
    providers_regional: dict[str, AuthType],
) -> list[Row]:
    """A row per deployment with a cell per region in `regions` (plus `global`)."""
    certs = await certifications_of(session=session, deployment_ids=[d.id for d in deployments])
    rows: list[Row] = []
    for deployment in deployments:
        regional = providers_regional.get(deployment.provider.slug) is AuthType.AWS_CREDENTIALS
        offered = _offered_regions(deployment)
        row = Row(deployment=deployment, regional=regional)
        for region in [*regions, GLOBAL_REGION]:
            cert = certs.get((deployment.id, region))
            is_offered = (
                (region != GLOBAL_REGION and (offered is None or region in offered))
                if regional
                else region == GLOBAL_REGION
            )
            if cert is None:
                row.cells.append(Cell(region=region, offered=is_offered))
                continue
            expired = cert.expires_at is not None and cert.expires_at < utcnow()
            row.cells.append(
                Cell(
                    region=region,
                    badge=cert.badge,
                    status=cert.status.value,
                    rating=cert.rating,
                    expires_at=cert.expires_at,
                    expired=expired,
                )
            )
        if badge and not any(c.badge == badge for c in row.cells):
            continue
        if len(regions) == 1 and not any(c.offered or c.status for c in row.cells):
            continue
        rows.append(row)
    return rows
