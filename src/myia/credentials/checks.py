"""Check credentials against their providers (`myia models check-credentials`).

A user's stored credential is checked and the outcome recorded in
`provider_credential_validations`; without one the provider's standard chain (environment)
is checked, which has no row to record against. Details are redacted: provider error
messages sometimes echo what was sent.
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
from myia.errors import InvalidInputError
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
    """One result per provider (every active one, or `provider_slug`)."""
    results: list[CredentialCheckResult] = []
    for provider in await _providers(session, provider_slug):
        slug, name, simulated = provider.slug, provider.name, provider.is_simulated
        try:
            stored = (
                await get_decrypted(
                    session=session, user_id=user_id, provider_slug=slug, secret=secret
                )
                if user_id
                else None
            )
        except CredentialDecryptionError:
            results.append(
                CredentialCheckResult(
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
            )
            continue
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
        results.append(
            CredentialCheckResult(
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
        )
    return results
