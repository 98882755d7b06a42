"""Who may do what on the catalog: reads need a login, writes need the admin role."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import BaseModel, ModelDeployment, Provider
from tests.factories import auth_headers, make_small_catalog

Call = tuple[str, str, dict[str, Any] | None]


def catalog_calls(catalog: dict[str, Any]) -> tuple[list[Call], list[Call]]:
    """(reads, writes) covering every catalog endpoint, on rows that exist."""
    model, deployment, provider = catalog["claude"], catalog["claude@bedrock"], catalog["bedrock"]
    new_model = {"name": "Fresh", "vendor": "acme"}
    new_deployment = {
        "base_model_id": model.id,
        "provider_id": provider.id,
        "deployment_id": "fresh",
        "cost_per_1m_input": 1,
        "cost_per_1m_output": 1,
    }
    new_provider = {"slug": "fresh", "name": "Fresh", "auth_type": "api_key"}
    reads: list[Call] = [
        ("GET", "/api/v2/models", None),
        ("GET", f"/api/v2/models/{model.id}", None),
        ("GET", f"/api/v2/models/{model.id}/deployments", None),
        ("GET", f"/api/v2/models/{model.id}/compare-prices", None),
        ("GET", "/api/v2/deployments", None),
        ("GET", f"/api/v2/deployments/{deployment.id}", None),
        ("GET", "/api/v2/providers", None),
        ("GET", f"/api/v2/providers/{provider.id}", None),
    ]
    writes: list[Call] = [
        ("POST", "/api/v2/models", new_model),
        ("PUT", f"/api/v2/models/{model.id}", {"name": "Renamed"}),
        ("DELETE", f"/api/v2/models/{model.id}", None),
        ("POST", "/api/v2/deployments", new_deployment),
        ("PUT", f"/api/v2/deployments/{deployment.id}", {"cost_per_1m_input": 0}),
        ("DELETE", f"/api/v2/deployments/{deployment.id}", None),
        ("POST", "/api/v2/providers", new_provider),
        ("PUT", f"/api/v2/providers/{provider.id}", {"is_active": False}),
    ]  # fmt: skip
    return reads, writes


async def call(
    client: httpx.AsyncClient, request: Call, headers: dict[str, str] | None = None
) -> httpx.Response:
    method, url, body = request
    return await client.request(method, url, json=body, headers=headers)


async def counts(session: AsyncSession) -> list[int | None]:
    found = [
        await session.scalar(select(func.count()).select_from(table))
        for table in (BaseModel, ModelDeployment, Provider)
    ]
    await session.commit()  # end the read transaction: the app shares this SQLite file
    return found


async def test_anonymous_callers_get_401_everywhere(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    reads, writes = catalog_calls(await make_small_catalog(session))
    garbage = {"Authorization": "Bearer not.a.jwt"}
    for request in reads + writes:
        for headers in (None, garbage):
            response = await call(client, request, headers)
            assert response.status_code == 401, (request[:2], headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


async def test_plain_users_read_but_get_403_on_every_write(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    reads, writes = catalog_calls(await make_small_catalog(session))
    user = await auth_headers(client, session)  # the real login flow, once
    before = await counts(session)

    for request in reads:
        response = await call(client, request, user)
        assert response.status_code == 200, (request[:2], response.text)
    for request in writes:
        response = await call(client, request, user)
        assert response.status_code == 403, (request[:2], response.text)
        assert response.json()["detail"] == "this action needs the admin role"

    assert await counts(session) == before
    renamed = await client.get(reads[1][1], headers=user)
    assert renamed.json()["name"] == "Claude 3.5 Sonnet"
