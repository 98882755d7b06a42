"""The upstream call over a list of routes: the first that answers wins.

A route is abandoned for the next only before anything was sent to the caller (for a stream:
before its first event) and only for failures another route may not share: throttling,
timeouts, network errors, 5xx, and the route-specific refusals (credentials, access, region,
quota). A VALIDATION error is the request's own fault and would fail everywhere, so it ends
the call at once. Every attempt, failed or not, goes to the `AttemptRecorder` (the call log).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import ChatRequest, ChatResponse, StreamEnd, StreamEvent
from myia.routing.output_limit import fitting_routes
from myia.routing.params import fill_params
from myia.routing.pool import AdapterPool
from myia.routing.resolve import GLOBAL_REGION
from myia.routing.types import Route

_ROUTE_SPECIFIC = frozenset(
    {
        ErrorCategory.AUTH,
        ErrorCategory.ACCESS_DENIED,
        ErrorCategory.NOT_AVAILABLE_IN_REGION,
        ErrorCategory.QUOTA,
        ErrorCategory.NETWORK,
        ErrorCategory.TIMEOUT,
        ErrorCategory.THROTTLED,
    }
)


def falls_back(error: ProviderError) -> bool:
    if error.category is ErrorCategory.VALIDATION:
        return False
    return error.retryable or error.category in _ROUTE_SPECIFIC


@dataclass(frozen=True, slots=True)
class Attempt:
    """One provider call made for a request (what `api_call_logs` records)."""

    route: Route
    ok: bool
    latency_ms: float
    streamed: bool
    time_to_first_token_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    error: ProviderError | None = None
    # Set on a failed attempt when another route was tried after it.
    fell_back: bool = False


AttemptRecorder = Callable[[Attempt], None]


def _ignore(_attempt: Attempt) -> None:
    return None


class NoRouteAnswered(Exception):
    """Every candidate failed (or the first failure could not fall back)."""

    def __init__(self, attempts: list[Attempt]) -> None:
        self.attempts = attempts
        last = attempts[-1].error if attempts else None
        self.last_error = last
        parts = [
            f"{a.route.provider.slug}/{a.route.deployment}@{a.route.region or 'default'}: "
            f"{a.error.category.value if a.error else '?'} {a.error.message if a.error else ''}"
            for a in attempts
        ]
        super().__init__("; ".join(parts) or "no route")


def request_for(route: Route, request: ChatRequest) -> ChatRequest:
    region = None if route.region in (None, GLOBAL_REGION) else route.region
    update: dict[str, Any] = {
        "model": route.call_id or route.deployment,
        "region": region,
        "inference_type": route.inference_type,
    }
    if route.params:  # most routes have none: no cost beyond this test
        fill_params(update, request, route.params)
    return request.model_copy(update=update)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


async def call_with_fallback(
    *,
    routes: list[Route],
    request: ChatRequest,
    pool: AdapterPool,
    record: AttemptRecorder = _ignore,
) -> tuple[Route, ChatResponse, int]:
    """(the route that answered, its response, how many routes failed before it).

    Raises `MaxTokensTooLarge` before any call when no route can give `max_tokens`."""
    routes = fitting_routes(routes, request.max_tokens, param=request.token_limit_param)
    attempts: list[Attempt] = []
    for index, route in enumerate(routes):
        start = time.perf_counter()
        try:
            adapter = pool.get(route.provider, route.region)
            response = await adapter.chat(request_for(route, request))
        except ProviderError as exc:
            attempt = Attempt(
                route, False, _ms(start), False, error=exc, fell_back=index + 1 < len(routes)
            )
            attempts.append(attempt)
            record(attempt)
            if not falls_back(exc):
                break
            continue
        record(
            Attempt(
                route,
                True,
                response.latency_ms,
                False,
                tokens_in=response.usage.input_tokens,
                tokens_out=response.usage.output_tokens,
            )
        )
        return route, response, len(attempts)
    raise NoRouteAnswered(attempts)


class OpenedStream:
    """A stream whose first event has arrived: iterate it to get every event, first included.

    The attempt is recorded when the stream ends (with the provider's usage) or breaks.
    """

    def __init__(
        self,
        route: Route,
        first: StreamEvent,
        rest: AsyncIterator[StreamEvent],
        *,
        start: float,
        first_ms: float,
        failed_before: int,
        record: AttemptRecorder,
    ) -> None:
        self.route = route
        self.failed_before = failed_before
        self._first: StreamEvent | None = first
        self._rest = rest
        self._start = start
        self._first_ms = first_ms
        self._record = record
        self._done = False

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        end: StreamEnd | None = None
        try:
            if self._first is not None:
                first, self._first = self._first, None
                if isinstance(first, StreamEnd):
                    end = first
                yield first
            async for event in self._rest:
                if isinstance(event, StreamEnd):
                    end = event
                yield event
        except ProviderError as exc:
            self._finish(error=exc)
            raise
        finally:
            if not self._done:
                self._finish(end=end)

    def _finish(self, *, end: StreamEnd | None = None, error: ProviderError | None = None) -> None:
        self._done = True
        self._record(
            Attempt(
                self.route,
                error is None and end is not None,
                _ms(self._start),
                True,
                time_to_first_token_ms=self._first_ms,
                tokens_in=end.usage.input_tokens if end else None,
                tokens_out=end.usage.output_tokens if end else None,
                error=error,
            )
        )

    async def aclose(self) -> None:
        closer = getattr(self._rest, "aclose", None)
        if closer is not None:
            await closer()


async def open_stream_with_fallback(
    *,
    routes: list[Route],
    request: ChatRequest,
    pool: AdapterPool,
    record: AttemptRecorder = _ignore,
) -> OpenedStream:
    """The first route whose stream produced an event; earlier failures fell back.

    Raises `MaxTokensTooLarge` before any call when no route can give `max_tokens`."""
    routes = fitting_routes(routes, request.max_tokens, param=request.token_limit_param)
    attempts: list[Attempt] = []
    for index, route in enumerate(routes):
        start = time.perf_counter()
        try:
            adapter = pool.get(route.provider, route.region)
            events = adapter.stream(request_for(route, request)).__aiter__()
            first = await events.__anext__()
        except StopAsyncIteration:
            exc = ProviderError(ErrorCategory.MODEL_ERROR, "the stream ended without an event")
        except ProviderError as error:
            exc = error
        else:
            return OpenedStream(
                route,
                first,
                events,
                start=start,
                first_ms=_ms(start),
                failed_before=len(attempts),
                record=record,
            )
        attempt = Attempt(
            route, False, _ms(start), True, error=exc, fell_back=index + 1 < len(routes)
        )
        attempts.append(attempt)
        record(attempt)
        if not falls_back(exc):
            break
    raise NoRouteAnswered(attempts)
