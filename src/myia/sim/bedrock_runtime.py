"""Bedrock runtime: Converse and ConverseStream, with quotas, faults and latency."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from myia.sim import eventstream
from myia.sim.bedrock_wire import (
    THROTTLED,
    BedrockError,
    authenticate,
    caller,
    content_frames,
    converse_output,
    error_response,
    metadata_frame,
    parse_converse,
)
from myia.sim.brain import Quirks, asks_structured_output, break_tool_calls, respond
from myia.sim.conversation import (
    Conversation,
    Reply,
    count_tokens,
    fit_window,
    with_cache,
    with_reasoning,
)
from myia.sim.eventstream import FrameSplitter
from myia.sim.scenario import BedrockModel
from myia.sim.state import SimState, state_of

REFUSALS = {
    "chat": "This action doesn't support the model that you provided. "
    "Try again with a supported text or chat model.",
    "streaming": "The model is unsupported for streaming.",
    "system": "This model doesn't support system messages.",
    "tools": "This model doesn't support tool use.",
    "vision": "This model doesn't support the image content block that you provided.",
}
FAILURES = {
    "InternalServerException": "The server encountered an internal error while processing "
    "the request.",
    "ModelErrorException": "The model encountered an error while processing the request. "
    "Try your request again.",
    "ServiceUnavailableException": "The service is temporarily unable to handle the request.",
    "ModelTimeoutException": "The request took too long to process. Processing time exceeded "
    "the model timeout length.",
    "ModelNotReadyException": "The model is not ready to serve inference requests. "
    "Try again later.",
}


def _admit(state: SimState, region: str) -> None:
    admission = state.quotas.admit(f"bedrock:{region}", state.scenario.quota_for_region(region))
    if admission is not None and not admission.allowed:
        retry = str(max(1, math.ceil(admission.retry_after_s)))
        raise BedrockError("ThrottlingException", THROTTLED, {"retry-after": retry})


def _check(model: BedrockModel, conversation: Conversation, stream: bool) -> None:
    refused = model.refusal(
        system=bool(conversation.system),
        tools=bool(conversation.tools),
        images=conversation.has_images,
        stream=stream,
    )
    if refused is not None:
        raise BedrockError("ValidationException", REFUSALS[refused])


async def _sleep_ms(ms: float) -> float:
    if ms > 0:
        await asyncio.sleep(ms / 1000)
    return ms


def _elapsed_ms(started: float, at_least: float) -> int:
    """Wall time since `started`, never below the configured delay (timers wake a hair early)."""
    return math.ceil(max((time.monotonic() - started) * 1000, at_least))


async def _body(request: Request) -> object:
    try:
        return json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise BedrockError("ValidationException", "Malformed input request.") from exc


async def _frames(
    state: SimState,
    model: BedrockModel,
    reply: Reply,
    key: tuple[str, str, int],
    failure: str | None,
    started: float,
) -> AsyncIterator[bytes]:
    splitter = FrameSplitter(state.scenario.defaults.split_frames)
    first_token, rate = state.stream_timing(model)
    ttft = await _sleep_ms(state.delay_ms(first_token, "ttft", *key))
    for number, (frame, text) in enumerate(content_frames(reply)):
        if failure is not None and number == 2:
            # A mid-stream model error, as Bedrock reports it: an exception frame.
            body = {
                "message": FAILURES[failure],
                "originalStatusCode": 424,
                "originalMessage": "Model stream interrupted.",
            }
            frame = eventstream.exception("modelStreamErrorException", body)
            for chunk in [*splitter.feed(frame), *splitter.flush()]:
                yield chunk
            return
        for chunk in splitter.feed(frame):
            yield chunk
        if rate > 0 and text:
            await asyncio.sleep(count_tokens(text) / rate)
    latency = _elapsed_ms(started, ttft)
    for chunk in [*splitter.feed(metadata_frame(reply, latency)), *splitter.flush()]:
        yield chunk


async def _run(
    request: Request, state: SimState, identifier: str, region: str, stream: bool
) -> Response:
    scenario = state.scenario
    started = time.monotonic()
    authenticate(request, scenario)
    _admit(state, region)
    body = await _body(request)
    state.remember(region, body)
    conversation = parse_converse(body)
    resolution = scenario.resolve(identifier, region)
    if resolution.error is not None or resolution.model is None:
        raise BedrockError(resolution.error or "ValidationException", resolution.message)
    model = resolution.model
    _check(model, conversation, stream)
    if conversation.anthropic_fields and model.provider != "Anthropic":
        raise BedrockError(
            "ValidationException",
            f"extraneous key [{conversation.anthropic_fields[0]}] is not permitted",
        )
    if conversation.reasoning and not model.reasoning:
        raise BedrockError(
            "ValidationException",
            "The model returned the following errors: thinking: Extra inputs are not permitted",
        )
    key = (region, identifier, state.next_call(region, identifier))
    failure = state.failure(scenario.failure_rate_for(model, region), model.failure_kinds, *key)
    window = model.context_window
    if window is not None and conversation.input_tokens() > window:
        raise BedrockError("ValidationException", "Input is too long for requested model.")
    reply = fit_window(
        with_reasoning(respond(conversation, quirks=Quirks.of(model)), conversation), window
    )
    if conversation.cache_prefix is not None:
        reply = with_cache(reply, conversation, state.cache_hit(conversation.cache_prefix))
    if reply.tool_calls and failure is None and not asks_structured_output(conversation):
        variant = state.breaks_tool_call(region, model)
        if variant is not None:
            reply = break_tool_calls(reply, conversation, variant)
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if stream:
        if failure is not None and failure != "ModelErrorException":
            raise BedrockError(failure, FAILURES[failure])
        frames = _frames(state, model, reply, key, failure, started)
        return StreamingResponse(
            frames, media_type="application/vnd.amazon.eventstream", headers=headers
        )
    delay = await _sleep_ms(state.delay_ms(scenario.latency_for(model, region), "latency", *key))
    if failure is not None:
        raise BedrockError(failure, FAILURES[failure])
    latency = _elapsed_ms(started, delay)
    return JSONResponse(converse_output(reply, latency), headers=headers)


async def _invoke(request: Request, *, stream: bool) -> Response:
    state = state_of(request)
    identifier = request.path_params["model_id"]
    region = caller(request, state.scenario).region
    try:
        response = await _run(request, state, identifier, region, stream)
    except BedrockError as error:
        throttled = error.name == "ThrottlingException"
        state.record(region, identifier, "throttled" if throttled else "error")
        return error_response(error)
    state.record(region, identifier, "ok")
    return response


async def converse(request: Request) -> Response:
    return await _invoke(request, stream=False)


async def converse_stream(request: Request) -> Response:
    return await _invoke(request, stream=True)


routes = [
    Route("/model/{model_id:path}/converse", converse, methods=["POST"]),
    Route("/model/{model_id:path}/converse-stream", converse_stream, methods=["POST"]),
]
