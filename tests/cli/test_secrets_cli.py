"""`myia secrets rotate` end to end (sync tests: the command runs its own event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from myia.cli.main import app
from myia.config import reset_settings_cache
from myia.credentials import service
from myia.credentials.crypto import decrypt_secrets, encrypt_secrets
from myia.credentials.schemas import CredentialInput
from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.db.models import UserProviderCredential
from tests.factories import make_provider, make_user

OLD = "cli-rotation-old-secret-0123456789"
NEW = "cli-rotation-new-secret-9876543210"
API_KEY = "sk-test-cli-rotation-abcdef123456"

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENCRYPTION_SECRET", OLD)
    monkeypatch.setenv("NEW_ENCRYPTION_SECRET", NEW)
    reset_settings_cache()
    yield db_url
    reset_settings_cache()


async def _seed(url: str, *, stray: bool = False) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await make_provider(session, slug="openai", auth_type=AuthType.API_KEY)
            for _ in range(2):
                user = await make_user(session)
                await service.upsert_credential(
                    session=session,
                    user_id=user.id,
                    provider_slug="openai",
                    data=CredentialInput.model_validate({"api_key": API_KEY}),
                    secret=OLD,
                )
            if stray:
                row = (await session.execute(select(UserProviderCredential))).scalars().first()
                assert row is not None
                row.encrypted_data = encrypt_secrets({"api_key": "sk-x"}, secret="y" * 32)
                await session.commit()
    finally:
        await database.dispose()


async def _tokens(url: str) -> list[str]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = await session.execute(
                select(UserProviderCredential.encrypted_data).order_by(UserProviderCredential.id)
            )
            return list(rows.scalars())
    finally:
        await database.dispose()


def test_rotate_reencrypts_and_prints_the_next_step(env: str) -> None:
    asyncio.run(_seed(env))
    result = runner.invoke(app, ["secrets", "rotate", "--yes"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 of 2" in result.output
    assert "set ENCRYPTION_SECRET" in result.output and "restart" in result.output
    assert NEW not in result.output and OLD not in result.output
    for token in asyncio.run(_tokens(env)):
        assert decrypt_secrets(token, secret=NEW) == {"api_key": API_KEY}


def test_rotate_asks_for_confirmation(env: str) -> None:
    asyncio.run(_seed(env))
    before = asyncio.run(_tokens(env))
    declined = runner.invoke(app, ["secrets", "rotate"], input="n\n")
    assert declined.exit_code != 0
    assert asyncio.run(_tokens(env)) == before
    accepted = runner.invoke(app, ["secrets", "rotate"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert asyncio.run(_tokens(env)) != before


def test_dry_run_counts_and_changes_nothing(env: str) -> None:
    asyncio.run(_seed(env))
    before = asyncio.run(_tokens(env))
    result = runner.invoke(app, ["secrets", "rotate", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 of 2 credentials would be re-encrypted" in result.output
    assert "Nothing was changed" in result.output
    assert asyncio.run(_tokens(env)) == before


def test_undecryptable_rows_abort_without_change(env: str) -> None:
    asyncio.run(_seed(env, stray=True))
    before = asyncio.run(_tokens(env))
    result = runner.invoke(app, ["secrets", "rotate", "--yes"])
    assert result.exit_code == 1
    assert "1 of 2" in result.output and "nothing was changed" in result.output
    assert "sk-x" not in result.output
    assert asyncio.run(_tokens(env)) == before


def test_new_secret_from_a_named_variable(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_seed(env))
    monkeypatch.setenv("MY_ROTATED_KEY", "another-brand-new-secret-42424242")
    result = runner.invoke(
        app, ["secrets", "rotate", "--yes", "--new-secret-env", "MY_ROTATED_KEY"]
    )
    assert result.exit_code == 0, result.output
    assert "MY_ROTATED_KEY" in result.output
    tokens = asyncio.run(_tokens(env))
    assert decrypt_secrets(tokens[0], secret="another-brand-new-secret-42424242")


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "not set"), (OLD, "current ENCRYPTION_SECRET"), ("too-short", "too short")],
)
def test_refuses_an_unusable_new_secret(
    env: str, monkeypatch: pytest.MonkeyPatch, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv("NEW_ENCRYPTION_SECRET")
    else:
        monkeypatch.setenv("NEW_ENCRYPTION_SECRET", value)
    result = runner.invoke(app, ["secrets", "rotate", "--yes"])
    assert result.exit_code == 1
    assert "NEW_ENCRYPTION_SECRET" in result.output and message in result.output
    if value:
        assert value not in result.output


def test_refuses_without_a_current_secret(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYIA_MODE", "production")
    monkeypatch.delenv("ENCRYPTION_SECRET")
    reset_settings_cache()
    result = runner.invoke(app, ["secrets", "rotate", "--yes"])
    assert result.exit_code == 1
    assert "ENCRYPTION_SECRET is not set" in result.output
