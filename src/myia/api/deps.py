"""Typed FastAPI dependencies: session, settings, current user, admin user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.state import AppState
from myia.auth.principal import Principal, authenticate_token
from myia.catalog.cache import CatalogCache
from myia.config import Settings
from myia.errors import AuthenticationError, PermissionDeniedError
from myia.observability.context import user_id_var

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /api/auth/login")


# The dependencies are `async def` even when they only read attributes: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hand-off (and GIL contention) per dependency
# and request: about a fifth of a cached catalog read's CPU (3.8 ms instead of 4.7 ms,
# bench/load.py).
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.myia
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


async def get_cache(state: StateDep) -> CatalogCache:
    return state.catalog_cache


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.database.session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CacheDep = Annotated[CatalogCache, Depends(get_cache)]


async def get_current_user(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The token's user, from the process's short-lived cache (no database session here: a
    cached catalog read then touches no connection at all)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("not authenticated: send 'Authorization: Bearer <token>'")
    user = await authenticate_token(
        credentials.credentials,
        secret=state.settings.jwt_secret,
        cache=state.catalog_cache,
        database=state.database,
    )
    user_id_var.set(user.id)
    return user


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise PermissionDeniedError("this action needs the admin role")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
