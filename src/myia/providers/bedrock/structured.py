"""Structured output (`ChatRequest.json_schema` / `json_object`) on Bedrock Converse.

Two ways, one per model:

- native: Converse's `outputConfig.textFormat` (`type: json_schema`, the schema as a JSON
  *string* in `structure.jsonSchema.schema`, with `name` and `description`); the answer is
  ordinary text, constrained by Bedrock. Used only for the models AWS documents it for
  (`NATIVE_MODELS`; https://docs.aws.amazon.com/bedrock/latest/userguide/structured-output.html
  and claude-messages-structured-outputs.html), and only for a schema: `json_object` has no
  schema, and a permissive one is not what constrained decoding is documented for.
- forced tool: every other model (and `json_object`, with a permissive object schema) gets
  one extra tool whose input schema is the asked schema, and `toolChoice` forcing it; the
  call's arguments become the answer's text, finish reason `stop`, no tool call (in streams,
  its input deltas become text deltas, `stream.ConverseStreamAssembler`).

`strict` needs no field of its own: native decoding is always constrained, and in tool mode
the adherence is what certification measured (`structured_output`), which routing requires.
"""

from __future__ import annotations

import json
import re
from typing import Any

from myia.providers.types import ChatRequest, StopReason, ToolCall, ToolChoiceTool

# Model ids (any geography prefix or ARN around them) with native structured output.
NATIVE_MODELS = re.compile(r"anthropic\.claude-(sonnet-4-5|haiku-4-5|opus-4-5|opus-4-6)")
PERMISSIVE_OBJECT: dict[str, Any] = {"type": "object"}
_JSON_OBJECT_TOOL = "json_object"
_TOOL_DESCRIPTION = "Give the final answer as this JSON object."


def wants_structured(request: ChatRequest) -> bool:
    return request.json_schema is not None or request.json_object


def native(request: ChatRequest, model_id: str) -> bool:
    """Whether the answer comes as constrained text (`outputConfig`)."""
    return request.json_schema is not None and NATIVE_MODELS.search(model_id) is not None


def answer_tool(request: ChatRequest, model_id: str) -> str | None:
    """The forced tool's name when the answer comes as a tool call, else None."""
    if not wants_structured(request) or native(request, model_id):
        return None
    base = request.schema_name if request.json_schema is not None else _JSON_OBJECT_TOOL
    taken = {tool.name for tool in request.tools}
    name, n = base, 1
    while name in taken:  # never shadow one of the client's own tools (64 characters max)
        suffix = f"_{n}"
        name, n = base[: 64 - len(suffix)] + suffix, n + 1
    return name


def add_structured_output(params: dict[str, Any], request: ChatRequest, model_id: str) -> None:
    """Converse params (`build_converse_params`'s) with the structured-output mode added."""
    if native(request, model_id):
        definition: dict[str, Any] = {
            "name": request.schema_name,
            "schema": json.dumps(request.json_schema),
        }
        if request.schema_description:
            definition["description"] = request.schema_description
        params["outputConfig"] = {
            "textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}
        }
        return
    name = answer_tool(request, model_id)
    if name is None:
        return
    spec = {
        "name": name,
        "description": request.schema_description or _TOOL_DESCRIPTION,
        "inputSchema": {"json": request.json_schema or PERMISSIVE_OBJECT},
    }
    config = params.setdefault("toolConfig", {})
    config["tools"] = [*config.get("tools", []), {"toolSpec": spec}]
    if isinstance(request.tool_choice, ToolChoiceTool) and request.tools:
        return  # the client forces one of its tools: keep that
    # With the client's tools on offer the model may call one of them or answer; alone,
    # the answer tool is forced.
    config["toolChoice"] = {"any": {}} if request.tools else {"tool": {"name": name}}


def as_answer(
    text: str, calls: list[ToolCall], reason: StopReason, tool: str | None
) -> tuple[str, list[ToolCall], StopReason]:
    """A Converse answer with the answer tool's call turned into the message's text.

    A model that ignored the forced tool keeps its prose: certification's adherence battery
    is what catches such a model, not a rewrite here."""
    if tool is None:
        return text, calls, reason
    answer = next((call for call in calls if call.name == tool), None)
    if answer is None:
        return text, calls, reason
    rest = [call for call in calls if call is not answer]
    content = answer.raw_arguments
    if content is None:
        content = json.dumps(answer.arguments)
    return content, rest, reason if rest else StopReason.END_TURN
