"""One gateway request: authenticate the key, route, call upstream with fallback, answer.

Nothing here touches the database on the hot path: keys and the route table come from the
`CatalogCache` (loaded once, dropped on change in every process through Redis), upstream
adapters come from a long-lived `AdapterPool`, and call-log rows are queued for the batched
writer. A stream's first event is awaited before the response starts, so a failure before
the first byte can still fall back and the headers name the route that really answered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from myia.apikeys.service import KeyOwner, authenticate_key
from myia.catalog.cache import CatalogCache
from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.errors import AuthenticationError
from myia.gateway.errors import GatewayError, from_no_route, from_provider, invalid, unauthorized
from myia.gateway.fields import Refused, refusal
from myia.gateway.image_fetch import ImageUrls
from myia.gateway.settings import GatewaySettings
from myia.gateway.wire_in import GatewayRequest, parse_request
from myia.gateway.wire_out import DONE, ChunkWriter, completion
from myia.observability.context import request_id_var
from myia.observability.logging import get_logger
from myia.providers.errors import ProviderError
from myia.providers.types import ReasoningDelta, StreamEnd, TextDelta, ToolCallEvent
from myia.routing import (
    AdapterPool,
    NoRouteAnswered,
    OpenedStream,
    Route,
    call_with_fallback,
    open_stream_with_fallback,
    route_table,
)
from myia.routing.public_errors import log_failure
from myia.routing.resolve import select_routes, why_no_route
from myia.routing.types import Needs
from myia.telemetry.attempts import attempt_recorder
from myia.users.settings import is_enabled

log = get_logger(__name__)
REGION_HEADER = "x-myia-region"


@dataclass
class GatewayAnswer:
    """A JSON body or an SSE byte stream, with the headers that name the route."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None


def without_bedrock(routes: list[Route], refused: Refused) -> list[Route]:
    """The routes left for a request carrying a field Bedrock refuses (`myia.gateway.fields`);
    none left is that field's 400, naming where it is."""
    kept = [route for route in routes if route.provider.auth_type is not AuthType.AWS_CREDENTIALS]
    if not kept:
        spec = refused.spec
        where = "on Bedrock, the only upstream of this model"
        raise refusal(spec, spec.bedrock, where, param=refused.param)
    return kept


def route_headers(route: Route, failed_before: int) -> dict[str, str]:
    return {
        "x-myia-deployment": route.deployment,
        "x-myia-provider": route.provider.slug,
        "x-myia-region": route.region or "default",
        "x-myia-certified": "true" if route.certified else "false",
        "x-myia-fallbacks": str(failed_before),
    }


class Gateway:
    def __init__(
        self,
        *,
        cache: CatalogCache,
        database: Database,
        settings: GatewaySettings | None = None,
        pool: AdapterPool | None = None,
    ) -> None:
        self.cache = cache
        self.database = database
        self.settings = settings or GatewaySettings()
        self.pool = pool or AdapterPool(timeout_s=self.settings.upstream_timeout_s)
        self.image_urls = ImageUrls(self.settings)

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def authenticate(self, authorization: str | None) -> KeyOwner:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise unauthorized("no API key: send 'Authorization: Bearer <your MyIA API key>'")
        try:
            return await authenticate_key(cache=self.cache, database=self.database, key=key.strip())
        except AuthenticationError as exc:
            raise unauthorized(f"{exc}; create one with POST /api/v2/api-keys") from exc

    async def models(self, owner: KeyOwner | None = None) -> bytes:
        """GET /v1/models: the models with at least one routable deployment (and, for
        `owner`, only those their enabled_models setting leaves in)."""
        table = await route_table(cache=self.cache, database=self.database)
        data = []
        for entry in table.models.values():
            if owner is not None and not is_enabled(entry.base_id, owner.enabled_models):
                continue
            routes = select_routes(
                table=table,
                model=entry.id,
                needs=Needs(),
                allow_uncertified=self.settings.allow_uncertified,
                allowed_regions=self.settings.allowed_regions,
            )
            if routes:
                data.append(
                    {
                        "id": entry.id,
                        "object": "model",
                        "created": entry.created,
                        "owned_by": entry.vendor,
                    }
                )
        data.sort(key=lambda item: str(item["id"]))
        return json.dumps({"object": "list", "data": data}).encode()

    async def model(self, model_id: str, owner: KeyOwner) -> bytes:
        """GET /v1/models/{id}: the listing's object for that id (or for the model another
        accepted name — base model name, deployment id — resolves to), so that a model is
        retrievable exactly when `models` lists it for this key."""
        listed = {item["id"]: item for item in json.loads(await self.models(owner))["data"]}
        item = listed.get(model_id)
        if item is None:
            table = await route_table(cache=self.cache, database=self.database)
            entry, _ = table.find(model_id)
            item = listed.get(entry.id) if entry is not None else None
        if item is None:
            raise GatewayError(
                404,
                f"The model '{model_id}' does not exist or you do not have access to it "
                "(GET /v1/models lists the models this key may use).",
                param="model",
                code="model_not_found",
            )
        return json.dumps(item).encode()

    def _preferred_region(self, owner: KeyOwner, header: str | None) -> str | None:
        if header:
            allowed = self.settings.allowed_regions
            if allowed is not None and header not in allowed:
                raise invalid(
                    f"region {header!r} is not offered here ({', '.join(sorted(allowed))})",
                    param="X-MyIA-Region",
                )
            return header
        return owner.default_region

    async def routes_for(
        self, request: GatewayRequest, *, owner: KeyOwner, region_header: str | None
    ) -> list[Route]:
        table = await route_table(cache=self.cache, database=self.database)
        found, _ = table.find(request.model)
        if found is not None and not is_enabled(found.base_id, owner.enabled_models):
            # Refused as an unknown model, consistent with the listing that leaves it out.
            raise GatewayError(
                404,
                f"the model '{request.model}' is not enabled in your settings (enabled_models)",
                param="model",
                code="model_not_found",
            )
        routes = select_routes(
            table=table,
            model=request.model,
            needs=request.needs,
            preferred_region=self._preferred_region(owner, region_header),
            allow_uncertified=self.settings.allow_uncertified,
            allowed_regions=self.settings.allowed_regions,
            input_tokens=request.input_chars // 4 + 1,
            output_tokens=request.chat.max_tokens or self.settings.assumed_output_tokens,
        )
        if not routes:
            message = why_no_route(
                table=table,
                model=request.model,
                needs=request.needs,
                allow_uncertified=self.settings.allow_uncertified,
            )
            raise GatewayError(
                404 if found is None else 400,
                message,
                param="model",
                code="model_not_found" if found is None else "model_not_routable",
            )
        if request.bedrock_refused is not None:
            routes = without_bedrock(routes, request.bedrock_refused)
        return routes

    async def complete(
        self, *, owner: KeyOwner, body: bytes, region_header: str | None
    ) -> GatewayAnswer:
        request = parse_request(body)
        request_id = request_id_var.get()
        routes = await self.routes_for(request, owner=owner, region_header=region_header)
        if request.needs.vision:  # image URLs fetched once the request is known routable
            request = replace(request, chat=await self.image_urls.resolve(request.chat))
        # `user` / `safety_identifier` go on each attempt's call-log row (`end_user`).
        record = attempt_recorder(
            operation="gateway", user_id=owner.user_id, end_user=request.end_user
        )
        try:
            if not request.stream:
                route, response, failed = await call_with_fallback(
                    routes=routes, request=request.chat, pool=self.pool, record=record
                )
                return GatewayAnswer(
                    headers=route_headers(route, failed),
                    body=completion(response, model=request.model),
                )
            opened = await open_stream_with_fallback(
                routes=routes, request=request.chat, pool=self.pool, record=record
            )
        except NoRouteAnswered as exc:
            # The user gets the category and the request id; the provider's words, the log.
            log_failure(log, "gateway upstream failed", exc, request_id=request_id)
            raise from_no_route(exc, request_id=request_id) from exc
        return GatewayAnswer(
            headers=route_headers(opened.route, opened.failed_before),
            stream=sse(
                opened,
                model=request.model,
                include_usage=request.include_usage,
                request_id=request_id,
            ),
        )


async def sse(
    opened: OpenedStream, *, model: str, include_usage: bool, request_id: str | None = None
) -> AsyncIterator[bytes]:
    """Each provider event becomes one SSE frame, written as it arrives."""
    writer = ChunkWriter(model=model)
    yield writer.role()
    try:
        async for event in opened:
            if isinstance(event, TextDelta):
                if event.text:
                    yield writer.text(event.text, event.logprobs)
            elif isinstance(event, ReasoningDelta):
                yield writer.reasoning(event.text)
            elif isinstance(event, ToolCallEvent):
                yield writer.tool_call(event.tool_call)
            elif isinstance(event, StreamEnd):
                yield writer.finish(event.stop_reason)
                if include_usage:
                    yield writer.usage(event.usage)
    except ProviderError as exc:
        # Bytes are already out: the status cannot change, so the error goes in the stream,
        # as OpenAI's own API does, with our words and the request id.
        log_failure(log, "gateway stream broke", exc, request_id=request_id)
        error = from_provider(exc, request_id=request_id, route=opened.route)
        yield b"data: " + error.json_bytes() + b"\n\n"
        return
    yield DONE
