"""Providers: where models run (list, get, create, update).

There is no delete: deployments reference providers with ON DELETE RESTRICT, and a provider
that should stop serving is deactivated instead (`is_active=false`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import ALL_NAMESPACES, PROVIDERS, CatalogCache
from myia.catalog.filters import ProviderFilters
from myia.catalog.schemas import ProviderCreate, ProviderPublic, ProvidersPublic, ProviderUpdate
from myia.db.models import Provider
from myia.errors import ConflictError, NotFoundError

# Provider slug, name and status are embedded in deployment and base model responses too.
_WRITE_INVALIDATES = ALL_NAMESPACES


async def list_providers(
    *, session: AsyncSession, cache: CatalogCache, filters: ProviderFilters
) -> ProvidersPublic:
    async def load() -> ProvidersPublic:
        conditions = [] if filters.active is None else [Provider.is_active == filters.active]
        total = await session.scalar(select(func.count(Provider.id)).where(*conditions))
        rows = await session.scalars(
            select(Provider)
            .where(*conditions)
            .order_by(Provider.slug, Provider.id)
            .offset(filters.offset)
            .limit(filters.page_size)
        )
        return ProvidersPublic(
            items=[ProviderPublic.model_validate(row) for row in rows],
            total=total or 0,
            page=filters.page,
            page_size=filters.page_size,
        )

    return await cache.get_or_load(PROVIDERS, ("list", filters.cache_key()), load)


async def get_provider_row(*, session: AsyncSession, provider_id: str) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError("provider", provider_id)
    return provider


async def get_provider(
    *, session: AsyncSession, cache: CatalogCache, provider_id: str
) -> ProviderPublic:
    async def load() -> ProviderPublic:
        row = await get_provider_row(session=session, provider_id=provider_id)
        return ProviderPublic.model_validate(row)

    return await cache.get_or_load(PROVIDERS, ("get", provider_id), load)


async def _ensure_slug_free(session: AsyncSession, slug: str, *, except_id: str | None) -> None:
    taken = await session.scalar(select(Provider.id).where(Provider.slug == slug))
    if taken is not None and taken != except_id:
        raise ConflictError(f"a provider with slug '{slug}' already exists", field="slug")


async def create_provider(
    *, session: AsyncSession, cache: CatalogCache, data: ProviderCreate
) -> ProviderPublic:
    await _ensure_slug_free(session, data.slug, except_id=None)
    provider = Provider(**data.model_dump())
    session.add(provider)
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return ProviderPublic.model_validate(provider)


async def update_provider(
    *, session: AsyncSession, cache: CatalogCache, provider_id: str, data: ProviderUpdate
) -> ProviderPublic:
    provider = await get_provider_row(session=session, provider_id=provider_id)
    changes = data.model_dump(exclude_unset=True)
    if "slug" in changes and changes["slug"] != provider.slug:
        await _ensure_slug_free(session, changes["slug"], except_id=provider.id)
    for name, value in changes.items():
        setattr(provider, name, value)
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return ProviderPublic.model_validate(provider)
