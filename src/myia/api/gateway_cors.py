"""CORS for browser clients of the gateway (`/v1` only), off unless origins are listed.

`GATEWAY_CORS_ORIGINS` (comma list of exact origins, `scheme://host[:port]`) turns it on.
A preflight (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is
answered 204 with the methods (GET, POST) and the request headers a client may send; from
any other origin, or for another method or header, 403 in OpenAI's shape and no CORS header,
so the browser refuses. An actual request from a listed origin gets its origin echoed in
`Access-Control-Allow-Origin` (never `*`) and `Vary: Origin`; credentials are never
allowed (a key travels in `Authorization`, which needs no cookies). Other paths are not
touched: the pages and the API stay same-origin only.

The layer sits outside the body limit, so that a refusal (413 …) still carries the header
and a browser client can read why.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myia.api.gateway_edge import is_gateway_path, send_gateway_error
from myia.gateway.errors import GatewayError

METHODS = "GET, POST"
# What the gateway reads (Authorization, Content-Type, X-MyIA-Region, X-Request-ID), and the
# telemetry headers the official OpenAI SDKs add in a browser (x-stainless-…), which the
# gateway ignores: without them the SDKs' preflights would fail.
_HEADERS = frozenset({"authorization", "content-type", "x-myia-region", "x-request-id"})
_SDK_HEADER_PREFIX = "x-stainless-"
# What a browser script may read of an answer besides the CORS-safelisted headers.
_EXPOSED = b"x-request-id, x-myia-deployment, x-myia-provider, x-myia-region, " + (
    b"x-myia-certified, x-myia-fallbacks, retry-after"
)
_MAX_AGE = b"600"


def parse_origins(text: str) -> frozenset[str]:
    """The listed origins, normalised (lower-case scheme and host, no trailing slash)."""
    origins = set()
    for raw in (item.strip() for item in text.split(",")):
        if not raw:
            continue
        parts = urlsplit(raw.rstrip("/"))
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise ValueError(
                f"GATEWAY_CORS_ORIGINS: {raw!r} is not an origin (scheme://host[:port], "
                "no path, no '*')"
            )
        origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(origins)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _headers_allowed(requested: bytes | None) -> bool:
    names = (h.strip().lower() for h in (requested or b"").decode("latin-1").split(","))
    return all(not n or n in _HEADERS or n.startswith(_SDK_HEADER_PREFIX) for n in names)


class GatewayCorsMiddleware:
    def __init__(self, app: ASGIApp, *, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_gateway_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = origin.decode("latin-1").lower() in self.origins
        method = _header(scope, b"access-control-request-method")
        if scope.get("method") == "OPTIONS" and method is not None:
            await self._preflight(scope, send, origin, allowed, method)
            return
        if not allowed:  # the browser sees no CORS header and keeps the answer from the page
            await self.app(scope, receive, send)
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"access-control-allow-origin", origin),
                    (b"access-control-expose-headers", _EXPOSED),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_origin)

    async def _preflight(
        self, scope: Scope, send: Send, origin: bytes, allowed: bool, method: bytes
    ) -> None:
        requested = _header(scope, b"access-control-request-headers")
        if not allowed:
            refusal = "this origin may not call the gateway from a browser (GATEWAY_CORS_ORIGINS)"
        elif method.decode("latin-1").upper() not in ("GET", "POST"):
            refusal = "the gateway takes only GET and POST"
        elif not _headers_allowed(requested):
            refusal = "a requested header is not one the gateway accepts from a browser"
        else:
            refusal = ""
        if refusal:
            error = GatewayError(403, f"CORS preflight refused: {refusal}", code="cors_refused")
            await send_gateway_error(send, error)
            return
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", METHODS.encode()),
            (b"access-control-allow-headers", requested or b"authorization, content-type"),
            (b"access-control-max-age", _MAX_AGE),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
