"""A user's `enabled_models` setting: their /v1/models lists only those, a disabled model is
refused to them on /v1 (404 model_not_found, as an unknown model) and in chat (the `model`
field), and nothing changes for anyone else. An empty list means every model."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.auth.tokens import create_access_token
from myia.config import DEMO_JWT_SECRET
from myia.db.enums import UserRole
from myia.sim import SimServer
from tests.factories import make_user
from tests.gateway.conftest import make_world


def _listed(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["data"]}


async def test_a_disabled_model_is_gone_for_that_user_only(
    client: httpx.AsyncClient, session: AsyncSession, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    mine = {"Authorization": f"Bearer {world.key}"}
    other_user = await make_user(session)
    _, other_key = await create_api_key(session=session, user_id=other_user.id, name="other")
    theirs = {"Authorization": f"Bearer {other_key}"}
    jwt = {
        "Authorization": "Bearer "
        + create_access_token(
            user_id=world.user_id, role=UserRole.USER, secret=DEMO_JWT_SECRET, ttl_minutes=60
        )
    }
    everything = {"test-chat", "claude-sim", "solo-chat"}
    assert _listed(await client.get("/v1/models", headers=mine)) == everything

    solo = world.deployments["solo"].base_model_id
    changed = await client.put("/api/user/settings", json={"enabled_models": [solo]}, headers=jwt)
    assert changed.status_code == 200, changed.text

    # At once (the cached key owner is dropped), for this user's keys only.
    assert _listed(await client.get("/v1/models", headers=mine)) == {"solo-chat"}
    assert _listed(await client.get("/v1/models", headers=theirs)) == everything

    body: dict[str, Any] = {"model": "test-chat", "messages": [{"role": "user", "content": "hi"}]}
    refused = await client.post("/v1/chat/completions", json=body, headers=mine)
    assert refused.status_code == 404, refused.text
    error = refused.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "enabled" in error["message"]
    # By any name of the model: its deployment id too.
    body["model"] = "chat-model"
    assert (await client.post("/v1/chat/completions", json=body, headers=mine)).status_code == 404
    body["model"] = "solo-chat"
    assert (await client.post("/v1/chat/completions", json=body, headers=mine)).status_code == 200
    body["model"] = "test-chat"  # (cheapco's one call a minute is spent: it falls back)
    assert (await client.post("/v1/chat/completions", json=body, headers=theirs)).status_code == 200

    # Chat refuses it by the `model` field, and stores nothing.
    chat = await client.post("/api/v2/chats", json={"title": "t"}, headers=jwt)
    url = f"/api/v2/chats/{chat.json()['id']}/messages"
    sent = await client.post(
        f"{url}?stream=false", json={"content": "hi", "model": "test-chat"}, headers=jwt
    )
    assert sent.status_code == 422 and "model" in sent.text and "enabled" in sent.text
    assert (await client.get(url, headers=jwt)).json()["count"] == 0

    # An empty list: every model again.
    cleared = await client.put("/api/user/settings", json={"enabled_models": []}, headers=jwt)
    assert cleared.status_code == 200
    assert _listed(await client.get("/v1/models", headers=mine)) == everything
