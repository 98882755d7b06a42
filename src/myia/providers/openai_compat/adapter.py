"""The OpenAI-compatible adapter: chat.completions on the official `openai` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from myia.providers.adapter import CredentialCheck, ProviderAdapter, Stopwatch
from myia.providers.connection import ProviderConnection
from myia.providers.discovery import DiscoveredModel
from myia.providers.errors import ProviderError
from myia.providers.openai_compat.client import build_client
from myia.providers.openai_compat.errors import map_openai_error
from myia.providers.openai_compat.messages import build_chat_params, finish_reason
from myia.providers.openai_compat.stream import (
    ChunkAssembler,
    logprobs_of,
    reasoning_of,
    usage_from,
)
from myia.providers.types import ChatRequest, ChatResponse, StreamEvent, ToolCall, Usage


def sdk_params(request: ChatRequest) -> dict[str, Any]:
    """`create` keyword arguments; the passed-through fields go as `extra_body`, which the
    SDK merges into the JSON body whatever its version knows of them."""
    params = build_chat_params(request)
    if request.passthrough:
        params["extra_body"] = request.passthrough
    return params


def _discovered(item: dict[str, Any], region: str | None) -> DiscoveredModel:
    return DiscoveredModel(
        model_id=str(item["id"]),
        name=str(item.get("display_name") or item["id"]),
        provider_name=item.get("owned_by") or item.get("organization"),
        region=region,
        raw=item,
    )


class OpenAICompatAdapter(ProviderAdapter):
    def __init__(self, connection: ProviderConnection) -> None:
        super().__init__(connection)
        self.client = build_client(connection)

    async def aclose(self) -> None:
        await self.client.close()

    def _error(self, exc: BaseException) -> ProviderError:
        return map_openai_error(exc, self.slug)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        stopwatch = Stopwatch()
        try:
            completion = await self.client.chat.completions.create(**sdk_params(request))
        except Exception as exc:
            raise self._error(exc) from exc
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        calls = [
            ToolCall.from_json(call.id, call.function.name, call.function.arguments or "")
            for call in (message.tool_calls if message else None) or []
            if call.type == "function"
        ]
        raw_finish = choice.finish_reason if choice else None
        return ChatResponse(
            text=(message.content if message else None) or "",
            reasoning=reasoning_of(message),
            logprobs=logprobs_of(choice) if choice else None,
            tool_calls=calls,
            stop_reason=finish_reason(raw_finish),
            raw_stop_reason=raw_finish,
            usage=usage_from(completion.usage) or Usage(),
            latency_ms=stopwatch.elapsed_ms(),
            model_id=request.model,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        stopwatch = Stopwatch()
        assembler = ChunkAssembler(stopwatch, request.model)
        params = sdk_params(request)
        try:
            chunks = await self.client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            async with chunks:
                async for chunk in chunks:
                    for event in assembler.feed(chunk):
                        yield event
        except Exception as exc:
            raise self._error(exc) from exc
        for event in assembler.finish():
            yield event

    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]:
        try:
            raw = await self.client.models.with_raw_response.list()
        except Exception as exc:
            raise self._error(exc) from exc
        try:
            page = raw.parse()
            items = [model.model_dump() for model in page.data]
        except (AttributeError, TypeError, ValueError):
            # Together answers a bare JSON array, which the SDK's page type cannot hold.
            body = raw.http_response.json()
            items = body if isinstance(body, list) else []
        return [_discovered(item, region) for item in items if isinstance(item, dict)]

    async def validate_credentials(self) -> CredentialCheck:
        stopwatch = Stopwatch()
        try:
            models = await self.list_models()
        except ProviderError as exc:
            return CredentialCheck(
                ok=False,
                category=exc.category,
                detail=exc.message,
                latency_ms=stopwatch.elapsed_ms(),
            )
        return CredentialCheck(
            ok=True, detail=f"{len(models)} models visible", latency_ms=stopwatch.elapsed_ms()
        )
