"""The per-user limit on credential writes: PUT and DELETE /api/credentials/{provider} and the
settings page's credential form count against one budget of CREDENTIAL_WRITES_PER_MINUTE per
user in any 60 s (`myia.auth.rate_limit`; through Redis when REDIS_URL is set, so every API
process shares it). Past it the write is refused with 429 and `Retry-After`, and nothing is
stored: every stored value is held by the redaction registry of each process that handles it,
and a user has no use for changing credentials many times a minute.

The limiter is made on first use and kept on the app (`app.state`); the credentials router's
lifespan (`lifespan` below) closes it when the app stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import HTTPException, Request

from myia.auth.rate_limit import RateLimitedError, SlidingWindowLimiter

_ATTRIBUTE = "credential_write_limiter"
WINDOW_S = 60.0


def _limiter(app: Any) -> SlidingWindowLimiter:
    limiter: SlidingWindowLimiter | None = getattr(app.state, _ATTRIBUTE, None)
    if limiter is None:
        settings = app.state.myia.settings
        per_minute = settings.credential_writes_per_minute
        limiter = SlidingWindowLimiter(
            limit=per_minute,
            window_s=WINDOW_S,
            message=f"too many credential changes (at most {per_minute} a minute)",
            redis_url=settings.redis_url,
            prefix="myia:credential-writes",
        )
        setattr(app.state, _ATTRIBUTE, limiter)
    return limiter


async def count_credential_write(request: Request, user_id: str) -> None:
    """Count one credential write of `user_id`, or raise RateLimitedError (nothing counted)."""
    await _limiter(request.app).hit(user_id)


async def limit_credential_write(request: Request, user_id: str) -> None:
    """`count_credential_write` for the API: past the limit, a 429 with Retry-After."""
    try:
        await count_credential_write(request, user_id)
    except RateLimitedError as exc:
        raise HTTPException(
            status_code=429, detail=str(exc), headers={"Retry-After": str(exc.retry_after_s)}
        ) from None


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        limiter: SlidingWindowLimiter | None = getattr(app.state, _ATTRIBUTE, None)
        if limiter is not None:
            delattr(app.state, _ATTRIBUTE)
            await limiter.close()


RESPONSES_429: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many credential writes by this user: retry after the Retry-After "
        "header's seconds (CREDENTIAL_WRITES_PER_MINUTE)"
    }
}
