"""Check credentials against their providers (`myia models check-credentials`).

A user's stored credential is checked and the outcome recorded in
`provider_credential_validations`; without one the provider's standard chain (environment)
is checked, which has no row to record against. Details are redacted: provider error
messages sometimes echo what was sent.

`check_credentials` is the operator's (the CLI, on the server). What a signed-in user may ask
(the settings page's Validate) goes through `check_own_credential`: the platform's own keys
are not theirs to probe — a provider's reply to them names the platform's AWS account and IAM
user — so a non-admin checks only a credential they stored, and an unknown provider is a
plain 404 that lists nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials.connections import connection_for
from myia.credentials.crypto import CredentialDecryptionError
from myia.credentials.service import get_decrypted, record_validation
from myia.db.enums import AuthType
from myia.db.models import Provider
from myia.errors import InvalidInputError, NotFoundError
from myia.observability.redaction import redact_text
from myia.providers.adapter import CredentialCheck, ProviderAdapter
from myia.providers.connection import ProviderConnection
from myia.providers.errors import ProviderError
from myia.providers.registry import get_adapter

AdapterFactory = Callable[[ProviderConnection], ProviderAdapter]

STORED = "stored credential"
AWS_CHAIN = "AWS standard chain"
NO_KEY = "no key"


@dataclass(frozen=True)
class CredentialCheckResult:
    provider_slug: str
    provider_name: str
    is_simulated: bool
    source: str
    ok: bool
    category: str | None
    detail: str
    latency_ms: float
    recorded: bool


def chain_source(provider: Provider) -> str:
    """Where the standard chain would take the credential from (names, never values)."""
    if provider.auth_type is AuthType.AWS_CREDENTIALS:
        return AWS_CHAIN
    variable = f"{provider.slug.upper().replace('-', '_')}_API_KEY"
    return f"environment ({variable})" if os.environ.get(variable) else NO_KEY


async def _providers(session: AsyncSession, slug: str | None) -> list[Provider]:
    if slug is None:
        query = select(Provider).where(Provider.is_active.is_(True)).order_by(Provider.slug)
        return list((await session.scalars(query)).all())
    provider = await session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None:
        slugs = (await session.scalars(select(Provider.slug).order_by(Provider.slug))).all()
        raise InvalidInputError(
            "provider", f"no provider '{slug}'; known providers: {', '.join(slugs) or 'none'}"
        )
    return [provider]


async def _validate(
    adapter_factory: AdapterFactory, connection: ProviderConnection
) -> CredentialCheck:
    try:
        async with adapter_factory(connection) as adapter:
            return await adapter.validate_credentials()
    except ProviderError as exc:  # refused before any call, e.g. no key for the SDK
        return CredentialCheck(ok=False, category=exc.category, detail=exc.message, latency_ms=0)


async def _check(
    *,
    session: AsyncSession,
    provider: Provider,
    secret: str | Sequence[str],
    user_id: str | None,
    region: str | None,
    adapter_factory: AdapterFactory,
    timeout_s: float,
    chain_allowed: bool = True,
) -> CredentialCheckResult:
    """One provider: the user's stored credential if any, else the standard chain — unless
    `chain_allowed` is False: then no stored credential raises NoStoredCredentialError and
    nothing is sent."""
    slug, name, simulated = provider.slug, provider.name, provider.is_simulated
    try:
        stored = (
            await get_decrypted(session=session, user_id=user_id, provider_slug=slug, secret=secret)
            if user_id
            else None
        )
    except CredentialDecryptionError:
        return CredentialCheckResult(
            provider_slug=slug,
            provider_name=name,
            is_simulated=simulated,
            source=STORED,
            ok=False,
            category="DECRYPTION",
            detail="the stored credential does not decrypt with ENCRYPTION_SECRET",
            latency_ms=0.0,
            recorded=False,
        )
    if stored is None and not chain_allowed:
        raise NoStoredCredentialError(provider.name)
    connection = await connection_for(
        session=session,
        provider=provider,
        region=region,
        user_id=user_id if stored else None,
        secret=secret,
        timeout_s=timeout_s,
    )
    # No transaction stays open across the provider call (SQLite snapshots, PG idling).
    await session.commit()
    check = await _validate(adapter_factory, connection)
    detail = redact_text(check.detail)
    if stored is not None:
        await record_validation(
            session=session,
            credential_id=stored.credential_id,
            status="ok" if check.ok else "error",
            detail=detail,
            error_category=check.category.value if check.category else None,
            latency_ms=round(check.latency_ms),
        )
    return CredentialCheckResult(
        provider_slug=slug,
        provider_name=name,
        is_simulated=simulated,
        source=STORED if stored is not None else chain_source(provider),
        ok=check.ok,
        category=check.category.value if check.category else None,
        detail=detail,
        latency_ms=check.latency_ms,
        recorded=stored is not None,
    )


async def check_credentials(
    *,
    session: AsyncSession,
    secret: str | Sequence[str],
    provider_slug: str | None = None,
    user_id: str | None = None,
    region: str | None = None,
    adapter_factory: AdapterFactory = get_adapter,
    timeout_s: float = 30.0,
) -> list[CredentialCheckResult]:
    """One result per provider (every active one, or `provider_slug`): the operator's check,
    which may use the platform's standard chain. Never behind a user's request."""
    return [
        await _check(
            session=session,
            provider=provider,
            secret=secret,
            user_id=user_id,
            region=region,
            adapter_factory=adapter_factory,
            timeout_s=timeout_s,
        )
        for provider in await _providers(session, provider_slug)
    ]


class NoStoredCredentialError(InvalidInputError):
    """A non-admin asked to validate a provider they stored no credential for."""

    def __init__(self, provider_name: str) -> None:
        super().__init__(
            "provider",
            f"you have no stored credential for {provider_name}: store one, then validate it",
        )


async def check_own_credential(
    *,
    session: AsyncSession,
    secret: str | Sequence[str],
    provider_slug: str,
    user_id: str,
    is_admin: bool,
    region: str | None = None,
    adapter_factory: AdapterFactory = get_adapter,
    timeout_s: float = 30.0,
) -> CredentialCheckResult:
    """A signed-in user's check of one provider (the settings page's Validate).

    Unknown slug: NotFoundError naming that slug only, never the list of providers; for a
    non-admin an inactive provider is unknown too. A non-admin with no stored credential for
    it: NoStoredCredentialError before anything is sent upstream. Otherwise the stored
    credential is checked and recorded; an admin without one checks the platform's standard
    chain, as `myia models check-credentials` does.
    """
    provider = await session.scalar(select(Provider).where(Provider.slug == provider_slug))
    if provider is None or (not is_admin and not provider.is_active):
        raise NotFoundError("provider", provider_slug)
    return await _check(
        session=session,
        provider=provider,
        secret=secret,
        user_id=user_id,
        region=region,
        adapter_factory=adapter_factory,
        timeout_s=timeout_s,
        chain_allowed=is_admin,
    )
