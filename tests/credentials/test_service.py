"""The credentials service: shapes per auth type, masking, replace, delete, decrypt, validations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials import service
from myia.credentials.crypto import CredentialDecryptionError
from myia.credentials.schemas import CredentialInput
from myia.db.enums import AuthType
from myia.db.models import Provider, ProviderCredentialValidation, UserProviderCredential
from myia.errors import InvalidInputError, NotFoundError
from tests.factories import make_provider, make_user

SECRET = "service-test-secret-0123456789"
AKID = "AKIAABCDEFGHIJKLWXYZ"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
API_KEY = "sk-test-abcdefghijklmnop1234"


async def _providers(session: AsyncSession) -> tuple[Provider, Provider]:
    bedrock = await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    openai = await make_provider(session, slug="openai", auth_type=AuthType.API_KEY)
    return bedrock, openai


async def _put(session: AsyncSession, user_id: str, slug: str, **fields: Any) -> Any:
    return await service.upsert_credential(
        session=session,
        user_id=user_id,
        provider_slug=slug,
        data=CredentialInput.model_validate(fields),
        secret=SECRET,
    )


async def test_store_list_masked_and_decrypt(session: AsyncSession) -> None:
    await _providers(session)
    user = await make_user(session)
    aws, created = await _put(
        session,
        user.id,
        "bedrock",
        access_key_id=AKID,
        secret_access_key=AWS_SECRET,
        region="eu-west-3",
    )
    assert created
    assert aws.masked == {"access_key_id": "***WXYZ", "secret_access_key": "***EKEY"}
    assert aws.region == "eu-west-3" and aws.readable
    _key, created = await _put(session, user.id, "openai", api_key=API_KEY)
    assert created

    listed = await service.list_credentials(session=session, user_id=user.id, secret=SECRET)
    assert [c.provider_slug for c in listed] == ["bedrock", "openai"]
    assert listed[1].masked == {"api_key": "***1234"}
    dumped = str([c.model_dump() for c in listed])
    assert AKID not in dumped and AWS_SECRET not in dumped and API_KEY not in dumped

    row = (await session.execute(select(UserProviderCredential))).scalars().first()
    assert row is not None and AKID not in row.encrypted_data

    decrypted = await service.get_decrypted(
        session=session, user_id=user.id, provider_slug="bedrock", secret=SECRET
    )
    assert decrypted is not None
    assert decrypted.secrets == {"access_key_id": AKID, "secret_access_key": AWS_SECRET}
    assert decrypted.auth_type == AuthType.AWS_CREDENTIALS and decrypted.region == "eu-west-3"
    assert AWS_SECRET not in repr(decrypted)


async def test_credentials_are_per_user(session: AsyncSession) -> None:
    await _providers(session)
    owner, other = await make_user(session), await make_user(session)
    await _put(session, owner.id, "openai", api_key=API_KEY)
    assert await service.list_credentials(session=session, user_id=other.id, secret=SECRET) == []
    assert (
        await service.get_decrypted(
            session=session, user_id=other.id, provider_slug="openai", secret=SECRET
        )
        is None
    )
    with pytest.raises(NotFoundError):
        await service.delete_credential(session=session, user_id=other.id, provider_slug="openai")


@pytest.mark.parametrize(
    ("slug", "fields", "field"),
    [
        ("bedrock", {"api_key": API_KEY}, "api_key"),
        ("bedrock", {"access_key_id": AKID}, "secret_access_key"),
        ("bedrock", {"secret_access_key": AWS_SECRET}, "access_key_id"),
        ("openai", {"access_key_id": AKID, "secret_access_key": AWS_SECRET}, "access_key_id"),
        ("openai", {"api_key": API_KEY, "region": "us-east-1"}, "region"),
        ("openai", {}, "api_key"),
        ("nope", {"api_key": API_KEY}, "provider"),
    ],
)
async def test_shape_must_match_the_providers_auth_type(
    session: AsyncSession, slug: str, fields: dict[str, str], field: str
) -> None:
    await _providers(session)
    user = await make_user(session)
    with pytest.raises(InvalidInputError) as info:
        await _put(session, user.id, slug, **fields)
    assert info.value.field == field
    for value in fields.values():
        assert value not in str(info.value)


async def test_replace_keeps_the_row_and_drops_old_validations(session: AsyncSession) -> None:
    await _providers(session)
    user = await make_user(session)
    first, _ = await _put(session, user.id, "openai", api_key=API_KEY)
    await service.record_validation(
        session=session,
        credential_id=first.id,
        status="ok",
        detail=None,
        error_category=None,
        latency_ms=12,
    )
    again, created = await _put(session, user.id, "openai", api_key="sk-test-replacement-9876")
    assert not created and again.id == first.id
    assert again.masked == {"api_key": "***9876"}
    assert (
        await service.list_validations(session=session, user_id=user.id, provider_slug="openai")
        == []
    )
    decrypted = await service.get_decrypted(
        session=session, user_id=user.id, provider_slug="openai", secret=SECRET
    )
    assert decrypted is not None and decrypted.secrets == {"api_key": "sk-test-replacement-9876"}


async def test_delete(session: AsyncSession) -> None:
    await _providers(session)
    user = await make_user(session)
    await _put(session, user.id, "openai", api_key=API_KEY)
    await service.delete_credential(session=session, user_id=user.id, provider_slug="openai")
    assert await service.list_credentials(session=session, user_id=user.id, secret=SECRET) == []
    with pytest.raises(NotFoundError) as info:
        await service.delete_credential(session=session, user_id=user.id, provider_slug="openai")
    assert info.value.entity == "credential"
    with pytest.raises(NotFoundError) as unknown:
        await service.delete_credential(session=session, user_id=user.id, provider_slug="nope")
    assert unknown.value.entity == "provider"


async def test_wrong_secret_lists_unreadable_and_refuses_to_decrypt(
    session: AsyncSession,
) -> None:
    await _providers(session)
    user = await make_user(session)
    await _put(session, user.id, "openai", api_key=API_KEY)
    other = "a-different-secret-000000000"
    listed = await service.list_credentials(session=session, user_id=user.id, secret=other)
    assert listed[0].readable is False and listed[0].masked == {}
    with pytest.raises(CredentialDecryptionError):
        await service.get_decrypted(
            session=session, user_id=user.id, provider_slug="openai", secret=other
        )
    # Reading with the new and the previous secret (rotation window) works.
    decrypted = await service.get_decrypted(
        session=session, user_id=user.id, provider_slug="openai", secret=[other, SECRET]
    )
    assert decrypted is not None
    with pytest.raises(NotFoundError):
        await service.get_decrypted(
            session=session, user_id=user.id, provider_slug="nope", secret=SECRET
        )


async def test_validations_are_recorded_redacted_and_listed_newest_first(
    session: AsyncSession,
) -> None:
    bedrock, _ = await _providers(session)
    user = await make_user(session)
    credential, _ = await _put(
        session, user.id, "bedrock", access_key_id=AKID, secret_access_key=AWS_SECRET
    )
    failed = await service.record_validation(
        session=session,
        credential_id=credential.id,
        status="error",
        detail=f"UnrecognizedClientException: key {AKID} is invalid",
        error_category="auth",
        latency_ms=80,
    )
    assert failed.user_id == user.id and failed.provider_id == bedrock.id
    assert failed.detail is not None and AKID not in failed.detail
    ok = await service.record_validation(
        session=session,
        credential_id=credential.id,
        status="ok",
        detail=None,
        error_category=None,
        latency_ms=40,
    )
    # Same-second timestamps would make "newest" ambiguous; the history is ordered by time.
    ok.checked_at = failed.checked_at + timedelta(seconds=1)
    await session.commit()

    history = await service.list_validations(
        session=session, user_id=user.id, provider_slug="bedrock"
    )
    assert [v.status for v in history] == ["ok", "error"]
    listed = await service.list_credentials(session=session, user_id=user.id, secret=SECRET)
    assert listed[0].last_validation is not None
    assert listed[0].last_validation.status == "ok"

    with pytest.raises(InvalidInputError) as bad_status:
        await service.record_validation(
            session=session,
            credential_id=credential.id,
            status="maybe",
            detail=None,
            error_category=None,
            latency_ms=None,
        )
    assert bad_status.value.field == "status"
    with pytest.raises(NotFoundError):
        await service.record_validation(
            session=session,
            credential_id="missing",
            status="ok",
            detail=None,
            error_category=None,
            latency_ms=None,
        )
    count = len((await session.execute(select(ProviderCredentialValidation))).all())
    assert count == 2
