"""How certification tests call a deployment: one place that owns throttling and transients.

Neither a throttle nor a transient provider error is a verdict about the model:

- a throttled call waits for the provider's retry-after (or the limiter's backoff), tells
  the rate limiter so it slows down, and tries again until its time budget runs out — then
  `ThrottledOut` sends the work item back to the queue without charging an attempt;
- a retryable error (5xx, timeout, connection reset: `ProviderError.retryable`) is tried
  again after an exponential backoff with full jitter, at most `transient_attempts` times
  and within `transient_budget_s`; past that `TransientOut` ends the current test as
  *inconclusive* (see `runner.py`), never as failed.

Latency is the model's: each call is timed from the request being sent to its last byte,
after the limiter admitted it, so limiter waits and retry sleeps never count.
"""

from __future__ import annotations

import asyncio
import random
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
    Usage,
)

T = TypeVar("T")
DEFAULT_THROTTLE_WAIT_S = 1.0
TRANSIENT_ATTEMPTS = 8
TRANSIENT_BUDGET_S = 60.0
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 4.0


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


class TransientOut(ThrottledOut):
    """Transient errors outlasted the retry budget.

    Inside a test it makes the test inconclusive; raised out of the suite (a core test could
    not be decided) it is a `ThrottledOut`, so the queue gives the item back without
    charging an attempt.
    """

    def __init__(self, message: str, error: ProviderError | None = None) -> None:
        super().__init__(message)
        self.error = error


def is_transient(exc: ProviderError) -> bool:
    return exc.retryable and exc.category is not ErrorCategory.THROTTLED


@dataclass(frozen=True)
class CallTiming:
    """One successful provider call: request sent → last byte, and to the first token."""

    latency_ms: float
    time_to_first_token_ms: float | None = None


@dataclass
class Meter:
    """Tokens the provider reported for an item's calls, kept by whoever runs the item so
    that what a run spent is known however it ends (myia.certification.spend)."""

    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    # What a committed settlement already charged: a second settlement charges only the rest.
    settled_in: int = 0
    settled_out: int = 0

    def add(self, usage: Usage) -> None:
        self.tokens_in += usage.input_tokens
        self.tokens_out += usage.output_tokens
        self.calls += 1

    def pending(self) -> tuple[int, int]:
        return self.tokens_in - self.settled_in, self.tokens_out - self.settled_out

    def mark(self) -> None:
        self.settled_in, self.settled_out = self.tokens_in, self.tokens_out


@dataclass
class StreamResult:
    text: str
    deltas: int
    tool_calls: list[ToolCall]
    end: StreamEnd
    time_to_first_token_ms: float | None = None


def backoff_s(attempt: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base × 2^attempt)] (attempt counts from 0)."""
    return rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


@dataclass
class Probe:
    adapter: ProviderAdapter
    model: str
    region: str | None
    inference_type: InferenceType
    limiter: Limiter = field(default_factory=NoLimit)
    throttle_budget_s: float = 120.0
    # The item's timeout measures the model, not the queue in front of it: time spent
    # waiting for the rate limiter, a retry-after or a transient backoff pushes it back.
    deadline: asyncio.Timeout | None = None
    transient_attempts: int = TRANSIENT_ATTEMPTS
    transient_budget_s: float = TRANSIENT_BUDGET_S
    throttled: int = 0
    transient: int = 0
    calls: list[CallTiming] = field(default_factory=list)
    jitter: random.Random = field(default_factory=random.Random)
    meter: Meter = field(default_factory=Meter)

    def _extend(self, seconds: float) -> None:
        when = self.deadline.when() if self.deadline is not None else None
        if self.deadline is not None and when is not None and seconds > 0:
            self.deadline.reschedule(when + seconds)

    def request(self, **fields: Any) -> ChatRequest:
        return ChatRequest(
            model=self.model, region=self.region, inference_type=self.inference_type, **fields
        )

    async def _pause(self, seconds: float) -> None:
        self._extend(seconds)
        await asyncio.sleep(seconds)

    async def _call(self, attempt: Callable[[], Awaitable[tuple[T, CallTiming]]]) -> T:
        started = time.monotonic()
        throttle_ends = started + self.throttle_budget_s
        transient_ends = started + self.transient_budget_s
        failures = 0
        while True:
            waited_from = time.monotonic()
            await self.limiter.acquire()
            self._extend(time.monotonic() - waited_from)
            try:
                result, timing = await attempt()
            except ProviderError as exc:
                if exc.category is ErrorCategory.THROTTLED:
                    self.throttled += 1
                    wait = await self.limiter.on_throttle(exc.retry_after_s)
                    if time.monotonic() + wait > throttle_ends:
                        raise ThrottledOut(str(exc)) from exc
                    await self._pause(wait)
                    continue
                if not is_transient(exc):
                    raise
                self.transient += 1
                wait = backoff_s(failures, self.jitter)
                failures += 1
                if failures >= self.transient_attempts or time.monotonic() + wait > transient_ends:
                    raise TransientOut(
                        f"{failures} transient errors in a row, last {exc}", exc
                    ) from exc
                await self._pause(wait)
                continue
            await self.limiter.on_success()
            self.calls.append(timing)
            return result

    async def chat(self, **fields: Any) -> ChatResponse:
        request = self.request(**fields)

        async def once() -> tuple[ChatResponse, CallTiming]:
            sent = time.perf_counter()
            response = await self.adapter.chat(request)
            self.meter.add(response.usage)
            return response, CallTiming(round((time.perf_counter() - sent) * 1000, 1))

        return await self._call(once)

    async def stream(self, **fields: Any) -> StreamResult:
        request = self.request(**fields)

        async def consume() -> tuple[StreamResult, CallTiming]:
            parts: list[str] = []
            calls: list[ToolCall] = []
            end: StreamEnd | None = None
            first: float | None = None
            sent = time.perf_counter()
            async for event in self.adapter.stream(request):
                if isinstance(event, TextDelta):
                    if first is None:
                        first = time.perf_counter()
                    parts.append(event.text)
                elif isinstance(event, ToolCallEvent):
                    calls.append(event.tool_call)
                elif isinstance(event, StreamEnd):
                    end = event
            done = time.perf_counter()
            if end is not None:
                self.meter.add(end.usage)
            if end is None:
                raise ProviderError(
                    ErrorCategory.MODEL_ERROR,
                    "stream ended without a final event",
                    provider=self.adapter.slug,
                )
            ttft = round((first - sent) * 1000, 1) if first is not None else None
            timing = CallTiming(round((done - sent) * 1000, 1), ttft)
            return StreamResult("".join(parts), len(parts), calls, end, ttft), timing

        return await self._call(consume)
