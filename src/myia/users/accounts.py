"""What an operator does to accounts: create (the first admin too), list, role, disable,
password reset. Registration and login stay in myia.auth.service; this module reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.passwords import hash_password
from myia.auth.service import create_user, get_user_by_email
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


async def set_role(*, session: AsyncSession, email: str, role: UserRole) -> UserSummary:
    user = await _require(session, email)
    user.role = role
    await session.commit()
    return _summary(user)


async def find_user(*, session: AsyncSession, email: str) -> UserSummary:
    return _summary(await _require(session, email))


async def set_active(*, session: AsyncSession, email: str, active: bool) -> UserSummary:
    """Disabling keeps the account and its data; login and existing tokens stop working."""
    user = await _require(session, email)
    user.is_active = active
    await session.commit()
    return _summary(user)


async def reset_password(*, session: AsyncSession, email: str, password: str) -> UserSummary:
    check_password(password)
    user = await _require(session, email)
    user.password_hash = hash_password(password)
    await session.commit()
    return _summary(user)
