"""/api/v2/providers: list, get, create, update — success and bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from tests.factories import bearer_headers, make_provider

URL = "/api/v2/providers"


@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session, role=UserRole.ADMIN)


def fields_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


async def test_list_providers_ordered_paginated_and_filtered(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    for slug in ("openai", "bedrock", "groq"):
        await make_provider(session, slug=slug, is_active=slug != "groq")

    page = await client.get(URL, params={"page_size": 2}, headers=admin)
    assert page.status_code == 200
    body = page.json()
    assert [p["slug"] for p in body["items"]] == ["bedrock", "groq"]
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 2)

    second = await client.get(URL, params={"page_size": 2, "page": 2}, headers=admin)
    assert [p["slug"] for p in second.json()["items"]] == ["openai"]

    active = await client.get(URL, params={"active": "true"}, headers=admin)
    assert [p["slug"] for p in active.json()["items"]] == ["bedrock", "openai"]


async def test_list_providers_bad_query(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.get(URL, params={"page": 0, "page_size": 201}, headers=admin)
    assert fields_of(response) == {"page", "page_size"}
    unknown = await client.get(URL, params={"sort": "name"}, headers=admin)
    assert fields_of(unknown) == {"sort"}


async def test_create_and_get_provider(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = {"slug": "groq", "name": "Groq", "base_url": "https://api.groq.com/openai/v1",
            "auth_type": "api_key"}  # fmt: skip
    created = await client.post(URL, json=body, headers=admin)
    assert created.status_code == 201, created.text
    provider = created.json()
    assert provider | body == provider
    assert provider["is_active"] is True and provider["is_simulated"] is False

    fetched = await client.get(f"{URL}/{provider['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json() == provider


BAD_CREATES: list[tuple[dict[str, Any], set[str]]] = [
    ({"slug": "Bad Slug", "name": "x", "auth_type": "api_key"}, {"slug"}),
    ({"slug": "x", "name": "x", "auth_type": "api_key"}, {"slug"}),  # too short
    ({"slug": "ok-slug", "name": "", "auth_type": "oauth"}, {"name", "auth_type"}),
    ({"slug": "ok-slug", "name": "x", "auth_type": "api_key", "colour": 1}, {"colour"}),
    ({"slug": "ok-slug", "name": "x", "auth_type": "api_key", "base_url": "ftp://x"},
     {"base_url"}),
    ({"name": "x", "auth_type": "api_key"}, {"slug"}),
]  # fmt: skip


async def test_create_and_get_provider_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    for body, fields in BAD_CREATES:
        assert fields_of(await client.post(URL, json=body, headers=admin)) == fields, body

    await make_provider(session, slug="bedrock")
    body = {"slug": "bedrock", "name": "Again", "auth_type": "aws_credentials"}
    conflict = await client.post(URL, json=body, headers=admin)
    assert conflict.status_code == 409
    assert conflict.json()["field"] == "slug"

    missing = await client.get(f"{URL}/nope", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "provider 'nope' not found"


async def test_update_provider_changes_only_sent_fields(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    provider = await make_provider(
        session, slug="azure", name="Azure", base_url="https://a.example"
    )
    before = (await client.get(f"{URL}/{provider.id}", headers=admin)).json()

    response = await client.put(
        f"{URL}/{provider.id}", json={"name": "Azure OpenAI", "is_active": False}, headers=admin
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["name"], after["is_active"]) == ("Azure OpenAI", False)
    assert (after["slug"], after["base_url"]) == ("azure", "https://a.example")
    # The write invalidated the cached read.
    assert (await client.get(f"{URL}/{provider.id}", headers=admin)).json() == after
    assert before["name"] == "Azure"

    cleared = await client.put(f"{URL}/{provider.id}", json={"base_url": None}, headers=admin)
    assert cleared.json()["base_url"] is None


async def test_update_provider_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    provider = await make_provider(session, slug="one")
    await make_provider(session, slug="two")
    url = f"{URL}/{provider.id}"

    invalid = await client.put(url, json={"name": None, "slug": "UPPER"}, headers=admin)
    assert fields_of(invalid) == {"name", "slug"}
    taken = await client.put(url, json={"slug": "two"}, headers=admin)
    assert (taken.status_code, taken.json()["field"]) == (409, "slug")
    same = await client.put(url, json={"slug": "one"}, headers=admin)
    assert same.status_code == 200
    missing = await client.put(f"{URL}/nope", json={"name": "x"}, headers=admin)
    assert missing.status_code == 404
