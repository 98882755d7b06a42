"""MyIA requests -> chat.completions parameters, and finish reasons back."""

from __future__ import annotations

import base64
import json
from typing import Any

from myia.providers.types import (
    CachePointPart,
    ChatMessage,
    ChatRequest,
    ImagePart,
    StopReason,
    TextPart,
    ToolChoiceTool,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)

_FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "length": StopReason.MAX_TOKENS,
    "content_filter": StopReason.CONTENT_FILTERED,
}


def _data_url(part: ImagePart) -> str:
    return f"data:image/{part.format};base64,{base64.b64encode(part.data).decode('ascii')}"


EPHEMERAL = {"type": "ephemeral"}


def _mark_cached(out: list[dict[str, Any]], content: list[dict[str, Any]]) -> None:
    """A cache point: `cache_control` on the block before it (a tool message's text, or the
    user content built so far)."""
    if content:
        content[-1]["cache_control"] = EPHEMERAL
    elif out and out[-1]["role"] == "tool":
        text = out[-1]["content"]
        out[-1]["content"] = [{"type": "text", "text": text, "cache_control": EPHEMERAL}]


def _user_messages(message: ChatMessage) -> list[dict[str, Any]]:
    """Tool results become `tool` messages (they must follow the assistant's tool_calls
    directly); the remaining text and images become one user message."""
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ToolResultPart):
            text = f"Error: {part.content}" if part.is_error else part.content
            out.append({"role": "tool", "tool_call_id": part.tool_use_id, "content": text})
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            image_url = {"url": _data_url(part)}
            if part.detail is not None:
                image_url["detail"] = part.detail
            content.append({"type": "image_url", "image_url": image_url})
        elif isinstance(part, CachePointPart):
            _mark_cached(out, content)
    if content:
        # Plain strings for text-only turns: some compatible servers refuse content arrays.
        cached = any("cache_control" in block for block in content)
        if not cached and all(block["type"] == "text" for block in content):
            text = "\n".join(block["text"] for block in content)
            out.append({"role": "user", "content": text})
        else:
            out.append({"role": "user", "content": content})
    return out


def _assistant_message(message: ChatMessage) -> dict[str, Any]:
    text = "".join(p.text for p in message.content if isinstance(p, TextPart))
    calls = [
        {
            "id": part.id,
            "type": "function",
            "function": {"name": part.name, "arguments": json.dumps(part.input)},
        }
        for part in message.content
        if isinstance(part, ToolUsePart)
    ]
    result: dict[str, Any] = {"role": "assistant", "content": text or None}
    if text and any(isinstance(p, CachePointPart) for p in message.content):
        result["content"] = [{"type": "text", "text": text, "cache_control": EPHEMERAL}]
    if calls:
        result["tool_calls"] = calls
    return result


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, ToolChoiceTool):
        return {"type": "function", "function": {"name": choice.name}}
    return {"auto": "auto", "any": "required", "none": "none"}[choice]


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.input_schema,
    }
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def build_chat_params(request: ChatRequest) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.system and request.system_cache_point:
        block = {"type": "text", "text": request.system, "cache_control": EPHEMERAL}
        messages.append({"role": "system", "content": [block]})
    elif request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "assistant":
            messages.append(_assistant_message(message))
        else:
            messages.extend(_user_messages(message))
    params: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        params["tools"] = [_tool(tool) for tool in request.tools]
        if request.tool_choice is not None:
            params["tool_choice"] = _tool_choice(request.tool_choice)
    for key, value in (
        # max_completion_tokens stays so: OpenAI's reasoning models refuse max_tokens.
        (request.token_limit_param, request.max_tokens),
        ("temperature", request.temperature),
        ("top_p", request.top_p),
        ("reasoning_effort", request.reasoning_effort),
        ("parallel_tool_calls", request.parallel_tool_calls),
        ("service_tier", request.service_tier),
        ("metadata", request.metadata),
    ):
        if value is not None:
            params[key] = value
    if request.stop:
        params["stop"] = list(request.stop)
    response_format = _response_format(request)
    if response_format is not None:
        params["response_format"] = response_format
    return params


def _response_format(request: ChatRequest) -> dict[str, Any] | None:
    """Structured output as OpenAI's `response_format`, every field the client gave kept."""
    if request.json_schema is not None:
        spec: dict[str, Any] = {"name": request.schema_name, "schema": request.json_schema}
        if request.schema_description is not None:
            spec["description"] = request.schema_description
        if request.schema_strict is not None:
            spec["strict"] = request.schema_strict
        return {"type": "json_schema", "json_schema": spec}
    if request.json_object:
        return {"type": "json_object"}
    return None


def with_passthrough(params: dict[str, Any], request: ChatRequest) -> dict[str, Any]:
    """The fields the gateway passes as sent (`ChatRequest.passthrough`), over `params`."""
    if request.passthrough:
        params.update(request.passthrough)
    return params


def finish_reason(raw: str | None) -> StopReason:
    if raw is None:
        return StopReason.OTHER
    return _FINISH_REASONS.get(raw, StopReason.OTHER)
