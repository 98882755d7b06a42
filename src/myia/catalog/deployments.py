"""Deployments: a base model on one provider, with its price there.

A deployment's `capabilities` hold only what differs from its base model; responses carry
`effective_capabilities`, the merge of both, which is also what the `capability` filter tests.

A list page is read as plain columns (one Core select joined to its base model and provider,
no ORM rows) and validated once as a whole (issue 22: cold pages).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from myia.catalog.badges import Badge, badges_by_deployment, certification_conditions
from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.filters import DeploymentFilters, ModelDeploymentFilters
from myia.catalog.pages import page_json, page_object, page_total
from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.catalog.schemas import (
    CapabilitiesOverride,
    DeploymentCreate,
    DeploymentPublic,
    DeploymentsPublic,
    DeploymentUpdate,
    merged_capabilities,
)
from myia.db.models import BaseModel, ModelDeployment, Provider
from myia.errors import ConflictError, InvalidInputError, NotFoundError

# Base model responses embed deployment counts and provider slugs.
_WRITE_INVALIDATES = (DEPLOYMENTS, BASE_MODELS)

_COLUMNS = (
    "id",
    "base_model_id",
    "provider_id",
    "deployment_id",
    "inference_type",
    "provider_config",
    "cost_per_1m_input",
    "cost_per_1m_output",
    "cost_per_hour",
    "price_source_kind",
    "price_source_name",
    "price_source_url",
    "price_as_of",
    "custom_params",
    "capabilities",
    "capabilities_verified_at",
    "capabilities_source",
    "is_active",
    "created_at",
    "updated_at",
)


_PROVIDER_REF = ("id", "slug", "name", "is_simulated", "is_active")
_BASE_MODEL_REF = ("id", "name", "vendor", "family")
_KNOWN_OVERRIDES = frozenset(CapabilitiesOverride.model_fields)


def _public_fields(
    data: dict[str, Any],
    provider: dict[str, Any],
    base_model: dict[str, Any],
    base_capabilities: dict[str, Any] | None,
    certifications: list[Badge] | None,
) -> dict[str, Any]:
    """A `DeploymentPublic` as a dict; `data` holds the row's `_COLUMNS`."""
    stored = data["capabilities"]
    if stored is not None:
        # Shown: the overrides this version knows; kept in the row: whatever else was stored.
        data["capabilities"] = {k: v for k, v in stored.items() if k in _KNOWN_OVERRIDES}
    data["provider"] = provider
    data["base_model"] = base_model
    data["effective_capabilities"] = merged_capabilities(base_capabilities, stored)
    data["certifications"] = certifications or []
    return data


def deployment_fields(row: ModelDeployment, certifications: list[Badge] | None) -> dict[str, Any]:
    """Needs `row.base_model` and `row.provider` loaded."""
    return _public_fields(
        {name: getattr(row, name) for name in _COLUMNS},
        {name: getattr(row.provider, name) for name in _PROVIDER_REF},
        {name: getattr(row.base_model, name) for name in _BASE_MODEL_REF},
        row.base_model.capabilities,
        certifications,
    )


def deployment_public(
    row: ModelDeployment, certifications: list[Badge] | None = None
) -> DeploymentPublic:
    """Needs `row.base_model` and `row.provider` loaded."""
    return DeploymentPublic.model_validate(deployment_fields(row, certifications))


async def _with_badges(session: AsyncSession, row: ModelDeployment) -> DeploymentPublic:
    badges = await badges_by_deployment(session, [row.id])
    return deployment_public(row, badges.get(row.id))


def effective_capability(name: str) -> ColumnElement[bool]:
    """SQL truth of one boolean capability, deployment override first (needs the join)."""
    return (
        func.coalesce(
            ModelDeployment.capabilities[name].as_boolean(),
            BaseModel.capabilities[name].as_boolean(),
        )
        == true()
    )


def _conditions(filters: DeploymentFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.base_model_id is not None:
        conditions.append(ModelDeployment.base_model_id == filters.base_model_id)
    if filters.vendor is not None:
        conditions.append(func.lower(BaseModel.vendor) == filters.vendor.lower())
    if filters.family is not None:
        conditions.append(func.lower(BaseModel.family) == filters.family.lower())
    if filters.provider is not None:
        conditions.append(Provider.slug == filters.provider)
    if filters.inference_type is not None:
        conditions.append(ModelDeployment.inference_type == filters.inference_type)
    if filters.active is not None:
        conditions.append(ModelDeployment.is_active.is_(filters.active))
    conditions.extend(effective_capability(name) for name in filters.capability)
    conditions.extend(
        certification_conditions(
            certified=filters.certified, region=filters.region, badge=filters.badge
        )
    )
    return conditions


# One select for a page: the deployment's columns, then its provider's and base model's.
_PAGE_COLUMNS = (
    *(ModelDeployment.__table__.c[name] for name in _COLUMNS),
    *(getattr(Provider, name) for name in _PROVIDER_REF[1:]),
    *(getattr(BaseModel, name) for name in _BASE_MODEL_REF[1:]),
    BaseModel.capabilities,
)
_PROVIDER_AT = len(_COLUMNS)
_BASE_MODEL_AT = _PROVIDER_AT + len(_PROVIDER_REF) - 1


def _joined(stmt: Select[Any], *, base_model: bool = True, provider: bool = True) -> Select[Any]:
    if base_model:
        stmt = stmt.join(BaseModel, BaseModel.id == ModelDeployment.base_model_id)
    if provider:
        stmt = stmt.join(Provider, Provider.id == ModelDeployment.provider_id)
    return stmt


def _count_query(filters: DeploymentFilters, conditions: list[ColumnElement[bool]]) -> Any:
    """Joined only to the tables the filters read: every deployment has exactly one base
    model and one provider (NOT NULL foreign keys), so the joins never change the count."""
    return _joined(
        select(func.count()).select_from(ModelDeployment),
        base_model=filters.vendor is not None
        or filters.family is not None
        or bool(filters.capability),
        provider=filters.provider is not None,
    ).where(*conditions)


def _page_fields(row: Any) -> dict[str, Any]:
    p, b = _PROVIDER_AT, _BASE_MODEL_AT
    data = dict(zip(_COLUMNS, row[:p], strict=True))
    provider = {
        "id": data["provider_id"],
        "slug": row[p],
        "name": row[p + 1],
        "is_simulated": row[p + 2],
        "is_active": row[p + 3],
    }
    base_model = {
        "id": data["base_model_id"],
        "name": row[b],
        "vendor": row[b + 1],
        "family": row[b + 2],
    }
    return _public_fields(data, provider, base_model, row[b + 3], None)


async def _page_parts(
    session: AsyncSession, filters: DeploymentFilters
) -> tuple[list[dict[str, Any]], list[list[Badge]], int]:
    """One page in three statements at most (page joined to model and provider, count unless
    the page tells, badges): the items without their badges, each item's badges, the total."""
    conditions = _conditions(filters)
    # On the connection: Core rows, without the ORM loading a session's execute adds.
    connection = await session.connection()
    result = await connection.execute(
        _joined(select(*_PAGE_COLUMNS).select_from(ModelDeployment))
        .where(*conditions)
        .order_by(BaseModel.name, Provider.slug, ModelDeployment.deployment_id, ModelDeployment.id)
        .offset(filters.offset)
        .limit(filters.page_size)
    )
    rows = result.all()
    total = page_total(filters, len(rows))
    if total is None:
        total = await connection.scalar(_count_query(filters, conditions)) or 0
    badges = await badges_by_deployment(session, [row[0] for row in rows])
    return [_page_fields(row) for row in rows], [badges.get(row[0], []) for row in rows], total


async def _page(session: AsyncSession, filters: DeploymentFilters) -> DeploymentsPublic:
    items, badges, total = await _page_parts(session, filters)
    return page_object(
        DeploymentsPublic,
        items,
        badges,
        total=total,
        page=filters.page,
        page_size=filters.page_size,
    )


async def _page_json(session: AsyncSession, filters: DeploymentFilters) -> bytes:
    items, badges, total = await _page_parts(session, filters)
    return page_json(
        DeploymentsPublic,
        items,
        badges,
        total=total,
        page=filters.page,
        page_size=filters.page_size,
    )


async def list_deployments(
    *, session: AsyncSession, cache: CatalogCache, filters: DeploymentFilters
) -> DeploymentsPublic:
    async def load() -> DeploymentsPublic:
        return await _page(session, filters)

    return await cache.get_or_load(DEPLOYMENTS, ("list", filters.cache_key()), load)


async def list_deployments_json(
    *, session: AsyncSession, cache: CatalogCache, filters: DeploymentFilters
) -> bytes:
    """`list_deployments` as the JSON the API sends (catalog/pages.py)."""

    async def load() -> bytes:
        return await _page_json(session, filters)

    return await cache.get_or_load(DEPLOYMENTS, ("list-json", filters.cache_key()), load)


async def _scoped(
    session: AsyncSession, model_id: str, filters: ModelDeploymentFilters
) -> DeploymentFilters:
    if not await _exists(session, BaseModel, model_id):
        raise NotFoundError("base model", model_id)
    return DeploymentFilters(**filters.model_dump(), base_model_id=model_id)


async def list_model_deployments(
    *, session: AsyncSession, cache: CatalogCache, model_id: str, filters: ModelDeploymentFilters
) -> DeploymentsPublic:
    async def load() -> DeploymentsPublic:
        return await _page(session, await _scoped(session, model_id, filters))

    return await cache.get_or_load(DEPLOYMENTS, ("model", model_id, filters.cache_key()), load)


async def list_model_deployments_json(
    *, session: AsyncSession, cache: CatalogCache, model_id: str, filters: ModelDeploymentFilters
) -> bytes:
    """`list_model_deployments` as the JSON the API sends (catalog/pages.py)."""

    async def load() -> bytes:
        return await _page_json(session, await _scoped(session, model_id, filters))

    key = ("model-json", model_id, filters.cache_key())
    return await cache.get_or_load(DEPLOYMENTS, key, load)


async def _load(session: AsyncSession, deployment_id: str) -> ModelDeployment:
    row = await session.scalar(
        select(ModelDeployment)
        .where(ModelDeployment.id == deployment_id)
        .options(joinedload(ModelDeployment.base_model), joinedload(ModelDeployment.provider))
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFoundError("deployment", deployment_id)
    return row


async def get_deployment(
    *, session: AsyncSession, cache: CatalogCache, deployment_id: str
) -> DeploymentPublic:
    async def load() -> DeploymentPublic:
        return await _with_badges(session, await _load(session, deployment_id))

    return await cache.get_or_load(DEPLOYMENTS, ("get", deployment_id), load)


async def _exists(session: AsyncSession, table: type[BaseModel | Provider], row_id: str) -> bool:
    return await session.scalar(select(table.id).where(table.id == row_id)) is not None


async def _check_references(session: AsyncSession, changes: dict[str, Any]) -> None:
    # Named 422s rather than the database's anonymous foreign-key failure.
    if "base_model_id" in changes and not await _exists(
        session, BaseModel, changes["base_model_id"]
    ):
        raise InvalidInputError("base_model_id", f"no base model '{changes['base_model_id']}'")
    if "provider_id" in changes and not await _exists(session, Provider, changes["provider_id"]):
        raise InvalidInputError("provider_id", f"no provider '{changes['provider_id']}'")


async def _ensure_unique(
    session: AsyncSession, provider_id: str, deployment_id: str, *, except_id: str | None
) -> None:
    taken = await session.scalar(
        select(ModelDeployment.id).where(
            ModelDeployment.provider_id == provider_id,
            ModelDeployment.deployment_id == deployment_id,
        )
    )
    if taken is not None and taken != except_id:
        raise ConflictError(
            f"provider '{provider_id}' already has a deployment '{deployment_id}'",
            field="deployment_id",
        )


def _stored_override(values: dict[str, Any] | None) -> dict[str, Any] | None:
    # A null key means "as the base model": store it as absent. Keys this version does not
    # know (written by a newer component) are kept, not dropped on the next edit.
    return {k: v for k, v in (values or {}).items() if v is not None} or None


_PRICE_FIELDS = ("cost_per_1m_input", "cost_per_1m_output", "cost_per_hour")
_SOURCE_FIELDS = ("price_source_name", "price_source_url", "price_as_of")


def _price_change(
    changes: dict[str, Any], row: ModelDeployment | None
) -> tuple[Price, PriceSource | None] | None:
    """Take the price and source fields out of `changes`: the new price and its source, or
    None when none was sent. A new price sent without a source kind is the operator's entry,
    dated today unless `price_as_of` says otherwise; a source sent alone re-labels the
    current price (fields not sent keep their values)."""
    sent_price = {k: changes.pop(k) for k in _PRICE_FIELDS if k in changes}
    kind_sent = "price_source_kind" in changes
    kind = changes.pop("price_source_kind", None)
    sent_source = {k: changes.pop(k) for k in _SOURCE_FIELDS if k in changes}
    if not sent_price and not kind_sent and not sent_source:
        return None
    current = Price(None, None, None)
    if row is not None:
        current = Price(row.cost_per_1m_input, row.cost_per_1m_output, row.cost_per_hour)
    price = Price(
        sent_price.get("cost_per_1m_input", current.input),
        sent_price.get("cost_per_1m_output", current.output),
        sent_price.get("cost_per_hour", current.hour),
    )
    if price == Price(None, None, None):
        if kind is not None or any(v is not None for v in sent_source.values()):
            raise InvalidInputError("price_source_kind", "a price source needs a price")
        return price, None
    repriced = row is None or price != current
    if row is not None and not repriced and row.price_source_kind is not None:
        base = PriceSource(
            row.price_source_kind, row.price_source_name, row.price_source_url, row.price_as_of
        )
    else:
        base = PriceSource.operator()
    source = PriceSource(
        kind=kind or base.kind,
        name=sent_source.get("price_source_name", base.name),
        url=sent_source.get("price_source_url", base.url),
        as_of=sent_source.get("price_as_of", base.as_of),
    )
    return price, source


async def create_deployment(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    data: DeploymentCreate,
    via: ChangeVia = ChangeVia.API,
    changed_by: str | None = None,
) -> DeploymentPublic:
    values = data.model_dump()
    await _check_references(session, values)
    await _ensure_unique(session, data.provider_id, data.deployment_id, except_id=None)
    values["capabilities"] = _stored_override(values["capabilities"])
    for name in ("price_source_kind", *_SOURCE_FIELDS):
        if values[name] is None:  # not given: a price alone is the operator's, dated today
            del values[name]
    change = _price_change(values, None)
    row = ModelDeployment(**values)
    session.add(row)
    if change is not None:
        price, source = change
        await record_price_change(
            session=session,
            deployment=row,
            price=price,
            source=source,
            via=via,
            changed_by=changed_by,
        )
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return await _with_badges(session, await _load(session, row.id))


async def update_deployment(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    deployment_id: str,
    data: DeploymentUpdate,
    via: ChangeVia = ChangeVia.API,
    changed_by: str | None = None,
) -> DeploymentPublic:
    row = await _load(session, deployment_id)
    changes = data.model_dump(exclude_unset=True)
    moved = {k: changes[k] for k in ("base_model_id", "provider_id") if k in changes}
    await _check_references(session, {k: v for k, v in moved.items() if v != getattr(row, k)})
    provider_id = changes.get("provider_id", row.provider_id)
    provider_deployment_id = changes.get("deployment_id", row.deployment_id)
    if (provider_id, provider_deployment_id) != (row.provider_id, row.deployment_id):
        await _ensure_unique(session, provider_id, provider_deployment_id, except_id=row.id)
    if "capabilities" in changes and changes["capabilities"] is not None:
        sent = data.capabilities.model_dump(exclude_unset=True) if data.capabilities else {}
        changes["capabilities"] = _stored_override({**(row.capabilities or {}), **sent})
    change = _price_change(changes, row)
    for name, value in changes.items():
        setattr(row, name, value)
    if change is not None:
        price, source = change
        await record_price_change(
            session=session,
            deployment=row,
            price=price,
            source=source,
            via=via,
            changed_by=changed_by,
        )
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
    return await _with_badges(session, await _load(session, deployment_id))


async def delete_deployment(
    *, session: AsyncSession, cache: CatalogCache, deployment_id: str
) -> None:
    """Delete the deployment; its certifications go with it (ON DELETE CASCADE)."""
    row = await _load(session, deployment_id)
    await session.delete(row)
    await session.commit()
    await cache.invalidate(*_WRITE_INVALIDATES)
