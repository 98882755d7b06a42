"""The OpenAI-compatible gateway: GET /v1/models, GET /v1/models/{id} and POST
/v1/chat/completions.

Authenticated with a MyIA API key (`Authorization: Bearer myia-…`), answered in OpenAI's
wire format, errors included; see docs/gateway.md. The endpoints read the raw body and build
their responses by hand: FastAPI's validation and error shapes are not OpenAI's.

`GatewayFastPath` serves the endpoints as plain ASGI, inside the app's own middlewares (body
limit, request id, access log) but ahead of FastAPI's router, exception and dependency
layers: profiled, those cost a fifth of the gateway's CPU per request and do nothing here.
The routes below stay registered for the OpenAPI document and for an app built without it.
It also answers every other path under /v1 in OpenAI's shape: 404 `unknown_url` for a path
the gateway does not serve, 405 for a method its path does not take.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from myia.api.body_limit import BodyTooLargeError
from myia.api.gateway_edge import is_gateway_path, send_gateway_error
from myia.api.state import AppState
from myia.gateway.errors import GatewayError, from_max_tokens
from myia.gateway.service import REGION_HEADER, Gateway
from myia.observability.context import request_id_var, user_id_var
from myia.observability.logging import get_logger
from myia.routing import MaxTokensTooLarge

log = get_logger(__name__)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.myia
    gateway = Gateway(cache=state.catalog_cache, database=state.database)
    app.state.gateway = gateway
    try:
        yield
    finally:
        await gateway.aclose()


router = APIRouter(prefix="/v1", tags=["gateway (OpenAI-compatible)"], lifespan=_lifespan)

_JSON = "application/json"


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """What every /v1 error answers (OpenAI's shape, not the rest of the API's)."""

    error: OpenAIErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": OpenAIError} for status in statuses}


def _gateway_of(app: Any) -> Gateway:
    gateway = getattr(app.state, "gateway", None)
    if gateway is None:  # an app driven without its lifespan (should not happen in serve)
        state: AppState = app.state.myia
        gateway = app.state.gateway = Gateway(cache=state.catalog_cache, database=state.database)
    assert isinstance(gateway, Gateway)
    return gateway


def _gateway(request: Request) -> Gateway:
    return _gateway_of(request.app)


def _error(exc: GatewayError) -> Response:
    return Response(exc.json_bytes(), status_code=exc.status, media_type=_JSON, headers=exc.headers)


def _failure(exc: Exception) -> GatewayError:
    # The exception (its class, its text) is in the log under the request id, not here.
    request_id = request_id_var.get()
    where = f"; request id {request_id}" if request_id else ""
    return GatewayError(
        502, f"the gateway failed unexpectedly{where}", type="api_error", code="gateway_error"
    )


def _unexpected(exc: Exception) -> Response:
    log.exception("gateway failure", error=type(exc).__name__)
    return _error(_failure(exc))


@router.get(
    "/models",
    summary="Models with at least one routable deployment",
    responses=_errors(401, 503),
)
async def list_models(request: Request) -> Response:
    gateway = _gateway(request)
    try:
        owner = await gateway.authenticate(request.headers.get("authorization"))
        user_id_var.set(owner.user_id)
        return Response(await gateway.models(owner), media_type=_JSON)
    except GatewayError as exc:
        return _error(exc)
    except Exception as exc:
        return _unexpected(exc)


@router.get(
    "/models/{model_id:path}",
    summary="One model, if this key may route to it (ids may contain slashes)",
    responses=_errors(400, 401, 404, 503),
)
async def retrieve_model(model_id: str, request: Request) -> Response:
    gateway = _gateway(request)
    try:
        owner = await gateway.authenticate(request.headers.get("authorization"))
        user_id_var.set(owner.user_id)
        return Response(await gateway.model(model_id, owner), media_type=_JSON)
    except GatewayError as exc:
        return _error(exc)
    except Exception as exc:
        return _unexpected(exc)


@router.post(
    "/chat/completions",
    summary="Chat completion, JSON or server-sent events",
    responses=_errors(400, 401, 404, 413, 429, 502, 503, 504),
)
async def chat_completions(request: Request) -> Response:
    gateway = _gateway(request)
    try:
        owner = await gateway.authenticate(request.headers.get("authorization"))
        user_id_var.set(owner.user_id)
        answer = await gateway.complete(
            owner=owner,
            body=await request.body(),
            region_header=request.headers.get(REGION_HEADER),
        )
    except GatewayError as exc:
        return _error(exc)
    except MaxTokensTooLarge as exc:
        return _error(from_max_tokens(exc))
    except Exception as exc:
        return _unexpected(exc)
    if answer.stream is not None:
        headers = {**answer.headers, "cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(answer.stream, media_type="text/event-stream", headers=headers)
    return Response(answer.body, media_type=_JSON, headers=answer.headers)


# --- the lean path ------------------------------------------------------------------------
class _RouteName:
    """What the access log reads from `scope["route"]`: the template, never the raw path."""

    __slots__ = ("path_format",)

    def __init__(self, path: str) -> None:
        self.path_format = path


_MODELS = "/v1/models"
_COMPLETIONS = "/v1/chat/completions"
_ROUTES = {("GET", _MODELS): _RouteName(_MODELS), ("POST", _COMPLETIONS): _RouteName(_COMPLETIONS)}
_MODEL_PREFIX = _MODELS + "/"
_MODEL = _RouteName(_MODELS + "/{model_id}")
# The methods each served path takes, for the 405 of the others.
_METHODS = {_MODELS: "GET", _COMPLETIONS: "POST"}
_PATH_SHOWN = 200  # characters of an unknown path quoted back in its 404
_JSON_HEADER = (b"content-type", b"application/json")
_WATCH_AFTER_S = 0.05
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(400, "the client hung up before sending its whole request")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    raw = [_JSON_HEADER, (b"content-length", str(len(body)).encode())]
    if headers:
        raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    send: Send, receive: Receive, headers: dict[str, str], stream: AsyncIterator[bytes]
) -> None:
    """Each frame written as it comes; a client that hangs up stops the upstream call.

    The hang-up watcher (a task reading `receive`) starts only once the stream has run for
    `_WATCH_AFTER_S`: most completions are over sooner, and a task per request was ~5 % of
    a short stream's CPU. A client gone before then stops the call that much later."""
    raw = [*_SSE_HEADERS, *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())]
    task = asyncio.current_task()
    assert task is not None
    state = {"streaming": True, "hung_up": False}

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if state["streaming"]:  # not once the last frame is on its way
            state["hung_up"] = True
            task.cancel()

    loop = asyncio.get_running_loop()
    watchers: list[asyncio.Task[None]] = []
    timer = loop.call_later(_WATCH_AFTER_S, lambda: watchers.append(loop.create_task(watch())))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        async for frame in stream:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        state["streaming"] = False
        await send({"type": "http.response.body", "body": b""})
    except asyncio.CancelledError:
        if not state["hung_up"]:
            raise  # cancelled from outside, not by the client's hang-up
        task.uncancel()
    finally:
        state["streaming"] = False
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()


def _unknown_url(method: str, path: str) -> GatewayError:
    shown = path if len(path) <= _PATH_SHOWN else path[:_PATH_SHOWN] + "…"
    return GatewayError(
        404,
        f"Unknown request URL: {method} {shown}. Please check the URL for typos, or see "
        "docs/gateway.md for the endpoints MyIA serves under /v1.",
        code="unknown_url",
    )


def _wrong_method(method: str, path: str, allowed: str) -> GatewayError:
    return GatewayError(
        405,
        f"Invalid method for URL: {method} {path}; this URL takes {allowed}.",
        code="method_not_allowed",
        headers={"allow": allowed},
    )


def _elsewhere_on_v1(scope: Scope) -> _RouteName | GatewayError:
    """A /v1 request for neither of the two hot routes: one model, or a refusal."""
    method, path = scope.get("method", ""), scope.get("path", "")
    if path.startswith(_MODEL_PREFIX) and len(path) > len(_MODEL_PREFIX):
        return _MODEL if method == "GET" else _wrong_method(method, _MODEL.path_format, "GET")
    allowed = _METHODS.get(path)
    return _unknown_url(method, path) if allowed is None else _wrong_method(method, path, allowed)


class GatewayFastPath:
    """`GET /v1/models` and `POST /v1/chat/completions` straight to the `Gateway`; the rest
    of /v1 too, so that nothing there answers in FastAPI's shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _ROUTES.get((scope.get("method", ""), scope.get("path", "")))
        if route is None or scope["type"] != "http":
            if scope["type"] != "http" or not is_gateway_path(scope.get("path", "")):
                await self.app(scope, receive, send)
                return
            found = _elsewhere_on_v1(scope)
            if isinstance(found, GatewayError):
                await send_gateway_error(send, found)
                return
            route = found
        scope["route"] = route
        gateway = _gateway_of(scope["app"])
        try:
            owner = await gateway.authenticate(_header(scope, b"authorization"))
            user_id_var.set(owner.user_id)
            if route.path_format == _MODELS:
                await _send_json(send, 200, await gateway.models(owner))
                return
            if route is _MODEL:
                model_id = scope["path"][len(_MODEL_PREFIX) :]
                await _send_json(send, 200, await gateway.model(model_id, owner))
                return
            answer = await gateway.complete(
                owner=owner,
                body=await _read_body(receive),
                region_header=_header(scope, REGION_HEADER.encode()),
            )
        except GatewayError as exc:
            await send_gateway_error(send, exc)
            return
        except MaxTokensTooLarge as exc:
            await send_gateway_error(send, from_max_tokens(exc))
            return
        except BodyTooLargeError as exc:
            await send_gateway_error(
                send, GatewayError(413, str(exc.detail), code="request_too_large")
            )
            return
        except Exception as exc:
            log.exception("gateway failure", error=type(exc).__name__)
            await send_gateway_error(send, _failure(exc))
            return
        if answer.stream is not None:
            await _send_stream(send, receive, answer.headers, answer.stream)
        else:
            await _send_json(send, 200, answer.body or b"", answer.headers)
