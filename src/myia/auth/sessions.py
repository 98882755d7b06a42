"""Ending a user's live sessions: every bearer token and web session issued so far.

Each token carries the session version its user had when it was issued (`auth/tokens.py`);
raising `users.session_version` makes every one of them stale. The check reads the version
from the principal (`auth.principal.authenticate_token`, cached 5 s per process) or from the
user row (`web.deps.get_viewer`), so after the commit the cached principals are dropped in
every process sharing `REDIS_URL` before the revocation is reported done (without Redis,
another process may honour the old token until its cached principal expires, 5 s at most).

Per user, not per token: a logout signs the user out everywhere (every browser, every
bearer token), which is also what a password reset, a role change or disabling must do.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.principal import USERS
from myia.catalog.cache import CatalogCache
from myia.db.models import User


async def raise_session_version(session: AsyncSession, user_id: str) -> None:
    """In the caller's transaction (commit, then `forget_principals`): one statement, so two
    revocations at once both count and none is lost to a read-modify-write race."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session="fetch")
    )


async def forget_principals(cache: CatalogCache) -> None:
    """Every process drops the principals it cached, before this returns (with Redis)."""
    await cache.invalidate_now(USERS)


async def revoke_sessions(*, session: AsyncSession, cache: CatalogCache, user_id: str) -> None:
    """End every session of the user, in every process: logout."""
    await raise_session_version(session, user_id)
    await session.commit()
    await forget_principals(cache)
