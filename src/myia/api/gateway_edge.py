"""The /v1 edge's refusals, in OpenAI's error shape.

Everything under `/v1` answers like OpenAI's API — `{"error": {"message", "type", "param",
"code"}}` — even when the answer comes from a layer in front of the gateway (the body limit,
CORS, an unknown path): the clients read that shape, never FastAPI's `{"detail": …}`. The
rest of the API keeps its own shape.
"""

from __future__ import annotations

from starlette.types import Send

from myia.gateway.errors import GatewayError

PREFIX = "/v1"


def is_gateway_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def send_gateway_error(send: Send, exc: GatewayError, *, close: bool = False) -> None:
    """The whole answer; `close` when the request's body is left unread."""
    body = exc.json_bytes()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
