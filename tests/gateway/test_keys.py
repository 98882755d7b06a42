"""API keys: shown once, listed by prefix, revoked at once — in one process and across two
`myia serve` processes sharing the database and Redis, from the API and from the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from myia.apikeys.service import create_api_key
from myia.auth.tokens import create_access_token
from myia.cli.main import app as cli_app
from myia.config import DEMO_JWT_SECRET, reset_settings_cache
from myia.db.enums import UserRole
from tests.factories import bearer_headers, make_user, run_on
from tests.sim_support import Serve


async def test_keys_are_shown_once_listed_by_prefix_and_revoked_at_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    jwt = await bearer_headers(session)
    created = await client.post("/api/v2/api-keys", json={"name": "laptop"}, headers=jwt)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("myia-") and len(key) > 40
    assert key.startswith(created.json()["prefix"])

    listed = (await client.get("/api/v2/api-keys", headers=jwt)).json()
    assert listed["count"] == 1 and "key" not in listed["data"][0]
    assert key not in str(listed)

    bearer = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/models", headers=bearer)).status_code == 200
    other = await bearer_headers(session)
    key_id = created.json()["id"]
    assert (await client.delete(f"/api/v2/api-keys/{key_id}", headers=other)).status_code == 404
    assert (await client.get("/v1/models", headers=bearer)).status_code == 200
    revoked = await client.delete(f"/api/v2/api-keys/{key_id}", headers=jwt)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = await client.get("/v1/models", headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert (await client.get("/api/v2/api-keys", headers=jwt)).json()["count"] == 0


@pytest.fixture
def two_servers(db_url: str, redis_url: str) -> Iterator[tuple[Serve, Serve]]:
    env = {
        **os.environ,
        "MYIA_MODE": "test",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "QUEUE_WORKERS_ENABLED": "false",
        "LOG_TO_DB": "false",
        "RETENTION_INTERVAL_S": "0",
        "CATALOG_CACHE_TTL_S": "3600",  # only an invalidation can drop a cached key
    }
    env.pop("QUEUE_URL", None)
    servers = (Serve(env), Serve(env))
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextmanager
def operator_cli(
    monkeypatch: pytest.MonkeyPatch, *, db_url: str, redis_url: str
) -> Iterator[CliRunner]:
    """The `myia` CLI as an operator runs it beside the servers: same database and Redis."""
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LOG_TO_DB", "false")
    reset_settings_cache()
    try:
        yield CliRunner()
    finally:
        reset_settings_cache()


def _status(server: Serve, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{server.url}/v1/models", headers=headers, timeout=30).status_code


def test_revoked_key_is_refused_at_once_by_every_serve_process(
    db_url: str,
    redis_url: str,
    two_servers: tuple[Serve, Serve],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def setup(session: AsyncSession) -> dict[str, Any]:
        user = await make_user(session)
        first, first_key = await create_api_key(session=session, user_id=user.id, name="one")
        second, second_key = await create_api_key(session=session, user_id=user.id, name="two")
        return {"user": user.id, "email": user.email, "keys": [(first.id, first_key),
                (second.id, second_key)]}  # fmt: skip

    made = run_on(db_url, setup)
    a, b = two_servers
    (first_id, first_key), (second_id, second_key) = made["keys"]
    for server in (a, b):  # both processes now hold both keys in their cache
        assert _status(server, first_key) == 200
        assert _status(server, second_key) == 200

    token = create_access_token(
        user_id=made["user"], role=UserRole.USER, secret=DEMO_JWT_SECRET, ttl_minutes=5
    )
    revoked = httpx.delete(
        f"{a.url}/api/v2/api-keys/{first_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    assert _status(b, first_key) == 401  # the other process, first request after the revoke
    assert _status(a, first_key) == 401
    assert _status(b, second_key) == 200

    # The operator's CLI reaches the running servers the same way.
    with operator_cli(monkeypatch, db_url=db_url, redis_url=redis_url) as runner:
        listed = runner.invoke(cli_app, ["keys", "list", "--email", made["email"], "--json"])
        assert listed.exit_code == 0, listed.output
        assert second_key not in listed.output and second_id in listed.output
        result = runner.invoke(cli_app, ["keys", "revoke", second_id])
        assert result.exit_code == 0, result.output
        assert _status(b, second_key) == 401
        assert _status(a, second_key) == 401
        created = runner.invoke(
            cli_app, ["keys", "create", "--email", made["email"], "--name", "cli"]
        )
        assert created.exit_code == 0, created.output
        new_key = next(w for w in created.output.split() if w.startswith("myia-"))
        assert _status(b, new_key) == 200


def test_a_user_disabled_or_promoted_from_the_cli_counts_at_once_in_every_serve_process(
    db_url: str,
    redis_url: str,
    two_servers: tuple[Serve, Serve],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each server caches who a token's user is (src/myia/auth/principal.py) and who owns a
    key; `myia users disable|enable|set-role` must reach both caches before it answers."""

    async def setup(session: AsyncSession) -> dict[str, Any]:
        user = await make_user(session)
        _, key = await create_api_key(session=session, user_id=user.id, name="k")
        return {"user": user.id, "email": user.email, "key": key}

    made = run_on(db_url, setup)
    token = create_access_token(
        user_id=made["user"], role=UserRole.USER, secret=DEMO_JWT_SECRET, ttl_minutes=5
    )
    jwt = {"Authorization": f"Bearer {token}"}

    def catalog(server: Serve) -> int:
        return httpx.get(f"{server.url}/api/v2/models", headers=jwt, timeout=30).status_code

    def jobs(server: Serve) -> int:
        url = f"{server.url}/api/certification-queue/jobs"
        return httpx.get(url, headers=jwt, timeout=30).status_code

    servers = two_servers
    for server in servers:  # both processes now hold the user and the key in their cache
        assert (catalog(server), _status(server, made["key"]), jobs(server)) == (200, 200, 403)

    with operator_cli(monkeypatch, db_url=db_url, redis_url=redis_url) as runner:
        done = runner.invoke(cli_app, ["users", "disable", made["email"], "--yes"])
        assert done.exit_code == 0, done.output
        for server in servers:
            assert (catalog(server), _status(server, made["key"])) == (401, 401)
        done = runner.invoke(cli_app, ["users", "enable", made["email"]])
        assert done.exit_code == 0, done.output
        # The key works again; the token's session ended with the disable for good
        # (tests/security/test_session_revocation.py), so the user logs in again.
        for server in servers:
            assert (catalog(server), _status(server, made["key"])) == (401, 200)
        jwt = _login(servers[1], made["email"])
        for server in servers:
            assert (catalog(server), jobs(server)) == (200, 403)
        done = runner.invoke(cli_app, ["users", "set-role", made["email"], "admin"])
        assert done.exit_code == 0, done.output
        for server in servers:  # a role change ends the sessions opened under the old role
            assert (catalog(server), _status(server, made["key"])) == (401, 200)
        jwt = _login(servers[0], made["email"])
        for server in servers:
            assert jobs(server) == 200


def _login(server: Serve, email: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server.url}/api/auth/login",
        json={"email": email, "password": "secret-pw"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
