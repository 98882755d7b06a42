"""The Bedrock adapter through unmodified boto3 against the simulator (scenarios/test-basic)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from myia.providers import get_adapter
from myia.providers.bedrock.adapter import BedrockAdapter
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    StopReason,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallEvent,
    ToolResultPart,
    ToolUsePart,
)
from myia.sim import SimServer, running_simulator
from tests.providers.conftest import (
    BAD_ACCESS_KEY,
    PNG,
    WEATHER_TOOL,
    aws_connection,
    first_throttle,
    sim_scenario,
)

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # works everywhere, every capability
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"  # inference profile only (+ global)
MISTRAL = "mistral.mistral-large-2402-v1:0"  # refuses tools
NOVA_MICRO = "amazon.nova-micro-v1:0"  # us-east-1 only
LLAMA = "meta.llama3-1-70b-instruct-v1:0"  # access denied in eu-west-1
CLAUDE_V2 = "anthropic.claude-v2:1"  # end of life


def adapter_for(sim: SimServer, **kwargs: Any) -> BedrockAdapter:
    adapter = get_adapter(aws_connection(base_url=sim.base_url, **kwargs))
    assert isinstance(adapter, BedrockAdapter)
    return adapter


def ask(text: str, model: str = SONNET, **fields: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage.user(text)], **fields)


async def collect(adapter: BedrockAdapter, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


async def failure(adapter: BedrockAdapter, request: ChatRequest) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await adapter.chat(request)
    return caught.value


async def test_chat(sim: SimServer) -> None:
    response = await adapter_for(sim).chat(ask("What is 2+2?", system="Answer briefly."))
    assert "4" in response.text
    assert response.stop_reason is StopReason.END_TURN
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.model_id == SONNET
    assert response.latency_ms > 0


async def test_streamed_chat_with_usage(sim: SimServer) -> None:
    events = await collect(adapter_for(sim), ask("Tell me a short story about a lighthouse."))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1, "the simulator splits text across several deltas"
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0
    assert end.stop_reason is StopReason.END_TURN
    assert end.time_to_first_token_ms is not None
    assert end.time_to_first_token_ms <= end.latency_ms


async def test_tool_call_and_result_round_trip(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    question = ChatMessage.user("What is the weather in Paris?")
    request = ChatRequest(
        model=SONNET, messages=[question], tools=[WEATHER_TOOL], tool_choice="any"
    )
    response = await adapter.chat(request)
    assert response.stop_reason is StopReason.TOOL_USE
    call = response.tool_calls[0]
    assert call.name == "get_weather" and call.arguments.get("city") == "Paris"

    answer = await adapter.chat(
        request.model_copy(
            update={
                "tool_choice": None,
                "messages": [
                    question,
                    ChatMessage(
                        role="assistant",
                        content=[ToolUsePart(id=call.id, name=call.name, input=call.arguments)],
                    ),
                    ChatMessage(
                        role="user",
                        content=[ToolResultPart(tool_use_id=call.id, content="18C and sunny")],
                    ),
                ],
            }
        )
    )
    assert "18C and sunny" in answer.text
    assert answer.stop_reason is StopReason.END_TURN


async def test_streamed_tool_call_is_assembled(sim: SimServer) -> None:
    request = ask("What is the weather in Oslo?", tools=[WEATHER_TOOL], tool_choice="any")
    events = await collect(adapter_for(sim), request)
    calls = [e.tool_call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments.get("city")) for c in calls] == [("get_weather", "Oslo")]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.stop_reason is StopReason.TOOL_USE


async def test_image_input(sim: SimServer) -> None:
    request = ChatRequest(
        model=SONNET,
        messages=[
            ChatMessage(
                role="user",
                content=[
                    TextPart(text="What colour is this image? One word."),
                    ImagePart(format="png", data=PNG),
                ],
            )
        ],
    )
    response = await adapter_for(sim).chat(request)
    assert "red" in response.text.lower()


async def test_inference_profile_deployment_uses_the_region_geography(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    for region, prefix in (("us-east-1", "us"), ("eu-west-1", "eu")):
        request = ask("hi", model=SONNET_4, region=region, inference_type="INFERENCE_PROFILE")
        response = await adapter.chat(request)
        assert response.model_id == f"{prefix}.{SONNET_4}"
        events = await collect(adapter, request)
        end = events[-1]
        assert isinstance(end, StreamEnd) and end.model_id == f"{prefix}.{SONNET_4}"
    global_request = ask("hi", model=f"global.{SONNET_4}", inference_type="INFERENCE_PROFILE")
    assert (await adapter.chat(global_request)).model_id == f"global.{SONNET_4}"


async def test_profile_only_model_called_on_demand_needs_a_profile(sim: SimServer) -> None:
    error = await failure(adapter_for(sim), ask("hi", model=SONNET_4))
    assert error.category is ErrorCategory.VALIDATION
    assert error.reason == "inference_profile_required"


async def test_model_not_in_region(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    assert (await adapter.chat(ask("hi", model=NOVA_MICRO, region="us-east-1"))).text
    error = await failure(adapter, ask("hi", model=NOVA_MICRO, region="eu-west-1"))
    assert error.category is ErrorCategory.NOT_AVAILABLE_IN_REGION
    assert not error.retryable


async def test_access_denied(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    error = await failure(adapter, ask("hi", model=LLAMA, region="eu-west-1"))
    assert (error.category, error.status_code) == (ErrorCategory.ACCESS_DENIED, 403)
    with pytest.raises(ProviderError) as caught:
        await collect(adapter, ask("hi", model=LLAMA, region="eu-west-1"))
    assert caught.value.category is ErrorCategory.ACCESS_DENIED


async def test_invalid_keys_are_auth(sim: SimServer) -> None:
    error = await failure(adapter_for(sim, access_key_id=BAD_ACCESS_KEY), ask("hi"))
    assert error.category is ErrorCategory.AUTH
    assert BAD_ACCESS_KEY not in str(error)


async def test_end_of_life(sim: SimServer) -> None:
    error = await failure(adapter_for(sim), ask("hi", model=CLAUDE_V2))
    assert (error.category, error.reason) == (ErrorCategory.MODEL_ERROR, "end_of_life")
    assert not error.retryable


async def test_validation_errors(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    # Refused by the service: the model lacks tool use.
    refused = await failure(adapter, ask("Weather in Rome?", model=MISTRAL, tools=[WEATHER_TOOL]))
    assert (refused.category, refused.status_code) == (ErrorCategory.VALIDATION, 400)
    # Refused by the service: a conversation must start with the user.
    backwards = ChatRequest(
        model=SONNET, messages=[ChatMessage.assistant("Hi"), ChatMessage.user("Hello")]
    )
    assert (await failure(adapter, backwards)).category is ErrorCategory.VALIDATION
    # Refused by botocore before sending: maxTokens below the service model's minimum.
    broken = ask("hi").model_copy(update={"max_tokens": 0})
    assert (await failure(adapter, broken)).category is ErrorCategory.VALIDATION


async def test_list_models_per_region(sim: SimServer) -> None:
    adapter = adapter_for(sim)
    us = {m.model_id: m for m in await adapter.list_models("us-east-1")}
    eu = {m.model_id: m for m in await adapter.list_models("eu-west-1")}
    assert NOVA_MICRO in us and NOVA_MICRO not in eu
    assert CLAUDE_V2 not in us, "end-of-life models are not listed"
    sonnet_4 = eu[SONNET_4]
    assert sonnet_4.needs_inference_profile
    assert f"eu.{SONNET_4}" in sonnet_4.inference_profile_ids
    assert sonnet_4.provider_name == "Anthropic" and sonnet_4.region == "eu-west-1"
    assert "IMAGE" in sonnet_4.input_modalities
    assert us[SONNET].inference_types == ["ON_DEMAND", "INFERENCE_PROFILE"]
    assert us["amazon.titan-embed-text-v2:0"].output_modalities == ["EMBEDDING"]


async def test_list_inference_profiles_follows_pages(sim: SimServer) -> None:
    # test-basic serves 2 profiles per page: several pages for the us geography.
    profiles = await adapter_for(sim).list_inference_profiles("us-east-1")
    ids = {p.id for p in profiles}
    assert {f"us.{SONNET}", f"us.{SONNET_4}", f"us.{NOVA_MICRO}"} <= ids
    assert len(profiles) > 2
    by_id = {p.id: p for p in profiles}
    assert by_id[f"us.{SONNET_4}"].model_ids == [SONNET_4]


async def test_validate_credentials(sim: SimServer) -> None:
    good = await adapter_for(sim).validate_credentials()
    assert good.ok and good.category is None and good.latency_ms > 0
    bad = await adapter_for(sim, access_key_id=BAD_ACCESS_KEY).validate_credentials()
    assert not bad.ok and bad.category is ErrorCategory.AUTH


async def test_endpoint_from_environment(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", sim.base_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", sim.base_url)
    adapter = get_adapter(aws_connection(base_url=None))
    assert "4" in (await adapter.chat(ask("What is 2+2?"))).text
    assert any(m.model_id == SONNET for m in await adapter.list_models())


async def test_throttled_call_is_sent_once(throttling_sim: SimServer) -> None:
    adapter = adapter_for(throttling_sim)
    throttling_sim.reset_quotas()
    throttling_sim.reset_stats()
    error, calls = await first_throttle(adapter, ask("hi"))
    assert (error.category, error.retryable, error.status_code) == (
        ErrorCategory.THROTTLED,
        True,
        429,
    )
    assert error.retry_after_s is not None and error.retry_after_s > 0
    # botocore's retries are off: each call reached the server exactly once.
    assert throttling_sim.stats.calls == calls


async def test_errors_inside_the_stream() -> None:
    """failure_rate 1: each stream fails, before it starts (HTTP 500) or inside it."""
    scenario = sim_scenario(
        regions={"us-east-1": {}},
        models=[{"id": SONNET, "provider": "Anthropic", "failure_rate": 1.0}],
    )
    codes: set[str | None] = set()
    with running_simulator(scenario) as flaky:
        adapter = adapter_for(flaky)
        for n in range(6):
            seen: list[StreamEvent] = []
            with pytest.raises(ProviderError) as caught:
                async for event in adapter.stream(ask(f"Tell me a story, number {n}.")):
                    seen.append(event)
            assert caught.value.category is ErrorCategory.MODEL_ERROR
            codes.add(caught.value.code)
            if caught.value.code == "modelStreamErrorException":
                assert seen and isinstance(seen[0], TextDelta), "text came before the failure"
    assert "modelStreamErrorException" in codes, codes


async def test_leaving_a_stream_early_does_not_wait_for_the_model() -> None:
    """At 20 tokens/s the whole story streams for about a minute; leaving takes no time."""
    scenario = sim_scenario(
        regions={"us-east-1": {}},
        models=[{"id": SONNET, "provider": "Anthropic", "tokens_per_second": 20}],
    )
    with running_simulator(scenario) as slow:
        adapter = adapter_for(slow)
        started = time.perf_counter()
        stream = adapter.stream(ask("Tell me a long story about a lighthouse keeper."))
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        assert isinstance(first, TextDelta)
        assert time.perf_counter() - started < 5.0
        # The server is not stuck behind the abandoned stream.
        assert (await adapter.chat(ask("What is 2+2?"))).text
