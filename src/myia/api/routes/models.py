"""REST v2: base models, their deployments and their price comparison."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from myia.api.deps import AdminUser, CacheDep, CurrentUser, SessionDep
from myia.catalog import base_models, openapi, pricing
from myia.catalog.deployments import list_model_deployments
from myia.catalog.filters import BaseModelFilters, ModelDeploymentFilters, PriceQuery
from myia.catalog.schemas import (
    BaseModelCreate,
    BaseModelDetail,
    BaseModelsPublic,
    BaseModelUpdate,
    DeploymentsPublic,
    PriceComparison,
)

router = APIRouter(prefix="/api/v2/models", tags=["catalog: models"])

ModelId = Annotated[str, Path(max_length=36, description="Base model id")]


@router.get("", summary="List base models", responses=openapi.READ)
async def list_models(
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[BaseModelFilters, Query()],
) -> BaseModelsPublic:
    """Base models ordered by name, filtered and paginated. Every filter narrows the list."""
    return await base_models.list_base_models(session=session, cache=cache, filters=filters)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a base model (admin)",
    responses=openapi.CREATE,
)
async def create_model(
    body: BaseModelCreate, _admin: AdminUser, session: SessionDep, cache: CacheDep
) -> BaseModelDetail:
    return await base_models.create_base_model(session=session, cache=cache, data=body)


@router.get("/{model_id}", summary="A base model with its deployments", responses=openapi.READ_ONE)
async def get_model(
    model_id: ModelId, _user: CurrentUser, session: SessionDep, cache: CacheDep
) -> BaseModelDetail:
    return await base_models.get_base_model(session=session, cache=cache, model_id=model_id)


@router.put("/{model_id}", summary="Update a base model (admin, partial)", responses=openapi.UPDATE)
async def update_model(
    model_id: ModelId,
    body: BaseModelUpdate,
    _admin: AdminUser,
    session: SessionDep,
    cache: CacheDep,
) -> BaseModelDetail:
    """Only the fields sent change; `capabilities` is merged key by key."""
    return await base_models.update_base_model(
        session=session, cache=cache, model_id=model_id, data=body
    )


@router.delete(
    "/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a base model and its deployments (admin)",
    responses=openapi.DELETE,
)
async def delete_model(
    model_id: ModelId, _admin: AdminUser, session: SessionDep, cache: CacheDep
) -> None:
    """Cascades: the model's deployments and their certifications are deleted with it."""
    await base_models.delete_base_model(session=session, cache=cache, model_id=model_id)


@router.get(
    "/{model_id}/deployments",
    summary="Deployments of one base model",
    responses=openapi.READ_ONE,
)
async def list_deployments_of_model(
    model_id: ModelId,
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[ModelDeploymentFilters, Query()],
) -> DeploymentsPublic:
    return await list_model_deployments(
        session=session, cache=cache, model_id=model_id, filters=filters
    )


@router.get(
    "/{model_id}/compare-prices",
    summary="Compare a base model's price across providers",
    responses=openapi.READ_ONE,
)
async def compare_prices(
    model_id: ModelId,
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[PriceQuery, Query()],
) -> PriceComparison:
    """Active deployments on active providers, cheapest first for the given token mix:
    cost = input_tokens / 1e6 × cost_per_1m_input + output_tokens / 1e6 × cost_per_1m_output.
    """
    return await pricing.compare_prices(
        session=session, cache=cache, model_id=model_id, query=query
    )
