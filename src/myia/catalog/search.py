"""Find deployments by constraints, cheapest first for a token mix (issue 27).

One statement answers a page, total included (`count(*) OVER ()`): active deployments of
active providers joined to their base model, provider and certification rows (one result per
deployment and region), and outer-joined twice to `deployment_prices` for the region's own
price and its geography's. Every constraint is a condition of that statement — capabilities
on the JSON columns as the deployment list tests them (`deployments.effective_capability`),
prices on the price that applies in the result's region — so the database filters and
ranks, and Python only shapes the page.

The price a result shows and is ranked by is `telemetry.cost.price_in_region` in SQL: the
region's price, else its geography's (`geography_for_region` as a CASE), else the
deployment's own. An unknown price is NULL: such results rank after every priced one and
fail any price ceiling — unpriced is never free.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from myia.catalog.badges import BADGE_COLUMNS, badge_of
from myia.catalog.cache import DEPLOYMENTS, CatalogCache
from myia.catalog.deployments import effective_capability
from myia.catalog.pricing import token_cost
from myia.catalog.schemas import merged_capabilities
from myia.catalog.search_schemas import (
    DeploymentSearch,
    DeploymentSearchResults,
    badges_at_least,
)
from myia.db.enums import CertificationStatus
from myia.db.models import (
    BaseModel,
    DeploymentPrice,
    ModelCertification,
    ModelDeployment,
    Provider,
)
from myia.db.types import utcnow

_DIGITS = 10
Cert = ModelCertification
RegionPrice = aliased(DeploymentPrice, name="region_price")
GeoPrice = aliased(DeploymentPrice, name="geo_price")


def _like_any(column: ColumnElement[str], *prefixes: str) -> ColumnElement[bool]:
    return or_(*(column.like(f"{prefix}%") for prefix in prefixes))


def geography_conditions(region: ColumnElement[str]) -> dict[str, ColumnElement[bool]]:
    """`geography_for_region` as SQL: which regions each geography holds."""
    us_gov = _like_any(region, "us-gov-")
    us = and_(_like_any(region, "us-", "ca-"), not_(us_gov))
    eu = _like_any(region, "eu-")
    apac = or_(_like_any(region, "ap-"), region == "me-central-1")
    return {
        "us-gov": us_gov,
        "us": us,
        "eu": eu,
        "apac": apac,
        "global": and_(region.is_not(None), not_(or_(us_gov, us, eu, apac))),
    }


def _geography_of(region: ColumnElement[str]) -> ColumnElement[str]:
    """The geography key a region's calls are priced by; NULL without a region."""
    geo = geography_conditions(region)
    return case(
        (region.is_(None), null()),
        (geo["us-gov"], literal("us-gov")),
        (geo["us"], literal("us")),
        (geo["eu"], literal("eu")),
        (geo["apac"], literal("apac")),
        else_=literal("global"),
    )


_REGION = func.lower(Cert.region)


def _applied(column: str) -> ColumnElement[Any]:
    """A column of the price that applies: the region's, else the geography's, else the
    deployment's (a `deployment_prices` row has both prices, never NULL ones)."""
    deployment_column = {
        "cost_per_1m_input": ModelDeployment.cost_per_1m_input,
        "cost_per_1m_output": ModelDeployment.cost_per_1m_output,
        "source_kind": ModelDeployment.price_source_kind,
        "source_name": ModelDeployment.price_source_name,
        "source_url": ModelDeployment.price_source_url,
        "as_of": ModelDeployment.price_as_of,
        "region": null(),
    }[column]
    return case(
        (RegionPrice.id.is_not(None), getattr(RegionPrice, column)),
        (GeoPrice.id.is_not(None), getattr(GeoPrice, column)),
        else_=deployment_column,
    )


_price_in = _applied("cost_per_1m_input")
_price_out = _applied("cost_per_1m_output")
_PRICE_SOURCE = tuple(
    _applied(name) for name in ("region", "source_kind", "source_name", "source_url", "as_of")
)


def context_window() -> ColumnElement[float]:
    """The effective `max_context_window`: the deployment's override, else its model's."""
    return func.coalesce(
        ModelDeployment.capabilities["max_context_window"].as_float(),
        BaseModel.capabilities["max_context_window"].as_float(),
    )


def _conditions(search: DeploymentSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        ModelDeployment.is_active.is_(True),
        Provider.is_active.is_(True),
    ]
    conditions.extend(effective_capability(name) for name in search.capability)
    if search.min_context is not None:
        conditions.append(context_window() >= search.min_context)
    if search.max_input_price is not None:
        conditions.append(_price_in <= search.max_input_price)
    if search.max_output_price is not None:
        conditions.append(_price_out <= search.max_output_price)
    if search.certified:
        conditions.append(Cert.status == CertificationStatus.CERTIFIED)
        conditions.append(or_(Cert.expires_at.is_(None), Cert.expires_at > utcnow()))
    if search.region is not None:
        conditions.append(Cert.region == search.region)
    if search.geography is not None:
        conditions.append(geography_conditions(Cert.region.expression)[search.geography])
    if search.min_badge is not None:
        conditions.append(Cert.badge.in_(badges_at_least(search.min_badge)))
    if search.provider is not None:
        conditions.append(Provider.slug == search.provider)
    if search.vendor is not None:
        conditions.append(func.lower(BaseModel.vendor) == search.vendor.lower())
    if search.inference_type is not None:
        conditions.append(ModelDeployment.inference_type == search.inference_type)
    return conditions


def _needs_certification_row(search: DeploymentSearch) -> bool:
    return (
        search.certified
        or search.region is not None
        or search.geography is not None
        or search.min_badge is not None
    )


_DEPLOYMENT_COLUMNS = (
    ModelDeployment.id,
    ModelDeployment.deployment_id,
    ModelDeployment.inference_type,
    ModelDeployment.capabilities,
    Provider.id,
    Provider.slug,
    Provider.name,
    Provider.is_simulated,
    Provider.is_active,
    BaseModel.id,
    BaseModel.name,
    BaseModel.vendor,
    BaseModel.family,
    BaseModel.capabilities,
)
_BADGE_AT = len(_DEPLOYMENT_COLUMNS)
_PRICE_AT = _BADGE_AT + len(BADGE_COLUMNS)


def search_statement(search: DeploymentSearch) -> Select[Any]:
    """The page's one statement (also what the bench and EXPLAIN look at)."""
    cost = (
        literal(float(search.input_tokens), Float) * _price_in
        + literal(float(search.output_tokens), Float) * _price_out
    )
    return (
        select(
            *_DEPLOYMENT_COLUMNS,
            *BADGE_COLUMNS,
            _price_in,
            _price_out,
            *_PRICE_SOURCE,
            func.count().over(),
        )
        .select_from(ModelDeployment)
        .join(BaseModel, BaseModel.id == ModelDeployment.base_model_id)
        .join(Provider, Provider.id == ModelDeployment.provider_id)
        .join(
            Cert,
            Cert.deployment_id == ModelDeployment.id,
            isouter=not _needs_certification_row(search),
        )
        .outerjoin(
            RegionPrice,
            and_(RegionPrice.deployment_id == ModelDeployment.id, RegionPrice.region == _REGION),
        )
        .outerjoin(
            GeoPrice,
            and_(
                GeoPrice.deployment_id == ModelDeployment.id,
                GeoPrice.region == _geography_of(_REGION),
            ),
        )
        .where(*_conditions(search))
        .order_by(
            cost.is_(None),
            cost,
            Cert.rating.is_(None),
            Cert.rating.desc(),
            BaseModel.name,
            Provider.slug,
            ModelDeployment.deployment_id,
            ModelDeployment.id,
            func.coalesce(Cert.region, ""),
        )
        .offset(search.offset)
        .limit(search.page_size)
    )


def _result(row: Any, search: DeploymentSearch, now: Any) -> dict[str, Any]:
    (
        deployment_id, provider_deployment_id, inference_type, override,
        provider_id, slug, provider_name, simulated, provider_active,
        model_id, model_name, vendor, family, model_capabilities,
    ) = row[:_BADGE_AT]  # fmt: skip
    badge = row[_BADGE_AT : _BADGE_AT + len(BADGE_COLUMNS)]
    price_in, price_out, price_region, kind, name, url, as_of = row[_PRICE_AT : _PRICE_AT + 7]
    input_cost = token_cost(search.input_tokens, price_in)
    output_cost = token_cost(search.output_tokens, price_out)
    total = None
    if input_cost is not None and output_cost is not None:
        total = round(input_cost + output_cost, _DIGITS)
    return {
        "id": deployment_id,
        "deployment_id": provider_deployment_id,
        "inference_type": inference_type,
        "provider": {"id": provider_id, "slug": slug, "name": provider_name,
                     "is_simulated": simulated, "is_active": provider_active},
        "base_model": {"id": model_id, "name": model_name, "vendor": vendor, "family": family},
        "effective_capabilities": merged_capabilities(model_capabilities, override),
        "region": badge[0],
        "certification": None if badge[0] is None else badge_of(deployment_id, badge, now),
        "price": {"cost_per_1m_input": price_in, "cost_per_1m_output": price_out,
                  "region": price_region, "source_kind": kind, "source_name": name,
                  "source_url": url, "as_of": as_of},
        "input_cost": input_cost,
        "output_cost": output_cost,
        "total_cost": total,
        "priced": total is not None,
    }  # fmt: skip


async def _search(session: AsyncSession, search: DeploymentSearch) -> DeploymentSearchResults:
    connection = await session.connection()  # Core rows: no ORM loading per row
    rows = (await connection.execute(search_statement(search))).all()
    total = rows[0][-1] if rows else 0
    if not rows and search.page > 1:
        # Past the last page the window has no row to count on: count once more.
        counted = search.model_copy(update={"page": 1, "page_size": 1})
        first = (await connection.execute(search_statement(counted))).first()
        total = first[-1] if first else 0
    now = utcnow()
    return DeploymentSearchResults.model_validate(
        {
            "items": [_result(row, search, now) for row in rows],
            "total": total,
            "page": search.page,
            "page_size": search.page_size,
            "input_tokens": search.input_tokens,
            "output_tokens": search.output_tokens,
        }
    )


async def search_deployments(
    *, session: AsyncSession, cache: CatalogCache, search: DeploymentSearch
) -> DeploymentSearchResults:
    """Deployments (one result per certified region) meeting every constraint of `search`,
    cheapest first for its token mix, unpriced last (ties: higher rating, then by name)."""

    async def load() -> DeploymentSearchResults:
        return await _search(session, search)

    # Filed under deployments: price, catalog and certification writes all clear it.
    return await cache.get_or_load(DEPLOYMENTS, ("search", search.cache_key()), load)
