"""Bedrock runtime through unmodified boto3: Converse, ConverseStream and errors."""

from __future__ import annotations

import itertools
import json
import re
import socket
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EventStreamError

from myia.sim import SimServer, running_simulator
from tests.sim.conftest import (
    ACCESS_KEY,
    CLAUDE_V2,
    LLAMA,
    MISTRAL,
    NOVA_MICRO,
    SONNET,
    SONNET_4,
    TITAN_EMBED,
    WEATHER_TOOL,
    bedrock,
    scenario_of,
    solid_png,
    user,
)


def converse(
    sim: SimServer, text: str, model: str = SONNET, region: str = "us-east-1", **kwargs: Any
) -> Any:
    return bedrock(sim, region=region).converse(modelId=model, messages=[user(text)], **kwargs)


def stream_events(
    sim: SimServer, model: str = SONNET, region: str = "us-east-1", **kwargs: Any
) -> list[dict[str, Any]]:
    response = bedrock(sim, region=region).converse_stream(modelId=model, **kwargs)
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    return list(response["stream"])


def test_converse_text(basic_sim: SimServer) -> None:
    out = converse(basic_sim, "What is 17 + 25? Answer with only the number.")
    assert out["output"]["message"] == {"role": "assistant", "content": [{"text": "42"}]}
    assert out["stopReason"] == "end_turn"
    usage = out["usage"]
    assert usage["outputTokens"] == 1 and usage["inputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert out["metrics"]["latencyMs"] >= 0


def test_converse_system_rules(basic_sim: SimServer) -> None:
    out = converse(
        basic_sim,
        "Reply with exactly: good morning",
        system=[{"text": "Always answer in uppercase. End every answer with DONE."}],
    )
    assert out["output"]["message"]["content"][0]["text"] == "GOOD MORNING DONE"


def test_converse_through_profiles(basic_sim: SimServer) -> None:
    for region, profile in [
        ("us-east-1", f"us.{SONNET_4}"),
        ("eu-west-1", f"eu.{SONNET_4}"),
        ("eu-west-1", f"global.{SONNET_4}"),
    ]:
        assert converse(basic_sim, "hi", model=profile, region=region)["stopReason"] == "end_turn"


def test_max_tokens_and_stop_sequences(basic_sim: SimServer) -> None:
    cut = converse(basic_sim, "Write a long essay about rivers.", inferenceConfig={"maxTokens": 16})
    assert (cut["stopReason"], cut["usage"]["outputTokens"]) == ("max_tokens", 16)
    stopped = converse(basic_sim, "Count from 1 to 10.", inferenceConfig={"stopSequences": ["4"]})
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == "1, 2, 3, "


def test_tool_call_and_result_round_trip(basic_sim: SimServer) -> None:
    client = bedrock(basic_sim)
    question = user("What's the weather in Lisbon, in celsius?")
    tool_config = {"tools": [WEATHER_TOOL]}
    first = client.converse(modelId=SONNET, messages=[question], toolConfig=tool_config)
    assert first["stopReason"] == "tool_use"
    [block] = first["output"]["message"]["content"]
    call = block["toolUse"]
    assert call["name"] == "get_weather"
    assert call["input"] == {"city": "Lisbon", "unit": "celsius"}
    result = {
        "toolResult": {
            "toolUseId": call["toolUseId"],
            "content": [{"json": {"temperature": 21, "sky": "clear"}}],
        }
    }
    second = client.converse(
        modelId=SONNET,
        messages=[question, first["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig=tool_config,
    )
    assert second["stopReason"] == "end_turn"
    assert '"temperature": 21' in second["output"]["message"]["content"][0]["text"]


def test_tool_choice_forces_a_call(basic_sim: SimServer) -> None:
    out = converse(
        basic_sim, "Hello there.", toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}}
    )
    assert out["stopReason"] == "tool_use"


@pytest.mark.parametrize(("rgb", "colour"), [((255, 0, 0), "Red"), ((0, 200, 0), "Green")])
def test_converse_with_an_image(
    basic_sim: SimServer, rgb: tuple[int, int, int], colour: str
) -> None:
    image = {"image": {"format": "png", "source": {"bytes": solid_png(rgb)}}}
    out = bedrock(basic_sim).converse(
        modelId=SONNET,
        messages=[user("What colour is this image? Answer with one word.", image)],
    )
    assert out["output"]["message"]["content"][0]["text"] == colour


def test_converse_stream_text(basic_sim: SimServer) -> None:
    events = stream_events(basic_sim, messages=[user("Tell me a short story about a fox.")])
    assert events[0] == {"messageStart": {"role": "assistant"}}
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert len(deltas) > 2
    assert {"contentBlockStop": {"contentBlockIndex": 0}} in events
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    metadata = events[-1]["metadata"]
    assert metadata["usage"]["outputTokens"] == -(-len("".join(deltas)) // 4)
    assert "latencyMs" in metadata["metrics"]


def test_converse_stream_max_tokens(basic_sim: SimServer) -> None:
    events = stream_events(
        basic_sim,
        messages=[user("Write a long story about owls.")],
        inferenceConfig={"maxTokens": 10},
    )
    assert {"messageStop": {"stopReason": "max_tokens"}} in events
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 10


def test_converse_stream_tool_use(basic_sim: SimServer) -> None:
    events = stream_events(
        basic_sim,
        messages=[user("Weather in Oslo in fahrenheit?")],
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    assert start["start"]["toolUse"]["toolUseId"]
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    ]
    assert len(fragments) > 1
    assert json.loads("".join(fragments)) == {"city": "Oslo", "unit": "fahrenheit"}
    assert {"messageStop": {"stopReason": "tool_use"}} in events


def _http_chunks(sim: SimServer, path: str, body: bytes, headers: dict[str, str]) -> list[bytes]:
    """The response body as the server chunked it (HTTP/1.1 chunked transfer coding)."""
    host, port = sim.base_url.removeprefix("http://").split(":")
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    head, rest = raw.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding: chunked" in head.lower()
    chunks: list[bytes] = []
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]


def test_stream_frames_cross_http_chunks(basic_sim: SimServer) -> None:
    body = json.dumps({"messages": [user("Tell me a story about a cat.")]}).encode()
    path = f"/model/{SONNET}/converse-stream"
    request = AWSRequest(
        "POST",
        f"{basic_sim.base_url}{path}",
        data=body,
        headers={"content-type": "application/json"},
    )
    SigV4Auth(Credentials(ACCESS_KEY, "secret"), "bedrock", "us-east-1").add_auth(request)
    chunks = _http_chunks(basic_sim, path, body, dict(request.headers))
    stream = b"".join(chunks)
    frame_ends, position = set(), 0
    while position < len(stream):
        position += int.from_bytes(stream[position : position + 4], "big")
        frame_ends.add(position)
    assert position == len(stream) and len(frame_ends) > 4
    chunk_ends = set(itertools.accumulate(len(c) for c in chunks))
    assert chunk_ends - frame_ends, "some HTTP chunks end inside a frame"
    assert frame_ends - chunk_ends, "some frames end inside an HTTP chunk"


@pytest.mark.parametrize(
    ("model", "region", "exception", "status", "message"),
    [
        (
            SONNET_4,
            "us-east-1",
            "ValidationException",
            400,
            f"Invocation of model ID {SONNET_4} with on-demand throughput isn’t supported. Retry "
            "your request with the ID or ARN of an inference profile that contains this model.",
        ),
        (
            f"us.{SONNET_4}",
            "eu-west-1",
            "ValidationException",
            400,
            "The provided model identifier is invalid.",
        ),
        (
            NOVA_MICRO,
            "eu-west-1",
            "ValidationException",
            400,
            "The provided model identifier is invalid.",
        ),
        (
            LLAMA,
            "eu-west-1",
            "AccessDeniedException",
            403,
            "You don't have access to the model with the specified model ID.",
        ),
        (
            CLAUDE_V2,
            "us-east-1",
            "ResourceNotFoundException",
            404,
            "This model version has reached the end of its life. Please refer to the AWS "
            "documentation for more details.",
        ),
        (
            TITAN_EMBED,
            "us-east-1",
            "ValidationException",
            400,
            "This action doesn't support the model that you provided. Try again with a "
            "supported text or chat model.",
        ),
    ],
)
def test_errors_map_to_botocore_exceptions(
    basic_sim: SimServer, model: str, region: str, exception: str, status: int, message: str
) -> None:
    client = bedrock(basic_sim, region=region)
    with pytest.raises(getattr(client.exceptions, exception)) as caught:
        client.converse(modelId=model, messages=[user("hi")])
    assert caught.value.response["Error"]["Message"] == message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    with pytest.raises(getattr(client.exceptions, exception)):
        client.converse_stream(modelId=model, messages=[user("hi")])


def test_faults_and_unclaimed_capabilities(basic_sim: SimServer) -> None:
    client = bedrock(basic_sim)
    with pytest.raises(
        client.exceptions.ValidationException,
        match=re.escape("This model doesn't support tool use."),
    ):
        client.converse(
            modelId=MISTRAL,
            messages=[user("Weather in Rome?")],
            toolConfig={"tools": [WEATHER_TOOL]},
        )
    image = {"image": {"format": "png", "source": {"bytes": solid_png((0, 0, 255))}}}
    with pytest.raises(client.exceptions.ValidationException, match="image"):
        client.converse(modelId=MISTRAL, messages=[user("What colour?", image)])
    with pytest.raises(client.exceptions.ValidationException, match="start with a user"):
        client.converse(
            modelId=SONNET, messages=[{"role": "assistant", "content": [{"text": "hi"}]}]
        )


def test_capability_faults_from_a_scenario() -> None:
    scenario = scenario_of(
        regions=["us-east-1"],
        models=[
            {"id": "a.nostream-v1", "provider": "A", "faults": ["streaming"]},
            {"id": "a.nosystem-v1", "provider": "A", "faults": ["system"]},
            {
                "id": "a.blind-v1",
                "provider": "A",
                "input_modalities": ["TEXT", "IMAGE"],
                "faults": ["vision"],
            },
        ],
    )
    with running_simulator(scenario) as sim:
        client = bedrock(sim)
        with pytest.raises(
            client.exceptions.ValidationException,
            match=re.escape("The model is unsupported for streaming."),
        ):
            client.converse_stream(modelId="a.nostream-v1", messages=[user("hi")])
        assert client.converse(modelId="a.nostream-v1", messages=[user("hi")])
        with pytest.raises(
            client.exceptions.ValidationException,
            match=re.escape("This model doesn't support system messages."),
        ):
            client.converse(
                modelId="a.nosystem-v1", messages=[user("hi")], system=[{"text": "Be brief."}]
            )
        image = {"image": {"format": "png", "source": {"bytes": solid_png((255, 0, 0))}}}
        out = client.converse(
            modelId="a.blind-v1",
            messages=[user("What colour is this image? Answer with one word.", image)],
        )
        assert out["output"]["message"]["content"][0]["text"] not in ("Red", "")


def test_failures_are_seeded_and_include_in_stream_errors() -> None:
    scenario = scenario_of(
        seed=7,
        regions=["us-east-1"],
        models=[{"id": "a.flaky-v1", "provider": "A", "failure_rate": 1.0}],
    )

    def outcomes() -> list[str]:
        found = []
        with running_simulator(scenario) as sim:
            client = bedrock(sim)
            for _ in range(8):
                try:
                    list(
                        client.converse_stream(modelId="a.flaky-v1", messages=[user("hi")])[
                            "stream"
                        ]
                    )
                    found.append("ok")
                except EventStreamError as exc:
                    found.append(f"stream:{exc.response['Error']['Code']}")
                except ClientError as exc:
                    found.append(exc.response["Error"]["Code"])
        return found

    first = outcomes()
    assert first == outcomes(), "the same seed fails the same calls"
    assert "stream:modelStreamErrorException" in first
    assert "InternalServerException" in first and "ok" not in first


def test_failure_rate_is_roughly_respected() -> None:
    scenario = scenario_of(
        seed=3,
        regions=["us-east-1"],
        models=[{"id": "a.some-v1", "provider": "A", "failure_rate": 0.3}],
    )
    with running_simulator(scenario) as sim:
        client = bedrock(sim)
        failures = 0
        for _ in range(40):
            try:
                client.converse(modelId="a.some-v1", messages=[user("hi")])
            except (
                client.exceptions.InternalServerException,
                client.exceptions.ModelErrorException,
            ):
                failures += 1
        assert 4 <= failures <= 20
        assert sim.stats.by_model["a.some-v1"].errors == failures


def test_latency_is_applied() -> None:
    # latencyMs is the wall time the simulator took: the quick model's has no lower bound to
    # keep, and a latency far above what a busy machine adds keeps the verdict load-proof.
    scenario = scenario_of(
        regions=["us-east-1"],
        defaults={"latency": 400, "time_to_first_token": 40, "tokens_per_second": 2000},
        models=[
            {"id": "a.slow-v1", "provider": "A"},
            {"id": "a.quick-v1", "provider": "A", "latency": 0},
        ],
    )
    with running_simulator(scenario) as sim:
        slow = converse(sim, "hi", model="a.slow-v1")
        assert slow["metrics"]["latencyMs"] >= 400
        assert converse(sim, "hi", model="a.quick-v1")["metrics"]["latencyMs"] < 400
        events = stream_events(sim, model="a.slow-v1", messages=[user("Count from 1 to 100.")])
        assert events[-1]["metadata"]["metrics"]["latencyMs"] >= 40


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("ModelTimeoutException", 408),
        ("ServiceUnavailableException", 503),
        ("ModelNotReadyException", 429),
    ],
)
def test_failure_kinds(kind: str, status: int) -> None:
    scenario = scenario_of(
        regions=["us-east-1"],
        models=[{"id": "a.x-v1", "provider": "A", "failure_rate": 1, "failure_kinds": [kind]}],
    )
    with running_simulator(scenario) as sim:
        client = bedrock(sim)
        for call in (client.converse, client.converse_stream):
            with pytest.raises(getattr(client.exceptions, kind)) as caught:
                call(modelId="a.x-v1", messages=[user("hi")])
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
