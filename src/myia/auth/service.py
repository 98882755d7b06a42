"""User accounts: registration, login, lookup."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.passwords import burn_verification, hash_password, verify_password
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
    password_hash = hash_password(password)  # before the lookup: same time either way
    if await get_user_by_email(session=session, email=email) is not None:
        # Neither the address nor "already exists": the answer must not confirm an account.
        raise ConflictError("this email cannot be registered", field="email")
    user = User(email=email.lower(), password_hash=password_hash, name=name, role=role)
    user.settings = UserSettings()
    session.add(user)
    await session.commit()
    return user


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User:
    user = await get_user_by_email(session=session, email=email)
    # Same message and the same work (one hash verification) for an unknown email, a
    # disabled account and a wrong password: neither words nor timing reveal an account.
    if user is None:
        burn_verification(password)
        raise AuthenticationError("incorrect email or password")
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise AuthenticationError("incorrect email or password")
    return user
