"""A chat message asking more output tokens than the model's deployments can give is refused,
naming `max_tokens`, before anything is written or sent (issue 24, point 2)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import BaseModel, Message
from myia.sim import SimServer
from tests.chat.conftest import certified_catalog, send
from tests.factories import bearer_headers

PROMPT = "Reply with exactly: harbour juniper"


async def test_over_the_maximum_output_is_refused_by_name(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    gpt = await session.get(BaseModel, catalog["gpt"].base_model_id)
    assert gpt is not None
    gpt.capabilities = {**(gpt.capabilities or {}), "max_output_tokens": 100}
    await session.commit()
    headers = await bearer_headers(session)
    chat_id = (await client.post("/api/v2/chats", json={"title": "max"}, headers=headers)).json()[
        "id"
    ]
    calls = sim.stats.calls

    refused = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": PROMPT, "model": "gpt-4o", "max_tokens": 1000},
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["max_tokens"]
    assert "max_tokens is too large: 1000" in refused.text and "at most 100" in refused.text
    assert sim.stats.calls == calls
    count = await session.scalar(
        select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
    )
    assert count == 0

    done = (await send(client, headers, chat_id, PROMPT, max_tokens=100))[-1][1]
    assert done["status"] == "complete"
