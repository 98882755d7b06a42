"""The guarantee: a stored credential never comes back unmasked, in a response, a log line on
stdout, a row of `logs`, or the database in clear — even when a client provokes it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.credentials.crypto import decrypt_secrets
from myia.credentials.service import record_validation
from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.observability.db_sink import DB_SINK
from tests.conftest import make_settings
from tests.factories import login, make_provider, make_user

AKID = "AKIAABCDEFGHIJKLMNOP"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq4bN8EXAMP"
SESSION_TOKEN = "FwoGZXIvYXdzEJr+leakTestSessionToken0123456789abcdef"
API_KEY = "sk-test-Zq8vN3kR7tY2wL5pX9cB4mH6jD1fG0sA"
SECRETS = {
    "access key id": AKID,
    "secret key": AWS_SECRET,
    "session token": SESSION_TOKEN,
    "api key": API_KEY,
}
AWS_BODY = {
    "access_key_id": AKID,
    "secret_access_key": AWS_SECRET,
    "session_token": SESSION_TOKEN,
    "region": "us-east-1",
}


def _needles() -> dict[str, str]:
    """Each secret, and each secret without its last 4 characters (which masks may show)."""
    needles = dict(SECRETS)
    needles.update({f"{name} (all but last 4)": value[:-4] for name, value in SECRETS.items()})
    return needles


def _dump(response: httpx.Response) -> str:
    return f"{response.status_code} {dict(response.headers)} {response.text}"


async def _table(database: Database, table: str) -> str:
    async with database.engine.connect() as connection:
        rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
    return json.dumps([list(row) for row in rows], default=str)


async def _exercise(client: httpx.AsyncClient, database: Database) -> tuple[list[str], str]:
    """Every credentials endpoint, health, and requests that try to get a secret logged."""
    # Writes from the test go through short write sessions: the log sink commits in the
    # background, and on SQLite a deferred reader cannot upgrade to a writer behind it.
    async with database.session() as writer:
        await make_provider(writer, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
        await make_provider(writer, slug="openai", auth_type=AuthType.API_KEY)
        user = await make_user(writer)
    token = await login(client, user.email)
    auth = {"Authorization": f"Bearer {token}"}
    seen: list[httpx.Response] = []

    async def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await client.request(method, url, **kwargs)
        seen.append(response)
        return response

    stored = await call("PUT", "/api/credentials/bedrock", json=AWS_BODY, headers=auth)
    assert stored.status_code == 201, stored.text
    assert (
        await call("PUT", "/api/credentials/openai", json={"api_key": API_KEY}, headers=auth)
    ).status_code == 201
    async with database.session() as writer:
        await record_validation(
            session=writer,
            credential_id=stored.json()["id"],
            status="error",
            detail=f"UnrecognizedClientException for {AKID}; retried with api_key={API_KEY}",
            error_category="auth",
            latency_ms=12,
        )
    assert (await call("GET", "/api/credentials", headers=auth)).status_code == 200
    for slug in ("bedrock", "openai"):
        await call("GET", f"/api/credentials/{slug}/validations", headers=auth)
    assert (
        await call("PUT", "/api/credentials/bedrock", json=AWS_BODY, headers=auth)
    ).status_code == 200
    await call("GET", "/api/health")

    # Provocations: secrets in the query, in headers, in the request id, in bad bodies.
    provoking = {
        **auth,
        "X-Api-Key": API_KEY,
        "X-Amz-Security-Token": SESSION_TOKEN,
        "X-Aws-Secret-Access-Key": AWS_SECRET,
        "X-Request-ID": AKID,
    }
    await call(
        "GET",
        "/api/credentials",
        headers=provoking,
        params={"api_key": API_KEY, "secret_access_key": AWS_SECRET, "q": AKID},
    )
    await call("GET", "/api/health", headers=provoking, params={"token": SESSION_TOKEN})
    for slug, body in [
        ("bedrock", {"api_key": API_KEY}),
        ("openai", AWS_BODY),
        ("bedrock", {**AWS_BODY, "access_key_id": AWS_SECRET}),
        ("bedrock", {**AWS_BODY, "password": AWS_SECRET, "token": SESSION_TOKEN}),
        ("nope", {"api_key": API_KEY}),
    ]:
        assert (
            await call("PUT", f"/api/credentials/{slug}", json=body, headers=auth)
        ).status_code == 422
    await call("GET", "/api/credentials", headers={"Authorization": f"Bearer {API_KEY}"})
    await call(
        "PUT",
        "/api/credentials/openai",
        content=f'{{"api_key": "{API_KEY}"',
        headers={**auth, "Content-Type": "application/json"},
    )
    # A key typed into the path: only the logs are checked for these (a 404 may name what
    # the client itself sent).
    for url in (f"/api/credentials/{AKID}/validations", f"/api/{AWS_SECRET}", f"/{API_KEY}/x"):
        await client.get(url, headers=auth)

    assert (await call("DELETE", "/api/credentials/openai", headers=auth)).status_code == 204
    return [_dump(response) for response in seen], token


async def test_no_secret_leaks(
    capfd: pytest.CaptureFixture[str],
    db_url: str,
    database: Database,
) -> None:
    application = create_app(make_settings(DATABASE_URL=db_url, LOG_TO_DB=True), database)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            responses, bearer = await _exercise(c, database)
        await DB_SINK.flush(database)
    captured = capfd.readouterr()
    logs = await _table(database, "logs")
    haystacks = {
        "an API response": "\n".join(responses),
        "stdout": captured.out,
        "stderr": captured.err,
        "the logs table": logs,
        "user_provider_credentials": await _table(database, "user_provider_credentials"),
        "provider_credential_validations": await _table(
            database, "provider_credential_validations"
        ),
    }

    # The test proves something only if the logging it inspects happened.
    assert '"event": "request"' in captured.out
    assert "credential stored" in logs and "request" in logs

    leaks = [
        f"the {name} leaked into {where}"
        for name, needle in _needles().items()
        for where, haystack in haystacks.items()
        if needle in haystack
    ]
    assert leaks == []
    assert bearer not in captured.out + captured.err + logs


async def test_what_is_stored_decrypts_to_what_was_sent(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    user = await make_user(session)
    auth = {"Authorization": f"Bearer {await login(client, user.email)}"}
    assert (
        await client.put("/api/credentials/bedrock", json=AWS_BODY, headers=auth)
    ).status_code == 201
    async with database.engine.connect() as connection:
        [token] = (
            (await connection.execute(text("SELECT encrypted_data FROM user_provider_credentials")))
            .scalars()
            .all()
        )
    secret = make_settings().encryption_secret
    expected = {k: v for k, v in AWS_BODY.items() if k != "region"}
    assert decrypt_secrets(token, secret=secret) == expected
