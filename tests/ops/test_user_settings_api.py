"""The user settings API: theme, default region (the gateway's region preference), enabled
models; and the catalog API's vendor and family filters, case-insensitive."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.users.settings import preferred_region
from tests.factories import bearer_headers, make_small_catalog


async def test_read_and_change_my_settings(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await make_small_catalog(session)
    headers = await bearer_headers(session)
    assert (await client.get("/api/user/settings")).status_code == 401

    mine = await client.get("/api/user/settings", headers=headers)
    assert mine.status_code == 200
    assert mine.json() == {"theme": "light", "default_region": "us-east-1", "enabled_models": []}

    model_ids = [catalog["claude"].id, catalog["gpt"].id]
    changed = await client.put(
        "/api/user/settings",
        headers=headers,
        json={"theme": "dark", "default_region": "eu-west-1", "enabled_models": model_ids},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "theme": "dark", "default_region": "eu-west-1", "enabled_models": model_ids,
    }  # fmt: skip
    partial = await client.put("/api/user/settings", headers=headers, json={"theme": "system"})
    assert partial.json()["default_region"] == "eu-west-1"  # only what was sent changes
    assert (await client.get("/api/user/settings", headers=headers)).json()["theme"] == "system"

    me = (await client.get("/api/auth/me", headers=headers)).json()
    assert await preferred_region(session=session, user_id=me["id"]) == "eu-west-1"


async def test_invalid_settings_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_headers(session)
    for body in (
        {"theme": "neon"},
        {"default_region": "moon-1"},
        {"enabled_models": ["no-such-model"]},
        {"colour": "blue"},
    ):
        response = await client.put("/api/user/settings", headers=headers, json=body)
        assert response.status_code == 422, (body, response.text)
    unchanged = (await client.get("/api/user/settings", headers=headers)).json()
    assert unchanged["theme"] == "light" and unchanged["enabled_models"] == []


async def test_vendor_and_family_filters_ignore_case(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_small_catalog(session)
    headers = await bearer_headers(session)
    for path in ("/api/v2/models", "/api/v2/deployments"):
        for key, spellings in (("vendor", ("Anthropic", "anthropic", "ANTHROPIC")),
                               ("family", ("Claude", "claude"))):  # fmt: skip
            totals = {
                s: (await client.get(path, headers=headers, params={key: s})).json()["total"]
                for s in spellings
            }
            assert set(totals.values()) == {1}, (path, totals)
