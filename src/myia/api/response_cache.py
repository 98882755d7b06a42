"""The catalog's list reads, answered from their cached bytes in front of FastAPI.

`GET /api/v2/models`, `/api/v2/deployments` and `/api/v2/providers` are read far more often
than the catalog changes, and a page is the same for every signed-in user. FastAPI's part of
such a read (dependencies, a session, query models, serialising 30–70 KB of JSON) cost about
a millisecond of CPU even when the service answered from `CatalogCache`; at 64 concurrent
clients that queued into a p99 of hundreds of milliseconds (bench/load.py).

So the first 200 answer to a (path, query string) is kept, as bytes, in the `CatalogCache`
namespace whose entries it is made of; later requests that authenticate as an active user
get those bytes. Everything else goes to FastAPI, which stays the only code that reads the
catalog and shapes its answers: a miss, a refused token, any other status. Concurrent misses
of one key share one FastAPI answer, so the burst after an invalidation renders each page
once, not once per waiting client. Writes invalidate these entries with the namespace, in
every process, like the rest, and the next read waits for the new page. A verdict recorded
by a certification job (one per item) invalidates softly: while one request re-renders a
page, the others get the page from before that verdict rather than queueing behind the
render (on a saturated machine that render, four database round trips, was the p99).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myia.api.middleware import CACHED_ANSWER
from myia.api.state import AppState
from myia.auth.principal import authenticate_token
from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, PROVIDERS
from myia.errors import AuthenticationError
from myia.observability.context import user_id_var
from myia.telemetry.prom import CACHED_READS


@dataclass(frozen=True, slots=True)
class _Route:
    """What the access log reads (`path_format`) for an answer that skipped the router."""

    path_format: str


# Path -> the namespace whose writes change its answers (the services cache them there too).
_CACHEABLE = {
    "/api/v2/models": (BASE_MODELS, _Route("/api/v2/models")),
    "/api/v2/deployments": (DEPLOYMENTS, _Route("/api/v2/deployments")),
    "/api/v2/providers": (PROVIDERS, _Route("/api/v2/providers")),
}


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(slots=True)
class _Recorder:
    """Collects what FastAPI sends for one request."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def answer(self) -> _Answer:
        return _Answer(self.status, tuple(self.headers), b"".join(self.chunks))


class _NotCacheable(Exception):
    """A non-200 answer: sent to the request (and any that waited on it), never kept."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


async def _send(send: Send, answer: _Answer) -> None:
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


class CatalogResponseCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = _CACHEABLE.get(scope.get("path", "")) if scope["type"] == "http" else None
        if entry is None or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.myia
        if not await self._signed_in(state, scope):
            await self.app(scope, receive, send)  # FastAPI says why, in the API's error shape
            return
        namespace, route = entry
        scope["route"] = route
        rendered = False

        async def render() -> _Answer:
            nonlocal rendered
            rendered = True
            recorder = _Recorder()
            await self.app(scope, receive, recorder)
            answer = recorder.answer()
            if answer.status != 200:
                raise _NotCacheable(answer)
            return answer

        key: Any = ("response", scope["path"], scope.get("query_string", b""))
        try:
            answer = await state.catalog_cache.get_or_load(namespace, key, render, stale_ok=True)
        except _NotCacheable as refused:
            answer = refused.answer
        if not rendered and answer.status == 200:
            scope[CACHED_ANSWER] = True
            CACHED_READS.labels(path=route.path_format).inc()
        await _send(send, answer)

    @staticmethod
    async def _signed_in(state: AppState, scope: Scope) -> bool:
        """An active user's valid token: what every catalog read requires (api/deps.py)."""
        token = _bearer(scope)
        if not token:
            return False
        try:
            user = await authenticate_token(
                token,
                secret=state.settings.jwt_secret,
                cache=state.catalog_cache,
                database=state.database,
            )
        except AuthenticationError:
            return False
        user_id_var.set(user.id)
        return True
