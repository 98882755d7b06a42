"""litellm (PyPI) through its OpenAI-compatible provider — model "openai/<id>" with
`api_base` — against `myia serve` on a Bedrock route and an OpenAI-compatible route."""

from __future__ import annotations

import json
import os
from typing import Any

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


@pytest.fixture(scope="session")
def litellm() -> Any:
    """The module, imported by the tests that use it (seconds of import, which every xdist
    worker would pay at collection otherwise)."""
    # litellm fetches its model price list from the internet at import unless told to use
    # the copy it ships; the suite reaches loopback only.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


@pytest.fixture
def call(gateway: Gateway, model: str, litellm: Any) -> Any:
    """`litellm.completion` aimed at the gateway, for this test's route."""

    def completion(**kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "model": f"openai/{model}",
            "api_base": gateway.base_url,
            "api_key": gateway.key,
            "num_retries": 0,
            "max_retries": 0,
        }
        options.update(kwargs)
        return litellm.completion(**options)

    return completion


def test_chat(call: Any) -> None:
    response = call(messages=[{"role": "user", "content": "What is 12 + 30?"}])
    assert "42" in response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.total_tokens > 0


def test_stream_with_usage(call: Any) -> None:
    chunks = list(
        call(
            messages=[{"role": "user", "content": "Reply with exactly: harbour juniper"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "harbour juniper" in text.lower()
    usage = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert usage and usage[-1].prompt_tokens > 0 and usage[-1].completion_tokens > 0


def test_tool_round_trip(call: Any) -> None:
    messages: list[Any] = [{"role": "user", "content": WEATHER_PROMPT}]
    first = call(messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    tool_call = first.choices[0].message.tool_calls[0]
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Lisbon"}

    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": tool_call.id, "content": json.dumps(TOOL_RESULT)},
    ]
    final = call(messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert not final.choices[0].message.tool_calls
    assert "21" in final.choices[0].message.content


def test_structured_output_json_schema(call: Any, gateway: Gateway, route: str) -> None:
    """`response_format=PydanticModel`: litellm sends it as a strict json_schema."""
    response = call(messages=[{"role": "user", "content": PERSON_PROMPT}], response_format=Person)
    person = Person.model_validate_json(response.choices[0].message.content)
    assert person.name and isinstance(person.age, int)
    schema = schema_sent(gateway.upstream_request(route))
    assert schema is not None and set(schema["properties"]) == {"name", "age"}, schema


def test_tool_choice_none_calls_no_tool(call: Any, gateway: Gateway, route: str) -> None:
    response = call(
        messages=[{"role": "user", "content": WEATHER_PROMPT}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    choice = response.choices[0]
    assert not choice.message.tool_calls, choice.message.tool_calls
    assert choice.finish_reason == "stop" and choice.message.content
    assert offered_tools(gateway.upstream_request(route)) == []


def test_errors_are_litellms_own_types(call: Any, litellm: Any) -> None:
    hi = [{"role": "user", "content": "hi"}]
    with pytest.raises(litellm.AuthenticationError) as bad_key:
        call(messages=hi, api_key="myia-not-a-key")
    assert bad_key.value.status_code == 401

    with pytest.raises(litellm.NotFoundError) as unknown:
        call(messages=hi, model="openai/no-such-model")
    assert unknown.value.status_code == 404

    with pytest.raises(litellm.BadRequestError) as bad_value:
        call(messages=hi, temperature=5)
    assert "temperature" in str(bad_value.value)
