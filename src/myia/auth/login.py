"""The one password login, throttled: both `POST /api/auth/login` and the web form's
`POST /login` call `login_with_password` (the throttle itself: myia.auth.throttle)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.service import authenticate
from myia.auth.throttle import LoginThrottle
from myia.db.models import User
from myia.errors import AuthenticationError


async def login_with_password(
    *,
    session: AsyncSession,
    throttle: LoginThrottle,
    email: str,
    password: str,
    address: str | None,
) -> User:
    """The user, once the throttle lets this (email, address) try and the password matches.

    Raises TooManyAttemptsError while throttled (the password is not even checked, so the
    right one is refused too) and AuthenticationError for a wrong email or password, which
    counts as a failure; a success clears this pair's failures.
    """
    await throttle.check(email=email, address=address)
    try:
        user = await authenticate(session=session, email=email, password=password)
    except AuthenticationError:
        await throttle.failed(email=email, address=address)
        raise
    await throttle.succeeded(email=email, address=address)
    return user
