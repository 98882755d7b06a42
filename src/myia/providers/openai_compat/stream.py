"""chat.completion.chunk objects -> MyIA stream events.

Tool calls arrive as fragments keyed by `index` (the id and name in the first, arguments
spread over the rest); they are emitted whole once the choice finishes. Usage comes from the
last chunk (`stream_options.include_usage`) or, on older Groq streams, from `x_groq.usage`.
"""

from __future__ import annotations

from typing import Any

from myia.providers.adapter import Stopwatch
from myia.providers.openai_compat.messages import finish_reason
from myia.providers.types import (
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
)


def _detail(raw: dict[str, Any], group: str, key: str) -> int:
    details = raw.get(group)
    return int(details.get(key) or 0) if isinstance(details, dict) else 0


def usage_from(raw: Any) -> Usage | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raw = raw.model_dump() if hasattr(raw, "model_dump") else {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cached_input_tokens=_detail(raw, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(raw, "completion_tokens_details", "reasoning_tokens"),
    )


def reasoning_of(message: Any) -> str:
    """The reasoning text of a message or delta: `reasoning_content` (DeepSeek, vLLM and
    most compatible servers) or `reasoning` (Groq, OpenRouter); the SDK keeps both as extras."""
    if message is None:
        return ""
    if not isinstance(message, dict):
        message = getattr(message, "model_extra", None) or {}
    text = message.get("reasoning_content") or message.get("reasoning")
    return text if isinstance(text, str) else ""


def logprobs_of(choice: Any) -> Any:
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else choice.logprobs
    if logprobs is not None and hasattr(logprobs, "model_dump"):
        return logprobs.model_dump(exclude_unset=True)
    return logprobs


class _ToolFragments:
    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []


class ChunkAssembler:
    def __init__(self, stopwatch: Stopwatch, model_id: str) -> None:
        self.stopwatch = stopwatch
        self.model_id = model_id
        self._tools: dict[int, _ToolFragments] = {}
        self._raw_finish: str | None = None
        self._usage: Usage | None = None

    def feed(self, chunk: Any) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        self._take_usage(chunk)
        for choice in chunk.choices or []:
            if choice.index != 0:
                continue
            delta = choice.delta
            reasoning = reasoning_of(delta)
            if reasoning:
                self.stopwatch.mark_first_token()
                events.append(ReasoningDelta(text=reasoning))
            if delta is not None and delta.content:
                self.stopwatch.mark_first_token()
                events.append(TextDelta(text=delta.content, logprobs=logprobs_of(choice)))
            for fragment in (delta.tool_calls if delta is not None else None) or []:
                self.stopwatch.mark_first_token()
                self._add_fragment(fragment)
            if choice.finish_reason:
                self._raw_finish = choice.finish_reason
                events.extend(self._flush_tools())
        return events

    def _take_usage(self, chunk: Any) -> None:
        usage = usage_from(getattr(chunk, "usage", None))
        if usage is None:
            extra = getattr(chunk, "model_extra", None) or {}
            x_groq = extra.get("x_groq") or {}
            usage = usage_from(x_groq.get("usage")) if isinstance(x_groq, dict) else None
        if usage is not None:
            self._usage = usage

    def _add_fragment(self, fragment: Any) -> None:
        tool = self._tools.setdefault(int(fragment.index or 0), _ToolFragments())
        if fragment.id:
            tool.id = fragment.id
        function = fragment.function
        if function is not None:
            if function.name:
                tool.name += function.name
            if function.arguments:
                tool.arguments.append(function.arguments)

    def _flush_tools(self) -> list[StreamEvent]:
        events: list[StreamEvent] = [
            ToolCallEvent(tool_call=ToolCall.from_json(t.id, t.name, "".join(t.arguments)))
            for _, t in sorted(self._tools.items())
        ]
        self._tools.clear()
        return events

    def finish(self) -> list[StreamEvent]:
        events = self._flush_tools()
        events.append(
            StreamEnd(
                usage=self._usage or Usage(),
                stop_reason=finish_reason(self._raw_finish),
                raw_stop_reason=self._raw_finish,
                latency_ms=self.stopwatch.elapsed_ms(),
                time_to_first_token_ms=self.stopwatch.first_token_ms,
                model_id=self.model_id,
            )
        )
        return events
