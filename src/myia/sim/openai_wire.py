"""The OpenAI chat-completions dialect: request parsing, responses, chunks, errors, headers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from myia.sim.bedrock_wire import split_text
from myia.sim.conversation import (
    Block,
    Conversation,
    Image,
    Message,
    Reply,
    Tool,
    ToolResult,
    ToolUse,
)
from myia.sim.quota import Admission
from myia.sim.scenario import ModelsShape, Quota
from myia.sim.structured import SchemaProblem, openai_response_format

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "model_context_window_exceeded": "length",
}


class OpenAIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def response(self, extra_headers: dict[str, str] | None = None) -> JSONResponse:
        body = {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        headers = {**(extra_headers or {}), **self.headers}
        return JSONResponse(body, status_code=self.status, headers=headers)


def _invalid(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


@dataclass(frozen=True)
class ChatOptions:
    model: str
    stream: bool
    include_usage: bool
    # The token limit's field name, as OpenAI's reasoning models refuse `max_tokens`.
    limit_field: str | None = None


def _image(url: str) -> Image:
    if not url.startswith("data:") or "," not in url:
        return Image("url", b"")  # no network here: remote images cannot be fetched
    header, data = url[5:].split(",", 1)
    mime = header.split(";")[0]
    try:
        return Image(mime.split("/")[-1] or "png", base64.b64decode(data))
    except (binascii.Error, ValueError) as exc:
        raise _invalid("Invalid image data URL.", param="image_url") from exc


def _parts(content: Any) -> list[Block]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    blocks: list[Block] = []
    for part in content:
        if part.get("type") == "text":
            blocks.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            blocks.append(_image(str((part.get("image_url") or {}).get("url", ""))))
    return blocks


def _text(content: Any) -> str:
    return "\n".join(b for b in _parts(content) if isinstance(b, str))


def _assistant(item: dict[str, Any]) -> Message:
    blocks = _parts(item.get("content"))
    for call in item.get("tool_calls") or []:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            arguments = {}
        blocks.append(
            ToolUse(
                str(call.get("id", "")),
                str(function.get("name", "")),
                arguments if isinstance(arguments, dict) else {},
            )
        )
    return Message("assistant", blocks)


def _conversation(raw: Any) -> Conversation:
    if not isinstance(raw, list) or not raw:
        raise _invalid(
            "Invalid 'messages': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    conversation = Conversation([])
    messages = conversation.messages
    for item in raw:
        role = item.get("role")
        if role in ("system", "developer"):
            conversation.system.append(_text(item.get("content")))
        elif role == "user":
            messages.append(Message("user", _parts(item.get("content"))))
        elif role == "assistant":
            messages.append(_assistant(item))
        elif role == "tool":
            result = ToolResult(str(item.get("tool_call_id", "")), _text(item.get("content")))
            # Consecutive tool messages answer one assistant turn: one user turn carries all.
            if messages and messages[-1].role == "user" and messages[-1].tool_results:
                messages[-1].blocks.append(result)
            else:
                messages.append(Message("user", [result]))
        else:
            raise _invalid(
                f"Invalid value: '{role}'. Supported values are: 'system', "
                "'assistant', 'user', 'tool' and 'developer'.",
                "messages",
                None,
            )
    return conversation


def _tools(body: dict[str, Any], conversation: Conversation) -> None:
    for item in body.get("tools") or []:
        function = item.get("function") or {}
        conversation.tools.append(
            Tool(
                str(function.get("name", "")),
                str(function.get("description", "")),
                dict(function.get("parameters") or {}),
            )
        )
    choice = body.get("tool_choice", "auto")
    if choice == "required":
        conversation.tool_choice = "any"
    elif choice == "none":
        conversation.tool_choice = "none"
    elif isinstance(choice, dict):
        conversation.tool_choice = "tool"
        conversation.forced_tool = (choice.get("function") or {}).get("name")


def parse_chat(body: Any) -> tuple[Conversation, ChatOptions]:
    if not isinstance(body, dict):
        raise _invalid("We could not parse the JSON body of your request.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("you must provide a model parameter", "model")
    conversation = _conversation(body.get("messages"))
    _tools(body, conversation)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise _invalid(
                "Invalid 'max_tokens': integer below minimum value.",
                "max_tokens",
                "integer_below_min_value",
            )
        conversation.max_tokens = limit
    stop = body.get("stop")
    conversation.stop = [stop] if isinstance(stop, str) else [str(s) for s in stop or []]
    try:
        conversation.json_mode, conversation.json_schema = openai_response_format(
            body.get("response_format"), json.dumps(body.get("messages"))
        )
    except SchemaProblem as exc:
        raise _invalid(exc.message, exc.param) from exc
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise _invalid(f"Invalid value: '{effort}'.", "reasoning_effort", "invalid_value")
    conversation.reasoning = effort not in (None, "none")
    stream_options = body.get("stream_options") or {}
    limit_field = next((k for k in ("max_tokens", "max_completion_tokens") if k in body), None)
    options = ChatOptions(
        model,
        bool(body.get("stream")),
        bool(stream_options.get("include_usage")),
        limit_field,
    )
    return conversation, options


REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _usage(reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.total_tokens,
    }
    if reply.reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return usage


def completion(reply: Reply, model: str, completion_id: str, created: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in reply.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH_REASONS[reply.stop_reason],
            }
        ],
        "usage": _usage(reply),
        "system_fingerprint": "fp_myia_sim",
    }


def chunks(
    reply: Reply,
    model: str,
    completion_id: str,
    created: int,
    *,
    include_usage: bool,
    shape: ModelsShape,
) -> Iterator[tuple[dict[str, Any], str]]:
    """(chunk, text it carries) in the order the SSE stream sends them."""
    base: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_myia_sim",
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    if reply.reasoning:
        for piece in split_text(reply.reasoning):
            yield chunk({"reasoning_content": piece}), piece
    if reply.tool_calls:
        for index, call in enumerate(reply.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            delta: dict[str, Any] = {"tool_calls": [head]}
            if index == 0:
                delta = {"role": "assistant", "content": None, **delta}
            yield chunk(delta), ""
            arguments = call.arguments_json
            for offset in range(0, len(arguments), 12):
                piece = arguments[offset : offset + 12]
                part = {"index": index, "function": {"arguments": piece}}
                yield chunk({"tool_calls": [part]}), piece
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None}), ""
        for piece in split_text(reply.text):
            yield chunk({"content": piece}), piece
    last = chunk({}, FINISH_REASONS[reply.stop_reason])
    if shape == "groq":  # Groq reports usage here, include_usage or not
        last["x_groq"] = {"id": completion_id, "usage": _usage(reply)}
    yield last, ""
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(reply)}, ""


def go_duration(seconds: float) -> str:
    """Durations the way OpenAI's reset headers spell them: 20ms, 1.5s, 6m0s."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    if minutes >= 1:
        return f"{int(minutes)}m{rest:.0f}s"
    return f"{rest:.3g}s"


def ratelimit_headers(
    shape: ModelsShape, quota: Quota | None, admission: Admission | None, tokens: int = 0
) -> dict[str, str]:
    if quota is None or admission is None:
        return {}
    token_rate = quota.tokens_per_minute / 60
    remaining_tokens = max(0, quota.tokens_per_minute - tokens)
    if shape == "together":
        return {
            "x-ratelimit-limit": str(quota.burst),
            "x-ratelimit-remaining": str(admission.remaining),
            "x-ratelimit-reset": str(max(0, round(admission.reset_s))),
            "x-tokenlimit-limit": str(quota.tokens_per_minute),
            "x-tokenlimit-remaining": str(remaining_tokens),
        }
    return {
        "x-ratelimit-limit-requests": str(quota.burst),
        "x-ratelimit-remaining-requests": str(admission.remaining),
        "x-ratelimit-reset-requests": go_duration(admission.reset_s),
        "x-ratelimit-limit-tokens": str(quota.tokens_per_minute),
        "x-ratelimit-remaining-tokens": str(remaining_tokens),
        "x-ratelimit-reset-tokens": go_duration(tokens / token_rate),
    }
