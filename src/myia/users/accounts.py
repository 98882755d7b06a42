"""What an operator does to accounts: create (the first admin too), list, role, disable,
password reset. Registration and login stay in myia.auth.service; this module reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import API_KEYS
from myia.auth.passwords import hash_password
from myia.auth.principal import USERS
from myia.auth.service import create_user, get_user_by_email
from myia.auth.sessions import raise_session_version
from myia.catalog.cache import CatalogCache
from myia.db.enums import UserRole
from myia.db.models import User
from myia.errors import InvalidInputError, NotFoundError

# The API's rule (auth.schemas.UserCreate), so a CLI-made password also logs in on the web.
MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_LENGTH = 200


@dataclass(frozen=True)
class UserSummary:
    id: str
    email: str
    name: str | None
    role: UserRole
    is_active: bool


def _summary(user: User) -> UserSummary:
    return UserSummary(user.id, user.email, user.name, user.role, user.is_active)


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password",
            f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long",
        )


def check_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise InvalidInputError("email", f"'{email}' is not an email address")
    return email


async def _require(session: AsyncSession, email: str) -> User:
    user = await get_user_by_email(session=session, email=email)
    if user is None:
        raise NotFoundError("user", email)
    return user


async def add_user(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    role: UserRole = UserRole.USER,
    name: str | None = None,
) -> UserSummary:
    check_password(password)
    user = await create_user(
        session=session, email=check_email(email), password=password, name=name, role=role
    )
    return _summary(user)


async def list_users(*, session: AsyncSession) -> list[UserSummary]:
    users = await session.scalars(select(User).order_by(func.lower(User.email)))
    return [_summary(user) for user in users]


async def _forget_cached(cache: CatalogCache) -> None:
    """Every process drops what it cached of who users are (their principal behind a JWT,
    the owner behind an API key) before the change is reported done."""
    await cache.invalidate_now(USERS, API_KEYS)


async def set_role(
    *, session: AsyncSession, cache: CatalogCache, email: str, role: UserRole
) -> UserSummary:
    user = await _require(session, email)
    if user.role != role:  # tokens and web sessions issued under the old role end
        user.role = role
        await raise_session_version(session, user.id)
    await session.commit()
    await _forget_cached(cache)
    return _summary(user)


async def find_user(*, session: AsyncSession, email: str) -> UserSummary:
    return _summary(await _require(session, email))


async def set_active(
    *, session: AsyncSession, cache: CatalogCache, email: str, active: bool
) -> UserSummary:
    """Disabling keeps the account and its data; login, existing tokens and the user's API
    keys stop working in every process that shares REDIS_URL (else within seconds); its
    sessions end for good, so enabling it again does not bring an old token back."""
    user = await _require(session, email)
    user.is_active = active
    if not active:
        await raise_session_version(session, user.id)
    await session.commit()
    await _forget_cached(cache)
    return _summary(user)


async def reset_password(
    *, session: AsyncSession, cache: CatalogCache, email: str, password: str
) -> UserSummary:
    """Every session opened with the old password ends, in every process (like `set_active`)."""
    check_password(password)
    user = await _require(session, email)
    user.password_hash = hash_password(password)
    await raise_session_version(session, user.id)
    await session.commit()
    await _forget_cached(cache)
    return _summary(user)
