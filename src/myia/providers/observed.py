"""A hook that reports every adapter call to whoever listens (the telemetry service).

The providers layer knows nothing of the database: it describes a finished call as a
`CallEvent` and hands it to the observer installed with `set_call_observer` (the app's
lifespan, the worker and the CLI install the call log). What the adapter cannot know — the
operation, the user, the catalog deployment, the message — comes from `call_scope`, a
context variable the calling service sets around its calls. Without a scope, `list_models`
is discovery and `validate_credentials` credential validation; a chat or a stream is
reported only inside a scope that names its operation (certification sets one), because the
chat service and the gateway log their attempts themselves, with the route and the fallback
that only they know (`myia.telemetry.calls.CallRecord`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from myia.providers.adapter import CredentialCheck, ProviderAdapter, Stopwatch
from myia.providers.discovery import DiscoveredModel
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import ChatRequest, ChatResponse, StreamEnd, StreamEvent


@dataclass(frozen=True)
class CallScope:
    operation: str | None = None
    user_id: str | None = None
    deployment_id: str | None = None
    message_id: str | None = None
    request_id: str | None = None
    price_in_per_1m: float | None = None
    price_out_per_1m: float | None = None
    # False when the caller logs the call itself (with details the adapter cannot see).
    observe: bool = True


@dataclass(frozen=True)
class CallEvent:
    operation: str
    scope: CallScope
    provider: str
    model: str
    region: str | None
    ok: bool
    latency_ms: float
    ttft_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    error: str | None = None
    error_category: str | None = None
    status_code: int | None = None


CallObserver = Callable[[CallEvent], None]

_scope: ContextVar[CallScope | None] = ContextVar("myia_call_scope", default=None)
_NO_SCOPE = CallScope()
_observer: list[CallObserver] = []


def set_call_observer(observer: CallObserver | None) -> None:
    """Install the one process-wide observer (None removes it)."""
    _observer.clear()
    if observer is not None:
        _observer.append(observer)


def current_scope() -> CallScope:
    return _scope.get() or _NO_SCOPE


@contextlib.contextmanager
def call_scope(**fields: Any) -> Iterator[CallScope]:
    """Describe the calls made inside the block (fields not given keep the outer scope's)."""
    scope = replace(current_scope(), **fields)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def bind_call_scope(**fields: Any) -> None:
    """`call_scope` without a block, for a task that makes one kind of call until it ends."""
    _scope.set(replace(current_scope(), **fields))


def _emit(event: CallEvent) -> None:
    if not _observer or not event.scope.observe:
        return
    try:
        _observer[0](event)
    except Exception:  # telemetry must never fail a provider call
        return


def _chat_observed() -> bool:
    """Chat calls are reported only inside a scope naming their operation (module docstring)."""
    scope = current_scope()
    return bool(_observer) and scope.observe and scope.operation is not None


def _failure(exc: BaseException) -> tuple[str, str, int | None]:
    if isinstance(exc, ProviderError):
        return exc.message, exc.category.value, exc.status_code
    if isinstance(exc, TimeoutError):
        return "timed out", ErrorCategory.TIMEOUT.value, None
    return f"{type(exc).__name__}: {exc}", ErrorCategory.UNKNOWN.value, None


class ObservedAdapter(ProviderAdapter):
    """Delegates every call to `inner` and reports it once it has finished."""

    def __init__(self, inner: ProviderAdapter) -> None:
        super().__init__(inner.connection)
        self.inner = inner

    def _event(self, default_op: str, model: str, region: str | None, **fields: Any) -> CallEvent:
        scope = current_scope()
        return CallEvent(
            operation=scope.operation or default_op,
            scope=scope,
            provider=self.slug,
            model=model,
            region=region if region is not None else self.connection.region,
            **fields,
        )

    def _failed(
        self, default_op: str, model: str, region: str | None, watch: Stopwatch, exc: BaseException
    ) -> None:
        error, category, code = _failure(exc)
        _emit(
            self._event(
                default_op,
                model,
                region,
                ok=False,
                latency_ms=watch.elapsed_ms(),
                error=error,
                error_category=category,
                status_code=code,
            )
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if not _chat_observed():
            return await self.inner.chat(request)
        watch = Stopwatch()
        try:
            response = await self.inner.chat(request)
        except BaseException as exc:
            self._failed("chat", request.model, request.region, watch, exc)
            raise
        _emit(
            self._event(
                "chat",
                request.model,
                request.region,
                ok=True,
                latency_ms=response.latency_ms,
                tokens_in=response.usage.input_tokens,
                tokens_out=response.usage.output_tokens,
            )
        )
        return response

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        # Unobserved streams are the inner adapter's own: no extra hop per chunk.
        if not _chat_observed():
            return self.inner.stream(request)
        return self._observed_stream(request)

    async def _observed_stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        watch = Stopwatch()
        end: StreamEnd | None = None
        try:
            async for event in self.inner.stream(request):
                watch.mark_first_token()
                if isinstance(event, StreamEnd):
                    end = event
                yield event
        except BaseException as exc:
            error, category, code = _failure(exc)
            if isinstance(exc, GeneratorExit | asyncio.CancelledError):
                # The consumer stopped reading (a client gone): not the provider's failure.
                error, category = "the caller stopped reading the stream", "CANCELLED"
            _emit(
                self._event(
                    "chat",
                    request.model,
                    request.region,
                    ok=False,
                    latency_ms=watch.elapsed_ms(),
                    ttft_ms=watch.first_token_ms,
                    error=error,
                    error_category=category,
                    status_code=code,
                )
            )
            raise
        usage = end.usage if end is not None else None
        _emit(
            self._event(
                "chat",
                request.model,
                request.region,
                ok=end is not None,
                latency_ms=end.latency_ms if end else watch.elapsed_ms(),
                ttft_ms=end.time_to_first_token_ms if end else watch.first_token_ms,
                tokens_in=usage.input_tokens if usage else None,
                tokens_out=usage.output_tokens if usage else None,
                error=None if end else "stream ended without a final event",
                error_category=None if end else ErrorCategory.MODEL_ERROR.value,
            )
        )

    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]:
        watch = Stopwatch()
        try:
            listed = await self.inner.list_models(region)
        except BaseException as exc:
            self._failed("discovery", "*", region, watch, exc)
            raise
        _emit(self._event("discovery", "*", region, ok=True, latency_ms=watch.elapsed_ms()))
        return listed

    async def validate_credentials(self) -> CredentialCheck:
        watch = Stopwatch()
        try:
            check = await self.inner.validate_credentials()
        except BaseException as exc:
            self._failed("credential_validation", "*", None, watch, exc)
            raise
        _emit(
            self._event(
                "credential_validation",
                "*",
                None,
                ok=check.ok,
                latency_ms=check.latency_ms,
                error=None if check.ok else check.detail,
                error_category=check.category.value if check.category else None,
            )
        )
        return check

    async def aclose(self) -> None:
        await self.inner.aclose()


def observed(adapter: ProviderAdapter) -> ProviderAdapter:
    """`adapter`, reporting its calls when an observer is installed (else unchanged)."""
    if not _observer or isinstance(adapter, ObservedAdapter):
        return adapter
    return ObservedAdapter(adapter)
