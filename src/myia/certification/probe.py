"""How certification tests call a deployment: one place that owns throttling.

A throttled call is never a model failure: the probe waits for the provider's retry-after
(or the limiter's backoff), tells the rate limiter so it slows down, and tries again until
its time budget runs out — then it raises `ThrottledOut` so the work item is retried later
instead of being recorded as failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from myia.db.enums import InferenceType
from myia.providers.adapter import ProviderAdapter
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallEvent,
)

T = TypeVar("T")
DEFAULT_THROTTLE_WAIT_S = 1.0


class Limiter(Protocol):
    """A rate limiter for one (provider, region); see myia.queue.ratelimit."""

    async def acquire(self) -> None: ...

    async def on_success(self) -> None: ...

    async def on_throttle(self, retry_after_s: float | None) -> float:
        """Record a throttle; return how long to wait before retrying."""
        ...


class NoLimit:
    async def acquire(self) -> None:
        return None

    async def on_success(self) -> None:
        return None

    async def on_throttle(self, retry_after_s: float | None) -> float:
        return retry_after_s if retry_after_s is not None else DEFAULT_THROTTLE_WAIT_S


class ThrottledOut(Exception):
    """Throttled for longer than the probe's budget: retry the item later."""


@dataclass
class StreamResult:
    text: str
    deltas: int
    tool_calls: list[ToolCall]
    end: StreamEnd


@dataclass
class Probe:
    adapter: ProviderAdapter
    model: str
    region: str | None
    inference_type: InferenceType
    limiter: Limiter = field(default_factory=NoLimit)
    throttle_budget_s: float = 120.0
    # The item's timeout measures the model, not the queue in front of it: time spent
    # waiting for the rate limiter or a retry-after pushes this deadline back.
    deadline: asyncio.Timeout | None = None
    throttled: int = 0

    def _extend(self, seconds: float) -> None:
        when = self.deadline.when() if self.deadline is not None else None
        if self.deadline is not None and when is not None and seconds > 0:
            self.deadline.reschedule(when + seconds)

    def request(self, **fields: Any) -> ChatRequest:
        return ChatRequest(
            model=self.model, region=self.region, inference_type=self.inference_type, **fields
        )

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        budget_ends = time.monotonic() + self.throttle_budget_s
        while True:
            waited_from = time.monotonic()
            await self.limiter.acquire()
            self._extend(time.monotonic() - waited_from)
            try:
                result = await attempt()
            except ProviderError as exc:
                if exc.category is not ErrorCategory.THROTTLED:
                    raise
                self.throttled += 1
                wait = await self.limiter.on_throttle(exc.retry_after_s)
                if time.monotonic() + wait > budget_ends:
                    raise ThrottledOut(str(exc)) from exc
                self._extend(wait)
                await asyncio.sleep(wait)
                continue
            await self.limiter.on_success()
            return result

    async def chat(self, **fields: Any) -> ChatResponse:
        request = self.request(**fields)
        return await self._call(lambda: self.adapter.chat(request))

    async def stream(self, **fields: Any) -> StreamResult:
        request = self.request(**fields)

        async def consume() -> StreamResult:
            parts: list[str] = []
            calls: list[ToolCall] = []
            end: StreamEnd | None = None
            async for event in self.adapter.stream(request):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                elif isinstance(event, ToolCallEvent):
                    calls.append(event.tool_call)
                elif isinstance(event, StreamEnd):
                    end = event
            if end is None:
                raise ProviderError(
                    ErrorCategory.MODEL_ERROR,
                    "stream ended without a final event",
                    provider=self.adapter.slug,
                )
            return StreamResult("".join(parts), len(parts), calls, end)

        return await self._call(consume)
