"""Who a bearer token speaks for: the user's identity and standing, cached per process.

A JWT says which user it was issued to; whether that user still exists, is active and has
which role lives in the database. Reading the row on every API request was most of a cached
catalog read's cost (bench/load.py), so the answer is kept in the process's `CatalogCache`
under `USERS`, briefly: a role change or a disabled account (`myia.users.accounts`) drops it
in every process at once through the cache's Redis channel, and without Redis the short TTL
bounds how long another process can still honour it.

A token also names the user's session version it was issued under (`auth/tokens.py`); a
logout, a password reset, a role change or disabling the account raises the version
(`auth.sessions.revoke_sessions`) and drops the cached principals, so every token issued
before stops working. The comparison is made here, against the principal, after the
per-process cache of verified tokens: a cached signature check never outlives a revocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from myia.auth.tokens import decode_access_token
from myia.catalog.cache import CatalogCache
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.db.models import User
from myia.errors import AuthenticationError

USERS = "users"  # CatalogCache namespace
# Without Redis, a `myia users disable` run in another process reaches a server only by
# expiry: seconds, not the catalog's minute.
PRINCIPAL_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user as the API sees it (immutable: shared between requests)."""

    id: str
    email: str
    name: str | None
    role: UserRole
    is_active: bool
    created_at: datetime
    session_version: int

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


async def _read(database: Database, user_id: str) -> Principal | None:
    async with database.read_session() as session:
        user = await session.get(User, user_id)
        if user is None:
            return None
        return Principal(
            id=user.id,
            email=user.email,
            name=user.name,
            role=UserRole(user.role),
            is_active=user.is_active,
            created_at=user.created_at,
            session_version=user.session_version,
        )


async def principal_of(
    *, cache: CatalogCache, database: Database, user_id: str
) -> Principal | None:
    """The user `user_id` as it stands (None when no such user), from the cache when fresh."""

    async def load() -> Principal | None:
        return await _read(database, user_id)

    return await cache.get_or_load(USERS, user_id, load, ttl_s=PRINCIPAL_TTL_S)


async def authenticate_token(
    token: str, *, secret: str, cache: CatalogCache, database: Database
) -> Principal:
    """The active user a bearer token speaks for; `AuthenticationError` saying why not."""
    claims = decode_access_token(token, secret=secret)
    user = await principal_of(cache=cache, database=database, user_id=claims.user_id)
    if user is None:
        raise AuthenticationError("the token's user no longer exists")
    if not user.is_active:
        raise AuthenticationError("this account is disabled")
    if claims.session_version != user.session_version:
        raise AuthenticationError("this session has ended: log in again")
    return user
