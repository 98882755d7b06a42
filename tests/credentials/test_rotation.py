"""Re-encrypting every stored credential: all or nothing, dry run, safe to re-run."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials import service
from myia.credentials.crypto import decrypt_secrets, encrypt_secrets, is_encrypted_with
from myia.credentials.rotation import (
    RotationAbortedError,
    check_new_secret,
    rotate_credentials,
)
from myia.credentials.schemas import CredentialInput
from myia.db.enums import AuthType
from myia.db.models import UserProviderCredential
from myia.errors import InvalidInputError
from tests.factories import make_provider, make_user

OLD = "rotation-old-secret-0123456789"
NEW = "rotation-new-secret-9876543210"


async def _store(session: AsyncSession, count: int) -> dict[str, str]:
    """`count` users with an API key each; returns credential id -> api key."""
    await make_provider(session, slug="openai", auth_type=AuthType.API_KEY)
    keys = {}
    for n in range(count):
        user = await make_user(session)
        key = f"sk-test-rotation-key-{n:04d}"
        public, _ = await service.upsert_credential(
            session=session,
            user_id=user.id,
            provider_slug="openai",
            data=CredentialInput.model_validate({"api_key": key}),
            secret=OLD,
        )
        keys[public.id] = key
    return keys


async def _tokens(session: AsyncSession) -> dict[str, str]:
    session.expire_all()
    rows = (await session.execute(select(UserProviderCredential))).scalars()
    return {row.id: row.encrypted_data for row in rows}


async def test_rotation_reencrypts_every_row(session: AsyncSession) -> None:
    keys = await _store(session, 3)
    before = await _tokens(session)
    seen: list[tuple[int, int]] = []
    report = await rotate_credentials(
        session=session,
        current_secret=OLD,
        new_secret=NEW,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (report.total, report.reencrypted, report.already_new) == (3, 3, 0)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    after = await _tokens(session)
    for credential_id, token in after.items():
        assert token != before[credential_id]
        assert not is_encrypted_with(token, secret=OLD)
        assert decrypt_secrets(token, secret=NEW) == {"api_key": keys[credential_id]}

    # A re-run before the restart finds every row already moved and writes nothing.
    again = await rotate_credentials(session=session, current_secret=OLD, new_secret=NEW)
    assert (again.reencrypted, again.already_new) == (0, 3)
    assert await _tokens(session) == after


async def test_dry_run_checks_and_counts_but_changes_nothing(session: AsyncSession) -> None:
    await _store(session, 2)
    before = await _tokens(session)
    report = await rotate_credentials(
        session=session, current_secret=OLD, new_secret=NEW, dry_run=True
    )
    assert report.dry_run and (report.total, report.reencrypted) == (2, 2)
    assert await _tokens(session) == before


async def test_an_undecryptable_row_aborts_and_changes_nothing(session: AsyncSession) -> None:
    keys = await _store(session, 3)
    stray = next(iter(keys))
    row = await session.get(UserProviderCredential, stray)
    assert row is not None
    row.encrypted_data = encrypt_secrets({"api_key": "sk-test-unknown"}, secret="x" * 32)
    await session.commit()
    before = await _tokens(session)

    with pytest.raises(RotationAbortedError) as info:
        await rotate_credentials(session=session, current_secret=OLD, new_secret=NEW)
    assert (info.value.failed, info.value.total) == (1, 3)
    assert "1 of 3" in str(info.value) and "nothing was changed" in str(info.value)
    assert "sk-test" not in str(info.value)
    assert await _tokens(session) == before


async def test_empty_table_rotates_to_nothing(session: AsyncSession) -> None:
    report = await rotate_credentials(session=session, current_secret=OLD, new_secret=NEW)
    assert (report.total, report.reencrypted) == (0, 0)


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (None, "not set"),
        ("", "not set"),
        (OLD, "current"),
        ("short-secret", "too short"),
        ("changeme", "default value"),
    ],
)
def test_unusable_new_secrets_are_refused(new: str | None, reason: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_new_secret(current=OLD, new=new, variable="NEW_ENCRYPTION_SECRET")
    assert info.value.field == "NEW_ENCRYPTION_SECRET"
    assert reason in info.value.message
    if new:
        assert new not in info.value.message


def test_a_good_new_secret_is_returned() -> None:
    assert check_new_secret(current=OLD, new=NEW, variable="X") == NEW
