from __future__ import annotations

import pytest

from myia.db.enums import InferenceType
from myia.providers.bedrock.model_ids import (
    geography_for_region,
    normalize_model_id,
    profile_id_for,
    resolve_model_id,
    split_geography,
    vendor_of,
)

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.mark.parametrize(
    ("region", "geography"),
    [
        ("us-east-1", "us"),
        ("us-west-2", "us"),
        ("ca-central-1", "us"),
        ("eu-west-3", "eu"),
        ("eu-central-1", "eu"),
        ("ap-northeast-1", "apac"),
        ("ap-southeast-2", "apac"),
        ("me-central-1", "apac"),
        ("us-gov-west-1", "us-gov"),
        ("sa-east-1", "global"),
        ("me-south-1", "global"),
    ],
)
def test_geography_for_region(region: str, geography: str) -> None:
    assert geography_for_region(region) == geography


@pytest.mark.parametrize(
    ("model_id", "region", "expected"),
    [
        (SONNET, "us-east-1", f"us.{SONNET}"),
        (SONNET, "eu-west-1", f"eu.{SONNET}"),
        (SONNET, "ap-south-1", f"apac.{SONNET}"),
        (SONNET, "us-gov-east-1", f"us-gov.{SONNET}"),
        (SONNET, "sa-east-1", f"global.{SONNET}"),
        # Already a profile id: kept (it names a listed profile; deployments re-derive).
        (f"us.{SONNET}", "eu-west-1", f"us.{SONNET}"),
        (f"apac.{SONNET}", "me-south-1", f"apac.{SONNET}"),
        # global is a deliberate choice and is kept.
        (f"global.{SONNET}", "eu-west-1", f"global.{SONNET}"),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}", "eu-west-1", f"eu.{SONNET}"),
    ],
)
def test_profile_id_for(model_id: str, region: str, expected: str) -> None:
    assert profile_id_for(model_id, region) == expected


@pytest.mark.parametrize(
    "model_id",
    [
        SONNET,
        f"us.{SONNET}",
        f"eu.{SONNET}",
        f"apac.{SONNET}",
        f"us-gov.{SONNET}",
        f"global.{SONNET}",
        f"jp.{SONNET}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}",
        f"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.{SONNET}",
        f"arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/{SONNET}",
    ],
)
def test_normalize_model_id(model_id: str) -> None:
    assert normalize_model_id(model_id) == SONNET


def test_opaque_arns_are_unchanged() -> None:
    provisioned = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123"
    app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/xyz"
    assert normalize_model_id(provisioned) == provisioned
    assert profile_id_for(app_profile, "eu-west-1") == app_profile


def test_split_geography_prefers_us_gov_over_us() -> None:
    assert split_geography(f"us-gov.{SONNET}") == ("us-gov", SONNET)
    assert split_geography(SONNET) == (None, SONNET)


@pytest.mark.parametrize(
    ("model_id", "vendor"),
    [
        (SONNET, "anthropic"),
        ("us.meta.llama3-1-70b-instruct-v1:0", "meta"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", "amazon"),
    ],
)
def test_vendor_of(model_id: str, vendor: str) -> None:
    assert vendor_of(model_id) == vendor


def test_resolve_model_id_per_inference_type() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123"
    assert resolve_model_id(SONNET, InferenceType.ON_DEMAND, "eu-west-1") == SONNET
    assert resolve_model_id(f"us.{SONNET}", InferenceType.ON_DEMAND, "us-east-1") == SONNET
    assert resolve_model_id(SONNET, InferenceType.INFERENCE_PROFILE, "eu-west-1") == f"eu.{SONNET}"
    assert resolve_model_id(arn, InferenceType.PROVISIONED, "us-east-1") == arn


def test_choose_profile_prefers_the_region_s_geography_then_any_then_global() -> None:
    from myia.providers.bedrock.model_ids import choose_profile

    listed = [f"global.{SONNET}", f"apac.{SONNET}"]
    assert choose_profile(listed, "ap-south-1") == f"apac.{SONNET}"
    assert choose_profile(listed, "me-south-1") == f"apac.{SONNET}", "listed beats the table"
    assert choose_profile([f"global.{SONNET}"], "eu-west-1") == f"global.{SONNET}"
    assert choose_profile([], "eu-west-1") is None


def test_profile_id_for_deployment_uses_the_discovered_id() -> None:
    from dataclasses import dataclass, field
    from typing import Any

    from myia.providers.bedrock.model_ids import profile_id_for_deployment

    @dataclass
    class Row:
        deployment_id: str
        inference_type: InferenceType
        provider_config: dict[str, Any] | None = field(default=None)

    profiled = Row(
        SONNET,
        InferenceType.INFERENCE_PROFILE,
        {"inference_profiles": {"me-south-1": f"apac.{SONNET}"}},
    )
    assert profile_id_for_deployment(profiled, "me-south-1") == f"apac.{SONNET}"
    assert profile_id_for_deployment(profiled, "eu-west-1") == f"eu.{SONNET}", "fallback"
    assert profile_id_for_deployment(profiled, None) == SONNET
    manual = Row(f"us.{SONNET}", InferenceType.INFERENCE_PROFILE)
    assert profile_id_for_deployment(manual, "eu-west-1") == f"eu.{SONNET}"
    chosen = Row(f"global.{SONNET}", InferenceType.INFERENCE_PROFILE)
    assert profile_id_for_deployment(chosen, "eu-west-1") == f"global.{SONNET}"
    on_demand = Row(SONNET, InferenceType.ON_DEMAND, profiled.provider_config)
    assert profile_id_for_deployment(on_demand, "me-south-1") == SONNET
