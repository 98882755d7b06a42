"""REST v2: deployments (a base model on one provider, with its price)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from myia.api.deps import AdminUser, CacheDep, CurrentUser, SessionDep
from myia.catalog import deployments, openapi
from myia.catalog.filters import DeploymentFilters
from myia.catalog.schemas import (
    DeploymentCreate,
    DeploymentPublic,
    DeploymentsPublic,
    DeploymentUpdate,
)

router = APIRouter(prefix="/api/v2/deployments", tags=["catalog: deployments"])

DeploymentId = Annotated[str, Path(max_length=36, description="Deployment id (catalog)")]


# The catalog renders the page as JSON bytes (catalog/pages.py); the response model is named
# for the OpenAPI document only.
@router.get(
    "", summary="List deployments", responses=openapi.READ, response_model=DeploymentsPublic
)
async def list_deployments(
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[DeploymentFilters, Query()],
) -> Response:
    """Ordered by base model name, provider slug and provider model id."""
    body = await deployments.list_deployments_json(session=session, cache=cache, filters=filters)
    return Response(body, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a deployment (admin)",
    responses=openapi.CREATE,
)
async def create_deployment(
    body: DeploymentCreate, admin: AdminUser, session: SessionDep, cache: CacheDep
) -> DeploymentPublic:
    """422 names `base_model_id` / `provider_id` when they do not exist; 409 when the
    provider already has this `deployment_id`. A price sent without `price_source_kind` is
    recorded as the operator's entry, dated today."""
    return await deployments.create_deployment(
        session=session, cache=cache, data=body, changed_by=admin.email
    )


@router.get("/{deployment_id}", summary="A deployment", responses=openapi.READ_ONE)
async def get_deployment(
    deployment_id: DeploymentId, _user: CurrentUser, session: SessionDep, cache: CacheDep
) -> DeploymentPublic:
    return await deployments.get_deployment(
        session=session, cache=cache, deployment_id=deployment_id
    )


@router.put(
    "/{deployment_id}", summary="Update a deployment (admin, partial)", responses=openapi.UPDATE
)
async def update_deployment(
    deployment_id: DeploymentId,
    body: DeploymentUpdate,
    admin: AdminUser,
    session: SessionDep,
    cache: CacheDep,
) -> DeploymentPublic:
    """Only the fields sent change; `capabilities` is merged key by key (null clears it).
    A new price without `price_source_kind` is the operator's entry, dated today; every
    price change is kept in the deployment's price history."""
    return await deployments.update_deployment(
        session=session, cache=cache, deployment_id=deployment_id, data=body, changed_by=admin.email
    )


@router.delete(
    "/{deployment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a deployment (admin)",
    responses=openapi.DELETE,
)
async def delete_deployment(
    deployment_id: DeploymentId, _admin: AdminUser, session: SessionDep, cache: CacheDep
) -> None:
    """Its certifications are deleted with it."""
    await deployments.delete_deployment(session=session, cache=cache, deployment_id=deployment_id)
