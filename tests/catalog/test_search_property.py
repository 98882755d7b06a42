"""The deployment search agrees with a brute-force filter over the same catalog (issue 27).

Hypothesis builds small random catalogs in the database — models with and without the
capabilities asked for, deployments overriding them, active or not, priced, half-priced or
unpriced, certified, failed or expired per region, prices per region and per geography — and
random constraints; the search's answer (which results, in which order, at which price, the
total, a later page) must be exactly what filtering and sorting those rows in Python gives,
with the prices of `telemetry.cost.price_in_region`. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import delete

from myia.catalog.cache import CatalogCache
from myia.catalog.schemas import CAPABILITY_FLAGS, merged_capabilities
from myia.catalog.search import search_deployments
from myia.catalog.search_schemas import BADGE_ORDER, GEOGRAPHIES, DeploymentSearch
from myia.db.engine import Database
from myia.db.enums import AuthType, CertificationStatus, InferenceType, PriceSourceKind
from myia.db.models import (
    BaseModel,
    DeploymentPrice,
    ModelCertification,
    ModelDeployment,
    Provider,
)
from myia.db.types import utcnow
from myia.providers.bedrock.model_ids import geography_for_region
from myia.telemetry.cost import price_in_region

REGIONS = [
    "us-east-1", "ca-central-1", "us-gov-west-1", "eu-west-1", "eu-central-1",
    "ap-northeast-1", "me-central-1", "sa-east-1", "global",
]  # fmt: skip
# Quarter-dollar prices: every cost is exact in binary floating point, so SQL and Python
# rank equal costs as equal.
PRICE = st.sampled_from([0.0, 0.25, 1.0, 2.5, 3.0, 7.5])
MAYBE_PRICE = st.one_of(st.none(), PRICE)
CONTEXT = st.sampled_from([None, 8_192, 100_000, 200_000])
# Mostly valid certifications: most constraints are about certified results.
STATUS = st.sampled_from(
    [CertificationStatus.CERTIFIED] * 3 + [CertificationStatus.FAILED, CertificationStatus.PENDING]
)


@dataclass(frozen=True)
class Cert:
    status: CertificationStatus
    expiry: str  # "none", "future", "past"
    badge: str | None
    rating: float | None


@dataclass(frozen=True)
class Dep:
    model: int
    provider: int
    inference_type: InferenceType
    active: bool
    override: dict[str, Any] | None
    price_in: float | None
    price_out: float | None
    certs: dict[str, Cert]
    regional: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class Catalog:
    providers_active: tuple[bool, bool]
    models: list[tuple[str, dict[str, Any]]]  # vendor, capabilities
    deployments: list[Dep]


def _caps() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"vision": st.booleans(), "tool_calling": st.booleans(), "streaming": st.booleans(),
         "json_output": st.booleans(), "max_context_window": CONTEXT},
    )  # fmt: skip


OVERRIDE = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "vision": st.one_of(st.none(), st.booleans()),
            "tool_calling": st.booleans(),
            "max_context_window": CONTEXT,
        },
    ),
)
CERT = st.builds(
    Cert,
    status=STATUS,
    expiry=st.sampled_from(["none", "future", "future", "past"]),
    badge=st.one_of(st.none(), st.sampled_from(BADGE_ORDER)),
    rating=st.sampled_from([None, 1.0, 3.5, 4.5]),
)
DEP = st.builds(
    Dep,
    model=st.integers(0, 2),
    provider=st.integers(0, 1),
    inference_type=st.sampled_from(list(InferenceType)),
    active=st.sampled_from([True, True, True, False]),
    override=OVERRIDE,
    price_in=MAYBE_PRICE,
    price_out=MAYBE_PRICE,
    certs=st.dictionaries(st.sampled_from(REGIONS), CERT, max_size=5),
    regional=st.dictionaries(
        st.sampled_from([*REGIONS, *GEOGRAPHIES]), st.tuples(PRICE, PRICE), max_size=3
    ),
)
CATALOG = st.builds(
    Catalog,
    providers_active=st.tuples(st.just(True), st.booleans()),
    models=st.lists(
        st.tuples(st.sampled_from(["acme", "Acme", "zeta"]), _caps()), min_size=3, max_size=3
    ),
    deployments=st.lists(DEP, min_size=2, max_size=8),
)
CONSTRAINTS: dict[str, st.SearchStrategy[Any]] = {
    "capability": st.lists(st.sampled_from(CAPABILITY_FLAGS), min_size=1, max_size=2),
    "region": st.sampled_from(REGIONS),
    "geography": st.sampled_from(GEOGRAPHIES),
    "min_context": st.sampled_from([1, 100_000, 150_000]),
    "max_input_price": st.sampled_from([0.0, 1.0, 3.0]),
    "max_output_price": st.sampled_from([1.0, 3.0]),
    "min_badge": st.sampled_from(BADGE_ORDER),
    "certified": st.booleans(),
    "provider": st.sampled_from(["pa", "pb"]),
    "vendor": st.sampled_from(["acme", "ZETA"]),
    "inference_type": st.sampled_from(list(InferenceType)),
    "input_tokens": st.sampled_from([0, 1_000, 120_000]),
    "output_tokens": st.sampled_from([0, 500, 4_000]),
}


@st.composite
def searches(draw: st.DrawFn) -> dict[str, Any]:
    """One to three constraints: with all of them at once nearly every answer is empty."""
    names = draw(st.lists(st.sampled_from(sorted(CONSTRAINTS)), min_size=1, max_size=3))
    return {name: draw(CONSTRAINTS[name]) for name in names}


SLUGS = ("pa", "pb")


async def _store(database: Database, catalog: Catalog) -> list[str]:
    """Replace the catalog with `catalog`; the deployments' ids, in its order."""
    now = utcnow()
    expiry = {"none": None, "future": now + timedelta(days=30), "past": now - timedelta(days=1)}
    async with database.session() as session:
        for table in (DeploymentPrice, ModelCertification, ModelDeployment, BaseModel, Provider):
            await session.execute(delete(table))
        providers = [
            Provider(slug=slug, name=slug.upper(), auth_type=AuthType.API_KEY, is_active=active)
            for slug, active in zip(SLUGS, catalog.providers_active, strict=True)
        ]
        models = [
            BaseModel(name=f"m{i}", vendor=vendor, capabilities=caps)
            for i, (vendor, caps) in enumerate(catalog.models)
        ]
        session.add_all([*providers, *models])
        await session.flush()
        rows = []
        for i, dep in enumerate(catalog.deployments):
            row = ModelDeployment(
                base_model_id=models[dep.model].id, provider_id=providers[dep.provider].id,
                deployment_id=f"d{i}", inference_type=dep.inference_type, is_active=dep.active,
                capabilities=dep.override, cost_per_1m_input=dep.price_in,
                cost_per_1m_output=dep.price_out,
                price_source_kind=PriceSourceKind.BUNDLED if dep.price_in is not None else None,
                price_source_name=f"page {i}" if dep.price_in is not None else None,
            )  # fmt: skip
            rows.append(row)
        session.add_all(rows)
        await session.flush()
        for row, dep in zip(rows, catalog.deployments, strict=True):
            for region, cert in dep.certs.items():
                session.add(ModelCertification(
                    deployment_id=row.id, region=region, status=cert.status, badge=cert.badge,
                    rating=cert.rating, certified_at=now, expires_at=expiry[cert.expiry],
                ))  # fmt: skip
            for region, (price_in, price_out) in dep.regional.items():
                session.add(DeploymentPrice(
                    deployment_id=row.id, region=region, cost_per_1m_input=price_in,
                    cost_per_1m_output=price_out, source_kind=PriceSourceKind.OPERATOR,
                    source_name=f"{region} sheet",
                ))  # fmt: skip
        await session.commit()
        return [row.id for row in rows]


def _deployment_matches(catalog: Catalog, dep: Dep, search: DeploymentSearch) -> bool:
    vendor, base_caps = catalog.models[dep.model]
    caps = merged_capabilities(base_caps, dep.override)
    context = caps.get("max_context_window")
    return (
        dep.active
        and catalog.providers_active[dep.provider]
        and all(caps.get(name) is True for name in search.capability)
        and (search.min_context is None or (context or 0) >= search.min_context)
        and search.provider in (None, SLUGS[dep.provider])
        and (search.vendor is None or vendor.lower() == search.vendor.lower())
        and search.inference_type in (None, dep.inference_type)
    )


def _place_matches(region: str | None, cert: Cert | None, search: DeploymentSearch) -> bool:
    valid = cert is not None and cert.status == CertificationStatus.CERTIFIED
    valid = valid and cert is not None and cert.expiry != "past"
    badge = cert.badge if cert is not None else None
    return (
        (valid or not search.certified)
        and search.region in (None, region)
        and (
            search.geography is None
            or (region is not None and geography_for_region(region) == search.geography)
        )
        and (
            search.min_badge is None
            or (
                badge is not None
                and BADGE_ORDER.index(badge) <= BADGE_ORDER.index(search.min_badge)
            )
        )
    )


def _under(price: float | None, ceiling: float | None) -> bool:
    return ceiling is None or (price is not None and price <= ceiling)


def _expected(catalog: Catalog, ids: list[str], search: DeploymentSearch) -> list[tuple[Any, ...]]:
    """Brute force: every (deployment, region) the constraints allow, ranked."""
    found = []
    needs_row = search.certified or search.region or search.geography or search.min_badge
    for i, dep in enumerate(catalog.deployments):
        if not _deployment_matches(catalog, dep, search):
            continue
        places: list[tuple[str | None, Cert | None]] = list(dep.certs.items())
        if not places and not needs_row:
            places = [(None, None)]
        for region, cert in places:
            price_in, price_out = price_in_region(dep.price_in, dep.price_out, dep.regional, region)
            if not (
                _place_matches(region, cert, search)
                and _under(price_in, search.max_input_price)
                and _under(price_out, search.max_output_price)
            ):
                continue
            key = None
            if region is not None and region in dep.regional:
                key = region
            elif region is not None and geography_for_region(region) in dep.regional:
                key = geography_for_region(region)
            cost = None
            if price_in is not None and price_out is not None:
                cost = search.input_tokens * price_in + search.output_tokens * price_out
            rating = cert.rating if cert else None
            order = (
                cost is None, cost or 0.0, rating is None, -(rating or 0.0),
                f"m{dep.model}", SLUGS[dep.provider], f"d{i}", ids[i], region or "",
            )  # fmt: skip
            found.append((order, (ids[i], region, price_in, price_out, key)))
    return [item for _, item in sorted(found)]


def _seen(results: Any) -> list[tuple[Any, ...]]:
    return [
        (r.id, r.region, r.price.cost_per_1m_input, r.price.cost_per_1m_output, r.price.region)
        for r in results.items
    ]


# Every constraint alone, at each of its values (cheap reads, and each edge is met on every
# catalog), then the issue's own query.
SINGLES: list[dict[str, Any]] = [
    {"capability": [name]} for name in CAPABILITY_FLAGS
] + [
    {"region": r} for r in REGIONS
] + [
    {"geography": g} for g in GEOGRAPHIES
] + [
    {"min_context": 100_000}, {"min_context": 100_001}, {"max_input_price": 0.0},
    {"max_input_price": 3.0}, {"max_output_price": 2.5}, {"certified": False},
    {"provider": "pb"}, {"vendor": "ACME"}, {"inference_type": InferenceType.PROVISIONED},
    {"input_tokens": 0}, {"output_tokens": 0}, {"input_tokens": 120_000, "output_tokens": 1},
] + [
    {"min_badge": b} for b in BADGE_ORDER[:-1]
] + [
    {"capability": ["tool_calling", "vision"], "geography": "eu", "min_context": 100_000,
     "max_input_price": 3.0, "min_badge": "RECOMMENDED"},
]  # fmt: skip


async def _check(
    database: Database, catalog: Catalog, ids: list[str], constraints: dict[str, Any]
) -> int:
    """The search agrees with the brute force; with `page_size` 2, page 2 too."""
    search = DeploymentSearch(**constraints, page_size=200)
    expected = _expected(catalog, ids, search)
    async with database.read_session() as session:
        found = await search_deployments(
            session=session, cache=CatalogCache(ttl_s=0), search=search
        )
        assert _seen(found) == expected, constraints
        assert found.total == len(expected)
        for result in found.items:
            priced = result.price.cost_per_1m_input is not None and (
                result.price.cost_per_1m_output is not None
            )
            assert result.priced is priced and (result.total_cost is None) is not priced
            if result.certification is not None:
                assert result.certification.region == result.region
        if len(constraints) > 1 or len(expected) > 2:
            # A later page is the same ranking, sliced; the total still counts them all.
            page = await search_deployments(
                session=session,
                cache=CatalogCache(ttl_s=0),
                search=search.model_copy(update={"page": 2, "page_size": 2}),
            )
            assert _seen(page) == expected[2:4], constraints
            assert page.total == len(expected)
    return len(expected)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(catalog=CATALOG, combined=st.lists(searches(), min_size=3, max_size=5))
async def test_search_agrees_with_brute_force(
    database: Database, catalog: Catalog, combined: list[dict[str, Any]]
) -> None:
    ids = await _store(database, catalog)
    matched = 0
    for constraints in [*SINGLES, *combined]:
        matched += await _check(database, catalog, ids, constraints)
    # Steer generation towards catalogs and constraints that match something.
    target(float(matched))
