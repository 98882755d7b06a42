"""OpenAI-compatible providers through the unmodified openai SDK (and raw httpx)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from myia.sim import SimServer, running_simulator
from tests.sim.conftest import openai_client, scenario_of, solid_png

WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}


@pytest.fixture(scope="module")
def client(basic_sim: SimServer) -> Iterator[openai.OpenAI]:
    with openai_client(basic_sim) as c:
        yield c


def test_models_list(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["gpt-4o", "gpt-3.5-turbo"]
    assert models[0].object == "model" and models[0].owned_by == "openai"
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"


def test_chat_completion(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Always answer in uppercase."},
            {"role": "user", "content": "Reply with exactly: pong"},
        ],
    )
    choice = response.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("PONG", "stop")
    assert response.object == "chat.completion" and response.model == "gpt-4o"
    assert response.usage is not None and response.usage.completion_tokens == 1
    assert response.usage.total_tokens == (
        response.usage.prompt_tokens + response.usage.completion_tokens
    )


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Tell me about herons."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == -(-len(text) // 4)


def test_raw_sse_ends_with_done(basic_sim: SimServer) -> None:
    response = httpx.post(
        f"{basic_sim.base_url}/openai/v1/chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)
    assert "usage" not in json.loads(events[-2][6:]), "no usage unless include_usage"


def test_tool_calls(client: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "What's the weather in Paris in celsius?"}
    ]
    response = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    messages += [
        {"role": "assistant", "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "22C, light wind"},
    ]
    followup = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    assert "22C, light wind" in (followup.choices[0].message.content or "")


def test_streamed_tool_calls(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],
        tool_choice="required",
        stream=True,
    )
    chunks = list(stream)
    fragments = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert fragments[0].id and fragments[0].function and fragments[0].function.name
    arguments = "".join(f.function.arguments or "" for f in fragments if f.function)
    assert len(fragments) > 2
    assert json.loads(arguments) == {"city": "Oslo", "unit": "celsius"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_image_url_data_url(client: openai.OpenAI) -> None:
    data = base64.b64encode(solid_png((255, 255, 0))).decode()
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What colour is this image? Answer with one word."},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
                ],
            }
        ],
    )
    assert response.choices[0].message.content == "Yellow"
    with pytest.raises(openai.BadRequestError, match="image_url"):
        client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}
                    ],
                }
            ],
        )


def test_max_tokens_and_stop(client: openai.OpenAI) -> None:
    long: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Write a long essay about bridges."}
    ]
    for response in (
        client.chat.completions.create(model="gpt-4o", messages=long, max_tokens=12),
        client.chat.completions.create(model="gpt-4o", messages=long, max_completion_tokens=12),
    ):
        assert response.choices[0].finish_reason == "length"
        assert response.usage is not None and response.usage.completion_tokens == 12
    stopped = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Count from 1 to 9."}], stop="3"
    )
    assert (stopped.choices[0].message.content, stopped.choices[0].finish_reason) == (
        "1, 2, ",
        "stop",
    )


def test_json_fault(client: openai.OpenAI) -> None:
    prompt = "Respond only with a JSON object with the keys colour and size."
    good = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": prompt}]
    )
    assert set(json.loads(good.choices[0].message.content or "")) == {"colour", "size"}
    bad = client.chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": prompt}]
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.choices[0].message.content or "")


def test_invalid_key(basic_sim: SimServer) -> None:
    with (
        openai_client(basic_sim, api_key="sk-invalid") as bad,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        bad.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert caught.value.body == {
        "message": "Incorrect API key provided",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_unknown_model_and_provider(client: openai.OpenAI, basic_sim: SimServer) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found"
    with openai_client(basic_sim, slug="nobody") as nobody, pytest.raises(openai.NotFoundError):
        nobody.models.list()


def test_rate_limit(throttle_sim: SimServer) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
    with openai_client(throttle_sim) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        assert raw.headers["x-ratelimit-limit-tokens"] == "10000"
        assert raw.headers["x-ratelimit-reset-requests"].endswith("ms")
        client.chat.completions.create(model="gpt-4o", messages=messages)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=messages)
    error = caught.value
    assert error.code == "rate_limit_exceeded"
    assert int(error.response.headers["retry-after"]) >= 1
    assert int(error.response.headers["retry-after-ms"]) > 0
    assert throttle_sim.stats.by_region["openai"].throttled == 1


def test_insufficient_quota(throttle_sim: SimServer) -> None:
    with (
        openai_client(throttle_sim, slug="broke") as client,
        pytest.raises(openai.RateLimitError) as caught,
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert "retry-after" not in caught.value.response.headers


def test_together_models_are_a_bare_array(throttle_sim: SimServer) -> None:
    response = httpx.get(
        f"{throttle_sim.base_url}/together/v1/models",
        headers={"Authorization": "Bearer together-key"},
    )
    [model] = response.json()
    assert model["id"] == "meta-llama/Llama-3-70b-chat-hf"
    assert set(model["pricing"]) >= {"input", "output"} and model["context_length"] > 0
    chat = httpx.post(
        f"{throttle_sim.base_url}/together/v1/chat/completions",
        headers={"Authorization": "Bearer together-key"},
        json={"model": model["id"], "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 200
    assert chat.headers["x-ratelimit-limit"] == "2" and "x-tokenlimit-remaining" in chat.headers


def test_groq_shape_and_x_groq_usage(demo_sim: SimServer) -> None:
    models = httpx.get(
        f"{demo_sim.base_url}/groq/v1/models", headers={"Authorization": "Bearer gsk_key"}
    ).json()["data"]
    assert all(m["active"] and m["context_window"] for m in models)
    with openai_client(demo_sim, slug="groq", api_key="gsk_key") as client:
        chunks = list(
            client.chat.completions.create(
                model="llama-3.1-8b-instant",
                stream=True,
                messages=[{"role": "user", "content": "Say exactly hi"}],
            )
        )
    extra = chunks[-1].model_extra or {}
    assert extra["x_groq"]["usage"]["completion_tokens"] == 1


def test_transient_failures() -> None:
    models = [{"id": "m", "failure_rate": 1, "failure_kinds": ["ServiceUnavailableException"]}]
    scenario = scenario_of(openai_providers=[{"slug": "flaky", "models": models}])
    with running_simulator(scenario) as sim, openai_client(sim, slug="flaky") as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert caught.value.status_code == 503
        assert sim.stats.by_region["flaky"].errors == 1
