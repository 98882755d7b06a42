"""API keys: shown once at creation, stored as a sha256 hash, listed by prefix, revocable.

Verifying a key is on the gateway's hot path, so the answer (the key's owner, or "no such
key") is cached in the `CatalogCache` namespace `api_keys`. Revoking a key invalidates that
namespace, which the cache's Redis bus repeats to every process sharing the database: a
revoked key stops working everywhere as soon as the message arrives, not after a TTL.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.catalog.cache import CatalogCache
from myia.db.engine import Database
from myia.db.models import ApiKey, User
from myia.db.types import utcnow
from myia.errors import AuthenticationError, InvalidInputError, NotFoundError
from myia.observability.logging import get_logger

log = get_logger(__name__)

API_KEYS = "api_keys"  # CatalogCache namespace
KEY_PREFIX = "myia-"
PREFIX_LENGTH = 12  # "myia-" + 7 characters: enough to tell keys apart, useless to guess


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """Who a valid key belongs to (cached: plain data, no ORM rows)."""

    key_id: str
    user_id: str
    role: str
    default_region: str | None
    # The owner's enabled base models (myia.users.settings); None: every model.
    enabled_models: frozenset[str] | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(*, session: AsyncSession, user_id: str, name: str) -> tuple[ApiKey, str]:
    """The stored row and the key itself, which is never available again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInputError("name", "give the key a name of 1 to 100 characters")
    if await session.get(User, user_id) is None:
        raise NotFoundError("user", user_id)
    key = new_key()
    row = ApiKey(user_id=user_id, name=name, prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key))
    session.add(row)
    await session.commit()
    return row, key


async def list_api_keys(
    *, session: AsyncSession, user_id: str, include_revoked: bool = False
) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list((await session.scalars(query)).all())


async def revoke_api_key(
    *, session: AsyncSession, cache: CatalogCache, key_id: str, user_id: str | None = None
) -> ApiKey:
    """Revoke one key (of `user_id` when given: a user cannot revoke another's key)."""
    row = await session.get(ApiKey, key_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFoundError("api key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.commit()
    # Told to every process before this returns: a revoked key is refused everywhere once
    # the revoke has answered (and a CLI command stops right after).
    await cache.invalidate_now(API_KEYS)
    return row


async def _lookup(database: Database, digest: str) -> KeyOwner | None:
    async with database.read_session() as session:
        row = await session.scalar(
            select(ApiKey)
            .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
            .options(selectinload(ApiKey.user).selectinload(User.settings))
        )
        if row is None or not row.user.is_active:
            return None
        settings = row.user.settings
        return KeyOwner(
            key_id=row.id,
            user_id=row.user_id,
            role=str(row.user.role.value if hasattr(row.user.role, "value") else row.user.role),
            default_region=settings.default_region if settings else None,
            enabled_models=frozenset(settings.enabled_models)
            if settings and settings.enabled_models
            else None,
        )


async def authenticate_key(*, cache: CatalogCache, database: Database, key: str) -> KeyOwner:
    """The key's owner; `AuthenticationError` for an unknown, revoked or disabled key."""
    if not key.startswith(KEY_PREFIX):
        raise AuthenticationError("invalid API key")
    digest = hash_key(key)

    async def load() -> KeyOwner | None:
        return await _lookup(database, digest)

    owner = await cache.get_or_load(API_KEYS, digest, load)
    if owner is None:
        raise AuthenticationError("invalid or revoked API key")
    return owner
