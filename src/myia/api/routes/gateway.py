"""The OpenAI-compatible gateway: GET /v1/models and POST /v1/chat/completions.

Authenticated with a MyIA API key (`Authorization: Bearer myia-…`), answered in OpenAI's
wire format, errors included; see docs/gateway.md. The endpoints read the raw body and build
their responses by hand: FastAPI's validation and error shapes are not OpenAI's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from myia.api.state import AppState
from myia.gateway.errors import GatewayError
from myia.gateway.service import REGION_HEADER, Gateway
from myia.observability.context import user_id_var
from myia.observability.logging import get_logger

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


def _gateway(request: Request) -> Gateway:
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:  # an app driven without its lifespan (should not happen in serve)
        state: AppState = request.app.state.myia
        gateway = request.app.state.gateway = Gateway(
            cache=state.catalog_cache, database=state.database
        )
    assert isinstance(gateway, Gateway)
    return gateway


def _error(exc: GatewayError) -> Response:
    return Response(exc.json_bytes(), status_code=exc.status, media_type=_JSON, headers=exc.headers)


def _unexpected(exc: Exception) -> Response:
    log.exception("gateway failure", error=type(exc).__name__)
    return _error(
        GatewayError(
            502, f"the gateway failed: {type(exc).__name__}", type="api_error", code="gateway_error"
        )
    )


@router.get("/models", summary="Models with at least one routable deployment")
async def list_models(request: Request) -> Response:
    gateway = _gateway(request)
    try:
        owner = await gateway.authenticate(request.headers.get("authorization"))
        user_id_var.set(owner.user_id)
        return Response(await gateway.models(), media_type=_JSON)
    except GatewayError as exc:
        return _error(exc)
    except Exception as exc:
        return _unexpected(exc)


@router.post("/chat/completions", summary="Chat completion, JSON or server-sent events")
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
    except Exception as exc:
        return _unexpected(exc)
    if answer.stream is not None:
        headers = {**answer.headers, "cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(answer.stream, media_type="text/event-stream", headers=headers)
    return Response(answer.body, media_type=_JSON, headers=answer.headers)
