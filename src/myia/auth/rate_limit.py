"""Per-key rate limits over a sliding window: at most `limit` actions in any `window_s`.

Each key keeps the times of its recent actions; an action is allowed while fewer than `limit`
of them fall within the last `window_s` seconds, and a refused action is not recorded (a
client that keeps retrying is let in as soon as the oldest action leaves the window, and the
refusal says when: `RateLimitedError.retry_after_s`). With a Redis URL the times are shared by
every process (one sorted set per key, checked and updated by one Lua script, on Redis's
clock); without one they live in this process. Should Redis fail, the limiter falls back to
its in-process count for that check and logs a warning, rather than refusing every action.

Used for credential writes (CREDENTIAL_WRITES_PER_MINUTE); anything else that needs "at most N
per user per minute" can build its own `SlidingWindowLimiter` with its own prefix.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from myia.errors import MyIAError
from myia.observability.logging import get_logger

log = get_logger(__name__)

# KEYS[1]: the key's sorted set; ARGV: window (s), limit, a unique member. Returns
# {1, "0"} when allowed (and recorded), {0, "<seconds until allowed>"} otherwise; the wait is
# a string because Redis turns Lua numbers into integers.
_SLIDING_WINDOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
    return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""

# Keys kept in process at most (an action spray over many keys must not grow memory forever).
_MAX_MEMORY_KEYS = 100_000


class RateLimitedError(MyIAError):
    """An action refused by a rate limit; `retry_after_s` is a whole number of seconds."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"{message}: try again in {self.retry_after_s} seconds")


class MemoryWindow:
    """Recent action times per key, in this process."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, *, limit: int, window_s: float) -> float | None:
        """Record an action and return None, or return the seconds until one is allowed."""
        now = time.monotonic()
        with self._lock:
            times = self._times.get(key)
            if times is None:
                if len(self._times) >= _MAX_MEMORY_KEYS:
                    self._prune(now, window_s)
                times = self._times[key] = deque()
            while times and times[0] <= now - window_s:
                times.popleft()
            if len(times) >= limit:
                return times[0] + window_s - now
            times.append(now)
            return None

    def _prune(self, now: float, window_s: float) -> None:
        self._times = {k: t for k, t in self._times.items() if t and t[-1] > now - window_s}


class SlidingWindowLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        message: str,
        redis_url: str | None = None,
        prefix: str = "myia:rate",
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.message = message
        self.prefix = prefix
        self._memory = MemoryWindow()
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._script = self._redis.register_script(_SLIDING_WINDOW) if self._redis else None

    async def hit(self, key: str) -> None:
        """Count one action under `key`, or raise RateLimitedError without counting it."""
        wait = await self._acquire(key)
        if wait is not None:
            raise RateLimitedError(self.message, wait)

    async def _acquire(self, key: str) -> float | None:
        if self._script is not None:
            try:
                allowed, wait = await self._script(
                    keys=[f"{self.prefix}:{key}"],
                    args=[self.window_s, self.limit, uuid.uuid4().hex],
                )
            except (RedisError, OSError) as exc:
                log.warning(
                    "rate limit: Redis failed, counting in process", error=type(exc).__name__
                )
            else:
                return None if int(allowed) else float(wait)
        return self._memory.acquire(key, limit=self.limit, window_s=self.window_s)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
