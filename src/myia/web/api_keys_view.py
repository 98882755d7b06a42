"""The settings page's view of gateway API keys (the `myia.apikeys` service)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys import service
from myia.apikeys.schemas import ApiKeyPublic


async def list_keys(*, session: AsyncSession, user_id: str) -> list[ApiKeyPublic]:
    rows = await service.list_api_keys(session=session, user_id=user_id, include_revoked=True)
    return [ApiKeyPublic.model_validate(r) for r in reversed(rows)]
