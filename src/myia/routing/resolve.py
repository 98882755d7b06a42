"""Resolve a requested model to its candidate routes, from a route table cached in memory.

The table holds every active deployment of every active provider with its prices, claimed
capabilities and certification rows; it is loaded once and kept in the `CatalogCache` under
the deployments namespace, so a catalog write (or `invalidate_routes`) drops it in every
process sharing Redis, and the TTL bounds staleness otherwise. Choosing routes is then pure,
in-memory work: expiry is checked against the clock on every request, not at load time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from myia.catalog.cache import DEPLOYMENTS, CatalogCache
from myia.db.engine import Database
from myia.db.enums import InferenceType
from myia.db.models import (
    BaseModel,
    DeploymentPrice,
    ModelCertification,
    ModelDeployment,
    Provider,
)
from myia.db.types import utcnow
from myia.providers.bedrock.model_ids import profile_id_for_deployment
from myia.routing.params import NO_PARAMS, merge_params
from myia.routing.types import CertificationView, Needs, ProviderRef, Route
from myia.telemetry.cost import NO_REGIONAL_PRICES, RegionalPrices, price_in_region

ROUTE_TABLE_KEY = ("routing", "route_table")
GLOBAL_REGION = "global"  # certification's region for providers without regions
_SLUG_RE = re.compile(r"[^a-z0-9.]+")


def model_slug(name: str) -> str:
    """The id a base model has on /v1: "Claude 3.5 Sonnet" -> "claude-3.5-sonnet"."""
    return _SLUG_RE.sub("-", name.lower()).strip("-") or "model"


@dataclass(frozen=True, slots=True)
class DeploymentEntry:
    row_id: str
    deployment: str
    provider: ProviderRef
    inference_type: Any
    price_in: float | None
    price_out: float | None
    claimed: frozenset[str]
    certifications: tuple[CertificationView, ...]
    # region -> the model id to call from there, when not `deployment` (see `_call_ids`).
    call_ids: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    # default_params under custom_params (`myia.routing.params.merge_params`).
    params: Mapping[str, Any] = field(default=NO_PARAMS, hash=False, compare=False)
    # Prices by region or geography where they differ from price_in/price_out (issue 27).
    regional: RegionalPrices = field(default=NO_REGIONAL_PRICES, hash=False, compare=False)
    # The most output tokens one call may ask (capabilities' `max_output_tokens`, the
    # deployment's over its model's); None: not known, nothing refused.
    max_output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    name: str
    vendor: str
    created: int
    deployments: tuple[DeploymentEntry, ...]
    base_id: str = ""  # the base model's row id (a user's enabled_models name these)


@dataclass(frozen=True, slots=True)
class RouteTable:
    models: dict[str, ModelEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # lowercased name / deployment id

    def find(self, model: str) -> tuple[ModelEntry | None, str | None]:
        """The model entry, and the one deployment id when `model` named a deployment."""
        if model in self.models:
            return self.models[model], None
        slug = self.aliases.get(model.lower())
        if slug is None:
            return None, None
        entry = self.models[slug]
        named = model if any(d.deployment == model for d in entry.deployments) else None
        return entry, named


def _verdicts_of(test_results: Any, observed: Any) -> tuple[frozenset[str], frozenset[str]]:
    """Capabilities a certification row's tests proved and those they disproved."""
    passed: set[str] = set()
    failed: set[str] = set()
    for result in test_results or []:
        if not isinstance(result, dict) or not result.get("capability"):
            continue
        if result.get("status") == "passed":
            passed.add(str(result["capability"]))
        elif result.get("status") == "failed":
            failed.add(str(result["capability"]))
    # Rows written after the certification-truth migration also say what was observed.
    if isinstance(observed, dict):
        for name, seen in observed.items():
            if seen is True:
                passed.add(str(name))
            elif seen is False:
                failed.add(str(name))
    return frozenset(passed), frozenset(failed)


def _verdicts(row: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The same, for a `ModelCertification` row (or anything with its two columns)."""
    return _verdicts_of(row.test_results, getattr(row, "observed_capabilities", None))


def _max_output(base: dict[str, Any] | None, own: dict[str, Any] | None) -> int | None:
    for caps in (own, base):
        value = (caps or {}).get("max_output_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _claimed(base: dict[str, Any] | None, own: dict[str, Any] | None) -> frozenset[str]:
    merged = {k: v for k, v in (base or {}).items() if isinstance(v, bool)}
    merged.update({k: v for k, v in (own or {}).items() if isinstance(v, bool)})
    return frozenset(k for k, v in merged.items() if v)


@dataclass(frozen=True, slots=True)
class _DeploymentIds:
    """What `profile_id_for_deployment` reads of a deployment row."""

    deployment_id: str
    inference_type: InferenceType
    provider_config: dict[str, Any] | None


def _call_ids(d: _DeploymentIds, regions: Iterable[str]) -> Mapping[str, str]:
    """For an inference-profile deployment, the id to call it with from each region it was
    certified or discovered in — the same function certification uses, computed once per
    table load rather than per request. Other regions fall back to the adapter's guess."""
    if d.inference_type is not InferenceType.INFERENCE_PROFILE:
        return _NO_CALL_IDS
    profiles = (d.provider_config or {}).get("inference_profiles")
    known = set(regions) | (set(profiles) if isinstance(profiles, dict) else set())
    found = {r: profile_id_for_deployment(d, r) for r in known if r and r != GLOBAL_REGION}
    return MappingProxyType({r: id_ for r, id_ in found.items() if id_ != d.deployment_id})


_NO_CALL_IDS: Mapping[str, str] = MappingProxyType({})
# Shared by every row without verdicts: `frozenset()` is a new object each time, and every
# object of the table is one more for each full garbage collection to walk.
_NOTHING: frozenset[str] = frozenset()
# Only the columns routing reads: ORM rows (and their unused columns, relationships and
# identity map) cost ~0.5 ms of CPU per deployment with its certifications, 4.8 s for the
# catalog bench's 10,000 deployments and 60,000 certifications, on the event loop, at every
# TTL expiry and catalog write.
_DEPLOYMENT_COLUMNS = (
    ModelDeployment.id,
    ModelDeployment.base_model_id,
    ModelDeployment.deployment_id,
    ModelDeployment.inference_type,
    ModelDeployment.cost_per_1m_input,
    ModelDeployment.cost_per_1m_output,
    ModelDeployment.capabilities,
    ModelDeployment.provider_config,
    ModelDeployment.custom_params,
    Provider.id,
    Provider.slug,
    Provider.auth_type,
    Provider.base_url,
    Provider.is_simulated,
    BaseModel.name,
    BaseModel.vendor,
    BaseModel.created_at,
    BaseModel.capabilities,
    BaseModel.default_params,
)
_REGIONAL_PRICE_COLUMNS = (
    DeploymentPrice.deployment_id,
    DeploymentPrice.region,
    DeploymentPrice.cost_per_1m_input,
    DeploymentPrice.cost_per_1m_output,
)
_CERTIFICATION_COLUMNS = (
    ModelCertification.deployment_id,
    ModelCertification.region,
    ModelCertification.status,
    ModelCertification.badge,
    ModelCertification.rating,
    ModelCertification.expires_at,
    ModelCertification.test_results,
    ModelCertification.observed_capabilities,
)


def _status(value: Any) -> str:
    return str(value.value if hasattr(value, "value") else value)


async def load_route_table(*, database: Database) -> RouteTable:
    """Three queries: active deployments with their model and provider, certifications, and
    regional prices (a small table: only prices that differ by region are in it)."""
    active = (ModelDeployment.is_active.is_(True), Provider.is_active.is_(True))
    async with database.read_session() as session:
        # Core execution: rows as tuples, without the ORM's per-row loading machinery.
        connection = await session.connection()
        deployments = (
            await connection.execute(
                select(*_DEPLOYMENT_COLUMNS)
                .join(Provider, ModelDeployment.provider_id == Provider.id)
                .join(BaseModel, ModelDeployment.base_model_id == BaseModel.id)
                .where(*active)
            )
        ).all()
        certifications = (
            await connection.execute(
                select(*_CERTIFICATION_COLUMNS)
                .join(ModelDeployment, ModelCertification.deployment_id == ModelDeployment.id)
                .join(Provider, ModelDeployment.provider_id == Provider.id)
                .where(*active)
            )
        ).all()
        regional_rows = (
            await connection.execute(
                select(*_REGIONAL_PRICE_COLUMNS)
                .join(ModelDeployment, DeploymentPrice.deployment_id == ModelDeployment.id)
                .join(Provider, ModelDeployment.provider_id == Provider.id)
                .where(*active)
            )
        ).all()
    regional: dict[str, dict[str, tuple[float, float]]] = {}
    for deployment_id, region, price_in, price_out in regional_rows:
        regional.setdefault(deployment_id, {})[region] = (price_in, price_out)
    # Rows with the same verdicts share one set pair (most of a catalog's rows do).
    verdicts: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    by_deployment: dict[str, list[tuple[str, CertificationView]]] = {}
    for deployment_id, region, status, badge, rating, expires_at, tests, observed in certifications:
        if tests or observed:
            marker = repr((tests, observed))
            found = verdicts.get(marker)
            if found is None:
                found = verdicts[marker] = _verdicts_of(tests, observed)
            passed, failed = found
        else:
            passed = failed = _NOTHING
        view = CertificationView(
            region=region,
            status=_status(status),
            badge=badge,
            rating=rating,
            expires_at=expires_at,
            passed=passed,
            failed=failed,
        )
        by_deployment.setdefault(deployment_id, []).append((region, view))
    providers: dict[str, ProviderRef] = {}
    grouped: dict[str, list[DeploymentEntry]] = {}
    bases: dict[str, tuple[str, str, int]] = {}
    for (row_id, base_id, deployment_id, inference_type, price_in, price_out, capabilities,
         provider_config, custom_params, provider_id, slug, auth_type, base_url, is_simulated,
         base_name, vendor, created_at, base_capabilities, default_params,
         ) in deployments:  # fmt: skip
        provider = providers.get(provider_id)
        if provider is None:
            provider = providers[provider_id] = ProviderRef(
                provider_id, slug, auth_type, base_url, bool(is_simulated)
            )
        rows = by_deployment.get(row_id, [])
        ids = _DeploymentIds(deployment_id, inference_type, provider_config)
        grouped.setdefault(base_id, []).append(
            DeploymentEntry(
                row_id=row_id,
                deployment=deployment_id,
                provider=provider,
                inference_type=inference_type,
                price_in=price_in,
                price_out=price_out,
                claimed=_claimed(base_capabilities, capabilities),
                certifications=tuple(view for _, view in rows),
                call_ids=_call_ids(ids, (region for region, _ in rows)),
                params=merge_params(default_params, custom_params),
                regional=MappingProxyType(regional[row_id])
                if row_id in regional
                else NO_REGIONAL_PRICES,
                max_output_tokens=_max_output(base_capabilities, capabilities),
            )
        )
        if base_id not in bases:
            created = int(created_at.timestamp()) if created_at else 0
            bases[base_id] = (base_name, vendor, created)
    models: dict[str, ModelEntry] = {}
    aliases: dict[str, str] = {}
    for base_id, entries in grouped.items():
        name, vendor, created = bases[base_id]
        slug = model_slug(name)
        if slug in models:  # two names with one slug: the later one keeps its exact name only
            slug = f"{slug}-{base_id[:8]}"
        models[slug] = ModelEntry(
            id=slug,
            name=name,
            vendor=vendor,
            created=created,
            deployments=tuple(entries),
            base_id=base_id,
        )
        aliases.setdefault(name.lower(), slug)
        for entry in entries:
            aliases.setdefault(entry.deployment.lower(), slug)
    return RouteTable(models=models, aliases=aliases)


async def route_table(*, cache: CatalogCache, database: Database) -> RouteTable:
    async def load() -> RouteTable:
        return await load_route_table(database=database)

    return await cache.get_or_load(DEPLOYMENTS, ROUTE_TABLE_KEY, load)


async def invalidate_routes(*, cache: CatalogCache) -> None:
    """Call after writing certifications or prices outside the catalog services."""
    await cache.invalidate(DEPLOYMENTS)


def _routes_of(
    entry: ModelEntry,
    d: DeploymentEntry,
    *,
    needs: Needs,
    now: datetime,
    allow_uncertified: bool,
    preferred_region: str | None,
) -> list[Route]:
    wanted = needs.capabilities()
    found: list[Route] = []
    seen_regions: set[str] = set()

    def route(region: str | None, view: CertificationView | None, certified: bool) -> Route:
        price_in, price_out = price_in_region(d.price_in, d.price_out, d.regional, region)
        return Route(
            deployment=d.deployment,
            deployment_row_id=d.row_id,
            model=entry.id,
            provider=d.provider,
            region=region,
            price_in=price_in,
            price_out=price_out,
            certification=view,
            certified=certified,
            inference_type=d.inference_type,
            call_id=d.call_ids.get(region) if region else None,
            params=d.params,
            max_output_tokens=d.max_output_tokens,
        )

    for view in d.certifications:
        seen_regions.add(view.region)
        if view.is_certified(now) and all(view.proves(c) for c in wanted):
            found.append(route(view.region, view, True))
        elif (
            allow_uncertified
            and not any(c in view.failed for c in wanted)
            and all(c in d.claimed or view.proves(c) for c in wanted)
        ):
            found.append(route(view.region, view, False))
    if allow_uncertified and all(c in d.claimed for c in wanted):
        region = preferred_region if d.provider.regional else GLOBAL_REGION
        if region is None or region not in seen_regions:
            found.append(route(region, None, False))
    return found


def select_routes(
    *,
    table: RouteTable,
    model: str,
    needs: Needs,
    preferred_region: str | None = None,
    allow_uncertified: bool = False,
    allowed_regions: frozenset[str] | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    now: datetime | None = None,
) -> list[Route]:
    """Candidates best first: preferred region, certified, priced, cheapest, best rated."""
    entry, only = table.find(model)
    if entry is None:
        return []
    moment = now or utcnow()
    routes = [
        r
        for d in entry.deployments
        if only is None or d.deployment == only
        for r in _routes_of(
            entry,
            d,
            needs=needs,
            now=moment,
            allow_uncertified=allow_uncertified,
            preferred_region=preferred_region,
        )
        if allowed_regions is None
        or r.region is None
        or r.region in allowed_regions
        or r.region == GLOBAL_REGION
    ]

    def key(r: Route) -> tuple[bool, bool, bool, float, float, str, str]:
        cost = r.estimated_cost(max(input_tokens, 1), max(output_tokens, 1))
        rating = r.certification.rating if r.certification and r.certification.rating else 0.0
        in_preferred = preferred_region is not None and r.region in (preferred_region, None)
        return (
            not in_preferred,
            not r.certified,
            cost is None,
            cost or 0.0,
            -rating,
            r.deployment,
            r.region or "",
        )

    return sorted(routes, key=key)


async def resolve_routes(
    *,
    cache: CatalogCache,
    database: Database,
    model: str,
    needs: Needs,
    preferred_region: str | None = None,
    allow_uncertified: bool = False,
    allowed_regions: frozenset[str] | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> list[Route]:
    """The candidate routes for `model`, best first (see `select_routes`); cached table."""
    table = await route_table(cache=cache, database=database)
    return select_routes(
        table=table,
        model=model,
        needs=needs,
        preferred_region=preferred_region,
        allow_uncertified=allow_uncertified,
        allowed_regions=allowed_regions,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def why_no_route(*, table: RouteTable, model: str, needs: Needs, allow_uncertified: bool) -> str:
    """A message that tells the caller what to change when `select_routes` found nothing."""
    entry, _ = table.find(model)
    if entry is None:
        return f"the model {model!r} does not exist or has no active deployment; see GET /v1/models"
    now = utcnow()
    views = [v for d in entry.deployments for v in d.certifications]
    valid = [v for v in views if v.is_certified(now)]
    if not valid and not allow_uncertified:
        return (
            f"no deployment of {entry.id!r} holds a valid certification (certified and not "
            "expired), so the gateway will not route to it"
        )
    missing = [c for c in needs.capabilities() if not any(v.proves(c) for v in valid)]
    if missing:
        return (
            f"no certified deployment of {entry.id!r} passed {', '.join(missing)}, which this "
            "request needs"
        )
    return f"no deployment of {entry.id!r} is usable in the regions this request allows"
