"""MyIA requests <-> the Converse wire format (shared by converse and converse_stream)."""

from __future__ import annotations

import json
import re
from typing import Any

from myia.providers.bedrock.structured import add_structured_output, as_answer
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import (
    CachePointPart,
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
    # The prompt left no room to answer: what OpenAI reports as finish_reason "length".
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
CACHE_POINT = {"cachePoint": {"type": "default"}}
# Models with extended thinking (any geography prefix or ARN around the id): Claude 3.7
# Sonnet and the Claude 4 family (https://docs.aws.amazon.com/bedrock/latest/userguide/
# claude-messages-extended-thinking.html).
ANTHROPIC = re.compile(r"anthropic\.claude")
THINKING_MODELS = re.compile(r"anthropic\.claude-(3-7-sonnet|(opus|sonnet|haiku)-4)")
# reasoning_effort -> thinking budget in tokens (Anthropic's minimum is 1024; the budget must
# stay below max_tokens, which is budget + ANSWER_TOKENS when the client set none).
THINKING_BUDGET = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 24576,
    "max": 27648,
}
ANSWER_TOKENS = 4096
_SERVICE_TIERS = {"default": "default", "flex": "flex", "priority": "priority"}
_METADATA = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,.-]{0,256}")


def _refused(param: str, message: str) -> ProviderError:
    """A request Converse cannot carry, refused before sending (a 400 naming `param`)."""
    return ProviderError(
        ErrorCategory.VALIDATION, message, provider="bedrock", param=param,
        code="unsupported_parameter", reason="unsupported_parameter",
    )  # fmt: skip


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
    if isinstance(part, CachePointPart):
        return CACHE_POINT
    raise TypeError(f"unsupported content part {type(part).__name__}")


def _as_text(part: ContentPart) -> ContentPart:
    """A tool block told as text: with tool_choice none no toolConfig is sent, and Converse
    refuses tool blocks without one."""
    if isinstance(part, ToolUsePart):
        return TextPart(text=f"[called tool {part.name} with {json.dumps(part.input)}]")
    if isinstance(part, ToolResultPart):
        status = "error" if part.is_error else "result"
        return TextPart(text=f"[tool {status}: {part.content}]")
    return part


def _message(message: ChatMessage, tools_as_text: bool = False) -> dict[str, Any]:
    parts = [_as_text(p) for p in message.content] if tools_as_text else message.content
    return {"role": message.role, "content": [_content_block(p) for p in parts]}


def _history_tools(request: ChatRequest) -> list[dict[str, Any]]:
    """Minimal specs for the tools a history used when the request lists none: Converse
    needs a toolConfig to accept toolUse / toolResult blocks."""
    names: dict[str, None] = {}
    for message in request.messages:
        for part in message.content:
            if isinstance(part, ToolUsePart):
                names[part.name] = None
    return [
        {"toolSpec": {"name": name, "inputSchema": {"json": {"type": "object"}}}} for name in names
    ]


def _has_tool_blocks(request: ChatRequest) -> bool:
    return any(
        isinstance(p, ToolUsePart | ToolResultPart) for m in request.messages for p in m.content
    )


def _thinking(request: ChatRequest, model_id: str, inference: dict[str, Any]) -> dict[str, Any]:
    """additionalModelRequestFields for reasoning_effort (extended thinking)."""
    effort = request.reasoning_effort
    if effort is None or effort == "none":
        return {}
    if THINKING_MODELS.search(model_id) is None:
        raise _refused("reasoning_effort", "this model has no extended thinking on Bedrock")
    if request.temperature is not None or request.top_p is not None:
        param = "temperature" if request.temperature is not None else "top_p"
        raise _refused(param, f"{param} cannot be set with reasoning_effort on this model")
    if isinstance(request.tool_choice, ToolChoiceTool) or request.tool_choice == "any":
        raise _refused("tool_choice", "a forced tool cannot be combined with reasoning_effort")
    budget = THINKING_BUDGET[effort]
    limit = request.max_tokens
    if limit is None:
        inference["maxTokens"] = budget + ANSWER_TOKENS
    elif limit <= 1024:
        raise _refused(request.token_limit_param, "extended thinking needs more than 1024 tokens")
    else:
        budget = min(budget, limit - 1)
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def _one_tool_call(request: ChatRequest, model_id: str) -> dict[str, Any]:
    """additionalModelRequestFields for parallel_tool_calls false: Anthropic's own tool_choice
    with disable_parallel_tool_use, which Converse passes to Claude (LiteLLM sends the same,
    BerriAI/litellm#34347). Only beside an automatic choice: with a forced one Claude sees two
    conflicting tool_choice settings (BerriAI/litellm#36536)."""
    if request.parallel_tool_calls is not False or not request.tools:
        return {}
    if request.tool_choice == "none":
        return {}  # no tools are sent: nothing to call, in parallel or not
    if ANTHROPIC.search(model_id) is None:
        raise _refused("parallel_tool_calls", "false is only mapped for Claude models on Bedrock")
    if request.tool_choice not in (None, "auto"):
        raise _refused("parallel_tool_calls", "false cannot be combined with a forced tool here")
    return {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}


def _request_metadata(metadata: dict[str, str]) -> dict[str, str]:
    for key, value in metadata.items():
        if not key or _METADATA.fullmatch(key) is None or _METADATA.fullmatch(value) is None:
            raise _refused(
                f"metadata.{key[:64]}",
                "Bedrock's requestMetadata takes letters, digits, spaces and :_@$#=/+,.- only",
            )
    return metadata


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
    tools_as_text = request.tool_choice == "none"
    params: dict[str, Any] = {
        "modelId": model_id,
        "messages": [_message(m, tools_as_text) for m in request.messages],
    }
    if request.system:
        params["system"] = [{"text": request.system}]
        if request.system_cache_point:
            params["system"].append(CACHE_POINT)
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
    additional = {**_thinking(request, model_id, inference), **_one_tool_call(request, model_id)}
    if additional:
        params["additionalModelRequestFields"] = additional
    if inference:
        params["inferenceConfig"] = inference
    # A toolChoice without tools is refused, so tools decide whether toolConfig exists;
    # "none" sends none at all (Converse has no such choice; the history went as text).
    if request.tools and not tools_as_text:
        params["toolConfig"] = _tool_config(request)
    elif not tools_as_text and _has_tool_blocks(request):
        params["toolConfig"] = {"tools": _history_tools(request)}
    tier = request.service_tier
    if tier in _SERVICE_TIERS:
        params["serviceTier"] = {"type": _SERVICE_TIERS[tier]}
    elif tier not in (None, "auto"):
        raise _refused("service_tier", "Bedrock's tiers are default, flex and priority")
    if request.metadata:
        params["requestMetadata"] = _request_metadata(request.metadata)
    add_structured_output(params, request, model_id)  # json_schema / json_object
    return params


def stop_reason(raw: str | None) -> StopReason:
    if raw is None:
        return StopReason.OTHER
    return _STOP_REASONS.get(raw, StopReason.OTHER)


def usage(raw: dict[str, Any] | None) -> Usage:
    """Converse counts cache reads and writes apart from inputTokens; OpenAI's prompt_tokens
    include them, so input_tokens is their sum."""
    raw = raw or {}
    cached = int(raw.get("cacheReadInputTokens") or 0)
    written = int(raw.get("cacheWriteInputTokens") or 0)
    return Usage(
        input_tokens=int(raw.get("inputTokens") or 0) + cached + written,
        output_tokens=int(raw.get("outputTokens") or 0),
        cached_input_tokens=cached,
        cache_write_tokens=written,
    )


def reasoning_text(response: dict[str, Any]) -> str:
    """The reasoning blocks' text of a Converse response (extended thinking)."""
    message = (response.get("output") or {}).get("message") or {}
    texts = []
    for block in message.get("content") or []:
        reasoning = block.get("reasoningContent") if isinstance(block, dict) else None
        if isinstance(reasoning, dict):
            texts.append(str((reasoning.get("reasoningText") or {}).get("text") or ""))
    return "".join(texts)


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
