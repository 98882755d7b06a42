"""REST v2: base models, their deployments and their price comparison."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from myia.api.deps import AdminUser, CacheDep, CurrentUser, SessionDep
from myia.catalog import base_models, openapi, pricing
from myia.catalog.deployments import list_model_deployments_json
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


# List answers are rendered by the catalog as JSON bytes (catalog/pages.py): the response
# model is named for the OpenAPI document only.
@router.get("", summary="List base models", responses=openapi.READ, response_model=BaseModelsPublic)
async def list_models(
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[BaseModelFilters, Query()],
) -> Response:
    """Base models ordered by name, filtered and paginated. Every filter narrows the list."""
    body = await base_models.list_base_models_json(session=session, cache=cache, filters=filters)
    return Response(body, media_type="application/json")


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
    response_model=DeploymentsPublic,
)
async def list_deployments_of_model(
    model_id: ModelId,
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[ModelDeploymentFilters, Query()],
) -> Response:
    body = await list_model_deployments_json(
        session=session, cache=cache, model_id=model_id, filters=filters
    )
    return Response(body, media_type="application/json")


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
