"""Chats call the provider with the model's `default_params` under the deployment's
`custom_params`, the message's own values winning (issue 28); the simulator's answer shows
what it received (it cuts the answer at `max_tokens`)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from myia.db.models import BaseModel
from myia.sim import SimServer
from tests.chat.conftest import certified_catalog, send
from tests.factories import bearer_headers

PROMPT = "Reply with exactly: harbour juniper lantern meadow"


async def test_chat_applies_params_under_the_messages_own(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    gpt = await session.get(BaseModel, catalog["gpt"].base_model_id)
    assert gpt is not None
    gpt.default_params = {"max_tokens": 2}
    await session.commit()
    headers = await bearer_headers(session)
    chat = await client.post("/api/v2/chats", json={"title": "params"}, headers=headers)
    chat_id = chat.json()["id"]

    done = (await send(client, headers, chat_id, PROMPT))[-1][1]
    assert done["status"] == "complete"
    assert done["tokens_out"] <= 2 and "meadow" not in done["content"]

    done = (await send(client, headers, chat_id, PROMPT, max_tokens=300))[-1][1]
    assert "harbour juniper lantern meadow" in done["content"]

    # The deployment's custom_params over the model's default_params (set through the API,
    # which drops the cached route table).
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    stored = await client.put(
        f"/api/v2/deployments/{catalog['gpt'].id}",
        json={"custom_params": {"max_tokens": 300}},
        headers=admin,
    )
    assert stored.status_code == 200, stored.text
    done = (await send(client, headers, chat_id, PROMPT))[-1][1]
    assert "harbour juniper lantern meadow" in done["content"]
