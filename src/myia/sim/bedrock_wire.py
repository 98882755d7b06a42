"""Bedrock's JSON dialect: caller identity from SigV4, Converse requests/responses, errors."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from myia.sim import eventstream
from myia.sim.conversation import (
    Block,
    Conversation,
    Image,
    Message,
    Reply,
    Tool,
    ToolResult,
    ToolUse,
    prefix_digest,
)
from myia.sim.scenario import Scenario
from myia.sim.structured import SchemaProblem, bedrock_output_config

ERROR_STATUS = {
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "MissingAuthenticationTokenException": 403,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "ResourceNotFoundException": 404,
    "UnknownOperationException": 404,
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/[^/,\s]+/aws4_request")
THROTTLED = "Too many requests, please wait before trying again."


class BedrockError(Exception):
    def __init__(self, name: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.headers = headers or {}


def error_response(error: BedrockError) -> JSONResponse:
    headers = {
        "x-amzn-ErrorType": error.name,
        "x-amzn-RequestId": str(uuid.uuid4()),
        **error.headers,
    }
    status = ERROR_STATUS.get(error.name, 400)
    return JSONResponse({"message": error.message}, status_code=status, headers=headers)


@dataclass(frozen=True)
class Caller:
    access_key: str | None
    region: str


def caller(request: Request, scenario: Scenario) -> Caller:
    """Who is calling and from which region, read off the SigV4 credential scope.

    Bearer-token (Bedrock API key) calls carry no region; they get `x-myia-sim-region`
    or the scenario's first region.
    """
    header = request.headers.get("authorization", "")
    match = _CREDENTIAL.search(header)
    if match:
        return Caller(match.group(1), match.group(2))
    fallback = request.headers.get("x-myia-sim-region") or next(iter(scenario.regions), "us-east-1")
    return Caller(None, fallback)


def authenticate(request: Request, scenario: Scenario) -> Caller:
    who = caller(request, scenario)
    header = request.headers.get("authorization", "")
    if not header:
        raise BedrockError("MissingAuthenticationTokenException", "Missing Authentication Token")
    if who.access_key in scenario.invalid_access_keys:
        raise BedrockError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    return who


def _invalid(message: str) -> BedrockError:
    return BedrockError("ValidationException", message)


def _image(spec: dict[str, Any]) -> Image:
    raw = (spec.get("source") or {}).get("bytes")
    if not isinstance(raw, str):
        raise _invalid("The image source must contain bytes.")
    try:
        return Image(str(spec.get("format", "png")), base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _invalid("Invalid base64 image bytes.") from exc


def _tool_result(spec: dict[str, Any]) -> ToolResult:
    parts = []
    for item in spec.get("content") or []:
        if "text" in item:
            parts.append(str(item["text"]))
        elif "json" in item:
            parts.append(json.dumps(item["json"]))
    is_error = spec.get("status") == "error"
    return ToolResult(str(spec.get("toolUseId", "")), "\n".join(parts), is_error)


def _block(spec: Any) -> Block | None:
    if not isinstance(spec, dict):
        raise _invalid("Each content block must be an object.")
    if "text" in spec:
        return str(spec["text"])
    if "image" in spec:
        return _image(spec["image"])
    if "toolUse" in spec:
        use = spec["toolUse"]
        return ToolUse(
            str(use.get("toolUseId", "")), str(use.get("name", "")), dict(use.get("input") or {})
        )
    if "toolResult" in spec:
        return _tool_result(spec["toolResult"])
    if "document" in spec:
        return f"[document {spec['document'].get('name', '')}]"
    if "cachePoint" in spec:
        if spec["cachePoint"] != {"type": "default"}:
            raise _invalid("cachePoint.type must be default.")
        return None
    if "reasoningContent" in spec:
        return None  # an earlier turn's thinking: no conversation in it
    return None  # guard content and the like carry no conversation


_NEEDS_TOOL_CONFIG = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)


def _messages(raw: Any, conversation: Conversation | None = None) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise _invalid("The messages field is required and must not be empty.")
    messages: list[Message] = []
    for item in raw:
        role = item.get("role") if isinstance(item, dict) else None
        if role not in ("user", "assistant"):
            raise _invalid("A message role must be either user or assistant.")
        blocks = []
        for spec in item.get("content") or []:
            block = _block(spec)
            if block is not None:
                blocks.append(block)
            elif "cachePoint" in spec and conversation is not None:
                # Everything so far (this turn's blocks included) is the cached prefix.
                prefix = [*messages, Message(role, list(blocks))]
                conversation.cache_prefix = prefix_digest(conversation.system, prefix)
                conversation.cache_tokens = _prefix_tokens(conversation.system, prefix)
        messages.append(Message(role, blocks))
    if messages[0].role != "user":
        raise _invalid(
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    return messages


def _tools(config: dict[str, Any], conversation: Conversation) -> None:
    for item in config.get("tools") or []:
        spec = item.get("toolSpec") or {}
        schema = (spec.get("inputSchema") or {}).get("json") or {}
        conversation.tools.append(
            Tool(str(spec.get("name", "")), str(spec.get("description", "")), dict(schema))
        )
    choice = config.get("toolChoice") or {"auto": {}}
    if "any" in choice:
        conversation.tool_choice = "any"
    elif "tool" in choice:
        conversation.tool_choice, conversation.forced_tool = "tool", choice["tool"].get("name")


def _prefix_tokens(system: list[str], messages: list[Message]) -> int:
    return Conversation(messages, system=list(system)).input_tokens()


def _tool_choice(choice: Any, body: dict[str, Any]) -> None:
    """Anthropic's tool_choice (for disable_parallel_tool_use), which must agree with
    toolConfig's: a forced choice there and auto here is refused, as Claude refuses it."""
    if choice is None:
        return
    parallel = choice.get("disable_parallel_tool_use") if isinstance(choice, dict) else None
    if choice.get("type") not in ("auto", "any", "tool") or not isinstance(parallel, bool):
        raise _invalid("tool_choice: expected {type, disable_parallel_tool_use}")
    forced = ((body.get("toolConfig") or {}).get("toolChoice") or {}).keys() & {"any", "tool"}
    if forced and choice["type"] == "auto":
        raise _invalid("The model returned the following errors: conflicting tool_choice")


def _thinking(body: dict[str, Any], conversation: Conversation) -> None:
    """Extended thinking (`additionalModelRequestFields.thinking`), checked as Anthropic's
    models on Bedrock check it; whether the model has it is the runtime's call."""
    extra = body.get("additionalModelRequestFields") or {}
    unknown = sorted(set(extra) - {"thinking", "tool_choice"})
    if unknown:
        raise _invalid(f"The model returned the following errors: {unknown[0]}: Extra inputs "
                       "are not permitted")  # fmt: skip
    conversation.anthropic_fields = tuple(sorted(extra))
    _tool_choice(extra.get("tool_choice"), body)
    thinking = extra.get("thinking")
    if thinking is None:
        return
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if thinking.get("type") != "enabled" or not isinstance(budget, int) or budget < 1024:
        raise _invalid("thinking.budget_tokens: Input should be greater than or equal to 1024")
    if conversation.max_tokens is None or budget >= conversation.max_tokens:
        raise _invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if "temperature" in (body.get("inferenceConfig") or {}):
        raise _invalid("`temperature` may only be set to 1 when thinking is enabled.")
    conversation.reasoning = True


def parse_converse(body: Any) -> Conversation:
    if not isinstance(body, dict):
        raise _invalid("Malformed input request, please reformat your input and try again.")
    system_blocks = body.get("system") or []
    system = [str(s["text"]) for s in system_blocks if "text" in s]
    conversation = Conversation([], system=system)
    if any("cachePoint" in s for s in system_blocks):
        conversation.cache_prefix = prefix_digest(system, [])
        conversation.cache_tokens = _prefix_tokens(system, [])
    conversation.messages = _messages(body.get("messages"), conversation)
    if not body.get("toolConfig") and any(
        isinstance(b, ToolUse | ToolResult) for m in conversation.messages for b in m.blocks
    ):
        raise _invalid(_NEEDS_TOOL_CONFIG)
    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise _invalid("The maximum tokens you requested must be at least 1.")
        conversation.max_tokens = max_tokens
    conversation.stop = [str(s) for s in config.get("stopSequences") or []]
    if body.get("toolConfig"):
        _tools(body["toolConfig"], conversation)
    try:
        conversation.json_schema = bedrock_output_config(body.get("outputConfig"))
    except SchemaProblem as exc:
        raise _invalid(exc.message) from exc
    conversation.json_mode = conversation.json_schema is not None
    _thinking(body, conversation)
    return conversation


def _usage(reply: Reply) -> dict[str, int]:
    """Converse counts cache reads and writes apart from inputTokens."""
    usage = {
        "inputTokens": reply.input_tokens - reply.cached_tokens - reply.cache_write_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.total_tokens,
    }
    if reply.cached_tokens or reply.cache_write_tokens:
        usage["cacheReadInputTokens"] = reply.cached_tokens
        usage["cacheWriteInputTokens"] = reply.cache_write_tokens
    return usage


def converse_output(reply: Reply, latency_ms: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.reasoning:
        thought = {"reasoningText": {"text": reply.reasoning, "signature": "sim-signature"}}
        content.append({"reasoningContent": thought})
    if reply.text or not reply.tool_calls:
        content.append({"text": reply.text})
    for call in reply.tool_calls:
        content.append(
            {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
        )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reply.stop_reason,
        "usage": _usage(reply),
        "metrics": {"latencyMs": latency_ms},
    }


def split_text(text: str, size: int = 8) -> list[str]:
    """Word-aligned pieces of about `size` characters (two tokens) that join back to `text`.

    Small pieces, like real streams: even a short answer ("1 2 3 … 8") arrives in several
    deltas, which is what a streaming check looks for.
    """
    pieces, start = [], 0
    for match in re.finditer(r"\S+\s*", text):
        if match.end() - start >= size:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def content_frames(reply: Reply) -> Iterator[tuple[bytes, str]]:
    """(frame, text it carries) for everything up to messageStop; pacing reads the text."""
    yield eventstream.event("messageStart", {"role": "assistant"}), ""
    index = 0
    if reply.reasoning:
        for piece in split_text(reply.reasoning):
            delta = {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}
            yield eventstream.event("contentBlockDelta", delta), piece
        signature = {"reasoningContent": {"signature": "sim-signature"}}
        delta = {"contentBlockIndex": index, "delta": signature}
        yield eventstream.event("contentBlockDelta", delta), ""
        yield eventstream.event("contentBlockStop", {"contentBlockIndex": index}), ""
        index += 1
    if reply.text or not reply.tool_calls:
        for piece in split_text(reply.text):
            delta = {"contentBlockIndex": index, "delta": {"text": piece}}
            yield eventstream.event("contentBlockDelta", delta), piece
        yield eventstream.event("contentBlockStop", {"contentBlockIndex": index}), ""
        index += 1
    for call in reply.tool_calls:
        start = {"toolUse": {"toolUseId": call.id, "name": call.name}}
        yield (
            eventstream.event("contentBlockStart", {"contentBlockIndex": index, "start": start}),
            "",
        )
        arguments = call.arguments_json
        for offset in range(0, len(arguments), 12):
            piece = arguments[offset : offset + 12]
            delta = {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}
            yield eventstream.event("contentBlockDelta", delta), piece
        yield eventstream.event("contentBlockStop", {"contentBlockIndex": index}), ""
        index += 1
    yield eventstream.event("messageStop", {"stopReason": reply.stop_reason}), ""


def metadata_frame(reply: Reply, latency_ms: int) -> bytes:
    body = {"usage": _usage(reply), "metrics": {"latencyMs": latency_ms}}
    return eventstream.event("metadata", body)
