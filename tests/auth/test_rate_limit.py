"""The sliding-window rate limiter (auth/rate_limit.py), in process and through Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from myia.auth.rate_limit import RateLimitedError, SlidingWindowLimiter


def _limiter(
    redis_url: str | None, *, limit: int = 3, window_s: float = 1.0
) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        limit=limit,
        window_s=window_s,
        message="too many tries",
        redis_url=redis_url,
        prefix=f"myia:test-rate:{uuid.uuid4().hex}",
    )


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    return str(request.getfixturevalue("redis_url"))


async def test_at_most_limit_actions_in_any_window_then_allowed_again(backend: str | None) -> None:
    limiter = _limiter(backend, limit=3, window_s=1.0)
    try:
        for _ in range(3):
            await limiter.hit("alice")
        with pytest.raises(RateLimitedError) as refused:
            await limiter.hit("alice")
        assert refused.value.retry_after_s == 1
        assert str(refused.value) == "too many tries: try again in 1 seconds"
        await limiter.hit("bob")  # another key: its own count
        # Refusals are not counted: once the window has passed, the key is allowed again.
        deadline = time.monotonic() + 10
        while True:
            try:
                await limiter.hit("alice")
                break
            except RateLimitedError:
                assert time.monotonic() < deadline, "never allowed again"
                await asyncio.sleep(0.1)
    finally:
        await limiter.close()


async def test_the_window_slides(backend: str | None) -> None:
    """Actions at 0 s and 1.5 s in a 3 s window: once the first has left it (3 s on) one more
    is allowed, but not two (the one at 1.5 s is still in it), as a fixed window would.

    Waits for the limiter instead of sleeping to 3.1 s: on a busy machine the first action
    can be recorded a little after `started`, and the second only later than 1.5 s."""
    limiter = _limiter(backend, limit=2, window_s=3.0)
    try:
        started = time.monotonic()
        await limiter.hit("k")
        await asyncio.sleep(1.5)
        await limiter.hit("k")
        with pytest.raises(RateLimitedError):
            await limiter.hit("k")
        deadline = started + 20
        while True:
            try:
                await limiter.hit("k")
                break
            except RateLimitedError:
                assert time.monotonic() < deadline, "never allowed again"
                await asyncio.sleep(0.05)
        assert time.monotonic() - started >= 3.0  # not before the first left the window
        with pytest.raises(RateLimitedError):  # the one at 1.5 s is still in it
            await limiter.hit("k")
    finally:
        await limiter.close()


async def test_two_limiters_on_one_redis_share_the_count(redis_url: str) -> None:
    first = _limiter(redis_url, limit=2, window_s=30)
    second = SlidingWindowLimiter(
        limit=2, window_s=30, message="too many tries", redis_url=redis_url, prefix=first.prefix
    )
    try:
        await first.hit("shared")
        await second.hit("shared")
        for limiter in (first, second):
            with pytest.raises(RateLimitedError) as refused:
                await limiter.hit("shared")
            assert 1 <= refused.value.retry_after_s <= 30
    finally:
        await first.close()
        await second.close()


async def test_a_failing_redis_falls_back_to_counting_in_process() -> None:
    limiter = _limiter("redis://127.0.0.1:1/0", limit=2, window_s=30)  # nothing listens there
    try:
        await limiter.hit("k")
        await limiter.hit("k")
        with pytest.raises(RateLimitedError):
            await limiter.hit("k")
    finally:
        await limiter.close()


def test_a_limit_needs_a_positive_count_and_window() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(limit=0, window_s=1, message="x")
    with pytest.raises(ValueError, match="window"):
        SlidingWindowLimiter(limit=1, window_s=0, message="x")
