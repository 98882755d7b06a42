"""/api/v2/deployments: CRUD, filters, effective capabilities — success and bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from myia.db.models import ModelCertification
from tests.factories import (
    bearer_headers,
    make_base_model,
    make_deployment,
    make_provider,
    make_small_catalog,
)

URL = "/api/v2/deployments"


@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session, role=UserRole.ADMIN)


def fields_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


async def ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["deployment_id"] for item in response.json()["items"]]


async def test_list_deployments_filters_and_paginates(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    catalog = await make_small_catalog(session)
    # Overrides: GPT loses vision on bedrock; Mistral gains it on openai.
    await make_deployment(
        session,
        base_model=catalog["gpt"],
        provider=catalog["bedrock"],
        deployment_id="gpt-4o-bedrock",
        capabilities={"vision": False, "audio_input": True},  # a key from a newer writer
    )
    await make_deployment(
        session,
        base_model=catalog["mistral"],
        provider=catalog["openai"],
        deployment_id="mistral-large",
        capabilities={"vision": True},
    )

    response = await client.get(URL, headers=admin)
    body = response.json()
    assert [d["deployment_id"] for d in body["items"]] == [
        "claude-35", "gpt-4o-bedrock", "gpt-4o", "llama-70b", "mistral-large",
    ]  # fmt: skip
    assert (body["total"], body["page"], body["page_size"]) == (5, 1, 50)
    claude = body["items"][0]
    assert claude["provider"] == {
        "id": catalog["bedrock"].id, "slug": "bedrock", "name": "AWS Bedrock",
        "is_simulated": False, "is_active": True,
    }  # fmt: skip
    assert claude["base_model"]["name"] == "Claude 3.5 Sonnet"
    assert claude["capabilities"] is None
    assert claude["effective_capabilities"]["tool_calling"] is True
    assert body["items"][1]["effective_capabilities"]["vision"] is False
    assert "audio_input" not in body["items"][1]["capabilities"]

    assert await ids(client, admin, vendor="OpenAI") == ["gpt-4o-bedrock", "gpt-4o"]
    assert await ids(client, admin, family="Claude") == ["claude-35"]
    assert await ids(client, admin, provider="openai") == ["gpt-4o", "mistral-large"]
    assert await ids(client, admin, inference_type="INFERENCE_PROFILE") == ["claude-35"]
    assert await ids(client, admin, capability="vision") == [
        "claude-35", "gpt-4o", "mistral-large",
    ]  # fmt: skip
    assert await ids(client, admin, capability=["vision", "tool_calling"]) == ["claude-35"]
    assert await ids(client, admin, active="false") == ["llama-70b"]
    assert await ids(client, admin, base_model_id=catalog["gpt"].id) == ["gpt-4o-bedrock", "gpt-4o"]
    assert await ids(client, admin, provider="bedrock", active="true", vendor="Meta") == []

    second = (await client.get(URL, params={"page": 2, "page_size": 2}, headers=admin)).json()
    assert [d["deployment_id"] for d in second["items"]] == ["gpt-4o", "llama-70b"]
    assert second["total"] == 5


async def test_list_deployments_bad_query(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    bad = await client.get(
        URL,
        params={"capability": ["vision", "x"], "page": 0, "inference_type": "x", "active": "?"},
        headers=admin,
    )
    assert fields_of(bad) == {"capability", "page", "inference_type", "active"}
    assert fields_of(await client.get(URL, params={"q": "gpt"}, headers=admin)) == {"q"}


async def test_create_and_get_deployment(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    provider = await make_provider(session, slug="bedrock")
    model = await make_base_model(session, name="Claude")
    before = (await client.get(f"/api/v2/models/{model.id}", headers=admin)).json()
    assert before["deployments"] == []

    body = {
        "base_model_id": model.id, "provider_id": provider.id,
        "deployment_id": "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "inference_type": "INFERENCE_PROFILE", "provider_config": {"regions": ["us-east-1"]},
        "cost_per_1m_input": 3, "cost_per_1m_output": 15,
        "capabilities": {"vision": False, "max_output_tokens": 4096},
        "capabilities_source": "manual",
    }  # fmt: skip
    created = await client.post(URL, json=body, headers=admin)
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["capabilities"] == {
        "streaming": None, "vision": False, "tool_calling": None, "json_output": None,
        "max_context_window": None, "max_output_tokens": 4096,
    }  # fmt: skip
    effective = deployment["effective_capabilities"]
    assert (effective["vision"], effective["max_output_tokens"]) == (False, 4096)
    assert (effective["max_context_window"], deployment["is_active"]) == (8192, True)
    assert (deployment["cost_per_1m_input"], deployment["cost_per_hour"]) == (3.0, None)

    fetched = await client.get(f"{URL}/{deployment['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json() == deployment
    # The base model's cached view was invalidated by the deployment write.
    after = (await client.get(f"/api/v2/models/{model.id}", headers=admin)).json()
    assert [d["id"] for d in after["deployments"]] == [deployment["id"]]
    assert after["providers"] == ["bedrock"]


async def test_create_and_get_deployment_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    provider = await make_provider(session)
    model = await make_base_model(session)
    valid = {"base_model_id": model.id, "provider_id": provider.id, "deployment_id": "m-1",
             "cost_per_1m_input": 1, "cost_per_1m_output": 2}  # fmt: skip
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({**valid, "cost_per_1m_input": -1, "cost_per_hour": -5},
         {"cost_per_1m_input", "cost_per_hour"}),
        ({**valid, "deployment_id": "", "inference_type": "SPOT"},
         {"deployment_id", "inference_type"}),
        ({k: v for k, v in valid.items() if k != "cost_per_1m_output"}, {"cost_per_1m_output"}),
        ({**valid, "capabilities": {"telepathy": True}}, {"capabilities.telepathy"}),
        ({**valid, "capabilities_source": "guess"}, {"capabilities_source"}),
        ({**valid, "region": "us-east-1"}, {"region"}),
        ({**valid, "base_model_id": "no-such-model"}, {"base_model_id"}),
        ({**valid, "provider_id": "no-such-provider"}, {"provider_id"}),
    ]  # fmt: skip
    for body, fields in cases:
        assert fields_of(await client.post(URL, json=body, headers=admin)) == fields, body

    assert (await client.post(URL, json=valid, headers=admin)).status_code == 201
    again = await client.post(URL, json={**valid, "cost_per_1m_input": 9}, headers=admin)
    assert (again.status_code, again.json()["field"]) == (409, "deployment_id")

    missing = await client.get(f"{URL}/nope", headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "deployment 'nope' not found")


async def test_update_deployment_changes_only_sent_fields(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    catalog = await make_small_catalog(session)
    deployment = catalog["claude@bedrock"]
    url = f"{URL}/{deployment.id}"
    prices_url = f"/api/v2/models/{catalog['claude'].id}/compare-prices"
    assert (await client.get(prices_url, headers=admin)).json()["items"][0]["total_cost"] == 0.003

    response = await client.put(
        url, json={"cost_per_1m_input": 5, "capabilities": {"vision": False}}, headers=admin
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["cost_per_1m_input"], updated["cost_per_1m_output"]) == (5.0, 2.0)
    assert (updated["deployment_id"], updated["inference_type"]) == (
        "claude-35",
        "INFERENCE_PROFILE",
    )
    assert updated["effective_capabilities"]["vision"] is False
    # Price comparison is a cached read of another endpoint: the write reached it too.
    assert (await client.get(prices_url, headers=admin)).json()["items"][0]["total_cost"] == 0.007

    merged = await client.put(url, json={"capabilities": {"json_output": True}}, headers=admin)
    assert merged.json()["capabilities"]["vision"] is False
    assert merged.json()["capabilities"]["json_output"] is True
    cleared = await client.put(url, json={"capabilities": None}, headers=admin)
    assert cleared.json()["capabilities"] is None
    assert cleared.json()["effective_capabilities"]["vision"] is True

    moved = await client.put(url, json={"provider_id": catalog["openai"].id}, headers=admin)
    assert moved.json()["provider"]["slug"] == "openai"
    assert (await client.get(url, headers=admin)).json()["provider"]["slug"] == "openai"


async def test_update_deployment_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    catalog = await make_small_catalog(session)
    url = f"{URL}/{catalog['gpt@openai'].id}"
    invalid = await client.put(
        url, json={"cost_per_1m_input": -1, "is_active": None, "inference_type": None},
        headers=admin,
    )  # fmt: skip
    assert fields_of(invalid) == {"cost_per_1m_input", "is_active", "inference_type"}
    unknown = await client.put(url, json={"base_model_id": "nope"}, headers=admin)
    assert fields_of(unknown) == {"base_model_id"}
    assert fields_of(await client.put(url, json={"provider_id": "nope"}, headers=admin)) == {
        "provider_id"
    }
    # gpt-4o moving to bedrock is fine; taking the id of a bedrock deployment there is not.
    clash = await client.put(
        url, json={"provider_id": catalog["bedrock"].id, "deployment_id": "claude-35"},
        headers=admin,
    )  # fmt: skip
    assert (clash.status_code, clash.json()["field"]) == (409, "deployment_id")
    assert (await client.put(f"{URL}/nope", json={}, headers=admin)).status_code == 404


async def test_delete_deployment(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    catalog = await make_small_catalog(session)
    deployment = catalog["claude@bedrock"]
    session.add(ModelCertification(deployment_id=deployment.id, region="us-east-1"))
    await session.commit()
    model_url = f"/api/v2/models/{catalog['claude'].id}"
    assert (await client.get(model_url, headers=admin)).json()["deployment_count"] == 1

    response = await client.delete(f"{URL}/{deployment.id}", headers=admin)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"{URL}/{deployment.id}", headers=admin)).status_code == 404
    model = (await client.get(model_url, headers=admin)).json()
    assert (model["deployment_count"], model["deployments"]) == (0, [])
    assert await session.scalar(select(func.count()).select_from(ModelCertification)) == 0


async def test_delete_unknown_deployment_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.delete(f"{URL}/nope", headers=admin)
    assert (response.status_code, response.json()["detail"]) == (404, "deployment 'nope' not found")
