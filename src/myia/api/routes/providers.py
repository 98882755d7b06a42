"""REST v2: providers (where models run)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from myia.api.deps import AdminUser, CacheDep, CurrentUser, SessionDep
from myia.catalog import openapi, providers
from myia.catalog.filters import ProviderFilters
from myia.catalog.schemas import ProviderCreate, ProviderPublic, ProvidersPublic, ProviderUpdate

router = APIRouter(prefix="/api/v2/providers", tags=["catalog: providers"])

ProviderId = Annotated[str, Path(max_length=36, description="Provider id")]


@router.get("", summary="List providers", responses=openapi.READ)
async def list_providers(
    _user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    filters: Annotated[ProviderFilters, Query()],
) -> ProvidersPublic:
    """Ordered by slug."""
    return await providers.list_providers(session=session, cache=cache, filters=filters)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a provider (admin)",
    responses=openapi.CREATE,
)
async def create_provider(
    body: ProviderCreate, _admin: AdminUser, session: SessionDep, cache: CacheDep
) -> ProviderPublic:
    return await providers.create_provider(session=session, cache=cache, data=body)


@router.get("/{provider_id}", summary="A provider", responses=openapi.READ_ONE)
async def get_provider(
    provider_id: ProviderId, _user: CurrentUser, session: SessionDep, cache: CacheDep
) -> ProviderPublic:
    return await providers.get_provider(session=session, cache=cache, provider_id=provider_id)


@router.put(
    "/{provider_id}", summary="Update a provider (admin, partial)", responses=openapi.UPDATE
)
async def update_provider(
    provider_id: ProviderId,
    body: ProviderUpdate,
    _admin: AdminUser,
    session: SessionDep,
    cache: CacheDep,
) -> ProviderPublic:
    """Only the fields sent change. Set `is_active: false` to retire a provider: providers
    with deployments cannot be deleted."""
    return await providers.update_provider(
        session=session, cache=cache, provider_id=provider_id, data=body
    )
