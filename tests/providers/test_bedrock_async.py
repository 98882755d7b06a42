"""The async Converse path (`myia.routing.raw_bedrock`) against the boto3 adapter, both on the
simulator: the same bytes on the wire, a signature botocore recomputes, the same answers and
the same error categories."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, RefreshableCredentials
from pydantic import SecretStr

from myia.db.enums import AuthType
from myia.providers import get_adapter
from myia.providers.adapter import ProviderAdapter
from myia.providers.bedrock.adapter import BedrockAdapter
from myia.providers.bedrock.converse import build_converse_params
from myia.providers.connection import AwsCredentials, ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
)
from myia.routing import AdapterPool, ProviderRef
from myia.routing.fallback import Attempt, NoRouteAnswered
from myia.routing.http1 import Http1Client, Response
from myia.routing.public_errors import no_route_message, provider_error_message
from myia.routing.raw_bedrock import RawBedrockAdapter, converse_body
from myia.routing.types import Route
from myia.sim import SimServer, running_simulator
from tests.factories import SIM_AWS_ENV
from tests.providers.conftest import (
    BAD_ACCESS_KEY,
    WEATHER_TOOL,
    aws_connection,
    first_throttle,
    rich_request,
    sim_scenario,
)
from tests.sim_support import free_port

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"  # inference profile only
MISTRAL = "mistral.mistral-large-2402-v1:0"  # refuses tools
NOVA_MICRO = "amazon.nova-micro-v1:0"  # us-east-1 only
LLAMA = "meta.llama3-1-70b-instruct-v1:0"  # access denied in eu-west-1
CLAUDE_V2 = "anthropic.claude-v2:1"  # end of life
ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}"
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"bedrock/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]


class RecordingClient(Http1Client):
    """The pool's HTTP client, keeping what each request sent."""

    def __init__(self) -> None:
        super().__init__(timeout_s=10, connect_timeout_s=2)
        self.sent: list[Sent] = []

    async def post(self, url: str, body: bytes, headers: bytes) -> Response:
        lines = headers.decode("latin-1").split("\r\n")
        parsed = dict(line.split(": ", 1) for line in lines if line)
        self.sent.append(Sent(url, body, parsed))
        return await super().post(url, body, headers)


@pytest.fixture
async def http() -> AsyncIterator[RecordingClient]:
    client = RecordingClient()
    yield client
    await client.aclose()


Pair = Callable[..., tuple[BedrockAdapter, RawBedrockAdapter]]


@pytest.fixture
def pair(http: RecordingClient) -> Pair:
    """`pair(server, **connection)`: the boto3 adapter and the async one, same connection."""

    def make(server: SimServer, **kwargs: Any) -> tuple[BedrockAdapter, RawBedrockAdapter]:
        connection = aws_connection(base_url=server.base_url, **kwargs)
        reference = get_adapter(connection)
        assert isinstance(reference, BedrockAdapter)
        return reference, RawBedrockAdapter(connection, http)

    return make


def ask(text: str, model: str = SONNET, **fields: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage.user(text)], **fields)


def error_key(error: ProviderError) -> tuple[Any, ...]:
    return (
        error.category,
        error.retryable,
        error.status_code,
        error.code,
        error.reason,
        error.message,
    )


async def chat_outcome(adapter: ProviderAdapter, request: ChatRequest) -> Any:
    try:
        answer = await adapter.chat(request)
    except ProviderError as exc:
        return error_key(exc)
    return answer.model_dump(exclude={"latency_ms"})


async def stream_outcome(adapter: ProviderAdapter, request: ChatRequest) -> Any:
    events: list[Any] = []
    try:
        async for event in adapter.stream(request):
            exclude = (
                {"latency_ms", "time_to_first_token_ms"} if isinstance(event, StreamEnd) else set()
            )
            events.append(event.model_dump(exclude=exclude))
    except ProviderError as exc:
        return events, error_key(exc)
    return events, None


async def same_outcome(
    pair: tuple[BedrockAdapter, RawBedrockAdapter], request: ChatRequest, *, stream: bool
) -> Any:
    outcome = stream_outcome if stream else chat_outcome
    reference, lean = pair
    expected = await outcome(reference, request)
    assert await outcome(lean, request) == expected
    return expected


# --- the wire ------------------------------------------------------------------------------
def boto3_requests(sim: SimServer, calls: Callable[[Any], object]) -> list[Sent]:
    """What unmodified boto3 sends (captured before sending; the simulator answers)."""
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=sim.base_url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    seen: list[Sent] = []

    def hook(request: Any, **_: Any) -> None:
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen.append(Sent(request.url, request.body, headers))

    client.meta.events.register("before-send", hook)
    calls(client)
    return seen


async def test_requests_are_byte_for_byte_what_boto3_sends(
    sim: SimServer, pair: Pair, http: RecordingClient
) -> None:
    request = rich_request()  # system, image, tool use and result, tools, every option
    profile = ask("hi", model=ARN, inference_type="PROVISIONED")
    params = build_converse_params(request, SONNET)
    profile_params = build_converse_params(profile, ARN)
    expected = boto3_requests(
        sim,
        lambda c: (c.converse(**params), list(c.converse_stream(**profile_params)["stream"])),
    )
    _, lean = pair(sim)
    await lean.chat(request)
    [event async for event in lean.stream(profile)]
    assert [(s.url, s.body) for s in http.sent] == [(s.url, s.body) for s in expected]
    assert http.sent[1].url.endswith(
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2F"
        "anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    )
    assert b'"bytes": "iVBORw0K' in http.sent[0].body, "image bytes are base64, as botocore sends"
    for ours, theirs in zip(http.sent, expected, strict=True):
        assert ours.headers["Content-Type"] == theirs.headers["Content-Type"] == "application/json"
        signed = AUTHORIZATION.match(ours.headers["Authorization"])
        reference = AUTHORIZATION.match(theirs.headers["Authorization"])
        assert signed and reference
        assert signed["signed"] == reference["signed"] == "content-type;host;x-amz-date"


def recomputed_signature(sent: Sent, credentials: Credentials, region: str) -> str:
    """The signature botocore computes for these bytes at the request's own timestamp."""
    request = AWSRequest(
        method="POST",
        url=sent.url,
        data=sent.body,
        headers={k: v for k, v in sent.headers.items() if k != "Authorization"},
    )
    request.context["timestamp"] = sent.headers["X-Amz-Date"]
    auth = SigV4Auth(credentials.get_frozen_credentials(), "bedrock", region)
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


async def test_signature_is_botocores_sigv4(sim: SimServer, http: RecordingClient) -> None:
    """The simulator does not verify signatures: botocore recomputes ours from the bytes sent."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    keys = AwsCredentials(
        access_key_id=SecretStr("AKIAIOSFODNN7EXAMPLE"),
        secret_access_key=SecretStr(secret),
        session_token=SecretStr("session-token-123"),
    )
    connection = aws_connection(base_url=sim.base_url, region="eu-west-1").model_copy(
        update={"credentials": keys}
    )
    lean = RawBedrockAdapter(connection, http)
    assert (await lean.chat(ask("What is 2+2?"))).text
    sent = http.sent[-1]
    match = AUTHORIZATION.match(sent.headers["Authorization"])
    assert match, sent.headers["Authorization"]
    assert (match["key"], match["region"]) == ("AKIAIOSFODNN7EXAMPLE", "eu-west-1")
    assert match["date"] == sent.headers["X-Amz-Date"][:8]
    assert match["signed"] == "content-type;host;x-amz-date;x-amz-security-token"
    assert sent.headers["X-Amz-Security-Token"] == "session-token-123"
    credentials = Credentials("AKIAIOSFODNN7EXAMPLE", secret, "session-token-123")
    assert match["sig"] == recomputed_signature(sent, credentials, "eu-west-1")
    wrong = Credentials("AKIAIOSFODNN7EXAMPLE", secret + "x", "session-token-123")
    assert match["sig"] != recomputed_signature(sent, wrong, "eu-west-1")


async def test_chain_credentials_and_default_region(
    sim: SimServer, http: RecordingClient, sim_credentials: None
) -> None:
    """No keys on the connection: the AWS chain's (here the environment's), as boto3 does."""
    connection = ProviderConnection(
        slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=sim.base_url
    )
    lean = RawBedrockAdapter(connection, http)
    sim.reset_stats()
    assert (await lean.chat(ask("What is 2+2?"))).text
    match = AUTHORIZATION.match(http.sent[-1].headers["Authorization"])
    assert match and match["key"] == SIM_AWS_ENV["AWS_ACCESS_KEY_ID"]
    assert match["region"] == SIM_AWS_ENV["AWS_DEFAULT_REGION"]
    env = Credentials(SIM_AWS_ENV["AWS_ACCESS_KEY_ID"], SIM_AWS_ENV["AWS_SECRET_ACCESS_KEY"])
    assert match["sig"] == recomputed_signature(http.sent[-1], env, match["region"])
    assert sim.stats.by_region[SIM_AWS_ENV["AWS_DEFAULT_REGION"]].calls == 1


async def test_refreshable_credentials_are_refreshed_when_due(
    sim: SimServer, http: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    refreshed: list[str] = []

    def fetch() -> dict[str, str]:
        refreshed.append("again")
        return {
            "access_key": "AKIAREFRESHED0000001",
            "secret_key": "fresh",
            "token": "t2",
            "expiry_time": "2999-01-01T00:00:00Z",
        }

    stale = RefreshableCredentials.create_from_metadata(
        {"access_key": "AKIASTALE00000000001", "secret_key": "old", "token": "t1",
         "expiry_time": "2000-01-01T00:00:00Z"},
        refresh_using=fetch, method="test",
    )  # fmt: skip
    lean = RawBedrockAdapter(aws_connection(base_url=sim.base_url), http)
    monkeypatch.setattr(lean.clients, "credentials", lambda region: stale)
    await lean.chat(ask("hi"))
    await lean.chat(ask("hi"))
    assert refreshed == ["again"], "refreshed once, when due"
    for sent in http.sent:
        assert "Credential=AKIAREFRESHED0000001/" in sent.headers["Authorization"]
        assert sent.headers["X-Amz-Security-Token"] == "t2"


async def test_region_and_endpoint_are_honoured(
    sim: SimServer, http: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.reset_stats()
    lean = RawBedrockAdapter(aws_connection(base_url=sim.base_url, region="eu-west-1"), http)
    await lean.chat(ask("hi"))
    await lean.chat(ask("hi", region="us-east-1"))  # the request's region wins
    assert sim.stats.by_region["eu-west-1"].calls == 1
    assert sim.stats.by_region["us-east-1"].calls == 1
    # Without a base URL: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, as boto3 reads it.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", sim.base_url)
    from_env = RawBedrockAdapter(aws_connection(base_url=None, region="eu-west-1"), http)
    assert "4" in (await from_env.chat(ask("What is 2+2?"))).text
    assert http.sent[-1].url.startswith(sim.base_url + "/model/")
    # Nothing set: the region's public endpoint, as botocore resolves it (not called here).
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    public = RawBedrockAdapter(aws_connection(base_url=None, region="eu-west-3"), http)
    target = await public._target("eu-west-3")
    assert (target.endpoint, target.region) == (
        "https://bedrock-runtime.eu-west-3.amazonaws.com",
        "eu-west-3",
    )
    assert public._url(target, SONNET, "ConverseStream") == (
        "https://bedrock-runtime.eu-west-3.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    )


# --- the same answers ----------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["converse", "stream"])
async def test_same_answers_as_boto3(sim: SimServer, pair: Pair, stream: bool) -> None:
    adapters = pair(sim)
    plain = await same_outcome(adapters, ask("What is 2+2?", system="Be brief."), stream=stream)
    tools = await same_outcome(
        adapters,
        ask("What is the weather in Oslo?", tools=[WEATHER_TOOL], tool_choice="any"),
        stream=stream,
    )
    await same_outcome(adapters, rich_request(), stream=stream)
    profile = ask("hi", model=SONNET_4, region="eu-west-1", inference_type="INFERENCE_PROFILE")
    await same_outcome(adapters, profile, stream=stream)
    if stream:
        events, error = plain
        assert error is None and len(events) > 1 and events[-1]["type"] == "end"
        assert events[-1]["usage"]["output_tokens"] > 0
        tool_events, _ = tools
        assert [e["tool_call"]["arguments"] for e in tool_events if e["type"] == "tool_call"] == [
            {"city": "Oslo"}
        ]
    else:
        assert "4" in plain["text"] and plain["usage"]["input_tokens"] > 0
        assert tools["tool_calls"][0]["arguments"] == {"city": "Oslo"}


async def test_streams_decode_frames_split_across_chunks(sim: SimServer, pair: Pair) -> None:
    """test-basic splits HTTP chunks inside and across frames (split_frames)."""
    _, lean = pair(sim)
    events = [e async for e in lean.stream(ask("Tell me a short story about a lighthouse."))]
    assert sum(isinstance(e, TextDelta) for e in events) > 3
    assert isinstance(events[-1], StreamEnd) and events[-1].time_to_first_token_ms is not None


# --- the same errors -----------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["converse", "stream"])
async def test_same_error_categories_as_boto3(sim: SimServer, pair: Pair, stream: bool) -> None:
    adapters = pair(sim)
    cases = {
        ErrorCategory.NOT_AVAILABLE_IN_REGION: ask("hi", model=NOVA_MICRO, region="eu-west-1"),
        ErrorCategory.ACCESS_DENIED: ask("hi", model=LLAMA, region="eu-west-1"),
        ErrorCategory.VALIDATION: ask("Rome?", model=MISTRAL, tools=[WEATHER_TOOL]),
        ErrorCategory.MODEL_ERROR: ask("hi", model=CLAUDE_V2),  # end of life
    }
    for category, request in cases.items():
        error = await same_outcome(adapters, request, stream=False)
        if stream:
            _, error = await same_outcome(adapters, request, stream=True)
        assert error[0] is category, (category, error)
    on_demand = await same_outcome(adapters, ask("hi", model=SONNET_4), stream=stream)
    error = on_demand[1] if stream else on_demand
    assert (error[0], error[4]) == (ErrorCategory.VALIDATION, "inference_profile_required")
    # boto3 refuses maxTokens 0 before sending (ParamValidationError); the async path leaves
    # the check to the service (ValidationException, 400): the same category either way.
    zero = ask("hi").model_copy(update={"max_tokens": 0})
    outcome = stream_outcome if stream else chat_outcome
    for adapter in adapters:
        refused = await outcome(adapter, zero)
        assert (refused[1] if stream else refused)[0] is ErrorCategory.VALIDATION
    backwards = ChatRequest(
        model=SONNET, messages=[ChatMessage.assistant("Hi"), ChatMessage.user("Hello")]
    )
    assert (await same_outcome(adapters, backwards, stream=False))[0] is ErrorCategory.VALIDATION


async def test_bad_keys_are_auth_without_the_key(sim: SimServer, pair: Pair) -> None:
    adapters = pair(sim, access_key_id=BAD_ACCESS_KEY)
    error = await same_outcome(adapters, ask("hi"), stream=False)
    assert error[0] is ErrorCategory.AUTH and error[2] == 403
    _, streamed = await same_outcome(adapters, ask("hi"), stream=True)
    assert streamed[0] is ErrorCategory.AUTH
    with pytest.raises(ProviderError) as caught:
        await adapters[1].chat(ask("hi"))
    assert BAD_ACCESS_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "category", "status"),
    [
        ("InternalServerException", ErrorCategory.MODEL_ERROR, 500),
        ("ServiceUnavailableException", ErrorCategory.MODEL_ERROR, 503),
        ("ModelErrorException", ErrorCategory.MODEL_ERROR, 424),
        ("ModelTimeoutException", ErrorCategory.TIMEOUT, 408),
        ("ModelNotReadyException", ErrorCategory.THROTTLED, 429),
    ],
)
async def test_transient_failures_map_alike(
    pair: Pair, kind: str, category: ErrorCategory, status: int
) -> None:
    scenario = sim_scenario(
        regions={"us-east-1": {}},
        models=[{"id": SONNET, "provider": "Anthropic", "failure_rate": 1.0,
                 "failure_kinds": [kind]}],
    )  # fmt: skip
    with running_simulator(scenario) as flaky:
        adapters = pair(flaky)
        error = await same_outcome(adapters, ask("hi"), stream=False)
        assert (error[0], error[1], error[2]) == (category, True, status)
        events, streamed = await same_outcome(adapters, ask("Tell me a story."), stream=True)
        assert streamed is not None and streamed[0] is category and streamed[1]
        if kind == "ModelErrorException":  # inside the stream, after the first delta
            assert streamed[3] == "modelStreamErrorException"
            assert events and events[0]["type"] == "text_delta"
        else:
            assert (streamed[2], events) == (status, [])


async def test_throttling_with_retry_after(throttling_sim: SimServer, pair: Pair) -> None:
    results = []
    for adapter in pair(throttling_sim):
        throttling_sim.reset_quotas()
        throttling_sim.reset_stats()
        error, calls = await first_throttle(adapter, ask("hi"))
        assert throttling_sim.stats.calls == calls, "sent once, no hidden retry"
        results.append((error_key(error), error.retry_after_s, calls))
    assert results[0] == results[1]
    key, retry_after, _ = results[1]
    assert key[:3] == (ErrorCategory.THROTTLED, True, 429) and retry_after and retry_after > 0
    throttling_sim.reset_quotas()
    throttling_sim.reset_stats()
    lean = pair(throttling_sim)[1]
    await first_throttle(lean, ask("hi"))
    with pytest.raises(ProviderError) as caught:
        [e async for e in lean.stream(ask("hi"))]
    assert caught.value.category is ErrorCategory.THROTTLED and caught.value.retry_after_s


async def test_connection_error_is_network_and_never_shown_to_users(
    http: RecordingClient,
) -> None:
    port = free_port()  # nothing listens there
    dead_url = f"http://127.0.0.1:{port}"
    connection = aws_connection(base_url=dead_url)
    reference, lean = get_adapter(connection), RawBedrockAdapter(connection, http)
    for adapter in (reference, lean):
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ask("hi"))
        assert caught.value.category is ErrorCategory.NETWORK
        with pytest.raises(ProviderError) as streamed:
            [e async for e in adapter.stream(ask("hi"))]
        assert streamed.value.category is ErrorCategory.NETWORK
    error = caught.value
    assert str(port) in error.message  # kept for the log ...
    route = Route(
        deployment=SONNET,
        deployment_row_id="d1",
        model="claude-sim",
        provider=ProviderRef(
            id="p1", slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=dead_url
        ),
        region="us-east-1",
        price_in=None,
        price_out=None,
        certification=None,
        certified=True,
    )
    failed = NoRouteAnswered(
        [Attempt(route=route, ok=False, latency_ms=1.0, streamed=False, error=error)]
    )
    for shown in (
        provider_error_message(error, request_id="req-1", route=route),
        no_route_message(failed, request_id="req-1"),
    ):  # ... and never shown
        assert str(port) not in shown and "127.0.0.1" not in shown
        assert shown.startswith("provider unreachable")


async def test_leaving_a_stream_early_closes_the_connection(pair: Pair) -> None:
    scenario = sim_scenario(
        regions={"us-east-1": {}},
        models=[{"id": SONNET, "provider": "Anthropic", "tokens_per_second": 20}],
    )
    with running_simulator(scenario) as slow:
        _, lean = pair(slow)
        started = time.perf_counter()
        stream = lean.stream(ask("Tell me a long story about a lighthouse keeper."))
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        assert time.perf_counter() - started < 5.0
        assert (await lean.chat(ask("What is 2+2?"))).text


async def test_concurrent_calls_share_the_pool(sim: SimServer, pair: Pair) -> None:
    _, lean = pair(sim)
    answers = await asyncio.gather(*(lean.chat(ask(f"What is {n}+{n}?")) for n in range(20)))
    assert all(a.text for a in answers)
    weather = [
        ask(f"Weather in city {n}?", tools=[WEATHER_TOOL], tool_choice="any") for n in range(10)
    ]
    streams = await asyncio.gather(*(stream_outcome(lean, request) for request in weather))
    assert all(error is None and events[-1]["type"] == "end" for events, error in streams)


# --- who uses it ---------------------------------------------------------------------------
def test_the_pool_picks_the_async_path_for_bedrock(monkeypatch: pytest.MonkeyPatch) -> None:
    bedrock = ProviderRef(id="p", slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=None)
    assert isinstance(AdapterPool().get(bedrock, "us-east-1"), RawBedrockAdapter)
    assert isinstance(AdapterPool(raw_bedrock=False).get(bedrock, "us-east-1"), BedrockAdapter)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")  # only boto3 honours it
    monkeypatch.setattr("myia.routing.pool._PROXIED", True)
    assert isinstance(AdapterPool().get(bedrock, "us-east-1"), BedrockAdapter)


async def test_a_custom_ca_bundle_is_used_for_https(
    http: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    bundle = certifi.where()  # any PEM bundle
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    lean = RawBedrockAdapter(aws_connection(base_url=None, region="eu-west-3"), http)
    target = await lean._target("eu-west-3")
    assert target.cafile == str(bundle)
    client = lean._client_for(target.cafile)
    assert client is not http and client is lean._client_for(str(bundle))
    await lean.aclose()


def test_body_serialises_blobs_as_base64() -> None:
    image = {"image": {"format": "png", "source": {"bytes": b"\x00\xff"}}}
    body = converse_body({"modelId": "m", "messages": [{"role": "user", "content": [image]}]})
    assert body == (
        b'{"messages": [{"role": "user", "content": [{"image": {"format": "png", '
        b'"source": {"bytes": "AP8="}}}]}]}'
    )


async def test_tool_call_events_match(sim: SimServer, pair: Pair) -> None:
    request = ask("What is the weather in Paris?", tools=[WEATHER_TOOL], tool_choice="any")
    _, lean = pair(sim)
    events: list[StreamEvent] = [e async for e in lean.stream(request)]
    calls = [e.tool_call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]
