"""The openai SDK for Python (PyPI `openai`), as a program written for OpenAI uses it, against
`myia serve` on a Bedrock route and an OpenAI-compatible route."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.clients.conftest import (
    PERSON_PROMPT,
    TOOL_RESULT,
    WEATHER_PROMPT,
    WEATHER_TOOL,
    Gateway,
    offered_tools,
    schema_sent,
)


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)


def test_chat(client: openai.OpenAI, model: str) -> None:
    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "What is 12 + 30?"}]
    )
    assert "42" in (completion.choices[0].message.content or "")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_stream_with_usage(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Reply with exactly: harbour juniper"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "harbour juniper" in text.lower()
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0


def test_tool_round_trip(gateway: Gateway, client: openai.OpenAI, model: str, route: str) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": WEATHER_PROMPT}]
    first = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert offered_tools(gateway.upstream_request(route)) == ["get_weather"]
    assert first.choices[0].finish_reason == "tool_calls"
    call = (first.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Lisbon"}

    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(TOOL_RESULT)},
    ]
    final = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert final.choices[0].finish_reason == "stop"
    assert not final.choices[0].message.tool_calls
    assert "21" in (final.choices[0].message.content or "")


def test_structured_output_parse(
    gateway: Gateway, client: openai.OpenAI, model: str, route: str
) -> None:
    """`parse(response_format=PydanticModel)`: a strict json_schema in, a parsed object out;
    the upstream was asked for that schema."""
    completion = client.chat.completions.parse(
        model=model, messages=[{"role": "user", "content": PERSON_PROMPT}], response_format=Person
    )
    message = completion.choices[0].message
    assert isinstance(message.parsed, Person), message.content
    assert message.parsed.name and isinstance(message.parsed.age, int)
    schema = schema_sent(gateway.upstream_request(route))
    assert schema is not None and set(schema["properties"]) == {"name", "age"}, schema


def test_tool_choice_none_calls_no_tool(
    gateway: Gateway, client: openai.OpenAI, model: str, route: str
) -> None:
    completion = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": WEATHER_PROMPT}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice="none",
    )
    choice = completion.choices[0]
    assert not choice.message.tool_calls, choice.message.tool_calls
    assert choice.finish_reason == "stop"
    assert choice.message.content
    # Not the model's restraint: the upstream was given no tool it could call.
    assert offered_tools(gateway.upstream_request(route)) == []


def test_models_list_and_retrieve(client: openai.OpenAI, model: str) -> None:
    assert model in [m.id for m in client.models.list()]
    found = client.models.retrieve(model)
    assert found.id == model and found.object == "model"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("no-such-model")
    assert missing.value.status_code == 404


def test_errors_are_the_sdks_own_types(gateway: Gateway, client: openai.OpenAI, model: str) -> None:
    stranger = openai.OpenAI(base_url=gateway.base_url, api_key="myia-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as bad_key:
        stranger.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert bad_key.value.status_code == 401 and bad_key.value.code == "invalid_api_key"

    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert unknown.value.code == "model_not_found"

    with pytest.raises(openai.BadRequestError) as bad_value:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], temperature=5
        )
    assert bad_value.value.param == "temperature"
