"""The server itself: lifecycle, stats, use from async code and in-process ASGI."""

from __future__ import annotations

import asyncio

import httpx

from myia.sim import SimServer, build_app, running_simulator
from tests.sim.conftest import SCENARIOS, SONNET, bedrock, scenario_of, user


async def test_usable_from_async_code() -> None:
    scenario = scenario_of(
        regions=["us-east-1"], models=[{"id": SONNET, "provider": "A"}], defaults={"latency": 30}
    )
    with running_simulator(scenario) as sim:
        client = bedrock(sim)

        def call() -> str:
            out = client.converse(modelId=SONNET, messages=[user("Reply with exactly: hey")])
            return str(out["output"]["message"]["content"][0]["text"])

        # The simulator sleeps on its own loop, so concurrent calls overlap.
        answers = await asyncio.gather(*(asyncio.to_thread(call) for _ in range(4)))
        assert answers == ["hey"] * 4
        async with httpx.AsyncClient(base_url=sim.base_url) as raw:
            health = (await raw.get("/_sim/health")).json()
        assert health == {"status": "ok", "simulated": True, "scenario": "sim-test"}


def test_lifecycle_and_stats() -> None:
    server = SimServer(SCENARIOS / "test-basic.yaml")
    assert server.start() is server and server.port > 0
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        bedrock(server).converse(modelId=SONNET, messages=[user("hi")])
        bedrock(server, "bedrock").list_foundation_models()
        stats = server.stats
        assert (stats.calls, stats.errors, stats.control_plane_calls) == (1, 0, 1)
        assert httpx.get(f"{server.base_url}/_sim/stats").json()["by_model"] == {
            SONNET: {"calls": 1, "throttled": 0, "errors": 0}
        }
        server.reset_stats()
        assert server.stats.calls == 0
    finally:
        server.stop()
    server.stop()  # idempotent


async def test_in_process_asgi(basic_scenario: object) -> None:
    from myia.sim import Scenario

    assert isinstance(basic_scenario, Scenario)
    transport = httpx.ASGITransport(app=build_app(basic_scenario))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as raw:
        models = await raw.get("/openai/v1/models", headers={"Authorization": "Bearer k"})
        # Bedrock API keys (bearer tokens) carry no region: a header or the first region.
        listing = await raw.get(
            "/foundation-models",
            headers={"Authorization": "Bearer bedrock-api-key", "x-myia-sim-region": "eu-west-1"},
        )
    assert [m["id"] for m in models.json()["data"]] == ["gpt-4o", "gpt-3.5-turbo"]
    arns = [m["modelArn"] for m in listing.json()["modelSummaries"]]
    assert arns and all(":eu-west-1::" in arn for arn in arns)
