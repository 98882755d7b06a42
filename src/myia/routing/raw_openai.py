"""A lean adapter for OpenAI-compatible upstreams on the gateway's hot path.

The openai SDK costs milliseconds of CPU per call (request transformation, response models),
more than everything else the gateway does. This adapter speaks the same wire through one
pooled `Http1Client` (`myia.routing.http1`): the request body comes from the SDK adapter's
own mapping (`build_chat_params`), the answer and each SSE chunk are decoded with
`json.loads`, and an error answer becomes the SDK's exception type so that
`map_openai_error` classifies it exactly as the SDK adapter would. Discovery and
credential checks stay on the SDK adapter.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import openai

from myia.providers.adapter import CredentialCheck, ProviderAdapter, Stopwatch
from myia.providers.connection import ApiKeyCredentials, ProviderConnection
from myia.providers.discovery import DiscoveredModel
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.openai_compat.adapter import OpenAICompatAdapter
from myia.providers.openai_compat.client import NO_KEY
from myia.providers.openai_compat.errors import map_openai_error
from myia.providers.openai_compat.messages import (
    build_chat_params,
    finish_reason,
    with_passthrough,
)
from myia.providers.openai_compat.stream import reasoning_of, usage_from
from myia.providers.types import (
    ChatRequest,
    ChatResponse,
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
)
from myia.routing.http1 import Http1Client, UpstreamError, UpstreamTimeout

_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def _delta_events(
    choice: dict[str, Any], tools: dict[int, dict[str, Any]], stopwatch: Stopwatch
) -> list[StreamEvent]:
    """A chunk choice's reasoning and text as events; its tool-call fragments gathered into
    `tools` by index (emitted whole at the end)."""
    events: list[StreamEvent] = []
    delta = choice.get("delta") or {}
    reasoning = reasoning_of(delta)
    if reasoning:
        stopwatch.mark_first_token()
        events.append(ReasoningDelta(text=reasoning))
    if delta.get("content"):
        stopwatch.mark_first_token()
        events.append(TextDelta(text=delta["content"], logprobs=choice.get("logprobs")))
    for fragment in delta.get("tool_calls") or []:
        stopwatch.mark_first_token()
        slot = tools.setdefault(
            int(fragment.get("index") or 0), {"id": "", "name": "", "arguments": ""}
        )
        function = fragment.get("function") or {}
        slot["id"] = fragment.get("id") or slot["id"]
        slot["name"] += function.get("name") or ""
        slot["arguments"] += function.get("arguments") or ""
    return events


class RawOpenAIAdapter(ProviderAdapter):
    def __init__(self, connection: ProviderConnection, client: Http1Client) -> None:
        super().__init__(connection)
        self.client = client
        base = (connection.base_url or "https://api.openai.com/v1").rstrip("/")
        self.url = f"{base}/chat/completions"
        creds = connection.credentials
        key = creds.api_key.get_secret_value() if isinstance(creds, ApiKeyCredentials) else NO_KEY
        self.headers = (
            f"Authorization: Bearer {key.strip()}\r\nContent-Type: application/json\r\n"
        ).encode("latin-1")

    async def _error(self, response: httpx.Response) -> ProviderError:
        await response.aread()
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        message = (error or {}).get("message") if isinstance(error, dict) else None
        status = response.status_code
        default = openai.InternalServerError if status >= 500 else openai.APIStatusError
        # The SDK's exception types read only status, headers and request from the response.
        exc = _STATUS_ERRORS.get(status, default)(
            message or response.text[:500] or f"HTTP {status}",
            response=cast(Any, response),
            body=error,
        )
        return map_openai_error(exc, self.slug)

    def _transport_error(self, exc: UpstreamError) -> ProviderError:
        if isinstance(exc, UpstreamTimeout):
            return ProviderError(ErrorCategory.TIMEOUT, str(exc) or "timed out", provider=self.slug)
        return ProviderError(
            ErrorCategory.NETWORK, f"{type(exc).__name__}: {exc}", provider=self.slug
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        stopwatch = Stopwatch()
        body = json.dumps(with_passthrough(build_chat_params(request), request)).encode()
        try:
            response = await self.client.post(self.url, body, self.headers)
            if response.status_code >= 400:
                raise await self._error(await response.as_httpx())
            raw = await response.read()
        except UpstreamError as exc:
            raise self._transport_error(exc) from exc
        try:
            data = json.loads(raw)
            choice = data["choices"][0] if data.get("choices") else {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderError(
                ErrorCategory.MODEL_ERROR, "the provider's answer is not a chat completion",
                provider=self.slug, code="bad_response",
            ) from exc  # fmt: skip
        message = choice.get("message") or {}
        calls = [
            ToolCall.from_json(
                str(c.get("id", "")),
                str((c.get("function") or {}).get("name", "")),
                str((c.get("function") or {}).get("arguments") or ""),
            )
            for c in message.get("tool_calls") or []
            if isinstance(c, dict) and c.get("type", "function") == "function"
        ]
        raw_finish = choice.get("finish_reason")
        return ChatResponse(
            text=message.get("content") or "",
            reasoning=reasoning_of(message),
            logprobs=choice.get("logprobs"),
            tool_calls=calls,
            stop_reason=finish_reason(raw_finish),
            raw_stop_reason=raw_finish,
            usage=usage_from(data.get("usage")) or Usage(),
            latency_ms=stopwatch.elapsed_ms(),
            model_id=request.model,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        stopwatch = Stopwatch()
        params = {**with_passthrough(build_chat_params(request), request), "stream": True,
                  "stream_options": {"include_usage": True}}  # fmt: skip
        tools: dict[int, dict[str, Any]] = {}
        usage: Usage | None = None
        raw_finish: str | None = None
        done = False
        try:
            response = await self.client.post(self.url, json.dumps(params).encode(), self.headers)
            if response.status_code >= 400:
                raise await self._error(await response.as_httpx())
            lines = response.iter_lines()
            try:
                async for line in lines:
                    # Read on past [DONE] to the end of the answer: the connection is then
                    # back in the pool rather than closed.
                    if done or not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        done = True
                        continue
                    chunk = json.loads(payload)
                    raw_usage = chunk.get("usage")
                    if isinstance(raw_usage, dict):
                        usage = usage_from(raw_usage)
                    for choice in chunk.get("choices") or []:
                        if choice.get("index", 0) != 0:
                            continue
                        for event in _delta_events(choice, tools, stopwatch):
                            yield event
                        raw_finish = choice.get("finish_reason") or raw_finish
            finally:
                await lines.aclose()
        except UpstreamError as exc:
            raise self._transport_error(exc) from exc
        except ValueError as exc:
            raise ProviderError(
                ErrorCategory.MODEL_ERROR, "the provider sent a malformed stream chunk",
                provider=self.slug, code="bad_response",
            ) from exc  # fmt: skip
        for _, slot in sorted(tools.items()):
            yield ToolCallEvent(
                tool_call=ToolCall.from_json(slot["id"], slot["name"], slot["arguments"])
            )
        yield StreamEnd(
            usage=usage or Usage(),
            stop_reason=finish_reason(raw_finish),
            raw_stop_reason=raw_finish,
            latency_ms=stopwatch.elapsed_ms(),
            time_to_first_token_ms=stopwatch.first_token_ms,
            model_id=request.model,
        )

    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]:
        async with OpenAICompatAdapter(self.connection) as sdk:
            return await sdk.list_models(region)

    async def validate_credentials(self) -> CredentialCheck:
        async with OpenAICompatAdapter(self.connection) as sdk:
            return await sdk.validate_credentials()
