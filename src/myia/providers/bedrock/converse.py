"""MyIA requests <-> the Converse wire format (shared by converse and converse_stream)."""

from __future__ import annotations

import json
from typing import Any

from myia.providers.bedrock.structured import add_structured_output, as_answer
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    ContentPart,
    ImagePart,
    StopReason,
    TextPart,
    ToolCall,
    ToolChoiceTool,
    ToolResultPart,
    ToolUsePart,
    Usage,
)

_STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "content_filtered": StopReason.CONTENT_FILTERED,
    "guardrail_intervened": StopReason.CONTENT_FILTERED,
}


def _content_block(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ImagePart):
        return {"image": {"format": part.format, "source": {"bytes": part.data}}}
    if isinstance(part, ToolUsePart):
        return {"toolUse": {"toolUseId": part.id, "name": part.name, "input": part.input}}
    if isinstance(part, ToolResultPart):
        return {
            "toolResult": {
                "toolUseId": part.tool_use_id,
                "content": [{"text": part.content}],
                "status": "error" if part.is_error else "success",
            }
        }
    raise TypeError(f"unsupported content part {type(part).__name__}")


def _message(message: ChatMessage) -> dict[str, Any]:
    return {"role": message.role, "content": [_content_block(p) for p in message.content]}


def _tool_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {
        "tools": [
            {
                "toolSpec": {
                    "name": tool.name,
                    # Bedrock refuses an empty description (min length 1).
                    **({"description": tool.description} if tool.description else {}),
                    "inputSchema": {"json": tool.input_schema},
                }
            }
            for tool in request.tools
        ]
    }
    choice = request.tool_choice
    if isinstance(choice, ToolChoiceTool):
        config["toolChoice"] = {"tool": {"name": choice.name}}
    elif choice is not None:
        config["toolChoice"] = {choice: {}}
    return config


def build_converse_params(request: ChatRequest, model_id: str) -> dict[str, Any]:
    """Keyword arguments for `converse` / `converse_stream`; unset options are omitted."""
    params: dict[str, Any] = {
        "modelId": model_id,
        "messages": [_message(m) for m in request.messages],
    }
    if request.system:
        params["system"] = [{"text": request.system}]
    inference: dict[str, Any] = {
        key: value
        for key, value in (
            ("maxTokens", request.max_tokens),
            ("temperature", request.temperature),
            ("topP", request.top_p),
        )
        if value is not None
    }
    if request.stop:
        inference["stopSequences"] = list(request.stop)
    if inference:
        params["inferenceConfig"] = inference
    # A toolChoice without tools is refused, so tools decide whether toolConfig exists.
    if request.tools:
        params["toolConfig"] = _tool_config(request)
    add_structured_output(params, request, model_id)  # json_schema / json_object
    return params


def stop_reason(raw: str | None) -> StopReason:
    if raw is None:
        return StopReason.OTHER
    return _STOP_REASONS.get(raw, StopReason.OTHER)


def usage(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(
        input_tokens=int(raw.get("inputTokens") or 0),
        output_tokens=int(raw.get("outputTokens") or 0),
    )


def parse_output(response: dict[str, Any]) -> tuple[str, list[ToolCall]]:
    """Text (blocks joined) and tool calls of a Converse response."""
    message = (response.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = use.get("input")
            if isinstance(arguments, dict) or arguments is None:
                calls.append(
                    ToolCall(id=use["toolUseId"], name=use["name"], arguments=arguments or {})
                )
            else:
                raw = json.dumps(arguments, default=str)
                calls.append(ToolCall(id=use["toolUseId"], name=use["name"], raw_arguments=raw))
    return "".join(texts), calls


def parse_answer(
    response: dict[str, Any], answer_tool: str | None
) -> tuple[str, list[ToolCall], StopReason]:
    """`parse_output` and the stop reason, with a structured-output answer tool's call
    (`structured.answer_tool`) turned into the text."""
    text, calls = parse_output(response)
    return as_answer(text, calls, stop_reason(response.get("stopReason")), answer_tool)
