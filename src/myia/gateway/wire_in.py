"""OpenAI chat-completions requests -> MyIA's `ChatRequest`, and what routing needs.

Parsed by hand from the decoded JSON, every refusal naming the offending field in OpenAI's
error shape rather than FastAPI's. Which fields are read, passed through or refused, at the
top level and inside messages, parts, tool calls, tools, tool_choice and stream_options, is
`myia.gateway.fields` (the tables docs/gateway.md shows); nothing is ignored. Every field
MyIA reads is taken only as the JSON type OpenAI documents, as OpenAI itself does:
`"max_tokens": "12"` or `12.5`, `"temperature": "0.5"`, `"stream": "true"` are a 400 naming
the parameter, not converted.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from myia.gateway.errors import GatewayError, invalid
from myia.gateway.fields import (
    IMAGE_URL,
    MESSAGE_SHAPES,
    PART_SHAPES,
    STREAM_OPTIONS,
    TOOL,
    TOOL_CALL,
    TOOL_CALL_FUNCTION,
    TOOL_CHOICE,
    TOOL_CHOICE_FUNCTION,
    TOOL_FUNCTION,
    Nested,
    Refused,
    screen,
)
from myia.gateway.image_fetch import IMAGE_TYPES, ImageUrlPart
from myia.gateway.structured import parse_response_format
from myia.providers.types import (
    CachePointPart,
    ChatMessage,
    ChatRequest,
    ContentPart,
    ImagePart,
    TextPart,
    ToolChoice,
    ToolChoiceTool,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)
from myia.routing import Needs


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    model: str
    chat: ChatRequest  # `model` is replaced by each route's deployment id
    needs: Needs
    stream: bool
    include_usage: bool
    input_chars: int
    # A field the table refuses on Bedrock (where, and its row): Bedrock routes are left out.
    bedrock_refused: Refused | None = None
    end_user: str | None = None  # `user` / `safety_identifier`, for the call's row


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"{where} must be a string", param=where)
    return value


def _boolean(data: dict[str, Any], key: str, where: str) -> bool:
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"{where} must be a boolean", param=where)
    return value


def _cache_control(part: dict[str, Any], where: str) -> bool:
    """Whether a content part asks for a cache point after it (Anthropic's `cache_control`)."""
    control = part.get("cache_control")
    if control is None:
        return False
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise invalid(
            f'{where}.cache_control must be {{"type": "ephemeral"}}',
            param=f"{where}.cache_control",
        )
    return True


def _text_of(content: Any, where: str, nested: Nested, refusals: bool = False) -> tuple[str, bool]:
    """(the text, whether a part asked for a cache point) of text-only content; `refusals`:
    an assistant's refusal parts count as its text."""
    if content is None:
        return "", False
    if isinstance(content, str):
        return content, False
    if isinstance(content, list):
        texts = []
        cached = False
        for i, part in enumerate(content):
            at = f"{where}[{i}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                nested.check(part, PART_SHAPES["text"], at)
                texts.append(_string(part.get("text", ""), f"{at}.text"))
                cached = _cache_control(part, at) or cached
            elif kind == "refusal" and refusals:
                nested.check(part, PART_SHAPES["refusal"], at)
                texts.append(_string(part.get("refusal", ""), f"{at}.refusal"))
            else:
                raise invalid(f"{at} must be a text part here", param=at)
        return "".join(texts), cached
    raise invalid(f"{where} must be a string or a list of parts", param=where)


_DETAILS = ("auto", "low", "high")


def _image(part: dict[str, Any], where: str, nested: Nested) -> ImagePart:
    image_url = part.get("image_url")
    detail = None
    if isinstance(image_url, dict):
        nested.check(image_url, IMAGE_URL, f"{where}.image_url")
        url = image_url.get("url")
        detail = image_url.get("detail")
        if detail is not None and detail not in _DETAILS:
            at = f"{where}.image_url.detail"
            raise invalid(f"{at} must be auto, low or high", param=at)
    else:
        url = image_url
    if isinstance(url, str) and url[:8].lower().startswith(("http://", "https://")):
        # Fetched by the service once the request is parsed and routable (image_fetch.py),
        # so that parsing stays synchronous; until then an empty image holds its place.
        return ImageUrlPart(
            format="png", data=b"", url=url, param=f"{where}.image_url.url", detail=detail
        )
    if not isinstance(url, str) or not url.startswith("data:"):
        raise invalid(
            f"{where}: image_url.url must be a data: URL (base64 image) or an http(s) URL",
            param=where,
        )
    header, _, payload = url[5:].partition(",")
    media_type = header.split(";")[0].lower()
    image_format = IMAGE_TYPES.get(media_type)
    if image_format is None or ";base64" not in header:
        raise invalid(f"{where}: expected data:image/(png|jpeg|gif|webp);base64,…", param=where)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid(f"{where}: the image is not valid base64", param=where) from exc
    return ImagePart(format=image_format, data=data, detail=detail)


def _user_parts(content: Any, where: str, nested: Nested) -> list[ContentPart]:
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    if not isinstance(content, list):
        raise invalid(f"{where} must be a string or a list of parts", param=where)
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        at = f"{where}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        shape = PART_SHAPES.get(kind) if isinstance(kind, str) else None
        if shape is None or kind == "refusal":
            raise invalid(f"{at}: unsupported content part type {kind!r}", param=at)
        nested.check(part, shape, at)  # input_audio and file parts: refused by name here
        if kind == "text":
            text = _string(part.get("text", ""), f"{at}.text")
            if text:
                parts.append(TextPart(text=text))
        elif kind == "image_url":
            parts.append(_image(part, at, nested))
        else:  # an input_audio or file part without its payload
            raise invalid(f"{at}.{kind} is required", param=f"{at}.{kind}")
        if _cache_control(part, at) and parts:
            parts.append(CachePointPart())
    return parts


def _tool_uses(calls: Any, where: str, nested: Nested) -> list[ContentPart]:
    if not isinstance(calls, list):
        raise invalid(f"{where} must be a list", param=where)
    uses: list[ContentPart] = []
    for i, call in enumerate(calls):
        at = f"{where}[{i}]"
        if isinstance(call, dict):
            nested.check(call, TOOL_CALL, at)
            if call.get("type", "function") != "function":
                raise invalid(f"{at}.type must be function", param=f"{at}.type")
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            nested.check(function, TOOL_CALL_FUNCTION, f"{at}.function")
        if not isinstance(function, dict) or not call.get("id") or not function.get("name"):
            raise invalid(f"{at} needs id and function.name", param=at)
        _string(call["id"], f"{at}.id")
        _string(function["name"], f"{at}.function.name")
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = {"_raw": raw}
        if not isinstance(arguments, dict):
            arguments = {"_value": arguments}
        uses.append(ToolUsePart(id=str(call["id"]), name=str(function["name"]), input=arguments))
    return uses


def _turn(
    message: Any, where: str, nested: Nested
) -> tuple[str, list[ContentPart] | tuple[str, bool]]:
    """("system", (text, cache point)) or (role, parts) for one OpenAI message."""
    if not isinstance(message, dict):
        raise invalid(f"{where} must be an object", param=where)
    role = message.get("role")
    shape = MESSAGE_SHAPES.get(role) if isinstance(role, str) else None
    if shape is None:
        raise invalid(f"{where}.role: unsupported role {role!r}", param=f"{where}.role")
    nested.check(message, shape, where)  # a function message: refused by its role here
    content = message.get("content")
    if role in ("system", "developer"):
        return "system", _text_of(content, f"{where}.content", nested)
    if role == "user":
        return "user", _user_parts(content, f"{where}.content", nested)
    if role == "assistant":
        text, cached = _text_of(content, f"{where}.content", nested, refusals=True)
        refused = message.get("refusal")
        if refused is not None:  # a refused answer sent back: its words are the turn's text
            text += _string(refused, f"{where}.refusal")
        parts: list[ContentPart] = [TextPart(text=text)] if text else []
        if message.get("tool_calls"):
            parts += _tool_uses(message["tool_calls"], f"{where}.tool_calls", nested)
        if cached and parts:
            parts.append(CachePointPart())
        return "assistant", parts
    if role == "tool":
        if not message.get("tool_call_id"):
            raise invalid(f"{where}.tool_call_id is required", param=f"{where}.tool_call_id")
        text, cached = _text_of(content, f"{where}.content", nested)
        result = ToolResultPart(
            tool_use_id=_string(message["tool_call_id"], f"{where}.tool_call_id"),
            content=text or "(empty)",
        )
        return "user", [result, CachePointPart()] if cached else [result]
    raise invalid(f"{where}.role: unsupported role {role!r}", param=f"{where}.role")


def _messages(raw: Any, nested: Nested) -> tuple[str | None, bool, list[ChatMessage], bool]:
    """(system prompt, whether it ends in a cache point, conversation with same-role turns
    merged, whether images appear)."""
    if not isinstance(raw, list) or not raw:
        raise invalid("messages must be a non-empty list", param="messages")
    system: list[str] = []
    system_cached = False
    turns: list[tuple[str, list[ContentPart]]] = []
    for i, message in enumerate(raw):
        role, parts = _turn(message, f"messages[{i}]", nested)
        if isinstance(parts, tuple):
            system.append(parts[0])
            system_cached = parts[1] or system_cached
        elif parts and turns and turns[-1][0] == role:
            turns[-1][1].extend(parts)  # Bedrock needs alternating roles: merge the run
        elif parts:
            turns.append((role, parts))
    if not turns:
        raise invalid("messages must contain at least one user message", param="messages")
    chat = [ChatMessage(role=role, content=parts) for role, parts in turns]
    images = any(isinstance(p, ImagePart) for m in chat for p in m.content)
    return ("\n\n".join(s for s in system if s) or None), system_cached, chat, images


def _tools(raw: Any, nested: Nested) -> list[ToolSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("tools must be a list", param="tools")
    tools = []
    for i, tool in enumerate(raw):
        if isinstance(tool, dict):
            nested.check(tool, TOOL, f"tools[{i}]")
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            raise invalid(f"tools[{i}] must be a function tool", param=f"tools[{i}]")
        at = f"tools[{i}].function"
        nested.check(function, TOOL_FUNCTION, at)
        strict = function.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise invalid(f"{at}.strict must be a boolean", param=f"{at}.strict")
        name = _string(function.get("name"), f"{at}.name")
        if not 1 <= len(name) <= 64:
            raise invalid(f"{at}.name must be 1 to 64 characters long", param=f"{at}.name")
        description = function.get("description")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid(f"{at}.parameters must be an object", param=f"{at}.parameters")
        tools.append(
            ToolSpec(
                name=name,
                description=""
                if description is None
                else _string(description, f"{at}.description"),
                input_schema=parameters or {"type": "object", "properties": {}},
                strict=strict,
            )
        )
    return tools


def _tool_choice(raw: Any, tools: list[ToolSpec], nested: Nested) -> ToolChoice | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        nested.check(raw, TOOL_CHOICE, "tool_choice")
        if raw.get("type", "function") != "function":
            raise invalid("tool_choice.type must be function", param="tool_choice.type")
        if isinstance(raw.get("function"), dict):
            nested.check(raw["function"], TOOL_CHOICE_FUNCTION, "tool_choice.function")
    if raw == "none":
        return "none"
    if raw == "auto":
        return "auto" if tools else None
    if raw == "required" or (isinstance(raw, dict) and isinstance(raw.get("function"), dict)):
        if not tools:
            raise invalid("tool_choice requires tools", param="tool_choice")
        if raw == "required":
            return "any"
        return ToolChoiceTool(
            name=_string(raw["function"].get("name"), "tool_choice.function.name")
        )
    raise invalid("tool_choice must be none, auto, required or a function", param="tool_choice")


def _include_usage(options: Any, stream: bool, nested: Nested) -> bool:
    if options is None:
        return False
    if not isinstance(options, dict):
        raise invalid("stream_options must be an object", param="stream_options")
    # include_obfuscation (OpenAI pads chunks against a side channel): the gateway re-frames
    # chunks and adds none, so only false passes the table.
    nested.check(options, STREAM_OPTIONS, "stream_options")
    _boolean(options, "include_obfuscation", "stream_options.include_obfuscation")
    return stream and _boolean(options, "include_usage", "stream_options.include_usage")


def _metadata(raw: Any) -> dict[str, str] | None:
    """OpenAI's bounds: at most 16 pairs, keys up to 64 characters, values up to 512."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) > 16:
        raise invalid("metadata must be an object of at most 16 pairs", param="metadata")
    for key, value in raw.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            raise invalid(
                "metadata keys are up to 64 characters, values strings up to 512",
                param=f"metadata.{key[:64]}",
            )
    return raw


def _end_user(data: dict[str, Any]) -> str | None:
    user = data.get("user") or data.get("safety_identifier")
    return user[:256] if isinstance(user, str) else None


def _stop(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return list(raw)
    raise invalid("stop must be a string or a list of strings", param="stop")


def _chars(messages: list[ChatMessage], system: str | None) -> int:
    total = len(system or "")
    for message in messages:
        for part in message.content:
            if isinstance(part, TextPart):
                total += len(part.text)
            elif isinstance(part, ToolResultPart):
                total += len(part.content)
    return total


def parse_request(body: bytes) -> GatewayRequest:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model is required", param="model")
    screened = screen(data)
    n = data.get("n")
    if n is not None and (type(n) is not int or n != 1):
        raise invalid("only n=1 is supported", param="n")
    nested = Nested(screened.bedrock_refused)
    system, system_cached, messages, images = _messages(data.get("messages"), nested)
    tools = _tools(data.get("tools"), nested)
    stream = _boolean(data, "stream", "stream")
    include_usage = _include_usage(data.get("stream_options"), stream, nested)
    max_key = "max_completion_tokens" if "max_completion_tokens" in data else "max_tokens"
    structured = parse_response_format(data)  # response_format -> json_schema / json_object
    history_tools = any(
        isinstance(p, ToolUsePart | ToolResultPart) for m in messages for p in m.content
    )
    try:
        # Strict: the numbers come straight from the client's JSON (12, never "12" or 12.0).
        chat = ChatRequest.model_validate(
            {
                "model": model,
                "messages": messages,
                "system": system,
                "tools": tools,
                "tool_choice": _tool_choice(data.get("tool_choice"), tools, nested),
                "max_tokens": data.get(max_key),
                "token_limit_param": max_key,
                "temperature": data.get("temperature"),
                "top_p": data.get("top_p"),
                "stop": _stop(data.get("stop")),
                "reasoning_effort": data.get("reasoning_effort"),
                "parallel_tool_calls": data.get("parallel_tool_calls"),
                "service_tier": data.get("service_tier"),
                "metadata": _metadata(data.get("metadata")),
                "system_cache_point": system_cached and system is not None,
                "passthrough": screened.passthrough,
                **structured,
            },
            strict=True,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        field = max_key if field == "max_tokens" else field
        raise GatewayError(400, f"{field}: {first.get('msg')}", param=field) from exc
    return GatewayRequest(
        model=model,
        chat=chat,
        needs=Needs(
            tools=bool(tools) or history_tools,
            vision=images,
            streaming=stream,
            structured=bool(structured),
        ),
        stream=stream,
        include_usage=include_usage,
        input_chars=_chars(messages, system),
        bedrock_refused=nested.bedrock_refused,
        end_user=_end_user(data) if screened.passthrough else None,
    )
