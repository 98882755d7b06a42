"""Bedrock control plane through unmodified boto3: listings per region, profiles, auth."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from myia.sim import SimServer
from tests.sim.conftest import (
    BAD_ACCESS_KEY,
    CLAUDE_V2,
    LLAMA,
    NOVA_MICRO,
    SONNET,
    SONNET_4,
    TITAN_EMBED,
    bedrock,
)


def listed(sim: SimServer, region: str, **filters: str) -> dict[str, dict[str, object]]:
    summaries = bedrock(sim, "bedrock", region).list_foundation_models(**filters)
    return {m["modelId"]: m for m in summaries["modelSummaries"]}


def test_list_foundation_models_per_region(basic_sim: SimServer) -> None:
    us, eu = listed(basic_sim, "us-east-1"), listed(basic_sim, "eu-west-1")
    assert NOVA_MICRO in us and NOVA_MICRO not in eu
    assert CLAUDE_V2 not in us, "end-of-life models are not listed"
    assert LLAMA in eu, "access denied models are still listed"
    sonnet = us[SONNET]
    assert sonnet["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}"
    assert sonnet["modelName"] == "Claude 3.5 Sonnet v2"
    assert sonnet["providerName"] == "Anthropic"
    assert sonnet["inputModalities"] == ["TEXT", "IMAGE"]
    assert sonnet["outputModalities"] == ["TEXT"]
    assert sonnet["responseStreamingSupported"] is True
    assert sonnet["inferenceTypesSupported"] == ["ON_DEMAND", "INFERENCE_PROFILE"]
    assert sonnet["customizationsSupported"] == []
    assert sonnet["modelLifecycle"] == {"status": "ACTIVE"}
    assert eu[SONNET_4]["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]


def test_list_foundation_models_filters(basic_sim: SimServer) -> None:
    anthropic = listed(basic_sim, "us-east-1", byProvider="anthropic")
    assert set(anthropic) == {SONNET, SONNET_4}
    assert set(listed(basic_sim, "us-east-1", byOutputModality="EMBEDDING")) == {TITAN_EMBED}
    on_demand = listed(basic_sim, "us-east-1", byInferenceType="ON_DEMAND")
    assert SONNET in on_demand and SONNET_4 not in on_demand
    assert listed(basic_sim, "us-east-1", byCustomizationType="FINE_TUNING") == {}


def test_get_foundation_model(basic_sim: SimServer) -> None:
    client = bedrock(basic_sim, "bedrock", "us-east-1")
    details = client.get_foundation_model(modelIdentifier=SONNET)["modelDetails"]
    assert details["modelId"] == SONNET
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        bedrock(basic_sim, "bedrock", "eu-west-1").get_foundation_model(modelIdentifier=NOVA_MICRO)


def test_inference_profiles_paginate(basic_sim: SimServer) -> None:
    client = bedrock(basic_sim, "bedrock", "us-east-1")
    first = client.list_inference_profiles()  # test-basic pages by two
    assert len(first["inferenceProfileSummaries"]) == 2 and "nextToken" in first
    pages = list(
        client.get_paginator("list_inference_profiles").paginate(typeEquals="SYSTEM_DEFINED")
    )
    assert len(pages) == 2
    profiles = {
        p["inferenceProfileId"]: p for page in pages for p in page["inferenceProfileSummaries"]
    }
    assert set(profiles) == {
        f"us.{SONNET}",
        f"us.{SONNET_4}",
        f"global.{SONNET_4}",
        f"us.{NOVA_MICRO}",
    }
    profile = profiles[f"global.{SONNET_4}"]
    assert profile["inferenceProfileArn"] == (
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{SONNET_4}"
    )
    assert [m["modelArn"] for m in profile["models"]] == [
        f"arn:aws:bedrock:{r}::foundation-model/{SONNET_4}" for r in ("us-east-1", "eu-west-1")
    ]
    assert (profile["status"], profile["type"]) == ("ACTIVE", "SYSTEM_DEFINED")
    assert profile["createdAt"].year == 2024  # botocore parsed the timestamp
    small = client.get_paginator("list_inference_profiles").paginate(
        PaginationConfig={"PageSize": 1}
    )
    assert sum(len(p["inferenceProfileSummaries"]) for p in small) == 4
    assert (
        client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    )


def test_get_inference_profile(basic_sim: SimServer) -> None:
    eu = bedrock(basic_sim, "bedrock", "eu-west-1")
    profile = eu.get_inference_profile(inferenceProfileIdentifier=f"eu.{SONNET}")
    assert profile["inferenceProfileName"] == "EU Claude 3.5 Sonnet v2"
    arn = profile["inferenceProfileArn"]
    assert eu.get_inference_profile(inferenceProfileIdentifier=arn)["inferenceProfileId"] == (
        f"eu.{SONNET}"
    )
    with pytest.raises(eu.exceptions.ResourceNotFoundException):
        eu.get_inference_profile(inferenceProfileIdentifier=f"us.{SONNET}")


def test_invalid_access_key_is_refused(basic_sim: SimServer) -> None:
    client = bedrock(basic_sim, "bedrock", "us-east-1", access_key=BAD_ACCESS_KEY)
    with pytest.raises(ClientError) as caught:
        client.list_foundation_models()
    error = caught.value.response["Error"]
    assert error["Code"] == "UnrecognizedClientException"
    assert error["Message"] == "The security token included in the request is invalid."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_request_is_refused(basic_sim: SimServer) -> None:
    response = httpx.get(f"{basic_sim.base_url}/foundation-models")
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
