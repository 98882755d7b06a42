"""Request body size limit, enforced before anything reads the body (authentication included),
and URLs refused when they carry a NUL byte (no column can store one: PostgreSQL fails the
query, SQLite stores it).

Pure ASGI, outermost: a declared `Content-Length` over the limit is answered 413 without
reading a byte; a chunked or lying body is counted as it streams and cut at the limit, so an
anonymous client can never make the app buffer more than the limit.

The gateway (`/v1`) has a limit of its own (`GATEWAY_MAX_BODY_BYTES`, 20 MiB: a phone photo
in base64, a long coding context), and its refusals are in OpenAI's error shape; the rest of
the API keeps `MAX_REQUEST_BODY_BYTES` (1 MB) and its own shape.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myia.api.gateway_edge import is_gateway_path, send_gateway_error
from myia.gateway.errors import GatewayError

DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_GATEWAY_MAX_BODY_BYTES = 20 * 1024 * 1024
NUL_IN_URL = "invalid input — the URL must not contain NUL (%00) characters"
_SETTING = {False: "MAX_REQUEST_BODY_BYTES", True: "GATEWAY_MAX_BODY_BYTES"}


def too_large_message(limit: int, *, gateway: bool = False) -> str:
    return f"request body too large: the limit is {limit} bytes ({_SETTING[gateway]})"


class BodyTooLargeError(HTTPException):
    """Raised into the app when a streamed body passes the limit: an HTTPException, so the
    body parser lets it through and the app's handler answers 413 in the usual shape."""

    def __init__(self, limit: int, *, gateway: bool = False) -> None:
        super().__init__(413, too_large_message(limit, gateway=gateway))


def gateway_refusal(status: int, message: str) -> GatewayError:
    """The body limit's and URL check's refusals as the gateway words them."""
    code = "request_too_large" if status == 413 else "invalid_url"
    return GatewayError(413 if status == 413 else 400, message, code=code)


async def _send_error(send: Send, status: int, message: str, *, gateway: bool = False) -> None:
    if gateway:
        await send_gateway_error(send, gateway_refusal(status, message), close=True)
        return
    errors = [{"field": "url", "message": message}] if status == 422 else []
    body = json.dumps({"detail": message, "errors": errors}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _declared_too_large(scope: Scope, limit: int) -> bool:
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is None:
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return False  # the server refuses a malformed length itself


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        gateway_max_bytes: int = DEFAULT_GATEWAY_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.limits = {False: max_bytes, True: gateway_max_bytes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        gateway = is_gateway_path(path)
        limit = self.limits[gateway]
        if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
            await _send_error(send, 422, NUL_IN_URL, gateway=gateway)
            return
        if _declared_too_large(scope, limit):
            await _send_error(send, 413, too_large_message(limit, gateway=gateway), gateway=gateway)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit, gateway=gateway)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError as exc:
            if not started:
                await _send_error(send, 413, str(exc.detail), gateway=gateway)
