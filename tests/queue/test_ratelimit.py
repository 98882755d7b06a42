"""The adaptive limiters: slower on a throttle, faster on success, calls spaced at the current
rate — in one process (LocalLimiter) and shared through Redis (RedisLimiter).

Timing assertions are lower bounds only (a slow machine can only make a call later)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from myia.queue.ratelimit import (
    LimiterConfig,
    LocalLimiter,
    LocalLimiterPool,
    RedisLimiter,
    RedisLimiterPool,
    parse_overrides,
)

CONFIG = LimiterConfig(initial_rps=10.0, min_rps=0.5, max_rps=100.0, decrease=0.5, window_s=0.5)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
async def prefix(client: aioredis.Redis) -> AsyncIterator[str]:
    name = f"test-ratelimit-{uuid.uuid4().hex[:10]}"
    yield name
    keys = [key async for key in client.scan_iter(match=f"{name}*")]
    if keys:
        await client.delete(*keys)


async def test_local_limiter_slows_down_on_throttle_and_recovers_on_success() -> None:
    limiter = LocalLimiter(CONFIG, initial_rps=10.0)
    await limiter.on_success()  # slow start: one more call/s per success
    assert limiter.rate == pytest.approx(11.0)
    await limiter.on_throttle(None)
    assert limiter.rate == pytest.approx(5.5)
    # A burst of throttles within one window is one signal, not a collapse to the floor.
    await limiter.on_throttle(None)
    assert limiter.rate == pytest.approx(5.5)
    for _ in range(5):
        await limiter.on_success()
    assert 5.5 < limiter.rate < 11.0


async def test_local_limiter_creeps_up_near_the_last_throttles_rate() -> None:
    config = LimiterConfig(decrease=0.9, increase=2.0, probe=0.2, window_s=0)
    limiter = LocalLimiter(config, initial_rps=10.0)
    await limiter.on_throttle(None)  # ceiling 10, rate 9
    steps = []
    for _ in range(6):
        before = limiter.rate
        await limiter.on_success()
        steps.append(limiter.rate - before)
    assert steps[0] > 0.2  # far below the ceiling: additive increase
    assert steps[-1] < 0.03  # at 95 % of it: probing
    assert limiter.rate < 10.0


async def test_local_limiter_never_leaves_its_bounds() -> None:
    config = LimiterConfig(initial_rps=1.0, min_rps=0.5, max_rps=2.0, decrease=0.1, window_s=0)
    limiter = LocalLimiter(config, initial_rps=1.0)
    for _ in range(5):
        await limiter.on_throttle(0.0)
    assert limiter.rate == 0.5
    for _ in range(100):
        await limiter.on_success()
    assert limiter.rate == 2.0


async def test_local_limiter_spaces_calls_at_its_rate() -> None:
    limiter = LocalLimiter(CONFIG, initial_rps=20.0)
    started = time.monotonic()
    for _ in range(5):
        await limiter.acquire()
    assert time.monotonic() - started >= 4 / 20.0 - 0.01


async def test_a_throttled_call_waits_the_providers_retry_after() -> None:
    limiter = LocalLimiter(CONFIG, initial_rps=10.0)
    assert await limiter.on_throttle(0.3) == 0.3
    # Without a retry-after, one slot at the new rate.
    assert await LocalLimiter(CONFIG, initial_rps=10.0).on_throttle(None) == pytest.approx(0.2)


async def test_redis_limiter_adapts_like_the_local_one(client: aioredis.Redis, prefix: str) -> None:
    limiter = RedisLimiter(client, f"{prefix}:bedrock:us-east-1", CONFIG, initial_rps=10.0)
    assert await limiter.rate() == 10.0  # nothing stored yet
    await limiter.on_success()
    assert await limiter.rate() == pytest.approx(11.0)
    await limiter.on_throttle(None)
    assert await limiter.rate() == pytest.approx(5.5)
    await limiter.on_throttle(None)  # same window
    assert await limiter.rate() == pytest.approx(5.5)
    for _ in range(5):
        await limiter.on_success()
    assert 5.5 < await limiter.rate() < 11.0
    assert await client.ttl(limiter.key) > 0  # idle state expires


async def test_two_redis_limiters_on_one_key_share_the_budget(
    client: aioredis.Redis, prefix: str
) -> None:
    """Two workers (two objects, as in two processes) draw on one (provider, region)."""
    key = f"{prefix}:openai:global"
    first = RedisLimiter(client, key, CONFIG, initial_rps=20.0)
    second = RedisLimiter(client, key, CONFIG, initial_rps=20.0)
    await first.on_throttle(None)
    assert await second.rate() == pytest.approx(10.0)
    await second.on_success()  # no longer in slow start, for either of them
    assert 10.0 < await first.rate() < 10.5
    started = time.monotonic()
    for limiter in (first, second, first, second, first):
        await limiter.acquire()
    # Five calls through both objects are spaced as one stream at ~10 calls/s.
    assert time.monotonic() - started >= 4 / 10.5 - 0.02


async def test_redis_limiter_returns_the_providers_retry_after(
    client: aioredis.Redis, prefix: str
) -> None:
    limiter = RedisLimiter(client, f"{prefix}:bedrock:eu-west-1", CONFIG, initial_rps=10.0)
    assert await limiter.on_throttle(0.3) == pytest.approx(0.3)
    assert await limiter.on_throttle(None) == pytest.approx(0.2)


async def test_pools_keep_one_limiter_per_provider_and_region(
    client: aioredis.Redis, prefix: str
) -> None:
    config = LimiterConfig(initial_rps=5.0, overrides=parse_overrides("bedrock=10, openai=20"))
    local = LocalLimiterPool(config)
    assert local.get("bedrock", "us-east-1") is local.get("bedrock", "us-east-1")
    assert local.get("bedrock", "us-east-1") is not local.get("bedrock", "eu-west-1")
    assert local.get("bedrock", "us-east-1").rate == 10.0
    assert local.get("groq", "global").rate == 5.0

    shared = RedisLimiterPool(client, config, prefix=prefix)
    one, other = shared.get("openai", "global"), shared.get("openai", "global")
    assert one.key == other.key == f"{prefix}:openai:global"
    assert shared.get("bedrock", "us-east-1").key != shared.get("bedrock", "eu-west-1").key
    assert await one.rate() == 20.0
