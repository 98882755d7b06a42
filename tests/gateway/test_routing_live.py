"""Routing through the gateway to the simulator: fallback, refusals, never the wrong route."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.sim import SimServer
from tests.gateway.conftest import MODEL, call_logs, exhaust, make_world
from tests.sim_support import AppServer

TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]
NEVER = ("failedco", "expiredco")


def calls_to(sim: SimServer, provider: str) -> int:
    counts = sim.stats.by_region.get(provider)
    return counts.calls if counts else 0


async def test_throttled_cheapest_falls_back_and_both_attempts_are_logged(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    exhaust(fresh_sim, "cheapco")
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Look up the tides"}],
            tools=TOOLS,
        )
        assert raw.parse().choices[0].message is not None
        assert raw.headers["x-myia-provider"] == "midco"
        assert raw.headers["x-myia-fallbacks"] == "1"
        rows = await call_logs(db_url, count=2)
    by_provider = {row.provider: row for row in rows}
    assert set(by_provider) == {"cheapco", "midco"}
    assert by_provider["cheapco"].status == "error"
    assert by_provider["cheapco"].error_category == "THROTTLED"
    assert by_provider["midco"].status == "success"
    assert by_provider["midco"].deployment_id == world.deployments["midco"].id
    assert by_provider["midco"].tokens_in and by_provider["midco"].cost is not None
    # Cheaper but failed, expired, or failed tool calling: never called.
    for provider in (*NEVER, "notoolco"):
        assert calls_to(fresh_sim, provider) == 0, provider


async def test_every_candidate_failing_is_an_openai_error_naming_the_attempts(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    exhaust(fresh_sim, "cheapco", "solo-model")
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(
                model="solo-chat", messages=[{"role": "user", "content": "hello"}]
            )
        error = caught.value
        assert error.status_code == 429
        body: Any = error.body
        assert body["code"] == "rate_limit_exceeded" and body["type"]
        assert "cheapco/solo-model" in body["message"] and "THROTTLED" in body["message"]
        with pytest.raises(openai.RateLimitError):  # streamed: refused before the first byte
            client.chat.completions.create(
                model="solo-chat", messages=[{"role": "user", "content": "hi"}], stream=True
            )


async def test_streams_never_reach_failed_expired_or_incapable_deployments(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        for _ in range(3):
            stream = client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "Look up the tides"}],
                tools=TOOLS,
                stream=True,
            )
            assert list(stream)
        plain = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        assert plain.headers["x-myia-provider"] == "notoolco"  # certified; no tools needed
    for provider in (*NEVER, "notoolco"):
        expected = 1 if provider == "notoolco" else 0
        assert calls_to(fresh_sim, provider) == expected, provider


async def test_openai_shaped_errors_and_region_preference(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        auth = {"Authorization": f"Bearer {world.key}"}
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", timeout=30) as http:
            cases = [
                ({"Authorization": "Bearer myia-nope"}, {"model": MODEL}, 401, "invalid_api_key"),
                ({}, {"model": MODEL}, 401, "invalid_api_key"),
                (auth, {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
                 404, "model_not_found"),
                (auth, {"model": MODEL}, 400, None),
                (auth, {"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]},
                 400, None),
            ]  # fmt: skip
            for headers, body, status, code in cases:
                response = await http.post("/chat/completions", json=body, headers=headers)
                assert response.status_code == status, (body, response.text)
                error = response.json()["error"]
                assert set(error) == {"message", "type", "param", "code"} and error["message"]
                assert code is None or error["code"] == code
            garbage = await http.post("/chat/completions", content=b"{nope", headers=auth)
            assert garbage.status_code == 400 and "JSON" in garbage.json()["error"]["message"]

            for region in ("eu-west-1", "us-east-1"):
                answer = await http.post(
                    "/chat/completions",
                    headers={**auth, "X-MyIA-Region": region},
                    json={"model": "claude-sim", "messages": [{"role": "user", "content": "hi"}]},
                )
                assert answer.status_code == 200, answer.text
                assert answer.headers["x-myia-region"] == region
                assert answer.headers["x-myia-provider"] == "bedrock"
            streamed = {
                "model": "claude-sim",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Reply with exactly: oslo"}],
            }
            async with http.stream("POST", "/chat/completions", headers=auth, json=streamed) as r:
                assert r.status_code == 200 and r.headers["x-myia-provider"] == "bedrock"
                lines = [line async for line in r.aiter_lines() if line.startswith("data: ")]
            assert lines[-1] == "data: [DONE]" and '"usage"' in lines[-2]
            assert "oslo" in "".join(lines).lower()
