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
from myia.catalog.search import search_deployments
from myia.catalog.search_schemas import DeploymentSearch, DeploymentSearchResults

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


# Before `/{deployment_id}`: "search" is not a deployment id.
@router.get(
    "/search",
    summary="Find deployments by constraints, cheapest first",
    responses=openapi.READ,
    response_model=DeploymentSearchResults,
)
async def search(
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    constraints: Annotated[DeploymentSearch, Query()],
) -> Response:
    """One result per deployment and region meeting every constraint (active deployments of
    active providers; by default only valid certifications), ranked by the cost of the token
    mix at the price that applies in the result's region (its own, its geography's, or the
    deployment's), unpriced results last; ties go to the higher rating. Each result carries
    its certification there and its price's source."""
    found = await search_deployments(session=session, cache=cache, search=constraints)
    return Response(found.model_dump_json(), media_type="application/json")


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
