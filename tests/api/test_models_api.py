"""/api/v2/models: CRUD, filters, a model's deployments, price comparison, and the OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.db.engine import Database
from myia.db.enums import CertificationStatus, UserRole
from myia.db.models import BaseModel, ModelCertification, ModelDeployment, Provider
from tests.conftest import make_settings
from tests.factories import (
    bearer_headers,
    capabilities,
    make_base_model,
    make_deployment,
    make_provider,
    make_small_catalog,
)

URL = "/api/v2/models"


@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session, role=UserRole.ADMIN)


def fields_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


async def names(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


# --- list -----------------------------------------------------------------------------------
async def test_list_models_filters_and_paginates(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    await make_small_catalog(session)
    everything = await client.get(URL, headers=admin)
    body = everything.json()
    assert [m["name"] for m in body["items"]] == [
        "Claude 3.5 Sonnet", "GPT-4o", "Llama 3.1 70B", "Mistral Large",
    ]  # fmt: skip
    assert (body["total"], body["page"], body["page_size"]) == (4, 1, 50)
    claude = body["items"][0]
    assert (claude["providers"], claude["deployment_count"], claude["active_deployment_count"]) == (
        ["bedrock"], 1, 1,
    )  # fmt: skip
    assert claude["capabilities"]["vision"] is True
    llama = body["items"][2]
    assert (llama["providers"], llama["deployment_count"], llama["active_deployment_count"]) == (
        [], 1, 0,
    )  # fmt: skip

    assert await names(client, admin, vendor="OpenAI") == ["GPT-4o"]
    assert await names(client, admin, family="Llama") == ["Llama 3.1 70B"]
    assert await names(client, admin, provider="bedrock") == ["Claude 3.5 Sonnet", "Llama 3.1 70B"]
    assert await names(client, admin, inference_type="INFERENCE_PROFILE") == ["Claude 3.5 Sonnet"]
    assert await names(client, admin, capability="vision") == ["Claude 3.5 Sonnet", "GPT-4o"]
    assert await names(client, admin, capability=["vision", "tool_calling"]) == [
        "Claude 3.5 Sonnet"
    ]
    assert await names(client, admin, active="true") == ["Claude 3.5 Sonnet", "GPT-4o"]
    assert await names(client, admin, active="false") == ["Llama 3.1 70B", "Mistral Large"]
    assert await names(client, admin, provider="bedrock", active="true") == ["Claude 3.5 Sonnet"]
    assert await names(client, admin, q="gpt") == ["GPT-4o"]
    assert await names(client, admin, q="%") == []  # a LIKE wildcard is searched literally
    assert await names(client, admin, provider="nowhere") == []

    second = await client.get(URL, params={"page": 2, "page_size": 3}, headers=admin)
    assert [m["name"] for m in second.json()["items"]] == ["Mistral Large"]
    assert second.json()["total"] == 4


async def test_list_models_bad_query(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    unknown_capability = await client.get(URL, params={"capability": "telepathy"}, headers=admin)
    assert fields_of(unknown_capability) == {"capability"}
    assert "telepathy" in unknown_capability.json()["detail"]
    bad = await client.get(
        URL,
        params={"page_size": 0, "inference_type": "BATCH", "active": "maybe", "page": "x"},
        headers=admin,
    )
    assert fields_of(bad) == {"page_size", "inference_type", "active", "page"}
    assert fields_of(await client.get(URL, params={"vendr": "x"}, headers=admin)) == {"vendr"}
    assert fields_of(await client.get(URL, params={"page_size": 201}, headers=admin)) == {
        "page_size"
    }


# --- create, get ----------------------------------------------------------------------------
async def test_create_and_get_model(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    body = {
        "name": "Claude 3.5 Sonnet", "vendor": "Anthropic", "family": "Claude", "version": "3.5",
        "capabilities": {"streaming": True, "vision": True, "max_context_window": 200000},
        "default_params": {"temperature": 0.7}, "release_date": "2024-10-22T00:00:00Z",
    }  # fmt: skip
    created = await client.post(URL, json=body, headers=admin)
    assert created.status_code == 201, created.text
    model = created.json()
    assert model["capabilities"] == {
        "streaming": True, "vision": True, "tool_calling": False, "json_output": False,
        "max_context_window": 200000, "max_output_tokens": None,
    }  # fmt: skip
    assert (model["deployments"], model["deprecated"]) == ([], False)
    assert model["release_date"].startswith("2024-10-22T00:00:00")

    row = await session.get(BaseModel, model["id"])
    provider = await make_provider(session, slug="bedrock")
    assert row is not None
    await make_deployment(
        session, base_model=row, provider=provider, capabilities={"vision": False}
    )
    fetched = await client.get(f"{URL}/{model['id']}", headers=admin)
    assert fetched.status_code == 200
    [deployment] = fetched.json()["deployments"]
    assert deployment["provider"]["slug"] == "bedrock"
    assert deployment["effective_capabilities"]["vision"] is False
    assert deployment["effective_capabilities"]["max_context_window"] == 200000


BAD_CREATES: list[tuple[dict[str, Any], set[str]]] = [
    ({"name": "", "vendor": "x"}, {"name"}),
    ({"vendor": "x"}, {"name"}),
    ({"name": "m", "vendor": "x", "capabilities": {"vision": "maybe"}}, {"capabilities.vision"}),
    ({"name": "m", "vendor": "x", "capabilities": {"telepathy": True}}, {"capabilities.telepathy"}),
    ({"name": "m", "vendor": "x", "capabilities": {"max_context_window": 0}},
     {"capabilities.max_context_window"}),
    ({"name": "m", "vendor": "x", "price": 3}, {"price"}),
    ({"name": "m", "vendor": "x", "release_date": "soon"}, {"release_date"}),
]  # fmt: skip


async def test_create_and_get_model_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    for body, fields in BAD_CREATES:
        assert fields_of(await client.post(URL, json=body, headers=admin)) == fields, body

    await make_base_model(session, name="Taken")
    conflict = await client.post(URL, json={"name": "Taken", "vendor": "x"}, headers=admin)
    assert (conflict.status_code, conflict.json()["field"]) == (409, "name")

    missing = await client.get(f"{URL}/nope", headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "base model 'nope' not found")


# --- update, delete -------------------------------------------------------------------------
async def test_update_model_changes_only_sent_fields(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    stored = {**capabilities(vision=True), "audio_input": True}  # a key from a newer writer
    model = await make_base_model(
        session, name="Old", vendor="acme", description="keep me", capabilities=stored
    )
    listed = await names(client, admin)  # cached now; the write must invalidate it
    assert listed == ["Old"]

    response = await client.put(
        f"{URL}/{model.id}",
        json={"name": "New", "family": None, "capabilities": {"tool_calling": True}},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["family"], updated["description"]) == ("New", None, "keep me")
    assert updated["capabilities"] == capabilities(vision=True, tool_calling=True)
    assert await names(client, admin) == ["New"]
    assert (await client.get(f"{URL}/{model.id}", headers=admin)).json()["name"] == "New"
    await session.refresh(model)
    assert model.capabilities["audio_input"] is True  # not shown, but not lost either


async def test_update_model_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    model = await make_base_model(session, name="One")
    await make_base_model(session, name="Two")
    url = f"{URL}/{model.id}"
    invalid = await client.put(
        url, json={"name": None, "vendor": "", "deprecated": None}, headers=admin
    )
    assert fields_of(invalid) == {"name", "vendor", "deprecated"}
    assert fields_of(await client.put(url, json={"id": "x"}, headers=admin)) == {"id"}
    taken = await client.put(url, json={"name": "Two"}, headers=admin)
    assert (taken.status_code, taken.json()["field"]) == (409, "name")
    assert (await client.put(url, json={"name": "One"}, headers=admin)).status_code == 200
    assert (await client.put(f"{URL}/nope", json={}, headers=admin)).status_code == 404


async def test_delete_model_cascades_to_deployments_and_certifications(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    provider = await make_provider(session)
    model = await make_base_model(session)
    deployment = await make_deployment(session, base_model=model, provider=provider)
    session.add(ModelCertification(deployment_id=deployment.id, region="us-east-1",
                                   status=CertificationStatus.CERTIFIED))  # fmt: skip
    await session.commit()
    assert (await client.get(f"/api/v2/deployments/{deployment.id}", headers=admin)).is_success

    response = await client.delete(f"{URL}/{model.id}", headers=admin)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"{URL}/{model.id}", headers=admin)).status_code == 404
    gone = await client.get(f"/api/v2/deployments/{deployment.id}", headers=admin)
    assert gone.status_code == 404
    for table in (ModelDeployment, ModelCertification):
        assert await session.scalar(select(func.count()).select_from(table)) == 0
    assert await session.scalar(select(func.count()).select_from(Provider)) == 1


async def test_delete_unknown_model_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.delete(f"{URL}/nope", headers=admin)
    assert (response.status_code, response.json()["detail"]) == (404, "base model 'nope' not found")


# --- a model's deployments ------------------------------------------------------------------
async def test_model_deployments_lists_only_that_model(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    bedrock = await make_provider(session, slug="bedrock")
    openai = await make_provider(session, slug="openai")
    model = await make_base_model(session, capabilities=capabilities(vision=True))
    other = await make_base_model(session)
    await make_deployment(session, base_model=model, provider=openai, deployment_id="b")
    await make_deployment(session, base_model=model, provider=bedrock, deployment_id="a",
                          capabilities={"vision": False}, is_active=False)  # fmt: skip
    await make_deployment(session, base_model=other, provider=bedrock)

    response = await client.get(f"{URL}/{model.id}/deployments", headers=admin)
    assert response.status_code == 200
    body = response.json()
    seen = [(d["provider"]["slug"], d["effective_capabilities"]["vision"]) for d in body["items"]]
    assert seen == [("bedrock", False), ("openai", True)]
    assert body["total"] == 2
    active = await client.get(f"{URL}/{model.id}/deployments?active=true", headers=admin)
    assert [d["deployment_id"] for d in active.json()["items"]] == ["b"]


async def test_model_deployments_bad_input(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get(f"{URL}/nope/deployments", headers=admin)).status_code == 404
    bad = await client.get(f"{URL}/nope/deployments?page_size=500&capability=x", headers=admin)
    assert fields_of(bad) == {"page_size", "capability"}


# --- price comparison -----------------------------------------------------------------------
async def test_compare_prices_cheapest_first_for_the_token_mix(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    bedrock = await make_provider(session, slug="bedrock", name="AWS Bedrock")
    openai = await make_provider(session, slug="openai", name="OpenAI")
    retired = await make_provider(session, slug="retired", is_active=False)
    model = await make_base_model(session, name="Claude")
    await make_deployment(
        session, base_model=model, provider=bedrock, cost_per_1m_input=1.0, cost_per_1m_output=20.0
    )
    await make_deployment(
        session, base_model=model, provider=openai, cost_per_1m_input=3.0, cost_per_1m_output=5.0
    )
    await make_deployment(
        session,
        base_model=model,
        provider=openai,
        deployment_id="off",
        cost_per_1m_input=0.0,
        cost_per_1m_output=0.0,
        is_active=False,
    )
    await make_deployment(session, base_model=model, provider=retired,
                          cost_per_1m_input=0.0, cost_per_1m_output=0.0)  # fmt: skip
    url = f"{URL}/{model.id}/compare-prices"

    default = (await client.get(url, headers=admin)).json()
    assert (default["input_tokens"], default["output_tokens"], default["currency"]) == (
        1000, 1000, "USD",
    )  # fmt: skip
    assert [(q["provider_slug"], q["total_cost"]) for q in default["items"]] == [
        ("openai", 0.008), ("bedrock", 0.021),
    ]  # fmt: skip
    cheapest = default["items"][0]
    assert (cheapest["provider_name"], cheapest["input_cost"], cheapest["output_cost"]) == (
        "OpenAI", 0.003, 0.005,
    )  # fmt: skip

    input_heavy = await client.get(url, params={"input_tokens": 2_000_000, "output_tokens": 0},
                                   headers=admin)  # fmt: skip
    assert [(q["provider_slug"], q["total_cost"]) for q in input_heavy.json()["items"]] == [
        ("bedrock", 2.0), ("openai", 6.0),
    ]  # fmt: skip


async def test_compare_prices_bad_input(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    bad = await client.get(
        f"{URL}/nope/compare-prices", params={"input_tokens": -1, "output_tokens": "many"},
        headers=admin,
    )  # fmt: skip
    assert fields_of(bad) == {"input_tokens", "output_tokens"}
    assert (await client.get(f"{URL}/nope/compare-prices", headers=admin)).status_code == 404


# --- the documentation ----------------------------------------------------------------------
V2_OPERATIONS = {
    "/api/v2/models": {"get", "post"},
    "/api/v2/models/{model_id}": {"get", "put", "delete"},
    "/api/v2/models/{model_id}/deployments": {"get"},
    "/api/v2/models/{model_id}/compare-prices": {"get"},
    "/api/v2/deployments": {"get", "post"},
    "/api/v2/deployments/search": {"get"},
    "/api/v2/deployments/{deployment_id}": {"get", "put", "delete"},
    "/api/v2/deployments/{deployment_id}/prices": {"get"},
    "/api/v2/deployments/{deployment_id}/prices/{region}": {"put", "delete"},
    "/api/v2/providers": {"get", "post"},
    "/api/v2/providers/{provider_id}": {"get", "put"},
    "/api/v2/api-keys": {"get", "post"},
    "/api/v2/api-keys/{key_id}": {"delete"},
    "/api/v2/chats": {"get", "post"},
    "/api/v2/chats/{chat_id}": {"get", "patch", "delete"},
    "/api/v2/chats/{chat_id}/messages": {"get", "post"},
    "/api/v2/metrics": {"get"},
    "/api/v2/metrics/{deployment_id}": {"get"},
}


async def test_openapi_documents_every_v2_operation(tmp_path: Any) -> None:
    # No database needed to serve the documentation: one run, not one per backend.
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db")
    app = create_app(make_settings(DATABASE_URL=database.url), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        spec = (await client.get("/openapi.json")).json()
        assert (await client.get("/docs")).status_code == 200
    await database.dispose()

    paths = {p: ops for p, ops in spec["paths"].items() if p.startswith("/api/v2/")}
    assert {p: set(ops) for p, ops in paths.items()} == V2_OPERATIONS
    for path, operations in paths.items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert "401" in operation["responses"], where
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if success != "204":
                schema = operation["responses"][success]["content"]["application/json"]["schema"]
                assert "$ref" in schema, where
            # Catalog writes need the admin role; a user's own keys and chats do not.
            own = path.startswith(("/api/v2/api-keys", "/api/v2/chats"))
            if method in ("post", "put", "delete") and not own:
                assert "403" in operation["responses"], where
    schemas = spec["components"]["schemas"]
    for name in ("BaseModelCreate", "DeploymentCreate", "ProviderCreate", "PriceComparison"):
        assert schemas[name].get("examples"), name
    assert schemas["ValidationErrorPublic"]["properties"]["errors"]
