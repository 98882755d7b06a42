"""Provider test helpers: connections, rich requests and a tiny PNG."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from myia.db.enums import AuthType
from myia.providers.adapter import ProviderAdapter
from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.errors import ProviderError
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    TextPart,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)
from myia.sim import Scenario, SimServer, load_scenario, running_simulator


def solid_png(rgb: tuple[int, int, int], size: int = 4) -> bytes:
    """A small opaque PNG of one colour: the simulator's vision answer names the colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


PNG = solid_png((255, 0, 0))

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def aws_connection(
    base_url: str | None = None,
    region: str | None = "us-east-1",
    access_key_id: str = "AKIAIOSFODNN7EXAMPLE",
    **kwargs: Any,
) -> ProviderConnection:
    return ProviderConnection(
        slug="bedrock",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=base_url,
        region=region,
        credentials=AwsCredentials(
            access_key_id=SecretStr(access_key_id),
            secret_access_key=SecretStr("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ),
        **kwargs,
    )


def api_key_connection(
    slug: str = "openai", base_url: str | None = None, api_key: str = "sk-test-0123456789"
) -> ProviderConnection:
    return ProviderConnection(
        slug=slug,
        auth_type=AuthType.API_KEY,
        base_url=base_url,
        credentials=ApiKeyCredentials(api_key=SecretStr(api_key)),
        timeout_s=10,
    )


def rich_request(model: str = "anthropic.claude-3-5-sonnet-20241022-v2:0") -> ChatRequest:
    """System, multi-turn, an image, a tool call and its result, inference options."""
    return ChatRequest(
        model=model,
        system="You are terse.",
        messages=[
            ChatMessage(
                role="user",
                content=[
                    TextPart(text="What is in this picture, and the weather in Paris?"),
                    ImagePart(format="png", data=PNG),
                ],
            ),
            ChatMessage(
                role="assistant",
                content=[
                    TextPart(text="A red pixel. Checking the weather."),
                    ToolUsePart(id="tool-1", name="get_weather", input={"city": "Paris"}),
                ],
            ),
            ChatMessage(
                role="user",
                content=[ToolResultPart(tool_use_id="tool-1", content="18C, sunny")],
            ),
        ],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        max_tokens=256,
        temperature=0.2,
        top_p=0.9,
        stop=["END"],
    )


# --- the simulator -------------------------------------------------------------------------
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BAD_ACCESS_KEY = "AKIAINVALIDKEY000000"  # listed in test-basic's invalid_access_keys


@pytest.fixture(scope="module")
def throttling_sim() -> Iterator[SimServer]:
    with running_simulator(load_scenario(SCENARIOS / "test-throttle.yaml")) as server:
        yield server


def sim_scenario(**fields: Any) -> Scenario:
    """A scenario built in the test, for worlds the shared files do not describe."""
    return Scenario.model_validate({"name": "providers-test", **fields})


async def first_throttle(
    adapter: ProviderAdapter, request: ChatRequest, limit: int = 20
) -> tuple[ProviderError, int]:
    """Call until the quota refuses; the error and the number of calls it took."""
    for attempt in range(1, limit + 1):
        try:
            await adapter.chat(request)
        except ProviderError as exc:
            return exc, attempt
    raise AssertionError(f"no throttling after {limit} quick calls")
