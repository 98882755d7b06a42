"""The OpenAI-compatible adapter through the `openai` SDK against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from myia.providers import get_adapter
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.openai_compat.adapter import OpenAICompatAdapter
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
    PNG,
    WEATHER_TOOL,
    api_key_connection,
    first_throttle,
    sim_scenario,
)

GPT_4O = "gpt-4o"  # every capability, vision included
GPT_35 = "gpt-3.5-turbo"  # no image input


@pytest.fixture
async def openai_adapter(sim: SimServer) -> AsyncIterator[OpenAICompatAdapter]:
    async with adapter_for(sim.base_url) as adapter:
        yield adapter


def adapter_for(
    base_url: str, slug: str = "openai", api_key: str = "sk-test-0123456789"
) -> OpenAICompatAdapter:
    adapter = get_adapter(api_key_connection(slug, f"{base_url}/{slug}/v1", api_key))
    assert isinstance(adapter, OpenAICompatAdapter)
    return adapter


def ask(text: str, model: str = GPT_4O, **fields: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage.user(text)], **fields)


async def collect(adapter: OpenAICompatAdapter, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


async def failure(adapter: OpenAICompatAdapter, request: ChatRequest) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await adapter.chat(request)
    return caught.value


async def test_chat(openai_adapter: OpenAICompatAdapter) -> None:
    response = await openai_adapter.chat(ask("What is 2+2?", system="Answer briefly."))
    assert "4" in response.text
    assert response.stop_reason is StopReason.END_TURN and response.raw_stop_reason == "stop"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.model_id == GPT_4O


async def test_streamed_chat_with_usage(openai_adapter: OpenAICompatAdapter) -> None:
    events = await collect(openai_adapter, ask("Tell me a short story about a lighthouse."))
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0
    assert end.time_to_first_token_ms is not None
    assert end.stop_reason is StopReason.END_TURN


async def test_tool_call_and_result_round_trip(openai_adapter: OpenAICompatAdapter) -> None:
    question = ChatMessage.user("What is the weather in Paris?")
    request = ChatRequest(
        model=GPT_4O, messages=[question], tools=[WEATHER_TOOL], tool_choice="any"
    )
    response = await openai_adapter.chat(request)
    assert response.stop_reason is StopReason.TOOL_USE
    call = response.tool_calls[0]
    assert call.name == "get_weather" and call.arguments.get("city") == "Paris"

    followup = request.model_copy(
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
    answer = await openai_adapter.chat(followup)
    assert "18C and sunny" in answer.text


async def test_streamed_tool_call_is_assembled(openai_adapter: OpenAICompatAdapter) -> None:
    request = ask("What is the weather in Oslo?", tools=[WEATHER_TOOL], tool_choice="any")
    events = await collect(openai_adapter, request)
    calls = [e.tool_call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments.get("city")) for c in calls] == [("get_weather", "Oslo")]
    assert calls[0].id
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.stop_reason is StopReason.TOOL_USE
    assert end.usage.output_tokens > 0


async def test_image_input(openai_adapter: OpenAICompatAdapter) -> None:
    request = ChatRequest(
        model=GPT_4O,
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
    assert "red" in (await openai_adapter.chat(request)).text.lower()


async def test_validation_error(openai_adapter: OpenAICompatAdapter) -> None:
    request = ChatRequest(
        model=GPT_35,
        messages=[ChatMessage(role="user", content=[ImagePart(format="png", data=PNG)])],
    )
    error = await failure(openai_adapter, request)
    assert (error.category, error.status_code) == (ErrorCategory.VALIDATION, 400)


async def test_unknown_model_is_not_available(openai_adapter: OpenAICompatAdapter) -> None:
    error = await failure(openai_adapter, ask("hi", model="gpt-9-ultra"))
    assert (error.category, error.reason) == (
        ErrorCategory.NOT_AVAILABLE_IN_REGION,
        "model_not_found",
    )
    with pytest.raises(ProviderError) as caught:
        await collect(openai_adapter, ask("hi", model="gpt-9-ultra"))
    assert caught.value.category is ErrorCategory.NOT_AVAILABLE_IN_REGION


async def test_invalid_key_is_auth(sim: SimServer) -> None:
    async with adapter_for(sim.base_url, api_key="sk-invalid") as adapter:
        error = await failure(adapter, ask("hi"))
        assert (error.category, error.status_code) == (ErrorCategory.AUTH, 401)
        check = await adapter.validate_credentials()
        assert not check.ok and check.category is ErrorCategory.AUTH


async def test_list_models_and_validate(openai_adapter: OpenAICompatAdapter) -> None:
    models = {m.model_id: m for m in await openai_adapter.list_models()}
    assert set(models) == {GPT_4O, GPT_35}
    assert models[GPT_4O].provider_name == "openai"
    check = await openai_adapter.validate_credentials()
    assert check.ok and "2 models" in check.detail


async def test_throttled_call_is_sent_once(throttling_sim: SimServer) -> None:
    throttling_sim.reset_quotas()
    throttling_sim.reset_stats()
    async with adapter_for(throttling_sim.base_url) as adapter:
        error, calls = await first_throttle(adapter, ask("hi"))
    assert (error.category, error.retryable) == (ErrorCategory.THROTTLED, True)
    assert error.retry_after_s is not None and error.retry_after_s > 0
    # max_retries=0: each call reached the server exactly once.
    assert throttling_sim.stats.calls == calls


async def test_together_bare_array(throttling_sim: SimServer) -> None:
    async with adapter_for(throttling_sim.base_url, slug="together") as adapter:
        models = await adapter.list_models()
        assert [m.model_id for m in models] == ["meta-llama/Llama-3-70b-chat-hf"]
        assert "pricing" in models[0].raw
        assert (await adapter.validate_credentials()).ok


async def test_insufficient_quota(throttling_sim: SimServer) -> None:
    async with adapter_for(throttling_sim.base_url, slug="broke") as adapter:
        error = await failure(adapter, ask("hi", model="gpt-4o-mini"))
    assert (error.category, error.retryable, error.reason) == (
        ErrorCategory.QUOTA,
        False,
        "insufficient_quota",
    )
    assert error.retry_after_s is None


async def test_groq_shape() -> None:
    models = [{"id": "llama-3.3-70b-versatile", "owned_by": "Meta"}]
    groq = {"slug": "groq", "models_shape": "groq", "models": models}
    with running_simulator(sim_scenario(openai_providers=[groq])) as w:
        async with adapter_for(w.base_url, slug="groq") as adapter:
            [model] = await adapter.list_models()
            assert model.raw.get("context_window")
            events = await collect(adapter, ask("Say hello.", model=model.model_id))
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.usage.output_tokens > 0
