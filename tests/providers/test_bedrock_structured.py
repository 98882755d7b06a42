"""Structured output on Converse: the native `outputConfig` or a forced answer tool, and the
answer tool's call turned back into text (whole and streamed). Pure mapping; the same params
are checked against botocore's own Converse model, so the wire shape is the SDK's."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from myia.providers.adapter import Stopwatch
from myia.providers.bedrock.converse import build_converse_params, parse_answer
from myia.providers.bedrock.stream import ConverseStreamAssembler
from myia.providers.bedrock.structured import answer_tool
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    StopReason,
    StreamEnd,
    TextDelta,
    ToolCallEvent,
    ToolChoiceTool,
    ToolSpec,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
CLAUDE_45 = "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
WEATHER = ToolSpec(name="get_weather", description="Weather in a city.", input_schema=SCHEMA)
FORCED_WEATHER = ToolChoiceTool(name="get_weather")


def _request(**fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=[ChatMessage.user("The city as JSON.")], **fields)


def _valid_for_botocore(params: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    report = ParamValidator().validate(params, model.operation_model("Converse").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_documented_models_get_native_output_config() -> None:
    request = _request(json_schema=SCHEMA, schema_name="place", schema_description="A place.")
    params = build_converse_params(request, CLAUDE_45)
    definition = params["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert params["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert json.loads(definition["schema"]) == SCHEMA  # a JSON string on the wire
    assert definition["name"] == "place" and definition["description"] == "A place."
    assert "toolConfig" not in params and answer_tool(request, CLAUDE_45) is None
    _valid_for_botocore(params)


@pytest.mark.parametrize(
    ("fields", "tools", "choice"),
    [
        ({"json_schema": SCHEMA}, ["answer"], {"tool": {"name": "answer"}}),
        ({"json_object": True}, ["json_object"], {"tool": {"name": "json_object"}}),
        ({"json_schema": SCHEMA, "tools": [WEATHER]}, ["get_weather", "answer"], {"any": {}}),
        (
            {"json_schema": SCHEMA, "tools": [WEATHER], "tool_choice": FORCED_WEATHER},
            ["get_weather", "answer"],
            {"tool": {"name": "get_weather"}},
        ),
    ],
)  # fmt: skip
def test_other_models_get_a_forced_answer_tool(
    fields: dict[str, Any], tools: list[str], choice: dict[str, Any]
) -> None:
    params = build_converse_params(_request(**fields), NOVA)
    config = params["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == tools
    assert config["toolChoice"] == choice
    expected = SCHEMA if "json_schema" in fields else {"type": "object"}
    assert config["tools"][-1]["toolSpec"]["inputSchema"]["json"] == expected
    assert "outputConfig" not in params
    _valid_for_botocore(params)


def test_json_object_is_a_tool_even_on_native_models() -> None:
    params = build_converse_params(_request(json_object=True), CLAUDE_45)
    assert "outputConfig" not in params and params["toolConfig"]["toolChoice"]["tool"]


def test_the_answer_tool_never_shadows_a_client_tool() -> None:
    taken = [ToolSpec(name="answer"), ToolSpec(name="answer_1")]
    assert answer_tool(_request(json_schema=SCHEMA, tools=taken), NOVA) == "answer_2"
    long = "a" * 64
    name = answer_tool(
        _request(json_schema=SCHEMA, schema_name=long, tools=[ToolSpec(name=long)]), NOVA
    )
    assert name == "a" * 62 + "_1"


def _converse(*blocks: dict[str, Any], stop: str = "tool_use") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(blocks)}},
        "stopReason": stop,
    }


def _use(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": f"id-{name}", "name": name, "input": arguments}}


def test_the_answer_tools_call_becomes_the_text() -> None:
    text, calls, reason = parse_answer(_converse(_use("answer", {"city": "Lisbon"})), "answer")
    assert json.loads(text) == {"city": "Lisbon"} and calls == [] and reason is StopReason.END_TURN
    # Another tool called beside it stays a tool call, and the turn a tool-use turn.
    both = _converse(_use("answer", {"city": "Porto"}), _use("get_weather", {"city": "Porto"}))
    text, calls, reason = parse_answer(both, "answer")
    assert json.loads(text) == {"city": "Porto"}
    assert [c.name for c in calls] == ["get_weather"] and reason is StopReason.TOOL_USE
    # A model that ignored the forced tool keeps its prose (certification catches it).
    prose = _converse({"text": "The city is Lisbon."}, stop="end_turn")
    assert parse_answer(prose, "answer") == ("The city is Lisbon.", [], StopReason.END_TURN)


def test_streamed_answer_tool_input_arrives_as_text_deltas() -> None:
    assembler = ConverseStreamAssembler(Stopwatch(), NOVA, "answer")
    events: list[Any] = []
    start = {"toolUse": {"toolUseId": "t1", "name": "answer"}}
    events += assembler.feed({"contentBlockStart": {"contentBlockIndex": 0, "start": start}})
    for piece in ('{"city": ', '"Lisbon"}'):
        delta = {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}
        events += assembler.feed({"contentBlockDelta": delta})
    events += assembler.feed({"contentBlockStop": {"contentBlockIndex": 0}})
    events += assembler.feed({"messageStop": {"stopReason": "tool_use"}})
    events += assembler.finish()
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) == 2 and json.loads("".join(texts)) == {"city": "Lisbon"}
    assert not any(isinstance(e, ToolCallEvent) for e in events)
    assert isinstance(events[-1], StreamEnd) and events[-1].stop_reason is StopReason.END_TURN
