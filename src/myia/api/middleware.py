"""Request id and access log for every request (pure ASGI: works with streaming bodies).

The access log is the one `request` event per request: no query string, no headers and no
raw path (see `_path_of`), because those are where a client's secret would travel.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myia.observability.context import request_id_var, user_id_var
from myia.observability.logging import get_logger
from myia.observability.redaction import redact_text

log = get_logger("myia.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Lower-case words like `api`, `static`, `favicon.ico`; keys are longer or mixed-case.
_PLAIN_SEGMENT = re.compile(r"^[a-z0-9._\-]{0,20}$")
# A gateway call that succeeded is already an `api_call_logs` row with its request id; its
# access line (JSON on stdout and a `logs` row) cost more CPU than the rest of the call, so
# it is logged at DEBUG. Its failures stay at INFO/WARNING.
_QUIET_WHEN_OK = frozenset({"/v1/chat/completions", "/v1/models"})
# Set in the scope by a layer that answered from a cache (api/response_cache.py): such a read
# costs less than its access line (a JSON line and a `logs` row: 0.14 ms against 0.3 ms of
# CPU in bench/load.py), and thousands a second would fill `logs`; it is counted in
# Prometheus instead and logged at DEBUG.
CACHED_ANSWER = "myia.cached_answer"


def _path_of(scope: Scope) -> str:
    """The matched route's template, or only the first segment of a path nothing matched.

    A client can put anything in a URL, keys included (`/api/credentials/<key>` by mistake);
    the template and the first segment of an unknown path never carry what it typed.
    """
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    first, _, rest = str(scope.get("path", "")).lstrip("/").partition("/")
    return "/" + (first if _PLAIN_SEGMENT.match(first) else "***") + ("/…" if rest else "")


def _request_id(incoming: bytes) -> str:
    """The client's id when well-formed; a new one otherwise, or when it looks like a key
    (it is echoed in the response and stored with every log line of the request)."""
    candidate = incoming.decode("latin-1")
    if _VALID_ID.match(candidate) and redact_text(candidate) == candidate:
        return candidate
    return os.urandom(16).hex()  # uuid4().hex without the UUID object


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(dict(scope["headers"]).get(b"x-request-id", b""))
        request_token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = _path_of(scope)
            emit = log.warning if status["code"] >= 500 else log.info
            if status["code"] < 400 and (path in _QUIET_WHEN_OK or scope.get(CACHED_ANSWER)):
                emit = log.debug
            emit(
                "request",
                method=scope.get("method"),
                path=path,
                status=status["code"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            request_id_var.reset(request_token)
            user_id_var.reset(user_token)
