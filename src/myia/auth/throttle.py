"""Login throttling: growing delays per (account, address), and a ceiling per address.

Both logins (`POST /api/auth/login` and the web form `POST /login`) go through
`myia.auth.login.login_with_password`, which checks this throttle, then the password, then
records the failure or the success here.

**Per (account, address): growing delays.** Failed logins are counted per pair of account
(the email as typed, lower-cased; unknown emails are counted alike, so a 429 says nothing
about which accounts exist) and client address. The first `LOGIN_MAX_FAILURES` failures of a
pair are answered at once; after that the pair must wait 1 s before its next attempt, and
each further failure doubles the wait (1, 2, 4, 8 s …) up to `LOGIN_MAX_DELAY_S`. While it
waits, that pair's logins are refused with 429 and `Retry-After` without checking the
password, the right one included. A success clears the pair; otherwise it is forgotten
`LOGIN_LOCKOUT_S` after its last wait ended. There is deliberately no lock per account alone:
failures from one address never slow down the account's owner at another address, so a
stranger cannot lock anyone out.

**Per address: a ceiling.** `LOGIN_MAX_FAILURES_PER_ADDRESS` failures from one address,
across any accounts, block that address for `LOGIN_LOCKOUT_S` after its last failure (a
password spray). A success does not clear it: one valid account must not reset a spray.

**Where the counts live.** With `REDIS_URL` set, in Redis: shared by every API process, and
`myia users unlock EMAIL` clears an account's pairs (all addresses) there. Without it, in the
server process: the CLI cannot reach them; restarting the server clears them.

Limits: a request without a client address counts under the address "unknown" and skips the
ceiling. The client address is `request.client.host`; behind a reverse proxy run uvicorn with
proxy headers, or every client shares the proxy's address. Attempts sent at the same moment
are all checked before any of them fails: the delays bound sequential guessing, the address
ceiling and the cost of a password hash bound bursts. Many addresses guessing one account
each get their free failures and delays (no global per-account ceiling, see above).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from myia.config import Settings
from myia.errors import MyIAError

Clock = Callable[[], float]


class TooManyAttemptsError(MyIAError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"too many failed logins: try again in {self.retry_after_s} seconds")


@dataclass(frozen=True)
class Schedule:
    """How long a count lives after its n-th hit: `before_s` while n < `start`, then
    `steps_s[n - start]`, the last step repeating. A hit never shortens a count's life."""

    start: int
    before_s: float
    steps_s: tuple[float, ...]

    @classmethod
    def constant(cls, ttl_s: float) -> Schedule:
        return cls(start=1, before_s=ttl_s, steps_s=(ttl_s,))

    def ttl_s(self, n: int) -> float:
        if n < self.start:
            return self.before_s
        return self.steps_s[min(n - self.start, len(self.steps_s) - 1)]


class _Counter(Protocol):
    async def count(self, key: str) -> tuple[int, float]: ...
    async def hit(self, key: str, ttl_s: float) -> None: ...
    async def add(self, key: str, schedule: Schedule) -> int: ...
    async def clear(self, key: str) -> None: ...
    async def clear_prefix(self, prefix: str) -> int: ...


class MemoryCounter:
    """Counts with an expiry, in this process. `clock` (monotonic seconds) is for tests."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._clock = clock

    async def count(self, key: str) -> tuple[int, float]:
        """The count and the seconds it has left; (0, 0.0) once expired."""
        count, expires = self._counts.get(key, (0, 0.0))
        left = expires - self._clock()
        if left <= 0:
            self._counts.pop(key, None)
            return 0, 0.0
        return count, left

    async def hit(self, key: str, ttl_s: float) -> None:
        await self.add(key, Schedule.constant(ttl_s))

    async def add(self, key: str, schedule: Schedule) -> int:
        """Add one; the count then lives at least `schedule.ttl_s(new count)`. The new count."""
        count, left = await self.count(key)
        count += 1
        now = self._clock()
        self._counts[key] = (count, now + max(left, schedule.ttl_s(count)))
        if len(self._counts) > 100_000:  # bounded memory under an address-spraying attack
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return count

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    async def clear_prefix(self, prefix: str) -> int:
        keys = [k for k in self._counts if k.startswith(prefix)]
        for key in keys:
            del self._counts[key]
        return len(keys)


# INCR, then make the key live at least the schedule's TTL for the new count (ARGV: start,
# before_ms, step_ms…). One script, so a count never exists without an expiry and two
# concurrent hits never shorten each other's.
_ADD_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local start = tonumber(ARGV[1])
local ttl
if n < start then
  ttl = tonumber(ARGV[2])
else
  ttl = tonumber(ARGV[3 + math.min(n - start, #ARGV - 3)])
end
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
"""
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisCounter:
    """Counts shared by every process through Redis (INCR + PEXPIRE, in one script)."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url)
        self._add = self._redis.register_script(_ADD_SCRIPT)

    async def count(self, key: str) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, ttl_ms = await pipe.execute()
        if raw is None or ttl_ms is None or ttl_ms <= 0:
            return 0, 0.0
        return int(raw), ttl_ms / 1000

    async def hit(self, key: str, ttl_s: float) -> None:
        await self.add(key, Schedule.constant(ttl_s))

    async def add(self, key: str, schedule: Schedule) -> int:
        args = [schedule.start, _ms(schedule.before_s), *(_ms(s) for s in schedule.steps_s)]
        return int(await self._add(keys=[key], args=args))

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)

    async def clear_prefix(self, prefix: str) -> int:
        """Delete every key starting with `prefix` (SCAN, so Redis is never blocked)."""
        pattern = _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"
        deleted = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await self._redis.delete(*batch)
                batch = []
        if batch:
            deleted += await self._redis.delete(*batch)
        return deleted

    async def close(self) -> None:
        await self._redis.aclose()


def _account_id(email: str) -> str:
    """A fixed-length digest: no email in Redis keys, and no separator an email could fake."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginThrottle:
    """See the module docstring. `clock` is for tests, and applies without Redis only."""

    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_address: int,
        lockout_s: float,
        max_delay_s: float = 900.0,
        first_delay_s: float = 1.0,
        redis_url: str | None = None,
        prefix: str = "myia:login",
        clock: Clock = time.monotonic,
    ) -> None:
        if first_delay_s <= 0 or max_delay_s <= 0:
            raise ValueError("login delays must be positive")
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.lockout_s = lockout_s
        self.max_delay_s = max_delay_s
        self.first_delay_s = first_delay_s
        self.prefix = prefix
        self.uses_redis = redis_url is not None
        self._counter: _Counter = RedisCounter(redis_url) if redis_url else MemoryCounter(clock)
        steps: list[float] = []
        while not steps or self.delay_after(max_failures + len(steps) - 1) < max_delay_s:
            steps.append(self.delay_after(max_failures + len(steps)) + lockout_s)
        # A pair's count lives `lockout_s` past its wait: the wait left is its TTL minus that.
        self._pair_schedule = Schedule(start=max_failures, before_s=lockout_s, steps_s=(*steps,))

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic) -> LoginThrottle:
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            lockout_s=settings.login_lockout_s,
            max_delay_s=settings.login_max_delay_s,
            redis_url=settings.redis_url,
            clock=clock,
        )

    def delay_after(self, failures: int) -> float:
        """The wait a pair must keep after `failures` failures in a row: 0, then 1, 2, 4 s …"""
        if failures < self.max_failures:
            return 0.0
        exponent = min(failures - self.max_failures, 64)
        return float(min(self.first_delay_s * 2**exponent, self.max_delay_s))

    def _pair_prefix(self, email: str) -> str:
        return f"{self.prefix}:pair:{_account_id(email)}:"

    def _pair_key(self, email: str, address: str | None) -> str:
        return self._pair_prefix(email) + (address or "unknown")

    def _address_key(self, address: str) -> str:
        return f"{self.prefix}:address:{address}"

    async def check(self, *, email: str, address: str | None) -> None:
        """Raise TooManyAttemptsError while this pair waits or this address is blocked."""
        waits: list[float] = []
        count, left = await self._counter.count(self._pair_key(email, address))
        if count >= self.max_failures and left - self.lockout_s > 0:
            waits.append(left - self.lockout_s)
        if address:
            count, left = await self._counter.count(self._address_key(address))
            if count >= self.max_failures_per_address:
                waits.append(left)
        if waits:
            raise TooManyAttemptsError(max(waits))

    async def failed(self, *, email: str, address: str | None) -> None:
        await self._counter.add(self._pair_key(email, address), self._pair_schedule)
        if address:
            await self._counter.hit(self._address_key(address), self.lockout_s)

    async def succeeded(self, *, email: str, address: str | None) -> None:
        await self._counter.clear(self._pair_key(email, address))

    async def unlock(self, *, email: str) -> int:
        """Forget the account's failures from every address; how many pairs were cleared."""
        return await self._counter.clear_prefix(self._pair_prefix(email))

    async def unlock_address(self, address: str) -> None:
        """Lift an address's ceiling (its pairs with each account stay)."""
        await self._counter.clear(self._address_key(address))

    async def close(self) -> None:
        if isinstance(self._counter, RedisCounter):
            await self._counter.close()
