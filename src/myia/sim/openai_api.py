"""OpenAI-compatible providers, one per path prefix: `/{slug}/v1/models`, `/chat/completions`."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from myia.sim.brain import Quirks, asks_structured_output, break_tool_calls, respond
from myia.sim.conversation import Conversation, Reply, count_tokens, with_reasoning
from myia.sim.openai_wire import (
    ChatOptions,
    OpenAIError,
    chunks,
    completion,
    parse_chat,
    ratelimit_headers,
)
from myia.sim.quota import Admission
from myia.sim.scenario import OpenAIModel, OpenAIProvider, Quota
from myia.sim.state import SimState, state_of
from myia.sim.toolargs import tool_call_id

INVALID_KEY = OpenAIError(401, "Incorrect API key provided", code="invalid_api_key")
MISSING_KEY = OpenAIError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
)
INSUFFICIENT_QUOTA = OpenAIError(
    429,
    "You exceeded your current quota, please check your plan and billing details.",
    type_="insufficient_quota",
    code="insufficient_quota",
)
REFUSALS = {
    "chat": OpenAIError(
        400,
        "This is not a chat model and thus not supported in the v1/chat/completions endpoint.",
        param="model",
    ),
    "streaming": OpenAIError(
        400,
        "Unsupported value: 'stream' does not support true with "
        "this model. Supported values are: false.",
        param="stream",
        code="unsupported_value",
    ),
    "system": OpenAIError(
        400,
        "Unsupported value: 'messages[0].role' does not support 'system' with this model.",
        param="messages[0].role",
        code="unsupported_value",
    ),
    "tools": OpenAIError(
        400, "tools is not supported for this model", param="tools", code="unsupported_parameter"
    ),
    "vision": OpenAIError(
        400,
        "Invalid content type. image_url is only supported by certain models.",
        param="messages",
        code=None,
    ),
}
FAILURES = {
    "InternalServerException": OpenAIError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type_="server_error",
    ),
    "ModelErrorException": OpenAIError(
        502, "Bad gateway: the model returned an invalid response.", type_="server_error"
    ),
    "ServiceUnavailableException": OpenAIError(
        503, "The engine is currently overloaded, please try again later.", type_="server_error"
    ),
    "ModelTimeoutException": OpenAIError(408, "Request timed out.", type_="timeout"),
    "ModelNotReadyException": OpenAIError(
        503, "The model is currently loading, please try again later.", type_="server_error"
    ),
}


def _provider(request: Request, state: SimState) -> OpenAIProvider:
    provider = state.scenario.provider(request.path_params["slug"])
    if provider is None:
        raise OpenAIError(
            404,
            f"Unknown provider '{request.path_params['slug']}' in this simulated scenario.",
            code="not_found",
        )
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise MISSING_KEY
    if header[7:].strip() in provider.invalid_api_keys:
        raise INVALID_KEY
    return provider


def _model_entry(provider: OpenAIProvider, model: OpenAIModel) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": model.id,
        "object": "model",
        "created": model.created,
        "owned_by": model.owned_by,
    }
    if provider.models_shape == "groq":
        entry.update(active=True, context_window=model.context_window, public_apps=None)
    if provider.models_shape == "together":
        pricing = model.pricing.model_dump() if model.pricing else {"input": 0, "output": 0}
        entry.update(
            type="chat",
            display_name=model.display_name,
            organization=model.owned_by,
            context_length=model.context_window,
            pricing={**pricing, "hourly": 0, "base": 0, "finetune": 0},
        )
    return entry


async def list_models(request: Request) -> Response:
    state = state_of(request)
    try:
        provider = _provider(request, state)
    except OpenAIError as error:
        return error.response()
    state.record_control_plane()
    entries = [_model_entry(provider, m) for m in provider.models if m.is_listed]
    if provider.models_shape == "together":
        return JSONResponse(entries)  # Together really answers a bare array
    return JSONResponse({"object": "list", "data": entries})


def _find_model(provider: OpenAIProvider, model_id: str) -> OpenAIModel:
    model = provider.model(model_id)
    if model is not None and model.lifecycle == "EOL":
        raise OpenAIError(
            404,
            f"The model `{model_id}` has been deprecated, learn more here: "
            "https://platform.openai.com/docs/deprecations",
            code="model_not_found",
        )
    if model is None or model.access_denied:
        raise OpenAIError(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return model


async def retrieve_model(request: Request) -> Response:
    state = state_of(request)
    try:
        provider = _provider(request, state)
        model = _find_model(provider, request.path_params["model_id"])
    except OpenAIError as error:
        return error.response()
    state.record_control_plane()
    return JSONResponse(_model_entry(provider, model))


def _check(model: OpenAIModel, conversation: Conversation, options: ChatOptions) -> None:
    refused = model.refusal(
        system=bool(conversation.system),
        tools=bool(conversation.tools),
        images=conversation.has_images,
        stream=options.stream,
    )
    if refused is not None:
        raise REFUSALS[refused]


def _check_reasoning(model: OpenAIModel, conversation: Conversation, options: ChatOptions) -> None:
    """As OpenAI: reasoning models take max_completion_tokens only, others no reasoning."""
    if model.reasoning and options.limit_field == "max_tokens":
        raise OpenAIError(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    if conversation.reasoning and not model.reasoning:
        raise OpenAIError(
            400,
            "Unrecognized request argument supplied: reasoning_effort",
            param="reasoning_effort",
            code="unsupported_parameter",
        )


async def _sse(
    state: SimState,
    provider: OpenAIProvider,
    model: OpenAIModel,
    reply: Reply,
    options: ChatOptions,
    ids: tuple[str, int],
    key: tuple[str, str, int],
) -> AsyncIterator[bytes]:
    first_token, rate = state.stream_timing(model)
    delay = state.delay_ms(first_token, "ttft", *key)
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    for chunk, text in chunks(
        reply,
        options.model,
        ids[0],
        ids[1],
        include_usage=options.include_usage,
        shape=provider.models_shape,
    ):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        if rate > 0 and text:
            await asyncio.sleep(count_tokens(text) / rate)
    yield b"data: [DONE]\n\n"


async def _chat(
    state: SimState,
    provider: OpenAIProvider,
    conversation: Conversation,
    options: ChatOptions,
    headers: dict[str, str],
) -> Response:
    scenario = state.scenario
    model = _find_model(provider, options.model)
    _check(model, conversation, options)
    _check_reasoning(model, conversation, options)
    prompt = conversation.input_tokens()
    if prompt > model.context_window:
        raise OpenAIError(
            400,
            f"This model's maximum context length is {model.context_window} tokens. However, "
            f"your messages resulted in {prompt} tokens. Please reduce the length of the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    key = (provider.slug, model.id, state.next_call(provider.slug, model.id))
    reply = with_reasoning(
        respond(conversation, quirks=Quirks.of(model), id_prefix="call_"), conversation
    )
    failure = state.failure(model.failure_rate, model.failure_kinds, *key)
    if reply.tool_calls and failure is None and not asks_structured_output(conversation):
        variant = state.breaks_tool_call(provider.slug, model)
        if variant is not None:
            reply = break_tool_calls(reply, conversation, variant)
    ids = (tool_call_id("chatcmpl-", *map(str, key), length=29), int(time.time()))
    if options.stream:
        if failure is not None:
            raise FAILURES[failure]
        stream = _sse(state, provider, model, reply, options, ids, key)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
    latency = model.latency or provider.latency or scenario.defaults.latency
    delay = state.delay_ms(latency, "latency", *key)
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    if failure is not None:
        raise FAILURES[failure]
    return JSONResponse(completion(reply, options.model, *ids), headers=headers)


def _rate_limited(provider: OpenAIProvider, quota: Quota, admission: Admission) -> OpenAIError:
    wait = admission.retry_after_s
    return OpenAIError(
        429,
        f"Rate limit reached for requests on {provider.slug} (simulated): Limit "
        f"{quota.burst}. Please try again in {math.ceil(wait * 1000)}ms.",
        type_="requests",
        code="rate_limit_exceeded",
        headers={
            "retry-after": str(max(1, math.ceil(wait))),
            "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
        },
    )


async def _parse(request: Request, state: SimState) -> tuple[Conversation, ChatOptions]:
    try:
        body = json.loads(await request.body() or b"null")
    except json.JSONDecodeError as exc:
        raise OpenAIError(400, "We could not parse the JSON body of your request.") from exc
    state.remember(request.path_params["slug"], body)
    return parse_chat(body)


async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    slug = request.path_params["slug"]
    headers: dict[str, str] = {}
    model_key = "?"
    try:
        provider = _provider(request, state)
        conversation, options = await _parse(request, state)
        model_key = options.model
        if provider.insufficient_quota:
            raise INSUFFICIENT_QUOTA
        quota = state.scenario.quota_for_provider(slug)
        admission = state.quotas.admit(f"openai:{slug}", quota)
        headers = ratelimit_headers(
            provider.models_shape, quota, admission, conversation.input_tokens()
        )
        if quota is not None and admission is not None and not admission.allowed:
            raise _rate_limited(provider, quota, admission)
        response = await _chat(state, provider, conversation, options, headers)
    except OpenAIError as error:
        if state.scenario.provider(slug) is not None:
            throttled = error.code == "rate_limit_exceeded"
            state.record(slug, model_key, "throttled" if throttled else "error")
        return error.response(headers)
    state.record(slug, model_key, "ok")
    return response


routes = [
    Route("/{slug}/v1/models", list_models, methods=["GET"]),
    Route("/{slug}/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    Route("/{slug}/v1/chat/completions", chat_completions, methods=["POST"]),
]
