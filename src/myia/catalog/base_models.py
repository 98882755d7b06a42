"""Base models: a model independent of where it runs (list, get, create, update, delete).

Deleting a base model deletes its deployments and their certifications with it: the
foreign keys are ON DELETE CASCADE, so the database does it in the same statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from myia.catalog.badges import (
    BADGE_COLUMNS,
    Badge,
    badge_of,
    badges_by_deployment,
    certification_conditions,
)
from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.deployments import deployment_public
from myia.catalog.filters import BaseModelFilters
from myia.catalog.pages import page_json, page_object, page_total
from myia.catalog.schemas import (
    BaseModelCreate,
    BaseModelDetail,
    BaseModelsPublic,
    BaseModelUpdate,
    Capabilities,
    stored_capabilities,
)
from myia.db.models import BaseModel, ModelCertification, ModelDeployment, Provider
from myia.db.types import utcnow
from myia.errors import ConflictError, NotFoundError

RenderedT = TypeVar("RenderedT")

_WRITE_INVALIDATES = (BASE_MODELS, DEPLOYMENTS)
_WITH_DEPLOYMENTS = selectinload(BaseModel.deployments).joinedload(ModelDeployment.provider)


# (is_active, provider slug) of each deployment: all a base model's summary needs to know.
Placement = tuple[bool, str]


def _public_fields(
    row: Any,
    placements: list[Placement],
    certifications: list[Badge] | None = None,
) -> dict[str, Any]:
    """A `BaseModelPublic` as a dict, from an ORM row or a Core row of `base_models`."""
    active_on = [slug for is_active, slug in placements if is_active]
    return {
        "id": row.id,
        "name": row.name,
        "vendor": row.vendor,
        "family": row.family,
        "version": row.version,
        "capabilities": stored_capabilities(row.capabilities),
        "default_params": row.default_params,
        "description": row.description,
        "release_date": row.release_date,
        "deprecated": row.deprecated,
        "replaced_by": row.replaced_by,
        "deployment_count": len(placements),
        "active_deployment_count": len(active_on),
        "providers": sorted(set(active_on)),
        "certifications": certifications or [],
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def base_model_detail(
    row: BaseModel, badges: dict[str, list[Badge]] | None = None
) -> BaseModelDetail:
    """Needs `row.deployments` and their providers loaded (see `_WITH_DEPLOYMENTS`);
    `badges` are the deployments' certifications by deployment id."""
    badges = badges or {}
    deployments = sorted(row.deployments, key=lambda d: (d.provider.slug, d.deployment_id, d.id))
    for deployment in deployments:
        # The parent is at hand; setting it without history spares a lookup per deployment.
        set_committed_value(deployment, "base_model", row)
    placements = [(d.is_active, d.provider.slug) for d in deployments]
    certifications = [b for d in deployments for b in badges.get(d.id, [])]
    return BaseModelDetail.model_validate(
        {
            **_public_fields(row, placements, certifications),
            "deployments": [deployment_public(d, badges.get(d.id)) for d in deployments],
        }
    )


async def _detail(session: AsyncSession, row: BaseModel) -> BaseModelDetail:
    badges = await badges_by_deployment(session, [d.id for d in row.deployments])
    return base_model_detail(row, badges)


# Built once: the page's model ids are its only parameter (an expanding IN).
_DEPLOYMENTS_OF = (
    select(
        *BADGE_COLUMNS,
        ModelDeployment.base_model_id,
        ModelDeployment.id,
        ModelDeployment.is_active,
        Provider.slug,
    )
    .select_from(ModelDeployment)
    .join(Provider, Provider.id == ModelDeployment.provider_id)
    .outerjoin(ModelCertification, ModelCertification.deployment_id == ModelDeployment.id)
    .where(ModelDeployment.base_model_id.in_(bindparam("model_ids", expanding=True)))
    .order_by(ModelDeployment.deployment_id, ModelCertification.region, ModelDeployment.id)
)


async def _deployments_of(
    session: AsyncSession, model_ids: list[str]
) -> tuple[dict[str, list[Placement]], dict[str, list[Badge]]]:
    """Where a page's models are deployed, and their deployments' badges: one statement,
    plain columns (no ORM rows). Badges come in the order of the deployments' provider model
    id, then region (deployment id last, for a stable order when two deployments of one model
    share a provider model id)."""
    placements: dict[str, list[Placement]] = defaultdict(list)
    badges: dict[str, list[Badge]] = defaultdict(list)
    if not model_ids:
        return placements, badges
    now = utcnow()
    # On the connection: a Core select run through the session still passes each row
    # through the ORM's loading machinery (a third of a page's CPU for 1,500 rows).
    connection = await session.connection()
    result = await connection.execute(_DEPLOYMENTS_OF, {"model_ids": model_ids})
    seen: set[str] = set()
    for row in result.all():
        model_id, deployment_id, is_active, slug = row[6:]
        if deployment_id not in seen:
            seen.add(deployment_id)
            placements[model_id].append((is_active, slug))
        if row[0] is not None:  # a certification (outer join: a deployment may have none)
            badges[model_id].append(badge_of(deployment_id, row, now))
    return placements, badges


def _conditions(filters: BaseModelFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.vendor is not None:
        conditions.append(func.lower(BaseModel.vendor) == filters.vendor.lower())
    if filters.family is not None:
        conditions.append(func.lower(BaseModel.family) == filters.family.lower())
    if filters.q is not None:
        conditions.append(func.lower(BaseModel.name).contains(filters.q.lower(), autoescape=True))
    for name in filters.capability:
        conditions.append(BaseModel.capabilities[name].as_boolean() == true())
    # Deployment-side filters must hold for one and the same deployment.
    on_deployment: list[ColumnElement[bool]] = []
    if filters.provider is not None:
        on_deployment.append(
            ModelDeployment.provider_id.in_(
                select(Provider.id).where(Provider.slug == filters.provider).scalar_subquery()
            )
        )
    if filters.inference_type is not None:
        on_deployment.append(ModelDeployment.inference_type == filters.inference_type)
    if filters.active:
        on_deployment.append(ModelDeployment.is_active.is_(True))
    if on_deployment:
        conditions.append(
            exists().where(ModelDeployment.base_model_id == BaseModel.id, and_(*on_deployment))
        )
    if filters.active is False:
        conditions.append(
            ~exists().where(
                ModelDeployment.base_model_id == BaseModel.id, ModelDeployment.is_active.is_(True)
            )
        )
    conditions.extend(
        certification_conditions(
            certified=filters.certified,
            region=filters.region,
            badge=filters.badge,
            on_base_model=True,
        )
    )
    return conditions


def _page_query(filters: BaseModelFilters, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    # Core rows of the table, not ORM objects: a page is read, shaped and cached, never edited.
    return (
        select(BaseModel.__table__)
        .where(*conditions)
        .order_by(BaseModel.name, BaseModel.id)
        .offset(filters.offset)
        .limit(filters.page_size)
    )


async def _page_parts(
    session: AsyncSession, filters: BaseModelFilters
) -> tuple[list[dict[str, Any]], list[list[Badge]], int]:
    """One page in three statements at most (page, count unless the page tells, its models'
    deployments and badges): the items without their badges, each item's badges, the total."""
    connection = await session.connection()  # Core rows, no ORM loading (see above)
    conditions = _conditions(filters)
    rows = (await connection.execute(_page_query(filters, conditions))).all()
    total = page_total(filters, len(rows))
    if total is None:
        count = select(func.count()).select_from(BaseModel).where(*conditions)
        total = await connection.scalar(count) or 0
    placements, badges = await _deployments_of(session, [row.id for row in rows])
    items = [_public_fields(row, placements.get(row.id, [])) for row in rows]
    return items, [badges.get(row.id, []) for row in rows], total


async def _cached_page(
    session: AsyncSession,
    cache: CatalogCache,
    filters: BaseModelFilters,
    render: Callable[..., RenderedT],
    kind: str,
) -> RenderedT:
    """One page of models, rendered by `render` (`page_object` or `page_json`) and cached
    under `kind`."""

    async def load() -> RenderedT:
        items, badges, total = await _page_parts(session, filters)
        return render(
            BaseModelsPublic,
            items,
            badges,
            total=total,
            page=filters.page,
            page_size=filters.page_size,
        )

    return await cache.get_or_load(BASE_MODELS, (kind, filters.cache_key()), load)


async def list_base_models(
    *, session: AsyncSession, cache: CatalogCache, filters: BaseModelFilters
) -> BaseModelsPublic:
    page: BaseModelsPublic = await _cached_page(session, cache, filters, page_object, "list")
    return page


async def list_base_models_json(
    *, session: AsyncSession, cache: CatalogCache, filters: BaseModelFilters
) -> bytes:
    """`list_base_models` as the JSON the API sends (catalog/pages.py)."""
    return await _cached_page(session, cache, filters, page_json, "list-json")


async def _load(session: AsyncSession, model_id: str) -> BaseModel:
    row = await session.scalar(
        select(BaseModel)
        .where(BaseModel.id == model_id)
        .options(_WITH_DEPLOYMENTS)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFoundError("base model", model_id)
    return row


async def get_base_model(
    *, session: AsyncSession, cache: CatalogCache, model_id: str
) -> BaseModelDetail:
    async def load() -> BaseModelDetail:
        return await _detail(session, await _load(session, model_id))

    return await cache.get_or_load(BASE_MODELS, ("get", model_id), load)


async def ensure_base_model_exists(*, session: AsyncSession, model_id: str) -> None:
    if await session.scalar(select(BaseModel.id).where(BaseModel.id == model_id)) is None:
        raise NotFoundError("base model", model_id)


async def _ensure_name_free(session: AsyncSession, name: str, *, except_id: str | None) -> None:
    taken = await session.scalar(select(BaseModel.id).where(BaseModel.name == name))
    if taken is not None and taken != except_id:
        raise ConflictError(f"a base model named '{name}' already exists", field="name")


async def create_base_model(
    *, session: AsyncSession, cache: CatalogCache, data: BaseModelCreate
) -> BaseModelDetail:
    await _ensure_name_free(session, data.name, except_id=None)
    row = BaseModel(**data.model_dump())
    session.add(row)
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return await _detail(session, await _load(session, row.id))


async def update_base_model(
    *, session: AsyncSession, cache: CatalogCache, model_id: str, data: BaseModelUpdate
) -> BaseModelDetail:
    row = await _load(session, model_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] != row.name:
        await _ensure_name_free(session, changes["name"], except_id=row.id)
    if "capabilities" in changes:
        sent = data.capabilities.model_dump(exclude_unset=True) if data.capabilities else {}
        stored = row.capabilities or {}
        known = Capabilities.from_stored({**stored, **sent}).model_dump()
        # A new dict (not an in-place edit) so the JSON column is seen as changed; keys this
        # version does not know (written by a newer component) survive the edit.
        changes["capabilities"] = {**stored, **known}
    for name, value in changes.items():
        setattr(row, name, value)
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return await _detail(session, await _load(session, model_id))


async def delete_base_model(*, session: AsyncSession, cache: CatalogCache, model_id: str) -> None:
    """Delete the model; its deployments and their certifications go with it (cascade)."""
    await ensure_base_model_exists(session=session, model_id=model_id)
    await session.execute(delete(BaseModel).where(BaseModel.id == model_id))
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
