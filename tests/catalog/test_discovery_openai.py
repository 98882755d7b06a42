"""OpenAI-compatible discovery (`/v1/models` through the openai SDK) against the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import discover_models
from myia.catalog.discovery_rules import NOT_CHAT
from myia.db.enums import PriceSourceKind
from myia.db.models import ModelDeployment, Provider
from myia.maintenance.demo_sim import point_providers_at_simulator
from myia.maintenance.seed import seed_database
from myia.sim import Scenario, SimServer, running_simulator
from tests.catalog.discovery_sim import catalog, chain_credentials, demo_sim

__all__ = ["catalog", "chain_credentials", "demo_sim"]  # fixtures used below

# A world with what `/v1/models` really mixes in: embeddings, speech, images, moderation.
MIXED = Scenario.model_validate(
    {
        "name": "openai-mixed",
        "openai_providers": [
            {
                "slug": "openai",
                "models": [
                    {"id": "gpt-4o", "owned_by": "system", "input_modalities": ["TEXT", "IMAGE"]},
                    {"id": "gpt-4.1-nano", "owned_by": "system"},
                    # No source prices it: discovery must leave it unpriced, never $0.
                    {"id": "gpt-acme-preview", "owned_by": "system"},
                    {"id": "text-embedding-3-small", "output_modalities": ["EMBEDDING"]},
                    {"id": "whisper-1", "input_modalities": ["SPEECH"]},
                    {"id": "tts-1-hd", "output_modalities": ["SPEECH"]},
                    {"id": "dall-e-3", "output_modalities": ["IMAGE"]},
                    {"id": "omni-moderation-latest"},
                ],
            },
            {
                "slug": "together",
                "models_shape": "together",
                "models": [
                    {
                        "id": "mistralai/Mixtral-8x7B-Instruct-v0.1",
                        "name": "Mixtral-8x7B Instruct v0.1",
                        "owned_by": "mistralai",
                        "context_window": 32768,
                        "pricing": {"input": 0.6, "output": 0.6},
                    },
                    {"id": "Qwen/Qwen2.5-7B-Instruct-Turbo", "owned_by": "Qwen"},  # seeded
                ],
            },
        ],
    }
)


@pytest.fixture(scope="module")
def mixed_sim() -> Iterator[SimServer]:
    with running_simulator(MIXED) as server:
        yield server


async def _rows(session: AsyncSession, slug: str) -> dict[str, ModelDeployment]:
    rows = await session.scalars(
        select(ModelDeployment)
        .join(Provider)
        .where(Provider.slug == slug)
        .options(selectinload(ModelDeployment.base_model))
        .execution_options(populate_existing=True)
    )
    return {row.deployment_id: row for row in rows}


async def test_openai_from_the_demo_scenario(catalog: AsyncSession) -> None:
    cache = CatalogCache()
    report = await discover_models(session=catalog, cache=cache, provider_slug="openai")
    # gpt-4-turbo and gpt-3.5-turbo come with the seed; the listing adds the other two.
    assert {p.deployment_id for p in report.added} == {"gpt-4o", "gpt-4o-mini"}
    assert report.listed == 4 and report.already_in_catalog == 2 and report.region is None
    rows = await _rows(catalog, "openai")
    gpt4o = rows["gpt-4o"]
    assert (gpt4o.cost_per_1m_input, gpt4o.cost_per_1m_output) == (2.5, 10.0)
    assert gpt4o.provider_config is not None
    assert gpt4o.provider_config["price_source"] == "pricing_file"
    assert gpt4o.base_model.vendor == "openai"
    caps = gpt4o.base_model.capabilities
    assert caps["vision"] and caps["tool_calling"] and caps["json_output"] and caps["streaming"]
    again = await discover_models(session=catalog, cache=cache, provider_slug="openai")
    assert again.added_count == 0 and again.already_in_catalog == 4


async def test_together_from_the_demo_scenario_is_already_seeded(catalog: AsyncSession) -> None:
    report = await discover_models(session=catalog, cache=CatalogCache(), provider_slug="together")
    # Together answers a bare JSON array; both of its models are the seed's.
    assert report.listed == 2 and report.relevant == 2
    assert report.already_in_catalog == 2 and report.added_count == 0


async def test_non_chat_models_are_skipped_and_listing_prices_used(
    session: AsyncSession, mixed_sim: SimServer, chain_credentials: None
) -> None:
    await seed_database(session=session)
    await point_providers_at_simulator(
        session=session, base_url=mixed_sim.base_url, scenario=mixed_sim.scenario
    )
    cache = CatalogCache()
    openai = await discover_models(session=session, cache=cache, provider_slug="openai")
    assert {p.deployment_id for p in openai.added} == {"gpt-4o", "gpt-4.1-nano", "gpt-acme-preview"}
    assert openai.dropped[NOT_CHAT] == 5
    nano = next(p for p in openai.added if p.deployment_id == "gpt-4.1-nano")
    # "system" names the host, not the maker: the vendor comes from the id.
    assert nano.vendor == "openai" and nano.price_source == "pricing_file"
    assert (nano.cost_per_1m_input, nano.cost_per_1m_output) == (0.10, 0.40)
    acme = next(p for p in openai.added if p.deployment_id == "gpt-acme-preview")
    assert acme.price_source == "unknown"
    assert (acme.cost_per_1m_input, acme.cost_per_1m_output) == (None, None)  # never $0

    together = await discover_models(session=session, cache=cache, provider_slug="together")
    [mixtral] = together.added
    assert mixtral.deployment_id == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    assert mixtral.vendor == "mistral" and mixtral.name == "Mixtral-8x7B Instruct v0.1"
    assert mixtral.price_source == "listing"
    assert (mixtral.cost_per_1m_input, mixtral.cost_per_1m_output) == (0.6, 0.6)
    assert mixtral.capabilities["max_context_window"] == 32768
    rows = await _rows(session, "together")
    config = rows[mixtral.deployment_id].provider_config
    assert config is not None and config["price_source"] == "listing"
    # The listing is the price's source, dated the day discovery read it.
    assert rows[mixtral.deployment_id].price_source_kind is PriceSourceKind.DISCOVERY
    assert rows[mixtral.deployment_id].price_source_name == "together model listing"
