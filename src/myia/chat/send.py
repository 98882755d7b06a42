"""Send a message and stream the answer, in two phases that never hold a session open.

`prepare_send` (one short session) checks the chat is the user's, resolves the model to its
certified routes (`myia.routing`), builds the context, loads the user's own credentials
(BYOK) for the candidate providers, and stores the user's message and the assistant's row as
`streaming`. `stream_reply` then calls the provider with fallback and yields events; at the
end (or when the client goes away) a second short session writes the answer with its
telemetry and final status: `complete`, `error`, or `interrupted`. A server that dies
mid-stream leaves the row `streaming`, which the next process reports as `interrupted`.

A message's `latency_ms` and `time_to_first_token_ms` are what the user waited, fallbacks
included; each provider attempt has its own figures in `api_call_logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.chat.context import BuiltContext, Turn, build_context
from myia.chat.schemas import MessagePublic, MessageSend
from myia.chat.service import owned_chat
from myia.credentials.connections import connection_for
from myia.credentials.crypto import CredentialDecryptionError
from myia.credentials.service import get_decrypted
from myia.db.engine import Database
from myia.db.models import BaseModel, Message, ModelDeployment, Provider, UserSettings
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.observability.context import request_id_var
from myia.observability.logging import get_logger
from myia.providers.adapter import ProviderAdapter
from myia.providers.connection import ProviderConnection
from myia.providers.errors import ProviderError
from myia.providers.types import ChatRequest, TextDelta
from myia.routing import (
    AdapterPool,
    Attempt,
    MaxTokensTooLarge,
    Needs,
    NoRouteAnswered,
    ProviderRef,
    Route,
    fitting_routes,
    open_stream_with_fallback,
    resolve_routes,
    route_table,
)
from myia.routing.public_errors import log_failure, no_route_message, provider_error_message
from myia.routing.resolve import why_no_route
from myia.telemetry.attempts import attempt_recorder
from myia.telemetry.cost import priced
from myia.users.settings import Enabled, enabled_models, is_enabled

log = get_logger(__name__)

ChatEvent = tuple[str, dict[str, Any]]
_finishing: set[asyncio.Future[Message]] = set()  # strong references while they run
ConnectionKey = tuple[str, str | None]


def _key(provider: ProviderRef, region: str | None) -> ConnectionKey:
    return provider.slug, region if provider.regional else None


class ChatAdapterPool(AdapterPool):
    """The platform's adapters (from `shared`, the app's pool, when given: its clients and
    their connections outlive one message), except for providers the user brought a
    credential for, whose adapters live for this message only."""

    def __init__(
        self,
        user_connections: dict[ConnectionKey, ProviderConnection],
        shared: AdapterPool | None = None,
    ) -> None:
        super().__init__()
        self._shared = shared
        self._user_connections = user_connections
        self._user_adapters: dict[ConnectionKey, ProviderAdapter] = {}

    def get(self, provider: ProviderRef, region: str | None) -> ProviderAdapter:
        key = _key(provider, region)
        connection = self._user_connections.get(key)
        if connection is None:
            if self._shared is not None:
                return self._shared.get(provider, region)
            return super().get(provider, region)
        if key not in self._user_adapters:
            # Bedrock on the async path, on the shared pool's HTTP client when there is one.
            owner = self._shared if self._shared is not None else self
            self._user_adapters[key] = owner.adapter_for(connection)
        return self._user_adapters[key]

    async def aclose(self) -> None:
        adapters, self._user_adapters = list(self._user_adapters.values()), {}
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(adapter.aclose(), timeout=5)
        await super().aclose()


@dataclass
class PreparedSend:
    user_id: str
    chat_id: str
    user_message_id: str
    message_id: str
    model: str
    routes: list[Route]
    request: ChatRequest
    context: BuiltContext
    user_connections: dict[ConnectionKey, ProviderConnection] = field(repr=False)
    # The id of the request that sent the message: a failed answer names it to the user.
    request_id: str | None = None


async def _routes(
    *, cache: CatalogCache, database: Database, model: str, region: str | None, enabled: Enabled
) -> list[Route]:
    # The single call site that decides which deployment answers a chat.
    if enabled is not None:
        found, _ = (await route_table(cache=cache, database=database)).find(model)
        if found is not None and not is_enabled(found.base_id, enabled):
            raise InvalidInputError(
                "model", f"'{model}' is not enabled in your settings (enabled_models)"
            )
    routes = await resolve_routes(
        cache=cache,
        database=database,
        model=model,
        needs=Needs(streaming=True),
        preferred_region=region,
    )
    if not routes:
        table = await route_table(cache=cache, database=database)
        raise InvalidInputError(
            "model",
            why_no_route(
                table=table, model=model, needs=Needs(streaming=True), allow_uncertified=False
            ),
        )
    return routes


async def _history(session: AsyncSession, chat_id: str) -> list[Turn]:
    rows = await session.execute(
        select(Message.role, Message.content)
        .where(
            Message.chat_id == chat_id,
            Message.role.in_(("user", "assistant")),
            Message.status == "complete",
        )
        .order_by(Message.created_at, Message.id)
    )
    return [Turn(role, content) for role, content in rows.all()]


async def _capabilities(session: AsyncSession, deployment_row_id: str) -> dict[str, Any] | None:
    caps = await session.scalar(
        select(BaseModel.capabilities)
        .join(ModelDeployment, ModelDeployment.base_model_id == BaseModel.id)
        .where(ModelDeployment.id == deployment_row_id)
    )
    return caps if isinstance(caps, dict) else None


async def _user_connections(
    session: AsyncSession, *, user_id: str, routes: Sequence[Route], secret: str | Sequence[str]
) -> dict[ConnectionKey, ProviderConnection]:
    """BYOK: a connection with the user's stored credential for every candidate (provider,
    region) where they have one; the others use the platform's."""
    found: dict[ConnectionKey, ProviderConnection] = {}
    has_credential: dict[str, bool] = {}
    for route in routes:
        key = _key(route.provider, route.region)
        if key in found or has_credential.get(route.provider.slug) is False:
            continue
        provider = await session.get(Provider, route.provider.id)
        if provider is None:
            continue
        try:
            stored = await get_decrypted(
                session=session, user_id=user_id, provider_slug=provider.slug, secret=secret
            )
        except CredentialDecryptionError as exc:
            raise InvalidInputError(
                "credentials",
                f"your stored credential for '{provider.slug}' cannot be decrypted; store it again",
            ) from exc
        has_credential[provider.slug] = stored is not None
        if stored is None:
            continue
        found[key] = await connection_for(
            session=session, provider=provider, region=key[1], user_id=user_id, secret=secret
        )
    return found


async def prepare_send(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    database: Database,
    user_id: str,
    chat_id: str,
    data: MessageSend,
    secret: str | Sequence[str],
) -> PreparedSend:
    """Raises NotFoundError (not the user's chat) or InvalidInputError (no route, too long)."""
    chat = await owned_chat(session, user_id=user_id, chat_id=chat_id)
    region = data.region or await session.scalar(
        select(UserSettings.default_region).where(UserSettings.user_id == user_id)
    )
    routes = await _routes(
        cache=cache,
        database=database,
        model=data.model,
        region=region,
        enabled=await enabled_models(session=session, user_id=user_id),
    )
    try:  # over the model's maximum output: refused by name before anything is written
        routes = fitting_routes(routes, data.max_tokens)
    except MaxTokensTooLarge as exc:
        raise InvalidInputError("max_tokens", str(exc)) from exc
    context = build_context(
        history=await _history(session, chat_id),
        content=data.content,
        system=data.system,
        capabilities=await _capabilities(session, routes[0].deployment_row_id),
        max_tokens=data.max_tokens,
    )
    connections = await _user_connections(session, user_id=user_id, routes=routes, secret=secret)
    now = utcnow()
    question = Message(chat_id=chat_id, role="user", content=data.content, created_at=now)
    # A microsecond later, so that ordering by time keeps the answer after its question.
    answer = Message(
        chat_id=chat_id,
        role="assistant",
        content="",
        status="streaming",
        created_at=now + timedelta(microseconds=1),
    )
    session.add_all([question, answer])
    chat.updated_at = now
    await session.commit()
    request = ChatRequest(
        model=data.model,
        messages=context.messages(),
        system=data.system,
        max_tokens=data.max_tokens,
        temperature=data.temperature,
    )
    return PreparedSend(
        user_id=user_id,
        chat_id=chat_id,
        user_message_id=question.id,
        message_id=answer.id,
        model=data.model,
        routes=routes,
        request=request,
        context=context,
        user_connections=connections,
        request_id=request_id_var.get(),
    )


@dataclass
class _Outcome:
    status: str = "error"
    parts: list[str] = field(default_factory=list)
    route: Route | None = None
    attempt: Attempt | None = None
    error: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None


def _sent_context(prepared: PreparedSend, route: Route | None) -> dict[str, Any]:
    sent = prepared.context.record()
    sent.update(
        model=prepared.model,
        deployment=route.deployment if route else None,
        provider=route.provider.slug if route else None,
        region=route.region if route else None,
        max_tokens=prepared.request.max_tokens,
        temperature=prepared.request.temperature,
    )
    return sent


async def _finalize(database: Database, prepared: PreparedSend, outcome: _Outcome) -> Message:
    route, attempt = outcome.route, outcome.attempt
    tokens_in = attempt.tokens_in if attempt else None
    tokens_out = attempt.tokens_out if attempt else None
    cost = priced(
        tokens_in, tokens_out, route.price_in if route else None, route.price_out if route else None
    )
    async with database.session() as session:
        message = await session.get(Message, prepared.message_id)
        if message is None:  # the chat was deleted while it streamed
            return Message(
                id=prepared.message_id,
                chat_id=prepared.chat_id,
                role="assistant",
                content="".join(outcome.parts),
                status=outcome.status,
                created_at=utcnow(),
            )
        message.content = "".join(outcome.parts)
        message.status = outcome.status
        message.error = outcome.error
        message.deployment_id = route.deployment_row_id if route else None
        message.region = route.region if route else None
        message.tokens_in = tokens_in
        message.tokens_out = tokens_out
        message.cost = cost.cost if attempt and attempt.ok else None
        message.cost_note = cost.reason if attempt and attempt.ok else None
        message.latency_ms = round(outcome.latency_ms) if outcome.latency_ms is not None else None
        message.time_to_first_token_ms = (
            round(outcome.ttft_ms) if outcome.ttft_ms is not None else None
        )
        message.sent_context = _sent_context(prepared, route)
        await session.commit()
        return message


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


async def stream_reply(
    *, database: Database, prepared: PreparedSend, shared_pool: AdapterPool | None = None
) -> AsyncIterator[ChatEvent]:
    """Events: `start`, then `delta` (text) as it arrives, then `done` (the stored message)
    or `error` followed by `done`."""
    start = time.perf_counter()
    outcome = _Outcome()
    attempts: list[Attempt] = []
    pool = ChatAdapterPool(prepared.user_connections, shared_pool)
    record = attempt_recorder(
        operation="chat",
        user_id=prepared.user_id,
        message_id=prepared.message_id,
        also=attempts.append,
    )
    events: AsyncIterator[Any] | None = None
    try:
        yield (
            "start",
            {"message_id": prepared.message_id, "user_message_id": prepared.user_message_id},
        )
        try:
            opened = await open_stream_with_fallback(
                routes=prepared.routes, request=prepared.request, pool=pool, record=record
            )
        except NoRouteAnswered as exc:
            # The user (and the stored message) gets our words; the provider's, the log.
            outcome.error = no_route_message(exc, request_id=prepared.request_id)
            log_failure(
                log,
                "chat upstream failed",
                exc,
                request_id=prepared.request_id,
                message_id=prepared.message_id,
            )
        else:
            outcome.route = opened.route
            events = opened.__aiter__()
            try:
                async for event in events:
                    if isinstance(event, TextDelta) and event.text:
                        if outcome.ttft_ms is None:
                            outcome.ttft_ms = _ms(start)
                        outcome.parts.append(event.text)
                        yield "delta", {"text": event.text}
                outcome.status = "complete"
            except ProviderError as exc:
                outcome.error = provider_error_message(
                    exc, request_id=prepared.request_id, route=opened.route
                )
                log_failure(
                    log,
                    "chat stream broke",
                    exc,
                    request_id=prepared.request_id,
                    message_id=prepared.message_id,
                )
            outcome.attempt = attempts[-1] if attempts else None
        outcome.latency_ms = _ms(start)
        if outcome.status != "complete":
            yield "error", {"error": outcome.error or "the answer did not complete"}
    except BaseException:
        # The client went away (or the server is stopping): keep what arrived, say so.
        outcome.status, outcome.latency_ms = "interrupted", _ms(start)
        # A task of its own: the cancellation that stops this generator must not stop the
        # write (anyio cancels every later await in the scope).
        task = asyncio.ensure_future(_wrap_up(database, prepared, outcome, events, pool))
        _finishing.add(task)
        task.add_done_callback(_finishing.discard)
        with contextlib.suppress(BaseException):
            await asyncio.shield(task)
        raise
    message = await _wrap_up(database, prepared, outcome, events, pool)
    yield "done", MessagePublic.model_validate(message).model_dump(mode="json")


async def _wrap_up(
    database: Database,
    prepared: PreparedSend,
    outcome: _Outcome,
    events: AsyncIterator[Any] | None,
    pool: AdapterPool,
) -> Message:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()  # records the cut attempt in the call log
    try:
        return await _finalize(database, prepared, outcome)
    finally:
        await pool.aclose()
