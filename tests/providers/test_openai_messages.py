from __future__ import annotations

import base64
import json
from typing import Any

from openai.types.chat import ChatCompletionChunk

from myia.providers.adapter import Stopwatch
from myia.providers.openai_compat.messages import build_chat_params, finish_reason
from myia.providers.openai_compat.stream import ChunkAssembler
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    StopReason,
    StreamEnd,
    TextDelta,
    ToolCallEvent,
    ToolChoiceTool,
    ToolResultPart,
)
from tests.providers.conftest import PNG, rich_request


def test_request_mapping() -> None:
    params = build_chat_params(rich_request("gpt-4o"))
    assert params["model"] == "gpt-4o"
    system, user, assistant, tool = params["messages"]
    assert system == {"role": "system", "content": "You are terse."}
    assert user["content"][0] == {
        "type": "text",
        "text": "What is in this picture, and the weather in Paris?",
    }
    url = user["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == PNG
    assert assistant["content"] == "A red pixel. Checking the weather."
    call = assistant["tool_calls"][0]
    assert call["id"] == "tool-1" and call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert tool == {"role": "tool", "tool_call_id": "tool-1", "content": "18C, sunny"}
    assert params["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert params["tool_choice"] == "auto"
    assert (params["max_tokens"], params["temperature"], params["top_p"]) == (256, 0.2, 0.9)
    assert params["stop"] == ["END"]


def test_tool_choices_and_error_results() -> None:
    request = rich_request("m")
    assert (
        build_chat_params(request.model_copy(update={"tool_choice": "any"}))["tool_choice"]
        == "required"
    )
    forced = request.model_copy(update={"tool_choice": ToolChoiceTool(name="get_weather")})
    assert build_chat_params(forced)["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }
    failed = ChatMessage(
        role="user", content=[ToolResultPart(tool_use_id="t", content="boom", is_error=True)]
    )
    params = build_chat_params(ChatRequest(model="m", messages=[failed]))
    assert params["messages"] == [{"role": "tool", "tool_call_id": "t", "content": "Error: boom"}]


def test_text_only_turns_are_plain_strings() -> None:
    params = build_chat_params(ChatRequest(model="m", messages=[ChatMessage.user("hi")]))
    assert params == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_finish_reasons() -> None:
    assert finish_reason("stop") is StopReason.END_TURN
    assert finish_reason("tool_calls") is StopReason.TOOL_USE
    assert finish_reason("length") is StopReason.MAX_TOKENS
    assert finish_reason("content_filter") is StopReason.CONTENT_FILTERED
    assert finish_reason("weird") is StopReason.OTHER


def _chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> ChatCompletionChunk:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return ChatCompletionChunk.model_validate(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": choices,
            **extra,
        }
    )


def test_chunks_assemble_tool_calls_by_index_and_take_usage_last() -> None:
    assembler = ChunkAssembler(Stopwatch(), "m")
    chunks = [
        _chunk({"role": "assistant", "content": "Hi"}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "a",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    },
                    {
                        "index": 1,
                        "id": "b",
                        "type": "function",
                        "function": {"name": "g", "arguments": '{"x"'},
                    },
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"y": 2}'}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 1}"}}]}),
        _chunk({}, finish="tool_calls"),
        _chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}),
    ]
    events = [event for chunk in chunks for event in assembler.feed(chunk)]
    events.extend(assembler.finish())
    assert isinstance(events[0], TextDelta)
    calls = [e.tool_call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "f", {"y": 2}),
        ("b", "g", {"x": 1}),
    ]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert (end.usage.input_tokens, end.usage.output_tokens) == (9, 4)
    assert end.stop_reason is StopReason.TOOL_USE


def test_groq_usage_in_x_groq() -> None:
    assembler = ChunkAssembler(Stopwatch(), "llama")
    assembler.feed(_chunk({"content": "ok"}))
    assembler.feed(
        _chunk(
            {},
            finish="stop",
            x_groq={"id": "r", "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
        )
    )
    end = assembler.finish()[-1]
    assert isinstance(end, StreamEnd)
    assert (end.usage.input_tokens, end.usage.output_tokens) == (5, 2)
