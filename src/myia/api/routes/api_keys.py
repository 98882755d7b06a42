"""The current user's gateway API keys: create (shown once), list by prefix, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from myia.api.deps import CacheDep, CurrentUser, SessionDep
from myia.apikeys import service
from myia.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic
from myia.observability.logging import get_logger

router = APIRouter(prefix="/api/v2/api-keys", tags=["api keys"])
log = get_logger(__name__)

KeyId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key (shown once)")
async def create_key(body: ApiKeyCreate, user: CurrentUser, session: SessionDep) -> ApiKeyCreated:
    row, key = await service.create_api_key(session=session, user_id=user.id, name=body.name)
    log.info("api key created", key_id=row.id, prefix=row.prefix)
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.get("", summary="My API keys (prefix only)")
async def list_keys(
    user: CurrentUser, session: SessionDep, include_revoked: bool = False
) -> ApiKeysPublic:
    rows = await service.list_api_keys(
        session=session, user_id=user.id, include_revoked=include_revoked
    )
    return ApiKeysPublic(data=[ApiKeyPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete("/{key_id}", summary="Revoke an API key, at once on every process")
async def revoke_key(
    key_id: KeyId, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> ApiKeyPublic:
    row = await service.revoke_api_key(session=session, cache=cache, key_id=key_id, user_id=user.id)
    log.info("api key revoked", key_id=row.id, prefix=row.prefix)
    return ApiKeyPublic.model_validate(row)
