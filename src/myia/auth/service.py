"""User accounts: registration, login, lookup."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.passwords import hash_password, verify_password
from myia.db.enums import UserRole
from myia.db.models import User, UserSettings
from myia.errors import AuthenticationError, ConflictError, NotFoundError


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def get_user(*, session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError("user", user_id)
    return user


async def create_user(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    name: str | None = None,
    role: UserRole = UserRole.USER,
) -> User:
    if await get_user_by_email(session=session, email=email) is not None:
        raise ConflictError(f"a user with email '{email}' already exists", field="email")
    user = User(email=email.lower(), password_hash=hash_password(password), name=name, role=role)
    user.settings = UserSettings()
    session.add(user)
    await session.commit()
    return user


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User:
    user = await get_user_by_email(session=session, email=email)
    # Same message for unknown email and wrong password: don't reveal which accounts exist.
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        raise AuthenticationError("incorrect email or password")
    return user
