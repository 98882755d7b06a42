"""REST v2: a deployment's prices — regional prices and the price history (issue 27)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from myia.api.deps import AdminUser, CacheDep, CurrentUser, SessionDep
from myia.catalog import deployment_prices, openapi
from myia.catalog.price_history import HISTORY_PAGE
from myia.catalog.price_schemas import REGION_PATTERN, DeploymentPricesPublic, RegionalPriceWrite

router = APIRouter(prefix="/api/v2/deployments", tags=["catalog: deployments"])

DeploymentId = Annotated[str, Path(max_length=36, description="Deployment id (catalog)")]
Region = Annotated[
    str,
    Path(
        pattern=REGION_PATTERN,
        description="A region (eu-west-1) or a geography (eu, us, apac…), lower case",
    ),
]


@router.get(
    "/{deployment_id}/prices",
    summary="A deployment's prices, regional prices and price history",
    responses=openapi.READ_ONE,
)
async def get_prices(
    deployment_id: DeploymentId,
    _user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="History rows, newest first")] = (
        HISTORY_PAGE
    ),
) -> DeploymentPricesPublic:
    return await deployment_prices.get_deployment_prices(
        session=session, deployment_id=deployment_id, limit=limit
    )


@router.put(
    "/{deployment_id}/prices/{region}",
    summary="Set the deployment's price in one region or geography (admin)",
    responses=openapi.UPDATE,
)
async def put_regional_price(
    deployment_id: DeploymentId,
    region: Region,
    body: RegionalPriceWrite,
    admin: AdminUser,
    session: SessionDep,
    cache: CacheDep,
) -> DeploymentPricesPublic:
    """Calls made from that region (or a region of that geography) pay this price; the
    change is kept in the price history."""
    return await deployment_prices.set_regional_price(
        session=session,
        cache=cache,
        deployment_id=deployment_id,
        region=region,
        data=body,
        changed_by=admin.email,
    )


@router.delete(
    "/{deployment_id}/prices/{region}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove the deployment's price in one region or geography (admin)",
    responses=openapi.DELETE,
)
async def delete_regional_price(
    deployment_id: DeploymentId,
    region: Region,
    admin: AdminUser,
    session: SessionDep,
    cache: CacheDep,
) -> None:
    await deployment_prices.delete_regional_price(
        session=session,
        cache=cache,
        deployment_id=deployment_id,
        region=region,
        changed_by=admin.email,
    )
