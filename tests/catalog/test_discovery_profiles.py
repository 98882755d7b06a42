"""Inference-profile ids from the provider: discovery stores each region's, calls use them.

The scenario gives regions geographies that the product's prefix table does not know
(me-south-1 served as `apac`, sa-east-1 as `us`): only the ids the provider listed work.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import discover_models
from myia.credentials.connections import connection_for
from myia.db.enums import InferenceType
from myia.db.models import ModelDeployment, Provider
from myia.maintenance.demo_sim import point_providers_at_simulator
from myia.maintenance.seed import seed_database
from myia.providers.bedrock.model_ids import profile_id_for, profile_id_for_deployment
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.registry import get_adapter
from myia.providers.types import ChatMessage, ChatRequest
from myia.sim import Scenario, SimServer, running_simulator
from tests.catalog.discovery_sim import chain_credentials

__all__ = ["chain_credentials"]  # fixture used below

PROFILED = "acme.profiled-v1:0"  # inference profile only, no global profile
ON_DEMAND = "acme.plain-v1:0"
WORLD = Scenario.model_validate(
    {
        "name": "odd-geographies",
        "regions": {
            "us-east-1": {},
            "me-south-1": {"geography": "apac"},
            "sa-east-1": {"geography": "us"},
            "eu-west-1": {},
        },
        "models": [
            {
                "id": PROFILED,
                "name": "Acme Profiled",
                "provider": "Acme",
                "inference_types": ["INFERENCE_PROFILE"],
                "regions": ["us-east-1", "me-south-1", "sa-east-1"],
                "region_lifecycle": {"sa-east-1": "LEGACY"},
            },
            {"id": ON_DEMAND, "name": "Acme Plain", "provider": "Acme"},
        ],
    }
)
REGIONS = ("us-east-1", "me-south-1", "sa-east-1", "eu-west-1")


@pytest.fixture(scope="module")
def world_sim() -> Iterator[SimServer]:
    with running_simulator(WORLD) as server:
        yield server


@pytest.fixture
async def world(
    session: AsyncSession, world_sim: SimServer, chain_credentials: None
) -> AsyncSession:
    await seed_database(session=session)
    await point_providers_at_simulator(
        session=session, base_url=world_sim.base_url, scenario=world_sim.scenario
    )
    return session


async def _deployment(session: AsyncSession, deployment_id: str) -> ModelDeployment:
    row = await session.scalar(
        select(ModelDeployment)
        .where(ModelDeployment.deployment_id == deployment_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def _call(session: AsyncSession, model: str, region: str) -> str:
    provider = await session.scalar(select(Provider).where(Provider.slug == "bedrock"))
    assert provider is not None
    connection = await connection_for(
        session=session, provider=provider, region=region, user_id=None, secret=""
    )
    request = ChatRequest(
        model=model,
        region=region,
        inference_type=InferenceType.INFERENCE_PROFILE,
        messages=[ChatMessage.user("Reply with exactly: PONG")],
    )
    async with get_adapter(connection) as adapter:
        response = await adapter.chat(request)
    return response.model_id


async def test_every_region_s_profile_id_is_stored_and_used(world: AsyncSession) -> None:
    cache = CatalogCache()
    for region in REGIONS:
        await discover_models(session=world, cache=cache, provider_slug="bedrock", region=region)
    row = await _deployment(world, PROFILED)
    config = row.provider_config or {}
    assert row.inference_type is InferenceType.INFERENCE_PROFILE
    assert config["regions"] == ["me-south-1", "sa-east-1", "us-east-1"]
    assert config["inference_profiles"] == {
        "us-east-1": f"us.{PROFILED}",
        "me-south-1": f"apac.{PROFILED}",
        "sa-east-1": f"us.{PROFILED}",
    }
    assert config["lifecycle"] == {
        "us-east-1": "ACTIVE",
        "me-south-1": "ACTIVE",
        "sa-east-1": "LEGACY",
    }
    plain = (await _deployment(world, ON_DEMAND)).provider_config or {}
    assert plain["regions"] == sorted(REGIONS) and "inference_profiles" not in plain

    # The product calls the listed id; the prefix table's guess is what the provider refuses.
    for region in ("us-east-1", "me-south-1", "sa-east-1"):
        model = profile_id_for_deployment(row, region)
        assert model == config["inference_profiles"][region]
        assert await _call(world, model, region) == model
    guess = profile_id_for(PROFILED, "me-south-1")
    assert guess == f"global.{PROFILED}"
    with pytest.raises(ProviderError) as refused:
        await _call(world, guess, "me-south-1")
    assert refused.value.category is ErrorCategory.NOT_AVAILABLE_IN_REGION


async def test_a_rerun_writes_nothing_and_an_old_deployment_learns_its_profiles(
    world: AsyncSession,
) -> None:
    cache = CatalogCache()
    await discover_models(session=world, cache=cache, provider_slug="bedrock", region="me-south-1")
    row = await _deployment(world, PROFILED)
    # A deployment discovered before the per-region map existed.
    row.provider_config = {"regions": ["me-south-1"], "inference_profile_ids": []}
    await world.commit()
    assert profile_id_for_deployment(row, "me-south-1") == f"global.{PROFILED}", "fallback"
    report = await discover_models(
        session=world, cache=cache, provider_slug="bedrock", region="me-south-1"
    )
    assert report.added == [] and report.regions_extended == 0
    row = await _deployment(world, PROFILED)
    assert (row.provider_config or {})["inference_profiles"] == {"me-south-1": f"apac.{PROFILED}"}
    before = dict(row.provider_config or {})
    await discover_models(session=world, cache=cache, provider_slug="bedrock", region="me-south-1")
    assert (await _deployment(world, PROFILED)).provider_config == before
