"""ConverseStream without blocking the event loop.

boto3's EventStream is a blocking iterator over a socket, so one worker thread opens the call
and iterates it, handing parsed events to the event loop through an asyncio queue. The queue
is unbounded on purpose: a chat stream is a few thousand small deltas at most, and a bounded
one would need the thread to block on a loop that may already be gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, Protocol, TypeVar

from myia.providers.adapter import Stopwatch
from myia.providers.bedrock.converse import stop_reason, usage
from myia.providers.types import (
    ReasoningDelta,
    StopReason,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
)

T = TypeVar("T", covariant=True)

_ITEM, _ERROR, _DONE = range(3)


class ClosableIterable(Protocol[T]):
    def __iter__(self) -> Iterator[T]: ...

    def close(self) -> None: ...


async def iterate_in_thread(
    open_stream: Callable[[], ClosableIterable[T]],
) -> AsyncGenerator[T, None]:
    """Yield what `open_stream()` iterates, both running in a worker thread.

    Leaving early (break, cancellation, an error downstream) closes the stream, which unblocks
    the thread's socket read so it does not linger until the model finishes talking.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    stopped = threading.Event()
    opened: list[ClosableIterable[T]] = []

    def send(kind: int, value: Any) -> None:
        # The loop may be closed if the consumer went away; nobody is listening then.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def pump() -> None:
        try:
            stream = open_stream()
            opened.append(stream)
            for item in stream:
                if stopped.is_set():
                    return
                send(_ITEM, item)
        except BaseException as exc:
            send(_ERROR, exc)
        else:
            send(_DONE, None)

    worker = loop.run_in_executor(None, pump)
    try:
        while True:
            kind, value = await queue.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stopped.set()
        if not worker.done():
            for stream in opened:
                with contextlib.suppress(Exception):
                    stream.close()


class _ToolBlock:
    def __init__(self, tool_use_id: str, name: str) -> None:
        self.tool_use_id = tool_use_id
        self.name = name
        self.fragments: list[str] = []

    def to_event(self) -> ToolCallEvent:
        call = ToolCall.from_json(self.tool_use_id, self.name, "".join(self.fragments))
        return ToolCallEvent(tool_call=call)


class ConverseStreamAssembler:
    """ConverseStream events -> MyIA stream events; tool input fragments become one call.

    `answer_tool` names a structured-output answer tool (`structured.answer_tool`): its
    input fragments are the answer, passed on as text deltas as they arrive."""

    def __init__(self, stopwatch: Stopwatch, model_id: str, answer_tool: str | None = None) -> None:
        self.stopwatch = stopwatch
        self.model_id = model_id
        self.answer_tool = answer_tool
        self._answer_blocks: set[int] = set()
        self._other_tools = False
        self._tools: dict[int, _ToolBlock] = {}
        self._raw_stop: str | None = None
        self._usage = Usage()

    def feed(self, event: dict[str, Any]) -> list[StreamEvent]:
        if "contentBlockStart" in event:
            body = event["contentBlockStart"]
            tool = (body.get("start") or {}).get("toolUse")
            if tool:
                index = int(body.get("contentBlockIndex", 0))
                if self.answer_tool is not None and tool.get("name") == self.answer_tool:
                    self._answer_blocks.add(index)
                else:
                    self._other_tools = True
                    self._tools[index] = _ToolBlock(tool["toolUseId"], tool["name"])
        elif "contentBlockDelta" in event:
            return self._delta(event["contentBlockDelta"])
        elif "contentBlockStop" in event:
            index = int(event["contentBlockStop"].get("contentBlockIndex", 0))
            block = self._tools.pop(index, None)
            if block is not None:
                return [block.to_event()]
        elif "messageStop" in event:
            self._raw_stop = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            self._usage = usage(event["metadata"].get("usage"))
        return []

    def _delta(self, body: dict[str, Any]) -> list[StreamEvent]:
        delta = body.get("delta") or {}
        if "text" in delta:
            self.stopwatch.mark_first_token()
            return [TextDelta(text=delta["text"])] if delta["text"] else []
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):  # extended thinking: text, then a signature
            self.stopwatch.mark_first_token()
            text = reasoning.get("text")
            return [ReasoningDelta(text=text)] if isinstance(text, str) and text else []
        tool = delta.get("toolUse")
        if tool is not None:
            self.stopwatch.mark_first_token()
            index = int(body.get("contentBlockIndex", 0))
            if index in self._answer_blocks:
                fragment = tool.get("input") or ""
                return [TextDelta(text=fragment)] if fragment else []
            block = self._tools.get(index)
            if block is not None:
                block.fragments.append(tool.get("input") or "")
        return []

    def finish(self) -> list[StreamEvent]:
        """Tool blocks the stream never closed, then the end event."""
        events: list[StreamEvent] = [block.to_event() for block in self._tools.values()]
        self._tools.clear()
        reason = stop_reason(self._raw_stop)
        if self._answer_blocks and not self._other_tools:
            reason = StopReason.END_TURN  # the answer tool's call is the message's text
        events.append(
            StreamEnd(
                usage=self._usage,
                stop_reason=reason,
                raw_stop_reason=self._raw_stop,
                latency_ms=self.stopwatch.elapsed_ms(),
                time_to_first_token_ms=self.stopwatch.first_token_ms,
                model_id=self.model_id,
            )
        )
        return events
