"""Audit finding 6: a user may not probe the platform's own provider keys through Validate.

`POST /settings/credentials/{slug}/validate` checks the viewer's own stored credential. A
non-admin without one is refused and nothing reaches the provider (the simulator counts
every control-plane call: Bedrock's ListFoundationModels, OpenAI's GET /models); an unknown
or inactive provider is a 404 that lists no provider. The platform's keys are set (the
simulator's standard-chain credentials), so the former code would have used them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import DEMO_ENCRYPTION_SECRET
from myia.credentials.schemas import CredentialInput
from myia.credentials.service import upsert_credential
from myia.db.enums import AuthType, UserRole
from myia.db.models import ProviderCredentialValidation
from myia.sim import SimServer
from tests.factories import make_provider, make_user
from tests.web.conftest import sign_in


@pytest.fixture
async def providers(session: AsyncSession, sim: SimServer, sim_credentials: None) -> dict[str, Any]:
    """Bedrock and OpenAI on the simulator, plus an inactive provider; platform keys set."""
    return {
        "bedrock": await make_provider(
            session, slug="bedrock", name="AWS Bedrock (simulated)",
            auth_type=AuthType.AWS_CREDENTIALS, base_url=sim.base_url, is_simulated=True),
        "openai": await make_provider(
            session, slug="openai", name="OpenAI (simulated)",
            base_url=f"{sim.base_url}/openai/v1", is_simulated=True),
        "dormant": await make_provider(
            session, slug="dormant-prov", name="Dormant Provider", is_active=False,
            base_url=f"{sim.base_url}/openai/v1"),
    }  # fmt: skip


async def _signed_in(client: httpx.AsyncClient, session: AsyncSession, role: UserRole) -> str:
    user = await make_user(session, role=role)
    client.headers["x-test-csrf"] = await sign_in(client, user.email, "secret-pw")
    return user.id


async def _validate(client: httpx.AsyncClient, slug: str) -> httpx.Response:
    return await client.post(
        f"/settings/credentials/{slug}/validate",
        data={"csrf_token": client.headers["x-test-csrf"]},
    )


def _upstream(sim: SimServer) -> int:
    stats = sim.stats
    return stats.control_plane_calls + stats.calls


@pytest.mark.usefixtures("providers")
async def test_a_user_without_a_stored_credential_is_refused_and_nothing_is_sent(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer
) -> None:
    await _signed_in(client, session, UserRole.USER)
    before = _upstream(sim)
    for slug in ("bedrock", "openai"):
        response = await _validate(client, slug)
        assert response.status_code == 200, response.text  # a fragment htmx shows
        assert "no stored credential" in response.text
        assert "AWS standard chain" not in response.text and "environment" not in response.text
        assert "✓ valid" not in response.text
    assert _upstream(sim) == before  # the platform's keys were never tried


async def test_an_unknown_or_inactive_provider_is_a_404_listing_nothing(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, providers: dict[str, Any]
) -> None:
    await _signed_in(client, session, UserRole.USER)
    before = _upstream(sim)
    for slug in ("no-such-provider", "dormant-prov"):
        response = await _validate(client, slug)
        assert response.status_code == 404, response.text
        for provider in providers.values():
            if provider.slug != slug:
                assert provider.slug not in response.text and provider.name not in response.text
        assert "known providers" not in response.text and "Dormant" not in response.text
    assert _upstream(sim) == before


async def test_a_users_own_credential_is_checked_and_recorded(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, providers: dict[str, Any]
) -> None:
    user_id = await _signed_in(client, session, UserRole.USER)
    await upsert_credential(
        session=session,
        user_id=user_id,
        provider_slug="bedrock",
        data=CredentialInput(
            access_key_id=SecretStr("AKIASTOREDGOODKEY001"),
            secret_access_key=SecretStr("stored-secret-never-shown-0123456789"),
            region="us-east-1",
        ),
        secret=DEMO_ENCRYPTION_SECRET,
    )
    before = _upstream(sim)
    response = await _validate(client, "bedrock")
    assert response.status_code == 200, response.text
    assert "✓ valid" in response.text and "stored credential" in response.text
    assert "stored-secret-never-shown" not in response.text
    assert _upstream(sim) == before + 1
    rows = (await session.scalars(select(ProviderCredentialValidation))).all()
    assert [row.status for row in rows] == ["ok"]


@pytest.mark.usefixtures("providers")
async def test_an_admin_may_still_check_the_platforms_keys(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer
) -> None:
    await _signed_in(client, session, UserRole.ADMIN)
    before = _upstream(sim)
    response = await _validate(client, "bedrock")
    assert response.status_code == 200, response.text
    assert "AWS standard chain" in response.text and "✓ valid" in response.text
    assert _upstream(sim) == before + 1
    # An admin's unknown slug is a 404 without a list as well.
    unknown = await _validate(client, "no-such-provider")
    assert unknown.status_code == 404 and "bedrock" not in unknown.text
