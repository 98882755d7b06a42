"""/api/credentials: the current user's provider credentials, masked, with validations."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials.service import record_validation
from myia.db.enums import AuthType
from tests.factories import auth_headers, make_provider

AKID = "AKIAABCDEFGHIJKLWXYZ"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
API_KEY = "sk-test-api-0123456789abcdef"
AWS_BODY = {"access_key_id": AKID, "secret_access_key": AWS_SECRET, "region": "us-west-2"}


@pytest.fixture
async def providers(session: AsyncSession) -> None:
    await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    await make_provider(session, slug="openai", auth_type=AuthType.API_KEY)


def _fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


async def test_anonymous_requests_are_401(client: httpx.AsyncClient) -> None:
    for method, url in [
        ("GET", "/api/credentials"),
        ("PUT", "/api/credentials/bedrock"),
        ("DELETE", "/api/credentials/bedrock"),
        ("GET", "/api/credentials/bedrock/validations"),
    ]:
        response = await client.request(method, url, json=AWS_BODY if method == "PUT" else None)
        assert response.status_code == 401, (method, url)


@pytest.mark.usefixtures("providers")
async def test_put_list_replace_delete(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await auth_headers(client, session)
    created = await client.put("/api/credentials/bedrock", json=AWS_BODY, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["provider_slug"] == "bedrock" and body["auth_type"] == "aws_credentials"
    assert body["masked"] == {"access_key_id": "***WXYZ", "secret_access_key": "***EKEY"}
    assert body["region"] == "us-west-2" and body["readable"] is True
    assert AKID not in created.text and AWS_SECRET not in created.text

    keyed = await client.put("/api/credentials/openai", json={"api_key": API_KEY}, headers=headers)
    assert keyed.status_code == 201
    assert keyed.json()["masked"] == {"api_key": "***cdef"}

    replaced = await client.put(
        "/api/credentials/bedrock",
        json={**AWS_BODY, "session_token": "FwoGZXIvYXdzEXAMPLEtoken1234"},
        headers=headers,
    )
    assert replaced.status_code == 200
    assert replaced.json()["id"] == body["id"]
    assert replaced.json()["masked"]["session_token"] == "***1234"

    listed = await client.get("/api/credentials", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert [c["provider_slug"] for c in listed.json()["data"]] == ["bedrock", "openai"]
    for secret in (AKID, AWS_SECRET, API_KEY):
        assert secret not in listed.text

    deleted = await client.delete("/api/credentials/openai", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    again = await client.delete("/api/credentials/openai", headers=headers)
    assert again.status_code == 404
    assert (await client.get("/api/credentials", headers=headers)).json()["count"] == 1


@pytest.mark.usefixtures("providers")
async def test_credentials_are_private_to_their_owner(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await auth_headers(client, session)
    other = await auth_headers(client, session)
    await client.put("/api/credentials/openai", json={"api_key": API_KEY}, headers=owner)
    assert (await client.get("/api/credentials", headers=other)).json() == {"data": [], "count": 0}
    assert (await client.delete("/api/credentials/openai", headers=other)).status_code == 404
    assert (await client.get("/api/credentials", headers=owner)).json()["count"] == 1


@pytest.mark.usefixtures("providers")
@pytest.mark.parametrize(
    ("slug", "body", "field"),
    [
        ("bedrock", {"api_key": API_KEY}, "api_key"),
        ("bedrock", {"access_key_id": AKID}, "secret_access_key"),
        ("openai", AWS_BODY, "access_key_id"),
        ("openai", {"api_key": "short"}, "api_key"),
        ("openai", {"api_key": "has a space in it"}, "api_key"),
        ("bedrock", {**AWS_BODY, "access_key_id": "AKIA-not/valid!!!!"}, "access_key_id"),
        ("bedrock", {**AWS_BODY, "region": "Mars One"}, "region"),
        ("bedrock", {**AWS_BODY, "password": AWS_SECRET}, "password"),
        ("nope", {"api_key": API_KEY}, "provider"),
    ],
)
async def test_bad_input_is_422_naming_the_field_without_echoing_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    slug: str,
    body: dict[str, str],
    field: str,
) -> None:
    headers = await auth_headers(client, session)
    response = await client.put(f"/api/credentials/{slug}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in _fields(response)
    for value in body.values():
        if len(value) > 8:
            assert value not in response.text


async def test_a_malformed_provider_slug_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await auth_headers(client, session)
    response = await client.put(
        "/api/credentials/bad%20slug", json={"api_key": API_KEY}, headers=headers
    )
    assert response.status_code == 422
    assert _fields(response) == {"provider_slug"}


@pytest.mark.usefixtures("providers")
async def test_validations_history(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await auth_headers(client, session)
    missing = await client.get("/api/credentials/openai/validations", headers=headers)
    assert missing.status_code == 404
    unknown = await client.get("/api/credentials/nope/validations", headers=headers)
    assert unknown.status_code == 404 and "provider" in unknown.json()["detail"]

    stored = await client.put("/api/credentials/openai", json={"api_key": API_KEY}, headers=headers)
    await record_validation(
        session=session,
        credential_id=stored.json()["id"],
        status="error",
        detail=f"401 Incorrect API key provided: {API_KEY}",
        error_category="auth",
        latency_ms=31,
    )
    history = await client.get("/api/credentials/openai/validations", headers=headers)
    assert history.status_code == 200
    assert history.json()["count"] == 1
    entry = history.json()["data"][0]
    assert entry["status"] == "error" and entry["error_category"] == "auth"
    assert entry["latency_ms"] == 31 and API_KEY not in history.text
    listed = await client.get("/api/credentials", headers=headers)
    assert listed.json()["data"][0]["last_validation"]["status"] == "error"
