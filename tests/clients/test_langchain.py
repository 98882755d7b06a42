"""LangChain's ChatOpenAI (PyPI `langchain-openai`) with `base_url` at the gateway, against
`myia serve` on a Bedrock route and an OpenAI-compatible route. Its errors are the openai
SDK's exception types, which it raises as they come."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import openai
import pytest
from pydantic import BaseModel, Field

from tests.clients.conftest import (
    PERSON_PROMPT,
    TOOL_RESULT,
    WEATHER_PROMPT,
    Gateway,
    offered_tools,
    schema_sent,
)

# LangChain is imported by the tests that use it, not at collection (which every xdist
# worker pays, whatever it runs).
if TYPE_CHECKING:
    from langchain_core.messages import AIMessageChunk
    from langchain_openai import ChatOpenAI


class Person(BaseModel):
    """A person."""

    name: str = Field(description="The person's name")
    age: int = Field(description="The person's age in years")


class GetWeather(BaseModel):
    """Current weather in a city"""

    city: str = Field(description="The city")


def chat_model(gateway: Gateway, model: str, **kwargs: object) -> ChatOpenAI:
    from langchain_openai import ChatOpenAI

    options: dict[str, object] = {
        "model": model,
        "base_url": gateway.base_url,
        "api_key": gateway.key,
        "max_retries": 0,
    }
    options.update(kwargs)
    return ChatOpenAI(**options)  # type: ignore[arg-type]


@pytest.fixture
def llm(gateway: Gateway, model: str) -> ChatOpenAI:
    return chat_model(gateway, model)


def test_chat(llm: ChatOpenAI) -> None:
    from langchain_core.messages import AIMessage

    answer = llm.invoke("What is 12 + 30?")
    assert isinstance(answer, AIMessage) and "42" in answer.text
    assert answer.usage_metadata is not None and answer.usage_metadata["total_tokens"] > 0
    assert answer.response_metadata["finish_reason"] == "stop"


def test_stream_with_usage(gateway: Gateway, model: str) -> None:
    """`stream_usage=True` asks for stream_options.include_usage."""
    llm = chat_model(gateway, model, stream_usage=True)
    merged: AIMessageChunk | None = None
    for chunk in llm.stream("Reply with exactly: harbour juniper"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert "harbour juniper" in merged.text.lower()
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["input_tokens"] > 0
    assert merged.usage_metadata["output_tokens"] > 0


def test_tool_round_trip(llm: ChatOpenAI) -> None:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    with_tools = llm.bind_tools([GetWeather])
    question = HumanMessage(WEATHER_PROMPT)
    first = with_tools.invoke([question])
    assert isinstance(first, AIMessage)
    assert [c["name"] for c in first.tool_calls] == ["GetWeather"]
    assert first.tool_calls[0]["args"] == {"city": "Lisbon"}

    result = ToolMessage(json.dumps(TOOL_RESULT), tool_call_id=first.tool_calls[0]["id"])
    final = with_tools.invoke([question, first, result])
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "21" in final.text


def test_structured_output_default_method(llm: ChatOpenAI, gateway: Gateway, route: str) -> None:
    """`with_structured_output(PydanticModel)` by its default method (json_schema)."""
    person = llm.with_structured_output(Person).invoke(PERSON_PROMPT)
    assert isinstance(person, Person)
    assert person.name and isinstance(person.age, int)
    schema = schema_sent(gateway.upstream_request(route))
    assert schema is not None and set(schema["properties"]) == {"name", "age"}, schema


def test_tool_choice_none_calls_no_tool(llm: ChatOpenAI, gateway: Gateway, route: str) -> None:
    from langchain_core.messages import AIMessage

    answer = llm.bind_tools([GetWeather], tool_choice="none").invoke(WEATHER_PROMPT)
    assert isinstance(answer, AIMessage)
    assert not answer.tool_calls, answer.tool_calls
    assert answer.text
    assert offered_tools(gateway.upstream_request(route)) == []


def test_errors_are_the_sdks_own_types(gateway: Gateway, llm: ChatOpenAI, model: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        chat_model(gateway, model, api_key="myia-not-a-key").invoke("hi")
    with pytest.raises(openai.NotFoundError):
        chat_model(gateway, "no-such-model").invoke("hi")
    with pytest.raises(openai.BadRequestError) as bad_value:
        chat_model(gateway, model, temperature=5).invoke("hi")
    assert bad_value.value.param == "temperature"
