"""A user's provider credentials: store (encrypted), list (masked), delete, read (internal).

Nothing here returns a secret in clear except `get_decrypted`, which is for the provider
adapters and must never be exposed through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials.crypto import CredentialDecryptionError, decrypt_secrets, encrypt_secrets
from myia.credentials.schemas import (
    REQUIRED_FIELDS,
    SECRET_FIELDS,
    CredentialInput,
    CredentialPublic,
    CredentialValidationPublic,
)
from myia.db.enums import AuthType
from myia.db.models import Provider, ProviderCredentialValidation, UserProviderCredential
from myia.errors import InvalidInputError, NotFoundError
from myia.observability.redaction import mask_secret, redact_text

VALIDATION_STATUSES = ("ok", "error")
_MAX_DETAIL = 2000


@dataclass(frozen=True)
class DecryptedCredential:
    """Secrets in clear for an adapter call; `repr` keeps them out of tracebacks and logs."""

    credential_id: str
    provider_slug: str
    auth_type: AuthType
    region: str | None
    secrets: dict[str, str] = field(repr=False)


async def _provider(session: AsyncSession, provider_slug: str) -> Provider | None:
    result = await session.execute(select(Provider).where(Provider.slug == provider_slug))
    return result.scalar_one_or_none()


async def _credential(
    session: AsyncSession, user_id: str, provider_slug: str
) -> tuple[Provider, UserProviderCredential]:
    provider = await _provider(session, provider_slug)
    if provider is None:
        raise NotFoundError("provider", provider_slug)
    result = await session.execute(
        select(UserProviderCredential).where(
            UserProviderCredential.user_id == user_id,
            UserProviderCredential.provider_id == provider.id,
        )
    )
    credential = result.scalar_one_or_none()
    if credential is None:
        raise NotFoundError("credential", provider_slug)
    return provider, credential


def _check_shape(provider: Provider, data: CredentialInput) -> None:
    """The fields sent must be the ones this provider's auth type uses (422 names the field)."""
    auth_type = provider.auth_type
    allowed = set(SECRET_FIELDS[auth_type])
    if auth_type == AuthType.AWS_CREDENTIALS:
        allowed.add("region")
    expected = ", ".join(REQUIRED_FIELDS[auth_type])
    unexpected = sorted(data.provided() - allowed)
    if unexpected:
        raise InvalidInputError(
            unexpected[0],
            f"not accepted by provider '{provider.slug}' (auth type {auth_type.value}); "
            f"it takes {expected}",
        )
    for name in REQUIRED_FIELDS[auth_type]:
        if getattr(data, name) is None:
            raise InvalidInputError(
                name, f"required by provider '{provider.slug}' (auth type {auth_type.value})"
            )


def _public(
    provider: Provider,
    credential: UserProviderCredential,
    secrets: dict[str, str] | None,
    last_validation: ProviderCredentialValidation | None,
) -> CredentialPublic:
    return CredentialPublic(
        id=credential.id,
        provider_slug=provider.slug,
        provider_name=provider.name,
        auth_type=provider.auth_type,
        region=credential.region,
        masked={name: mask_secret(value) for name, value in (secrets or {}).items()},
        readable=secrets is not None,
        last_validation=(
            CredentialValidationPublic.model_validate(last_validation)
            if last_validation is not None
            else None
        ),
        created_at=credential.created_at,
        updated_at=credential.updated_at,
    )


async def upsert_credential(
    *,
    session: AsyncSession,
    user_id: str,
    provider_slug: str,
    data: CredentialInput,
    secret: str,
) -> tuple[CredentialPublic, bool]:
    """Create or replace the user's credential for a provider; True when it was created.

    Replacing drops the validation history: it described secrets that no longer exist.
    """
    provider = await _provider(session, provider_slug)
    if provider is None:
        raise InvalidInputError("provider", f"no provider with slug '{provider_slug}'")
    _check_shape(provider, data)
    values = data.secret_values()
    encrypted = encrypt_secrets(values, secret=secret)
    result = await session.execute(
        select(UserProviderCredential).where(
            UserProviderCredential.user_id == user_id,
            UserProviderCredential.provider_id == provider.id,
        )
    )
    credential = result.scalar_one_or_none()
    created = credential is None
    if credential is None:
        credential = UserProviderCredential(
            user_id=user_id, provider_id=provider.id, region=data.region, encrypted_data=encrypted
        )
        session.add(credential)
    else:
        credential.region = data.region
        credential.encrypted_data = encrypted
        await session.execute(
            delete(ProviderCredentialValidation).where(
                ProviderCredentialValidation.credential_id == credential.id
            )
        )
    await session.commit()
    return _public(provider, credential, values, None), created


async def _latest_validations(
    session: AsyncSession, credential_ids: Sequence[str]
) -> dict[str, ProviderCredentialValidation]:
    if not credential_ids:
        return {}
    latest = (
        select(
            ProviderCredentialValidation.credential_id,
            func.max(ProviderCredentialValidation.checked_at).label("checked_at"),
        )
        .where(ProviderCredentialValidation.credential_id.in_(credential_ids))
        .group_by(ProviderCredentialValidation.credential_id)
        .subquery()
    )
    result = await session.execute(
        select(ProviderCredentialValidation).join(
            latest,
            (ProviderCredentialValidation.credential_id == latest.c.credential_id)
            & (ProviderCredentialValidation.checked_at == latest.c.checked_at),
        )
    )
    found: dict[str, ProviderCredentialValidation] = {}
    for validation in result.scalars():
        found.setdefault(validation.credential_id, validation)
    return found


async def list_credentials(
    *, session: AsyncSession, user_id: str, secret: str | Sequence[str]
) -> list[CredentialPublic]:
    """The user's credentials, masked. One that cannot be decrypted is listed as unreadable."""
    result = await session.execute(
        select(UserProviderCredential, Provider)
        .join(Provider, Provider.id == UserProviderCredential.provider_id)
        .where(UserProviderCredential.user_id == user_id)
        .order_by(Provider.slug)
    )
    rows = result.all()
    latest = await _latest_validations(session, [credential.id for credential, _ in rows])
    listed = []
    for credential, provider in rows:
        try:
            secrets: dict[str, str] | None = decrypt_secrets(
                credential.encrypted_data, secret=secret
            )
        except CredentialDecryptionError:
            secrets = None
        listed.append(_public(provider, credential, secrets, latest.get(credential.id)))
    return listed


async def delete_credential(*, session: AsyncSession, user_id: str, provider_slug: str) -> None:
    _provider_row, credential = await _credential(session, user_id, provider_slug)
    await session.delete(credential)
    await session.commit()


async def get_decrypted(
    *, session: AsyncSession, user_id: str, provider_slug: str, secret: str | Sequence[str]
) -> DecryptedCredential | None:
    """The user's secrets for a provider in clear (adapters only), or None if none stored.

    Raises NotFoundError for an unknown provider and CredentialDecryptionError when the
    stored value does not decrypt with `secret`.
    """
    try:
        provider, credential = await _credential(session, user_id, provider_slug)
    except NotFoundError as exc:
        if exc.entity == "provider":
            raise
        return None
    return DecryptedCredential(
        credential_id=credential.id,
        provider_slug=provider.slug,
        auth_type=provider.auth_type,
        region=credential.region,
        secrets=decrypt_secrets(credential.encrypted_data, secret=secret),
    )


async def record_validation(
    *,
    session: AsyncSession,
    credential_id: str,
    status: str,
    detail: str | None,
    error_category: str | None,
    latency_ms: int | None,
) -> ProviderCredentialValidation:
    """Record the outcome of checking a credential against its provider.

    `detail` usually quotes a provider's error message, which can echo a key: it is redacted.
    """
    if status not in VALIDATION_STATUSES:
        raise InvalidInputError("status", f"must be one of {', '.join(VALIDATION_STATUSES)}")
    credential = await session.get(UserProviderCredential, credential_id)
    if credential is None:
        raise NotFoundError("credential", credential_id)
    validation = ProviderCredentialValidation(
        credential_id=credential.id,
        user_id=credential.user_id,
        provider_id=credential.provider_id,
        status=status,
        detail=redact_text(detail)[:_MAX_DETAIL] if detail else None,
        error_category=error_category[:50] if error_category else None,
        latency_ms=latency_ms,
    )
    session.add(validation)
    await session.commit()
    return validation


async def list_validations(
    *, session: AsyncSession, user_id: str, provider_slug: str, limit: int = 50
) -> list[ProviderCredentialValidation]:
    """The user's validations for a provider, newest first."""
    _provider_row, credential = await _credential(session, user_id, provider_slug)
    result = await session.execute(
        select(ProviderCredentialValidation)
        .where(ProviderCredentialValidation.credential_id == credential.id)
        .order_by(ProviderCredentialValidation.checked_at.desc())
        .limit(limit)
    )
    return list(result.scalars())
