"""Chat test support: a catalog pointing at the simulator (`sim`, tests/sim_support.py),
certified routes, SSE parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.sim import SimServer
from tests.factories import make_certification, make_sim_catalog

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STREAMING_PASSED = [{"name": "streaming", "capability": "streaming", "status": "passed"}]


async def certified_catalog(session: AsyncSession, sim: SimServer) -> dict[str, Any]:
    """Every test-basic chat model in the catalog; gpt-4o (openai) and Claude 3.5 Sonnet v2
    (Bedrock, us-east-1) certified with streaming."""
    deployments = await make_sim_catalog(session, sim.scenario, sim.base_url)
    by_id = {d.deployment_id: d for d in deployments}
    gpt = by_id["gpt-4o"]
    claude = by_id["anthropic.claude-3-5-sonnet-20241022-v2:0"]
    await make_certification(
        session, deployment=gpt, region="global", test_results=STREAMING_PASSED
    )
    await make_certification(
        session, deployment=claude, region="us-east-1", test_results=STREAMING_PASSED
    )
    return {"gpt": gpt, "claude": claude, "all": by_id}


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        events.append((name, json.loads(data) if data else {}))
    return events


async def send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    chat_id: str,
    content: str,
    model: str = "gpt-4o",
    **extra: Any,
) -> list[tuple[str, dict[str, Any]]]:
    response = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": content, "model": model, **extra},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)
