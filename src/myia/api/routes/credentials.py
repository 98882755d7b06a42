"""The current user's provider credentials (BYOK): always masked on the way out.

Writes (PUT, DELETE) are limited per user to CREDENTIAL_WRITES_PER_MINUTE
(`myia.api.credential_writes`): 429 with Retry-After past it, nothing stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from myia.api import credential_writes
from myia.api.deps import CurrentUser, SessionDep, SettingsDep
from myia.credentials import service
from myia.credentials.schemas import (
    CredentialInput,
    CredentialPublic,
    CredentialsPublic,
    CredentialValidationPublic,
    CredentialValidationsPublic,
)
from myia.observability.logging import get_logger

router = APIRouter(
    prefix="/api/credentials", tags=["credentials"], lifespan=credential_writes.lifespan
)
log = get_logger(__name__)

ProviderSlug = Annotated[
    str,
    Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", examples=["bedrock"]),
]


@router.get("", summary="My provider credentials, masked")
async def list_credentials(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> CredentialsPublic:
    items = await service.list_credentials(
        session=session, user_id=user.id, secret=settings.encryption_secret
    )
    return CredentialsPublic(data=items, count=len(items))


@router.put(
    "/{provider_slug}",
    summary="Store (or replace) my credential for a provider",
    responses={
        201: {"description": "Created"},
        200: {"description": "Replaced"},
        **credential_writes.RESPONSES_429,
    },
)
async def put_credential(
    provider_slug: ProviderSlug,
    body: CredentialInput,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> CredentialPublic:
    await credential_writes.limit_credential_write(request, user.id)
    credential, created = await service.upsert_credential(
        session=session,
        user_id=user.id,
        provider_slug=provider_slug,
        data=body,
        secret=settings.encryption_secret,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    log.info(
        "credential stored",
        provider=provider_slug,
        credential_id=credential.id,
        replaced=not created,
    )
    return credential


@router.delete(
    "/{provider_slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my credential for a provider",
    responses=credential_writes.RESPONSES_429,
)
async def delete_credential(
    provider_slug: ProviderSlug, request: Request, user: CurrentUser, session: SessionDep
) -> Response:
    await credential_writes.limit_credential_write(request, user.id)
    await service.delete_credential(session=session, user_id=user.id, provider_slug=provider_slug)
    log.info("credential deleted", provider=provider_slug)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{provider_slug}/validations", summary="Checks of my credential, newest first")
async def list_validations(
    provider_slug: ProviderSlug, user: CurrentUser, session: SessionDep
) -> CredentialValidationsPublic:
    validations = await service.list_validations(
        session=session, user_id=user.id, provider_slug=provider_slug
    )
    data = [CredentialValidationPublic.model_validate(v) for v in validations]
    return CredentialValidationsPublic(data=data, count=len(data))
