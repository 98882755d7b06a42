"""Login rate limiting and lockout, per account and per client address.

Failed logins are counted under two keys, the email (as typed, lower-cased: unknown emails
are counted too, so a lockout says nothing about which accounts exist) and the client
address. Once either count reaches its limit, logins for that key are refused with 429 until
`LOGIN_LOCKOUT_S` has passed since the last failure; a successful login clears the account's
count. With REDIS_URL set the counts are shared by every API process; otherwise they live in
this process.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

import redis.asyncio as aioredis

from myia.errors import MyIAError


class TooManyAttemptsError(MyIAError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"too many failed logins: try again in {self.retry_after_s} seconds")


class _Counter(Protocol):
    async def count(self, key: str) -> tuple[int, float]: ...
    async def hit(self, key: str, ttl_s: float) -> None: ...
    async def clear(self, key: str) -> None: ...


class MemoryCounter:
    """Counts with an expiry, in this process."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def count(self, key: str) -> tuple[int, float]:
        count, expires = self._counts.get(key, (0, 0.0))
        left = expires - time.monotonic()
        if left <= 0:
            self._counts.pop(key, None)
            return 0, 0.0
        return count, left

    async def hit(self, key: str, ttl_s: float) -> None:
        count, _ = await self.count(key)
        self._counts[key] = (count + 1, time.monotonic() + ttl_s)
        if len(self._counts) > 100_000:  # bounded memory under an address-spraying attack
            now = time.monotonic()
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)


class RedisCounter:
    """Counts shared by every process through Redis (INCR + PEXPIRE)."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url)

    async def count(self, key: str) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, ttl_ms = await pipe.execute()
        if raw is None or ttl_ms is None or ttl_ms <= 0:
            return 0, 0.0
        return int(raw), ttl_ms / 1000

    async def hit(self, key: str, ttl_s: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, max(1, int(ttl_s * 1000)))
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_address: int,
        lockout_s: float,
        redis_url: str | None = None,
        prefix: str = "myia:login",
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.lockout_s = lockout_s
        self.prefix = prefix
        self._counter: _Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    def _keys(self, email: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"{self.prefix}:account:{email.strip().lower()}", self.max_failures)]
        if address:
            keys.append((f"{self.prefix}:address:{address}", self.max_failures_per_address))
        return keys

    async def check(self, *, email: str, address: str | None) -> None:
        """Raise TooManyAttemptsError while the account or the address is locked out."""
        for key, limit in self._keys(email, address):
            count, left = await self._counter.count(key)
            if count >= limit:
                raise TooManyAttemptsError(left)

    async def failed(self, *, email: str, address: str | None) -> None:
        for key, _limit in self._keys(email, address):
            await self._counter.hit(key, self.lockout_s)

    async def succeeded(self, *, email: str) -> None:
        key, _limit = self._keys(email, None)[0]
        await self._counter.clear(key)

    async def close(self) -> None:
        if isinstance(self._counter, RedisCounter):
            await self._counter.close()
