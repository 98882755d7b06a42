"""Bedrock discovery against the simulator's demo scenario, through boto3, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.discovery import DiscoveryReport, discover_models
from myia.catalog.discovery_rules import NOT_TEXT
from myia.config import get_settings, reset_settings_cache
from myia.db.enums import CapabilitiesSource, InferenceType, PriceSourceKind
from myia.db.models import BaseModel, ModelDeployment, Provider
from myia.errors import InvalidInputError
from tests.catalog.discovery_sim import (
    NOVA_SONIC,
    catalog,
    chain_credentials,
    demo_sim,
    expected_chat_models,
)
from tests.catalog.test_discovery_profiles import ON_DEMAND, world, world_sim

__all__ = ["catalog", "chain_credentials", "demo_sim", "world", "world_sim"]  # fixtures

SONNET_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # in pricing.yaml, vision, tools
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"  # profile only, with a global profile
NOVA_MICRO = "amazon.nova-micro-v1:0"
QWEN_32B = "qwen.qwen3-32b-v1:0"  # priced from the LiteLLM map
MISTRAL_7B = "mistral.mistral-7b-instruct-v0:2"  # Converse has no tool use for it


async def _run(session: AsyncSession, **kwargs: object) -> DiscoveryReport:
    options: dict[str, object] = {"provider_slug": "bedrock", "region": "us-east-1"}
    options.update(kwargs)
    cache = options.pop("cache", None) or CatalogCache()
    return await discover_models(session=session, cache=cache, **options)  # type: ignore[arg-type]


async def _bedrock_rows(session: AsyncSession) -> dict[str, ModelDeployment]:
    rows = await session.scalars(
        select(ModelDeployment)
        .join(Provider)
        .where(Provider.slug == "bedrock")
        .options(selectinload(ModelDeployment.base_model))
        .execution_options(populate_existing=True)
    )
    return {row.deployment_id: row for row in rows}


async def _counts(session: AsyncSession) -> tuple[int, int]:
    models = await session.scalar(select(func.count(BaseModel.id)))
    deployments = await session.scalar(select(func.count(ModelDeployment.id)))
    return int(models or 0), int(deployments or 0)


async def test_dry_run_reports_everything_and_writes_nothing(catalog: AsyncSession) -> None:
    before = await _counts(catalog)
    report = await _run(catalog, dry_run=True)
    assert await _counts(catalog) == before
    expected = expected_chat_models("us-east-1")
    assert {p.deployment_id for p in report.added} == expected
    assert report.dry_run and report.region == "us-east-1" and report.is_simulated
    assert sorted(report.blacklisted) == sorted(NOVA_SONIC)
    assert report.relevant == len(expected) and report.new == len(expected)
    assert report.listed == report.relevant + len(report.blacklisted) + sum(report.dropped.values())
    assert set(report.dropped) == {NOT_TEXT}  # embeddings, image and video generators
    assert report.catalog_before == 0 and report.already_in_catalog == 0
    assert report.base_models_created == len({p.name for p in report.added})
    by_vendor = report.by_vendor()
    assert {"anthropic", "amazon", "meta", "mistral", "cohere", "ai21"} <= set(by_vendor)
    assert sum(len(plans) for plans in by_vendor.values()) == len(expected)


async def test_discovery_adds_exactly_the_region_s_text_models_once(catalog: AsyncSession) -> None:
    models_before, deployments_before = await _counts(catalog)
    report = await _run(catalog)
    expected = expected_chat_models("us-east-1")
    assert report.added_count == len(expected)
    rows = await _bedrock_rows(catalog)
    assert set(rows) == expected
    models_after, deployments_after = await _counts(catalog)
    assert deployments_after - deployments_before == len(expected)
    assert models_after - models_before == report.base_models_created
    assert all(row.provider_config and row.provider_config["regions"] == ["us-east-1"]
               for row in rows.values())  # fmt: skip

    again = await _run(catalog)
    assert again.added_count == 0 and again.new == 0
    assert again.already_in_catalog == len(expected) and again.regions_extended == 0
    assert again.catalog_before == len(expected)
    assert await _counts(catalog) == (models_after, deployments_after)


async def test_vendor_limits_the_run_to_one_vendor(catalog: AsyncSession) -> None:
    report = await _run(catalog, vendor="Mistral AI")  # a listing's name works too
    mistral = expected_chat_models("us-east-1", "mistral")
    assert report.vendor == "mistral"
    assert {p.deployment_id for p in report.added} == mistral
    assert {p.vendor for p in report.added} == {"mistral"}
    assert set(await _bedrock_rows(catalog)) == mistral
    # The distribution still shows every vendor's new models, for the operator's next run.
    assert report.new == len(expected_chat_models("us-east-1"))

    rest = await _run(catalog)
    assert {p.deployment_id for p in rest.added} == expected_chat_models("us-east-1") - mistral


async def test_prices_inference_types_and_capabilities(catalog: AsyncSession) -> None:
    await _run(catalog)
    rows = await _bedrock_rows(catalog)

    sonnet = rows[SONNET_V2]
    assert (sonnet.cost_per_1m_input, sonnet.cost_per_1m_output) == (3.0, 15.0)
    assert sonnet.provider_config is not None
    assert sonnet.provider_config["price_source"] == "pricing_file"
    assert sonnet.provider_config["price_as_of"] == "2026-11-01"
    assert sonnet.inference_type is InferenceType.ON_DEMAND
    assert sonnet.provider_config["model_arn"].endswith(f"::foundation-model/{SONNET_V2}")
    assert f"us.{SONNET_V2}" in sonnet.provider_config["inference_profile_ids"]
    caps = sonnet.base_model.capabilities
    assert caps["vision"] and caps["tool_calling"] and caps["streaming"]
    assert caps["max_context_window"] == 200_000
    assert (
        sonnet.base_model.vendor == "anthropic" and sonnet.base_model.name == "Claude 3.5 Sonnet v2"
    )
    assert sonnet.capabilities_source is CapabilitiesSource.MANUAL

    sonnet_4 = rows[SONNET_4]
    assert sonnet_4.inference_type is InferenceType.INFERENCE_PROFILE
    assert sonnet_4.provider_config is not None
    assert {f"us.{SONNET_4}", f"global.{SONNET_4}"} <= set(
        sonnet_4.provider_config["inference_profile_ids"]
    )
    assert sonnet_4.provider_config["profile_format"] == "{geo}.{model_id}"
    assert (sonnet_4.cost_per_1m_input, sonnet_4.cost_per_1m_output) == (3.0, 15.0)

    micro = rows[NOVA_MICRO]
    assert micro.inference_type is InferenceType.ON_DEMAND
    assert (micro.cost_per_1m_input, micro.cost_per_1m_output) == (0.035, 0.14)
    assert micro.base_model.capabilities["vision"] is False

    qwen = rows[QWEN_32B]
    assert (qwen.cost_per_1m_input, qwen.cost_per_1m_output) == (0.15, 0.60)
    assert qwen.price_source_kind is PriceSourceKind.BUNDLED
    assert qwen.price_source_url is not None and "BerriAI/litellm" in qwen.price_source_url
    assert qwen.price_as_of is not None

    assert rows[MISTRAL_7B].base_model.capabilities["tool_calling"] is False
    # Claude 3 Sonnet is LEGACY in the listing: listed, kept, marked deprecated.
    assert rows["anthropic.claude-3-sonnet-20240229-v1:0"].base_model.deprecated is True


async def test_a_second_region_adds_its_own_models_and_extends_the_others(
    catalog: AsyncSession,
) -> None:
    await _run(catalog)
    report = await _run(catalog, region="us-west-2")
    east, west = expected_chat_models("us-east-1"), expected_chat_models("us-west-2")
    assert {p.deployment_id for p in report.added} == west - east
    assert report.regions_extended == len(west & east)
    rows = await _bedrock_rows(catalog)
    assert set(rows) == east | west
    both = rows[sorted(east & west)[0]].provider_config
    assert both is not None and both["regions"] == ["us-east-1", "us-west-2"]
    only_west = rows[sorted(west - east)[0]].provider_config
    assert only_west is not None and only_west["regions"] == ["us-west-2"]


async def test_an_existing_base_model_of_that_name_is_reused(catalog: AsyncSession) -> None:
    existing = BaseModel(
        name="Claude 3 Haiku",
        vendor="anthropic",
        capabilities={"streaming": True, "vision": False, "tool_calling": True},
    )
    catalog.add(existing)
    await catalog.commit()
    report = await _run(catalog)
    plan = next(p for p in report.added if p.name == "Claude 3 Haiku")
    assert plan.base_model_exists
    rows = await _bedrock_rows(catalog)
    haiku = rows["anthropic.claude-3-haiku-20240307-v1:0"]
    assert haiku.base_model_id == existing.id
    # The listing says IMAGE input: the deployment records where it differs from the model.
    assert haiku.capabilities is not None and haiku.capabilities["vision"] is True
    count = await catalog.scalar(
        select(func.count(BaseModel.id)).where(BaseModel.name == "Claude 3 Haiku")
    )
    assert count == 1


async def test_writing_invalidates_the_catalog_cache_and_a_dry_run_does_not(
    catalog: AsyncSession,
) -> None:
    cache = CatalogCache(ttl_s=60)

    async def load() -> str:
        return "cached"

    for namespace in (BASE_MODELS, DEPLOYMENTS):
        await cache.get_or_load(namespace, "key", load)
    await _run(catalog, cache=cache, dry_run=True)
    assert cache.peek(BASE_MODELS, "key") and cache.peek(DEPLOYMENTS, "key")
    await _run(catalog, cache=cache)
    assert not cache.peek(BASE_MODELS, "key") and not cache.peek(DEPLOYMENTS, "key")


async def test_the_blacklist_is_configurable(
    catalog: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = await _run(catalog, dry_run=True, blacklist=[NOVA_MICRO])
    assert report.blacklisted == [NOVA_MICRO]
    assert NOVA_MICRO not in {p.deployment_id for p in report.added}
    # Without the blacklist the speech models are still no chat models: dropped, not added.
    assert report.dropped[NOT_TEXT] >= len(NOVA_SONIC)
    assert not {p.deployment_id for p in report.added} & set(NOVA_SONIC)

    monkeypatch.setenv("DISCOVERY_BLACKLIST", f" {NOVA_MICRO} , {SONNET_V2},")
    reset_settings_cache()
    try:
        assert get_settings().discovery_blacklist.strip().startswith(NOVA_MICRO)
        configured = await _run(catalog, dry_run=True)
    finally:
        monkeypatch.undo()
        reset_settings_cache()
    assert sorted(configured.blacklisted) == sorted([NOVA_MICRO, SONNET_V2])


async def test_bad_input_is_refused_with_the_choices(catalog: AsyncSession) -> None:
    with pytest.raises(InvalidInputError, match="known providers: bedrock, groq, openai"):
        await _run(catalog, provider_slug="nope")
    with pytest.raises(InvalidInputError, match="not an AWS region"):
        await _run(catalog, region="moon-central-1")
    with pytest.raises(InvalidInputError, match="vendors offered: ai21, amazon"):
        await _run(catalog, vendor="nosuchvendor", dry_run=True)
    assert await _bedrock_rows(catalog) == {}


async def test_a_model_no_source_prices_is_stored_without_a_price(world: AsyncSession) -> None:
    """Every demo model is priced; the odd scenario's Acme model is in no price table."""
    await _run(world)
    row = (await _bedrock_rows(world))[ON_DEMAND]
    assert (row.cost_per_1m_input, row.cost_per_1m_output) == (None, None)  # never $0
    assert row.provider_config is not None and row.provider_config["price_source"] == "unknown"
    assert row.price_source_kind is None and row.price_as_of is None
