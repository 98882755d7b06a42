"""Simulator fixtures: one shared server per scenario file, and clients pointed at it.

Tests talk to the simulator only through the real SDKs (boto3 with `endpoint_url`, openai
with `base_url`) or raw httpx, exactly as the adapters and the demo will.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import openai
import pytest

from myia.sim import Scenario, SimServer, load_scenario, running_simulator

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ACCESS_KEY = "AKIASIMULATOR0000001"
BAD_ACCESS_KEY = "AKIAINVALIDKEY000000"  # in test-basic's invalid_access_keys
# `total_max_attempts`: in a Config, `max_attempts` counts retries, so {"max_attempts": 1}
# would still send a throttled or failed call twice.
NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # works, every capability
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"  # inference profile only (+ global)
MISTRAL = "mistral.mistral-large-2402-v1:0"  # claims tools, refuses them
NOVA_MICRO = "amazon.nova-micro-v1:0"  # us-east-1 only
LLAMA = "meta.llama3-1-70b-instruct-v1:0"  # access denied in eu-west-1
CLAUDE_V2 = "anthropic.claude-v2:1"  # end of life
TITAN_EMBED = "amazon.titan-embed-text-v2:0"  # not a chat model

WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city", "unit"],
            }
        },
    }
}


def solid_png(rgb: tuple[int, ...], size: int = 4, colour_type: int = 2) -> bytes:
    """A one-colour PNG (RGB, or RGBA with colour_type=6), built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def bedrock(
    sim: SimServer,
    service: str = "bedrock-runtime",
    region: str = "us-east-1",
    access_key: str = ACCESS_KEY,
) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=sim.base_url,
        aws_access_key_id=access_key,
        aws_secret_access_key="simulated-secret",
        config=NO_RETRIES,
    )


def openai_client(sim: SimServer, slug: str = "openai", api_key: str = "sk-test") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{sim.base_url}/{slug}/v1", api_key=api_key, max_retries=0)


def user(text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}, *extra]}


def scenario_of(**fields: Any) -> Scenario:
    return Scenario.model_validate({"name": "sim-test", **fields})


@pytest.fixture(scope="session")
def basic_scenario() -> Scenario:
    return load_scenario(SCENARIOS / "test-basic.yaml")


@pytest.fixture(scope="session")
def basic_sim(basic_scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(basic_scenario) as server:
        yield server


@pytest.fixture
def throttle_sim() -> Iterator[SimServer]:
    # Function-scoped: each test starts with full buckets and zeroed stats.
    with running_simulator(load_scenario(SCENARIOS / "test-throttle.yaml")) as server:
        yield server


@pytest.fixture(scope="session")
def demo_sim() -> Iterator[SimServer]:
    with running_simulator(load_scenario(SCENARIOS / "demo.yaml")) as server:
        yield server
