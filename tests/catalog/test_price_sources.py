"""Prices with a source and a date (issue 27): every write path records its source and a
history row, regional prices price calls from their region, `check_prices` finds what needs
attention — on the demo catalog and after discovery on a world of unknown models."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import discover_models
from myia.catalog.filters import PriceQuery
from myia.catalog.price_check import check_prices
from myia.catalog.price_history import (
    ChangeVia,
    Price,
    PriceSource,
    price_history,
    record_price_change,
)
from myia.catalog.pricing import compare_prices
from myia.db.engine import Database
from myia.db.enums import AuthType, PriceSourceKind, UserRole
from myia.db.models import DeploymentPrice, ModelDeployment, PriceHistory
from myia.errors import InvalidInputError
from myia.maintenance.demo_sim import point_providers_at_simulator
from myia.maintenance.pricing_file import PriceEntry, PricingTable
from myia.maintenance.seed import seed_database
from myia.routing.resolve import load_route_table, select_routes
from myia.routing.types import Needs
from myia.sim import running_simulator
from tests.catalog.discovery_sim import catalog, chain_credentials, demo_file, demo_sim
from tests.catalog.test_discovery_profiles import REGIONS, WORLD
from tests.factories import bearer_headers, make_base_model, make_deployment, make_provider

__all__ = ["catalog", "chain_credentials", "demo_sim"]  # fixtures used below

URL = "/api/v2/deployments"
TODAY = date(2026, 12, 4)


async def _history(session: AsyncSession, deployment_id: str) -> list[PriceHistory]:
    await session.rollback()  # a fresh snapshot: the API wrote on its own connection
    rows = await session.scalars(
        select(PriceHistory)
        .where(PriceHistory.deployment_id == deployment_id)
        .order_by(PriceHistory.changed_at, PriceHistory.id)
    )
    return list(rows)


async def _row(session: AsyncSession, deployment_id: str) -> ModelDeployment:
    await session.rollback()
    row = await session.get(ModelDeployment, deployment_id)
    assert row is not None
    return row


# --- the API path -------------------------------------------------------------------------
async def test_an_api_price_change_is_the_operators_dated_entry_with_history(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    provider = await make_provider(session)
    deployment = await make_deployment(
        session, base_model=await make_base_model(session), provider=provider
    )
    dep_id = deployment.id

    response = await client.put(f"{URL}/{dep_id}", json={"cost_per_1m_input": 2.5}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["cost_per_1m_input"], body["cost_per_1m_output"]) == (2.5, 2.0)
    assert body["price_source_kind"] == "operator"
    assert body["price_as_of"] is not None  # today, when the operator typed it

    [change] = await _history(session, dep_id)
    assert (change.old_input, change.new_input) == (1.0, 2.5)
    assert (change.old_output, change.new_output) == (2.0, 2.0)
    assert change.via == "api" and change.changed_by is not None
    assert change.changed_by.startswith("bearer") and change.region is None

    # Sending the same price again changes nothing and records nothing.
    again = await client.put(f"{URL}/{dep_id}", json={"cost_per_1m_input": 2.5}, headers=admin)
    assert again.status_code == 200
    assert len(await _history(session, dep_id)) == 1

    # A source sent alone re-labels the current price: one more history row, same figures.
    cited = await client.put(
        f"{URL}/{dep_id}",
        json={
            "price_source_name": "Acme price list",
            "price_source_url": "https://acme.example/pricing",
            "price_as_of": "2026-11-30",
        },
        headers=admin,
    )
    assert cited.status_code == 200, cited.text
    assert cited.json()["price_source_name"] == "Acme price list"
    assert cited.json()["price_as_of"] == "2026-11-30"
    history = await _history(session, dep_id)
    assert len(history) == 2 and history[1].new_input == history[1].old_input == 2.5
    assert history[1].source_url == "https://acme.example/pricing"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cost_per_1m_input": 1.0, "price_source_url": "javascript:alert(1)"}, "price_source_url"),
        ({"cost_per_1m_input": 1.0, "price_as_of": "yesterday"}, "price_as_of"),
        ({"cost_per_1m_input": 1.0, "price_as_of": 20261201}, "price_as_of"),
        ({"cost_per_1m_input": 1.0, "price_source_kind": "guess"}, "price_source_kind"),
        (
            {"cost_per_1m_input": None, "cost_per_1m_output": None, "price_source_name": "x"},
            "price_source_kind",
        ),
    ],
)
async def test_a_bad_price_source_is_refused_by_name_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, body: dict[str, object], field: str
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    deployment = await make_deployment(
        session, base_model=await make_base_model(session), provider=await make_provider(session)
    )
    dep_id = deployment.id
    response = await client.put(f"{URL}/{dep_id}", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert field in response.text
    row = await _row(session, dep_id)
    assert (row.cost_per_1m_input, row.price_source_kind) == (1.0, None)
    assert await _history(session, dep_id) == []


async def test_creating_a_priced_deployment_records_its_first_price(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    provider = await make_provider(session)
    base = await make_base_model(session)
    response = await client.post(
        URL,
        json={
            "base_model_id": base.id,
            "provider_id": provider.id,
            "deployment_id": "acme.new-v1:0",
            "cost_per_1m_input": 0.5,
            "cost_per_1m_output": 1.5,
            "price_source_kind": "bundled",
            "price_source_name": "Acme pricing",
            "price_source_url": "https://acme.example/pricing",
            "price_as_of": "2026-10-01",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["price_source_kind"] == "bundled" and created["price_as_of"] == "2026-10-01"
    [first] = await _history(session, created["id"])
    assert (first.old_input, first.new_input, first.new_output) == (None, 0.5, 1.5)
    assert first.source_kind is PriceSourceKind.BUNDLED


# --- the one service function: regional prices -----------------------------------------
async def test_regional_prices_are_recorded_and_price_calls_from_their_region(
    session: AsyncSession, database: Database
) -> None:
    provider = await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    base = await make_base_model(session, name="Regional")
    deployment = await make_deployment(
        session, base_model=base, provider=provider, cost_per_1m_input=1.0, cost_per_1m_output=2.0
    )
    source = PriceSource(PriceSourceKind.OPERATOR, "Acme", None, TODAY)
    for region, price in (("eu", Price(1.5, 3.0)), ("eu-west-1", Price(1.2, 2.4))):
        changed = await record_price_change(
            session=session,
            deployment=deployment,
            price=price,
            source=source,
            via=ChangeVia.CLI,
            region=region,
        )
        assert changed
    await session.commit()
    # Half a price is no regional price.
    with pytest.raises(InvalidInputError, match="price"):
        await record_price_change(
            session=session,
            deployment=deployment,
            price=Price(1.0, None),
            source=source,
            via=ChangeVia.CLI,
            region="us",
        )

    table = await load_route_table(database=database)
    prices = {}
    for region in ("eu-west-1", "eu-central-1", "us-east-1"):
        (route,) = select_routes(
            table=table,
            model=deployment.deployment_id,
            needs=Needs(),
            preferred_region=region,
            allow_uncertified=True,
        )
        prices[region] = (route.price_in, route.price_out)
    # The region's own price, else its geography's, else the deployment's.
    assert prices == {
        "eu-west-1": (1.2, 2.4),
        "eu-central-1": (1.5, 3.0),
        "us-east-1": (1.0, 2.0),
    }

    cache = CatalogCache(ttl_s=0)
    query = PriceQuery(input_tokens=1_000_000, output_tokens=0, region="eu-central-1")
    comparison = await compare_prices(session=session, cache=cache, model_id=base.id, query=query)
    assert comparison.items[0].total_cost == 1.5
    everywhere = await compare_prices(
        session=session, cache=cache, model_id=base.id, query=PriceQuery(input_tokens=1_000_000)
    )
    assert everywhere.items[0].cost_per_1m_input == 1.0

    # Removing a regional price is a change too: the row goes, the history keeps it.
    await record_price_change(
        session=session,
        deployment=deployment,
        price=None,
        source=None,
        via=ChangeVia.CLI,
        region="eu",
    )
    await session.commit()
    left = await session.scalars(
        select(DeploymentPrice.region).where(DeploymentPrice.deployment_id == deployment.id)
    )
    assert list(left) == ["eu-west-1"]
    history = await price_history(session=session, deployment_ids=[deployment.id])
    assert [(h.region, h.new_input) for h in history][:1] == [("eu", None)]
    assert {h.region for h in history} == {"eu", "eu-west-1"}


# --- the check --------------------------------------------------------------------------
def _table(**prices: tuple[float, float, date]) -> PricingTable:
    return PricingTable(
        {
            "acme": {
                model: PriceEntry(input=i, output=o, source="https://acme.example/", as_of=d)
                for model, (i, o, d) in prices.items()
            }
        }
    )


async def test_the_check_finds_unpriced_stale_and_different_prices(session: AsyncSession) -> None:
    provider = await make_provider(session, slug="acme")
    base = await make_base_model(session)
    fresh = PriceSource(PriceSourceKind.BUNDLED, "Acme", "https://acme.example/", date(2026, 11, 1))

    async def deployment(model_id: str, price: Price | None, source: PriceSource | None) -> str:
        row = await make_deployment(
            session,
            base_model=base,
            provider=provider,
            deployment_id=model_id,
            cost_per_1m_input=None,
            cost_per_1m_output=None,
        )
        await record_price_change(
            session=session, deployment=row, price=price, source=source, via=ChangeVia.CLI
        )
        await session.commit()
        return row.id

    await deployment("ok", Price(1.0, 2.0), fresh)
    await deployment("unpriced", None, None)
    await deployment("half", Price(1.0, None), fresh)
    await deployment("old", Price(1.0, 2.0), PriceSource(PriceSourceKind.BUNDLED, None, None,
                                                           date(2025, 1, 1)))  # fmt: skip
    await deployment("undated", Price(1.0, 2.0), PriceSource(PriceSourceKind.OPERATOR))
    await deployment("drifted", Price(1.0, 2.0), fresh)
    newer = PriceSource(PriceSourceKind.OPERATOR, "us", None, date(2026, 12, 1))
    await deployment("override", Price(9.0, 9.0), newer)
    retired = await deployment("retired", None, None)
    row = await session.get(ModelDeployment, retired)
    assert row is not None
    row.is_active = False  # what cannot serve traffic is not checked
    await session.commit()

    pricing = _table(
        ok=(1.0, 2.0, date(2026, 11, 1)),
        unpriced=(3.0, 4.0, date(2026, 11, 1)),
        drifted=(1.0, 2.5, date(2026, 11, 1)),
        override=(1.0, 2.0, date(2026, 11, 1)),
    )
    report = await check_prices(session=session, today=TODAY, pricing=pricing)
    found = {(i.finding, i.deployment_id) for i in report.issues}
    assert found == {
        ("unpriced", "unpriced"),
        ("unpriced", "half"),
        ("stale", "old"),
        ("stale", "undated"),
        ("differs", "drifted"),
    }
    assert report.checked == 7 and report.needs_attention  # "retired" is not checked
    assert report.counts == {"unpriced": 2, "stale": 2, "differs": 1}
    [unpriced] = [i for i in report.of("unpriced") if i.deployment_id == "unpriced"]
    assert "bundled table has it" in unpriced.detail
    [drift] = report.of("differs")
    assert (drift.bundled_input, drift.bundled_output) == (1.0, 2.5)

    # A longer limit makes "old" fresh; a limit of one row per finding truncates, counts stay.
    longer = await check_prices(session=session, today=TODAY, pricing=pricing, max_age_days=1000)
    assert longer.counts["stale"] == 1
    short = await check_prices(session=session, today=TODAY, pricing=pricing, limit=1)
    assert short.truncated and short.counts == report.counts and len(short.issues) == 3
    with pytest.raises(InvalidInputError, match="max_age_days"):
        await check_prices(session=session, max_age_days=-1)
    with pytest.raises(InvalidInputError, match="limit"):
        await check_prices(session=session, limit=0)


# --- the demo catalog and a world of unknown models -------------------------------------
async def test_the_demo_catalog_is_priced_with_sources(catalog: AsyncSession) -> None:
    cache = CatalogCache(ttl_s=0)
    for region in demo_file()["regions"]:
        await discover_models(session=catalog, cache=cache, provider_slug="bedrock", region=region)
    for slug in ("openai", "groq", "together"):
        await discover_models(session=catalog, cache=cache, provider_slug=slug)

    report = await check_prices(session=catalog, today=TODAY)
    assert report.checked > 80
    # Every deployment of the demo has a sourced, recent price that agrees with the bundled
    # table (issue 27): nothing to report. The odd scenario below shows an unpriced one named.
    assert report.counts == {"unpriced": 0, "stale": 0, "differs": 0}, report.issues
    assert not report.needs_attention
    rows = list(await catalog.scalars(select(ModelDeployment)))
    priced = [r for r in rows if r.cost_per_1m_input is not None]
    assert all(r.price_source_kind is PriceSourceKind.BUNDLED and r.price_as_of for r in priced)
    assert all(r.price_source_url and r.price_source_url.startswith("https://") for r in priced)
    # Every priced deployment's first price is in its history, written by the seed or
    # discovery; geography prices came in with them (the Claude 4.5 us./eu. profiles).
    history = await catalog.scalars(select(PriceHistory.via).where(PriceHistory.region.is_(None)))
    assert sorted(set(history)) == ["discovery", "seed"]
    regional = await catalog.scalars(select(DeploymentPrice.region).distinct())
    assert {"us", "eu", "eu-west-1"} <= set(regional)


async def test_after_discovery_on_unknown_models_the_check_names_each(
    session: AsyncSession, chain_credentials: None
) -> None:
    await seed_database(session=session)
    with running_simulator(WORLD) as world:
        await point_providers_at_simulator(
            session=session, base_url=world.base_url, scenario=world.scenario
        )
        cache = CatalogCache(ttl_s=0)
        for region in REGIONS:
            await discover_models(
                session=session, cache=cache, provider_slug="bedrock", region=region
            )
    report = await check_prices(session=session, today=TODAY)
    unpriced = {(i.provider, i.deployment_id, i.model) for i in report.of("unpriced")}
    assert unpriced == {
        ("bedrock", "acme.profiled-v1:0", "Acme Profiled"),
        ("bedrock", "acme.plain-v1:0", "Acme Plain"),
    }
    assert all("not in the bundled table" in i.detail for i in report.of("unpriced"))
