"""The Bedrock adapter: Converse for chat, the control plane for discovery.

Every boto3 call runs in a worker thread; the provider layer (`client.py`) decides how the
clients are built, this module only maps MyIA's types to the wire and back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from myia.providers.adapter import CredentialCheck, ProviderAdapter, Stopwatch
from myia.providers.bedrock.client import BedrockClients
from myia.providers.bedrock.converse import (
    build_converse_params,
    parse_answer,
    reasoning_text,
    usage,
)
from myia.providers.bedrock.discovery import discovered_model, profile_info
from myia.providers.bedrock.errors import map_botocore_error
from myia.providers.bedrock.model_ids import normalize_model_id, resolve_model_id
from myia.providers.bedrock.stream import ConverseStreamAssembler, iterate_in_thread
from myia.providers.bedrock.structured import answer_tool
from myia.providers.connection import ProviderConnection
from myia.providers.discovery import DiscoveredModel, InferenceProfileInfo
from myia.providers.errors import ProviderError
from myia.providers.types import ChatRequest, ChatResponse, StreamEvent

R = TypeVar("R")


class BedrockAdapter(ProviderAdapter):
    def __init__(self, connection: ProviderConnection) -> None:
        super().__init__(connection)
        self.clients = BedrockClients(connection)

    async def _call(self, fn: Callable[[], R]) -> R:
        try:
            return await asyncio.to_thread(fn)
        except Exception as exc:
            raise map_botocore_error(exc, self.slug) from exc

    def _prepare(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """(region, converse params); blocking (may read the AWS config for a region)."""
        region = self.clients.region(request.region)
        model_id = resolve_model_id(request.model, request.inference_type, region)
        return region, build_converse_params(request, model_id)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        stopwatch = Stopwatch()

        def call() -> tuple[str, dict[str, Any]]:
            region, params = self._prepare(request)
            response = self.clients.runtime(region).converse(**params)
            return params["modelId"], dict(response)

        model_id, response = await self._call(call)
        text, tool_calls, reason = parse_answer(response, answer_tool(request, model_id))
        raw_stop = response.get("stopReason")
        return ChatResponse(
            text=text,
            reasoning=reasoning_text(response),
            tool_calls=tool_calls,
            stop_reason=reason,
            raw_stop_reason=raw_stop,
            usage=usage(response.get("usage")),
            latency_ms=stopwatch.elapsed_ms(),
            model_id=model_id,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        stopwatch = Stopwatch()

        def prepare() -> tuple[Any, dict[str, Any]]:
            region, params = self._prepare(request)
            return self.clients.runtime(region), params

        runtime, params = await self._call(prepare)
        model_id = params["modelId"]
        assembler = ConverseStreamAssembler(stopwatch, model_id, answer_tool(request, model_id))

        def open_stream() -> Any:
            return runtime.converse_stream(**params)["stream"]

        try:
            async for event in iterate_in_thread(open_stream):
                for item in assembler.feed(dict(event)):
                    yield item
        except Exception as exc:
            raise map_botocore_error(exc, self.slug) from exc
        for item in assembler.finish():
            yield item

    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]:
        """Foundation models of `region`, each with the system profiles that route to it."""

        def call() -> tuple[str, list[dict[str, Any]], list[InferenceProfileInfo]]:
            resolved = self.clients.region(region)
            summaries = self.clients.control(resolved).list_foundation_models()
            profiles = self._profiles(resolved)
            return resolved, [dict(s) for s in summaries.get("modelSummaries", [])], profiles

        resolved, summaries, profiles = await self._call(call)
        by_model: dict[str, list[str]] = {}
        for profile in profiles:
            for model_id in profile.model_ids:
                by_model.setdefault(model_id, []).append(profile.id)
        return [
            discovered_model(
                summary, resolved, by_model.get(normalize_model_id(summary["modelId"]))
            )
            for summary in summaries
        ]

    def _profiles(self, region: str) -> list[InferenceProfileInfo]:
        paginator = self.clients.control(region).get_paginator("list_inference_profiles")
        return [
            profile_info(dict(item))
            for page in paginator.paginate(typeEquals="SYSTEM_DEFINED")
            for item in page.get("inferenceProfileSummaries", [])
        ]

    async def list_inference_profiles(
        self, region: str | None = None
    ) -> list[InferenceProfileInfo]:
        return await self._call(lambda: self._profiles(self.clients.region(region)))

    async def validate_credentials(self) -> CredentialCheck:
        """One cheap signed control-plane call: proves the keys and the Bedrock permission."""
        stopwatch = Stopwatch()

        def call() -> tuple[str, int]:
            region = self.clients.region(None)
            answer = self.clients.control(region).list_foundation_models(byOutputModality="TEXT")
            return region, len(answer.get("modelSummaries", []))

        try:
            region, count = await self._call(call)
        except ProviderError as exc:
            return CredentialCheck(
                ok=False,
                category=exc.category,
                detail=exc.message,
                latency_ms=stopwatch.elapsed_ms(),
            )
        return CredentialCheck(
            ok=True,
            detail=f"{count} text models visible in {region}",
            latency_ms=stopwatch.elapsed_ms(),
        )
