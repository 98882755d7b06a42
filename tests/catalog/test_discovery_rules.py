"""Discovery's rules and curated capability data, without a provider or a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from myia.catalog.capability_data import default_capability_data, load_capability_data
from myia.catalog.discovery_report import DiscoveryReport, ModelPlan
from myia.catalog.discovery_rules import (
    INACTIVE,
    NOT_CHAT,
    NOT_INVOCABLE,
    NOT_TEXT,
    bedrock_drop_reason,
    bedrock_inference_type,
    bedrock_vendor,
    is_blacklisted,
    listing_context_window,
    listing_price,
    openai_compat_drop_reason,
    openai_compat_vendor,
    parse_blacklist,
    slugify_vendor,
)
from myia.db.enums import InferenceType
from myia.errors import InvalidInputError
from myia.providers.discovery import DiscoveredModel


def bedrock_model(model_id: str, **fields: Any) -> DiscoveredModel:
    values: dict[str, Any] = {
        "model_id": model_id,
        "name": model_id,
        "input_modalities": ["TEXT"],
        "output_modalities": ["TEXT"],
        "inference_types": ["ON_DEMAND"],
    }
    values.update(fields)
    return DiscoveredModel(**values)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Anthropic", "anthropic"),
        ("Mistral AI", "mistral"),
        ("AI21 Labs", "ai21"),
        ("Moonshot AI", "moonshot"),
        ("Z.AI", "zai"),
        ("Stability AI", "stability"),
        ("NVIDIA", "nvidia"),
        ("meta-llama", "meta"),
        ("TwelveLabs", "twelvelabs"),
    ],
)
def test_vendor_names_become_slugs(name: str, slug: str) -> None:
    assert slugify_vendor(name) == slug


def test_bedrock_vendor_is_the_id_prefix() -> None:
    assert bedrock_vendor(bedrock_model("us.anthropic.claude-x")) == "anthropic"
    assert bedrock_vendor(bedrock_model("moonshotai.kimi-k2.5")) == "moonshot"
    assert bedrock_vendor(bedrock_model("nodot", provider_name="Mistral AI")) == "mistral"


@pytest.mark.parametrize(
    ("model_id", "owner", "vendor"),
    [
        ("gpt-4o", "system", "openai"),
        ("o3-mini", "openai-internal", "openai"),
        ("llama-3.3-70b-versatile", "Meta", "meta"),
        ("meta-llama/Llama-3-70b-chat-hf", None, "meta"),
        ("Qwen/Qwen1.5-72B-Chat", "Qwen", "qwen"),
        ("mixtral-8x7b-32768", "", "mistral"),
        ("my-finetune", "system", "local"),
    ],
)
def test_openai_compatible_vendor(model_id: str, owner: str | None, vendor: str) -> None:
    model = DiscoveredModel(model_id=model_id, name=model_id, provider_name=owner)
    assert openai_compat_vendor(model, "local") == vendor


def test_bedrock_relevance() -> None:
    assert bedrock_drop_reason(bedrock_model("a.chat")) is None
    embed = bedrock_model("a.embed", output_modalities=["EMBEDDING"])
    assert bedrock_drop_reason(embed) == NOT_TEXT
    speech = bedrock_model(
        "a.sonic", input_modalities=["SPEECH"], output_modalities=["SPEECH", "TEXT"]
    )
    assert bedrock_drop_reason(speech) == NOT_TEXT
    provisioned = bedrock_model("a.big", inference_types=["PROVISIONED"])
    assert bedrock_drop_reason(provisioned) == NOT_INVOCABLE


def test_bedrock_inference_type() -> None:
    assert bedrock_inference_type(bedrock_model("a.x")) is InferenceType.ON_DEMAND
    both = bedrock_model("a.x", inference_types=["ON_DEMAND", "INFERENCE_PROFILE"])
    assert bedrock_inference_type(both) is InferenceType.ON_DEMAND
    # A profile routing to the model is enough even if the listing forgets the type.
    routed = bedrock_model("a.x", inference_types=[], inference_profile_ids=["us.a.x"])
    assert bedrock_inference_type(routed) is InferenceType.INFERENCE_PROFILE
    assert bedrock_inference_type(bedrock_model("a.x", inference_types=["PROVISIONED"])) is None


def test_openai_compatible_relevance() -> None:
    def reason(model_id: str, **raw: Any) -> str | None:
        return openai_compat_drop_reason(DiscoveredModel(model_id=model_id, name=model_id, raw=raw))

    assert reason("gpt-4o") is None and reason("llama-3.1-8b-instant", active=True) is None
    for model_id in ("text-embedding-3-large", "whisper-1", "tts-1", "dall-e-3",
                     "omni-moderation-latest", "gpt-4o-realtime-preview", "gpt-4o-audio-preview",
                     "gpt-image-1", "davinci-002", "babbage-002"):  # fmt: skip
        assert reason(model_id) == NOT_CHAT, model_id
    assert reason("old-model", active=False) == INACTIVE
    assert reason("BAAI/bge-large-en-v1.5", type="embedding") == NOT_CHAT
    assert reason("meta-llama/Llama-3-70b-chat-hf", type="chat") is None


def test_listing_details() -> None:
    def model(**raw: Any) -> DiscoveredModel:
        return DiscoveredModel(model_id="m", name="m", raw=raw)

    assert listing_context_window(model(context_window=131072)) == 131072
    assert listing_context_window(model(context_length=8192)) == 8192
    assert listing_context_window(model(context_length=True)) is None
    assert listing_price(model(pricing={"input": 0.88, "output": 0.9, "hourly": 0})) == (0.88, 0.9)
    assert listing_price(model(pricing={"input": 0, "output": 0})) is None
    assert listing_price(model(pricing={"input": "1"})) is None
    assert listing_price(model()) is None


def test_blacklist_parsing_and_matching() -> None:
    banned = parse_blacklist(" amazon.nova-sonic-v1:0, ,amazon.nova-2-sonic-v1:0,")
    assert banned == {"amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0"}
    assert parse_blacklist("") == frozenset()
    assert is_blacklisted(bedrock_model("us.amazon.nova-sonic-v1:0"), banned)
    assert not is_blacklisted(bedrock_model("amazon.nova-micro-v1:0"), banned)


@pytest.mark.parametrize(
    ("model_id", "family", "tools"),
    [
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3.5", True),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-4", True),
        ("amazon.titan-text-express-v1", "titan-text", False),
        ("meta.llama3-8b-instruct-v1:0", "llama-3", False),
        ("meta.llama3-1-70b-instruct-v1:0", "llama-3.1", True),
        ("meta.llama3-2-1b-instruct-v1:0", "llama-3.2", False),
        ("mistral.mixtral-8x7b-instruct-v0:1", "mixtral", False),
        ("deepseek.r1-v1:0", "deepseek-r1", False),
        ("gpt-4o-mini", "gpt-4o", True),
        ("llama-3.3-70b-versatile", "llama-3.3", True),
        ("meta-llama/Llama-3-70b-chat-hf", "llama-3", False),
    ],
)
def test_capability_data_by_family(model_id: str, family: str, tools: bool) -> None:
    found = default_capability_data().for_model(model_id)
    assert found is not None and found.family == family and found.tool_calling is tools


def test_capability_data_unknown_model_and_bad_file(tmp_path: Path) -> None:
    assert default_capability_data().for_model("acme.brand-new-model") is None
    bad = tmp_path / "capabilities.yaml"
    bad.write_text("source: x\nas_of: 2026-01-01\nfamilies: [{family: f, match: '('}]\n")
    with pytest.raises(InvalidInputError, match="not a regular expression"):
        load_capability_data(bad)


def test_report_flags_and_grouping() -> None:
    def plan(model_id: str, vendor: str, **caps: bool) -> ModelPlan:
        profile = caps.pop("profile", False)
        return ModelPlan(
            deployment_id=model_id,
            name=model_id,
            vendor=vendor,
            family=None,
            inference_type=InferenceType.INFERENCE_PROFILE if profile else InferenceType.ON_DEMAND,
            capabilities=caps,
            cost_per_1m_input=0,
            cost_per_1m_output=0,
            price_source="unknown",
            provider_config={},
        )

    report = DiscoveryReport("bedrock", "AWS Bedrock", False, "us-east-1", None, True)
    report.added = [
        plan("z.b", "z", tool_calling=True),
        plan("a.a", "a", profile=True, vision=True, tool_calling=True),
        plan("z.a", "z"),
    ]
    assert [p.flags for p in report.added] == ["⚙️", "🔐 👁️ ⚙️", ""]
    assert {v: [p.deployment_id for p in ps] for v, ps in report.by_vendor().items()} == {
        "a": ["a.a"],
        "z": ["z.a", "z.b"],
    }
    assert report.without_price == ["z.b", "a.a", "z.a"]
    assert "would add 3" in report.summary()
