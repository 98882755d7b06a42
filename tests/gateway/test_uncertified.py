"""Uncertified deployments: invisible by default; with GATEWAY_ALLOW_UNCERTIFIED, routable
and labelled as such in the response."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import Provider
from myia.sim import SimServer
from tests.factories import make_base_model, make_deployment
from tests.gateway.conftest import make_world
from tests.sim_support import AppServer


async def test_uncertified_routes_need_the_operator_setting(
    session: AsyncSession, db_url: str, fresh_sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(session, fresh_sim)
    trial = await make_base_model(session, name="Trial Chat", vendor="Acme",
                                  capabilities={"streaming": True})  # fmt: skip
    midco = await session.get(Provider, world.deployments["midco"].provider_id)
    assert midco is not None
    await make_deployment(session, base_model=trial, provider=midco, deployment_id="trial-model",
                          cost_per_1m_input=0.2, cost_per_1m_output=0.4)  # fmt: skip
    headers = {"Authorization": f"Bearer {world.key}"}
    body = {"model": "trial-chat", "messages": [{"role": "user", "content": "hi"}]}

    monkeypatch.delenv("GATEWAY_ALLOW_UNCERTIFIED", raising=False)
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", headers=headers) as http:
            listed = [m["id"] for m in (await http.get("/models")).json()["data"]]
            assert "trial-chat" not in listed and "test-chat" in listed
            refused = await http.post("/chat/completions", json=body)
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "model_not_routable"
            assert "certification" in refused.json()["error"]["message"]

    monkeypatch.setenv("GATEWAY_ALLOW_UNCERTIFIED", "true")
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", headers=headers) as http:
            listed = [m["id"] for m in (await http.get("/models")).json()["data"]]
            assert "trial-chat" in listed
            answered = await http.post("/chat/completions", json=body)
            assert answered.status_code == 200, answered.text
            assert answered.headers["x-myia-certified"] == "false"
            assert answered.headers["x-myia-provider"] == "midco"
