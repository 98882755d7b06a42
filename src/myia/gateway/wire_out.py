"""MyIA responses and stream events -> OpenAI chat.completion JSON and SSE chunks.

Chunks are built as plain dicts and encoded with the standard library: one small JSON
document per event, written to the client as soon as the provider produced it.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from myia.providers.types import ChatResponse, StopReason, ToolCall, Usage

DONE = b"data: [DONE]\n\n"

_FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.MAX_TOKENS: "length",
    StopReason.CONTENT_FILTERED: "content_filter",
    StopReason.OTHER: "stop",
}


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def finish_reason(reason: StopReason, has_tool_calls: bool) -> str:
    return "tool_calls" if has_tool_calls else _FINISH.get(reason, "stop")


def _usage(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    # The details only when the provider reported them (a zero is "not reported").
    if usage.cached_input_tokens:
        body["prompt_tokens_details"] = {"cached_tokens": usage.cached_input_tokens}
    if usage.reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def _call(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def completion(response: ChatResponse, *, model: str) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
    if response.reasoning:
        message["reasoning_content"] = response.reasoning
    if response.tool_calls:
        message["tool_calls"] = [_call(c) for c in response.tool_calls]
    body = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": response.logprobs,
                "finish_reason": finish_reason(response.stop_reason, bool(response.tool_calls)),
            }
        ],
        "usage": _usage(response.usage),
    }
    return json.dumps(body).encode()


class ChunkWriter:
    """The SSE frames of one streamed completion."""

    def __init__(self, *, model: str) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model
        self.tool_index = 0

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _delta(
        self, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None
    ) -> bytes:
        return self._frame(
            [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]
        )

    def role(self) -> bytes:
        return self._delta({"role": "assistant", "content": ""})

    def text(self, text: str, logprobs: Any = None) -> bytes:
        return self._delta({"content": text}, logprobs=logprobs)

    def reasoning(self, text: str) -> bytes:
        return self._delta({"reasoning_content": text})

    def tool_call(self, call: ToolCall) -> bytes:
        entry = {"index": self.tool_index, **_call(call)}
        self.tool_index += 1
        return self._delta({"tool_calls": [entry]})

    def finish(self, reason: StopReason) -> bytes:
        return self._delta({}, finish_reason(reason, self.tool_index > 0))

    def usage(self, usage: Usage) -> bytes:
        return self._frame([], usage=_usage(usage))
