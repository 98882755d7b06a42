"""A provider that quotes the caller's key in its error (as OpenAI's "Incorrect API key
provided: …" does), with a key of no recognisable shape: the key must appear nowhere — not in
an API response, a log line on stdout, a row of `logs`, any table, or a backup file.

The provider is a real HTTP server on loopback reached through the openai SDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from myia.api.app import create_app
from myia.credentials.checks import check_credentials
from myia.credentials.connections import connection_for
from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.maintenance.backup import backup_database
from myia.observability.db_sink import DB_SINK
from myia.observability.redaction import forget_secrets
from myia.providers.errors import ProviderError
from myia.providers.registry import get_adapter
from tests.conftest import make_settings
from tests.factories import login, make_provider, make_user
from tests.sim_support import StubProvider

# Shapes the format rules know nothing about.
KEYS = ["Qz7vLx2TTn4mXw9vP0aB3kRu", "my.team/key+v2=Zr81-xx~"]


class QuotingProvider(StubProvider):
    """An OpenAI-compatible endpoint that refuses every key, quoting it back."""

    def __init__(self) -> None:
        super().__init__()
        self.quoted: list[str] = []

    async def _refuse(self, request: Request) -> JSONResponse:
        key = request.headers.get("authorization", "")[len("Bearer ") :]
        self.quoted.append(key)
        message = (
            f"Incorrect API key provided: {key}. You can find your API key at "
            "https://platform.example/account/api-keys."
        )
        return JSONResponse(
            {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            status_code=401,
        )

    def routes(self) -> list[Any]:
        return [Route("/{path:path}", self._refuse, methods=["GET", "POST"])]


@pytest.fixture
def quoting_provider() -> Iterator[QuotingProvider]:
    with QuotingProvider() as provider:
        yield provider


async def _every_table(database: Database) -> str:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        dumps = []
        for name in names:
            rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()
            dumps.append(f"{name}: " + json.dumps([list(r) for r in rows], default=str))
    return "\n".join(dumps)


@pytest.mark.parametrize("key", KEYS)
async def test_a_key_quoted_by_its_provider_is_never_kept_or_served(
    capfd: pytest.CaptureFixture[str],
    db_url: str,
    database: Database,
    quoting_provider: QuotingProvider,
    tmp_path: Path,
    key: str,
) -> None:
    forget_secrets()  # what this process learnt from earlier tests proves nothing here
    settings = make_settings(DATABASE_URL=db_url, LOG_TO_DB=True)
    application = create_app(settings, database)
    responses: list[str] = []
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            async with database.session() as writer:
                await make_provider(
                    writer,
                    slug="quoter",
                    auth_type=AuthType.API_KEY,
                    base_url=quoting_provider.base_url,
                )
                user = await make_user(writer)
            auth = {"Authorization": f"Bearer {await login(c, user.email)}"}
            stored = await c.put("/api/credentials/quoter", json={"api_key": key}, headers=auth)
            assert stored.status_code == 201, stored.text

            # What `myia models check-credentials` does: call the provider, record the answer.
            async with database.session() as session:
                [result] = await check_credentials(
                    session=session,
                    secret=settings.encryption_secret,
                    provider_slug="quoter",
                    user_id=user.id,
                )
            assert not result.ok and result.recorded
            for url in ("/api/credentials", "/api/credentials/quoter/validations"):
                response = await c.get(url, headers=auth)
                assert response.status_code == 200
                responses.append(response.text)
        await DB_SINK.flush(database)
    backup = await backup_database(database=database, backup_dir=tmp_path)
    captured = capfd.readouterr()

    # The provider did quote the key: otherwise this test proves nothing.
    assert key in quoting_provider.quoted
    assert "Incorrect API key provided: ***" in responses[1]
    haystacks = {
        "an API response": "\n".join(responses),
        "stdout": captured.out,
        "stderr": captured.err,
        "a table (logs included)": await _every_table(database),
        "the backup file": backup.path.read_bytes().decode("utf-8", "replace"),
    }
    assert [where for where, haystack in haystacks.items() if key in haystack] == []


async def test_the_adapter_scrubs_the_key_from_provider_errors(
    database: Database, quoting_provider: QuotingProvider, key: str = KEYS[0]
) -> None:
    """At the source: the ProviderError an adapter raises never carries its own key."""
    forget_secrets()
    settings = make_settings()
    async with database.session() as session:
        provider = await make_provider(
            session, slug="quoter2", auth_type=AuthType.API_KEY, base_url=quoting_provider.base_url
        )
        user = await make_user(session)
    async with database.session() as session:
        from myia.credentials.schemas import CredentialInput
        from myia.credentials.service import upsert_credential

        await upsert_credential(
            session=session,
            user_id=user.id,
            provider_slug="quoter2",
            data=CredentialInput.model_validate({"api_key": key}),
            secret=settings.encryption_secret,
        )
    forget_secrets()  # only what the connection itself knows may protect the message
    async with database.session() as session:
        connection = await connection_for(
            session=session,
            provider=provider,
            region=None,
            user_id=user.id,
            secret=settings.encryption_secret,
        )
    async with get_adapter(connection) as adapter:
        with pytest.raises(ProviderError) as raised:
            await adapter.list_models()
    assert key in quoting_provider.quoted
    assert key not in str(raised.value) and key not in repr(raised.value)
    assert "Incorrect API key provided" in raised.value.message
