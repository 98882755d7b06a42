"""The signed-in user's settings: theme, default region, enabled models."""

from __future__ import annotations

from fastapi import APIRouter

from myia.api.deps import CacheDep, CurrentUser, SessionDep
from myia.users.settings import (
    UserSettingsPublic,
    UserSettingsUpdate,
    get_user_settings,
    update_user_settings,
)

router = APIRouter(prefix="/api/user/settings", tags=["user settings"])


@router.get("", summary="My settings")
async def read_settings(user: CurrentUser, session: SessionDep) -> UserSettingsPublic:
    return await get_user_settings(session=session, user_id=user.id)


@router.put("", summary="Change my settings (partial)")
async def change_settings(
    body: UserSettingsUpdate, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> UserSettingsPublic:
    """Only the fields sent change. `default_region` is the gateway's region preference;
    `enabled_models` lists base model ids (empty: every model)."""
    return await update_user_settings(session=session, cache=cache, user_id=user.id, data=body)
