from __future__ import annotations

from typing import Any

import pytest
from botocore.validate import ParamValidator

from myia.providers.adapter import Stopwatch
from myia.providers.bedrock.client import BedrockClients
from myia.providers.bedrock.converse import build_converse_params, parse_output, stop_reason
from myia.providers.bedrock.stream import ConverseStreamAssembler
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    StopReason,
    StreamEnd,
    TextDelta,
    ToolCallEvent,
    ToolChoiceTool,
)
from tests.providers.conftest import PNG, aws_connection, rich_request


def _validation_report(operation: str, params: dict[str, Any]) -> str:
    client = BedrockClients(aws_connection(base_url="http://127.0.0.1:9")).runtime("us-east-1")
    shape = client.meta.service_model.operation_model(operation).input_shape
    assert shape is not None
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


@pytest.mark.parametrize("operation", ["Converse", "ConverseStream"])
def test_rich_request_passes_botocore_validation(operation: str) -> None:
    params = build_converse_params(rich_request(), "us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert _validation_report(operation, params) == ""


@pytest.mark.parametrize("choice", ["any", ToolChoiceTool(name="get_weather")])
def test_tool_choices_pass_botocore_validation(choice: Any) -> None:
    request = rich_request().model_copy(update={"tool_choice": choice})
    assert _validation_report("Converse", build_converse_params(request, "m")) == ""


def test_a_broken_request_is_reported() -> None:
    params = build_converse_params(rich_request(), "m")
    params["messages"][0]["content"][1]["image"]["format"] = 42
    params["inferenceConfig"]["maxTokens"] = "lots"
    del params["messages"][1]["role"]
    report = _validation_report("Converse", params)
    assert "format" in report and "maxTokens" in report and "role" in report


def test_request_mapping() -> None:
    params = build_converse_params(rich_request(), "model-x")
    assert params["modelId"] == "model-x"
    assert params["system"] == [{"text": "You are terse."}]
    assert params["inferenceConfig"] == {
        "maxTokens": 256,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    user, assistant, result = params["messages"]
    assert user["content"][1] == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert assistant["content"][1] == {
        "toolUse": {"toolUseId": "tool-1", "name": "get_weather", "input": {"city": "Paris"}}
    }
    assert result["content"][0] == {
        "toolResult": {
            "toolUseId": "tool-1",
            "content": [{"text": "18C, sunny"}],
            "status": "success",
        }
    }
    tool = params["toolConfig"]["tools"][0]["toolSpec"]
    assert tool["inputSchema"]["json"]["required"] == ["city"]
    assert params["toolConfig"]["toolChoice"] == {"auto": {}}


def test_unset_options_are_omitted() -> None:
    params = build_converse_params(ChatRequest(model="m", messages=[ChatMessage.user("hi")]), "m")
    assert set(params) == {"modelId", "messages"}


def test_parse_output_and_stop_reasons() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Let me check. "},
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "get_weather",
                            "input": {"city": "Oslo"},
                        }
                    },
                ],
            }
        },
        "stopReason": "tool_use",
    }
    text, calls = parse_output(response)
    assert text == "Let me check. "
    assert calls[0].arguments == {"city": "Oslo"}
    assert stop_reason("guardrail_intervened") is StopReason.CONTENT_FILTERED
    assert stop_reason("malformed_tool_use") is StopReason.OTHER
    assert stop_reason(None) is StopReason.OTHER


def test_stream_assembler_joins_tool_fragments() -> None:
    assembler = ConverseStreamAssembler(Stopwatch(), "us.m")
    events: list[Any] = []
    raw_events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Checking"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "contentBlockIndex": 1,
                "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}},
            }
        },
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"ci'}}}},
        {
            "contentBlockDelta": {
                "contentBlockIndex": 1,
                "delta": {"toolUse": {"input": 'ty": "Oslo"}'}},
            }
        },
        {"contentBlockStop": {"contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "tool_use"}},
        {
            "metadata": {
                "usage": {"inputTokens": 12, "outputTokens": 7},
                "metrics": {"latencyMs": 5},
            }
        },
    ]
    for raw in raw_events:
        events.extend(assembler.feed(raw))
    events.extend(assembler.finish())
    assert isinstance(events[0], TextDelta) and events[0].text == "Checking"
    assert isinstance(events[1], ToolCallEvent)
    assert events[1].tool_call.arguments == {"city": "Oslo"}
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert (end.usage.input_tokens, end.usage.output_tokens) == (12, 7)
    assert end.stop_reason is StopReason.TOOL_USE and end.model_id == "us.m"
    assert end.time_to_first_token_ms is not None


def test_stream_assembler_keeps_malformed_tool_input() -> None:
    assembler = ConverseStreamAssembler(Stopwatch(), "m")
    assembler.feed(
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "t", "name": "f"}},
            }
        }
    )
    assembler.feed(
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{oops"}}}}
    )
    call_event = assembler.finish()[0]
    assert isinstance(call_event, ToolCallEvent)
    assert call_event.tool_call.arguments == {}
    assert call_event.tool_call.raw_arguments == "{oops"
