"""Provider-aware rate limiting: one adaptive limiter per (provider, region).

Each limiter spaces calls evenly at its current rate (a virtual-clock scheduler: each caller
takes the next free slot, 1/rate after the previous one) and adapts like TCP: it starts at the
configured rate in "slow start" (each success adds one call/s, so the rate doubles every
second) until the first THROTTLED answer; from then on it is AIMD — a throttle multiplies the
rate by `decrease` (at most once per window, so a burst of concurrent throttles counts as one
signal) and each success adds `increase / rate`, i.e. about `increase` calls/s per second of
clean traffic — but only up to 95 % of the rate at which the last throttle happened; past
that it probes at `probe` calls/s per second, so the sawtooth stays close under the quota
(measured in bench/certification_throughput.py). The throttled call itself waits the
provider's retry-after; the others only slow down. So a large job settles just under the
provider's quota and never floods a region.

`LocalLimiter` lives in one process (embedded engine). `RedisLimiter` keeps the same state
in Redis, updated atomically by Lua scripts, so every worker on every machine shares one
budget per (provider, region).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

from myia.certification.probe import Limiter


@dataclass(frozen=True)
class LimiterConfig:
    initial_rps: float = 5.0
    min_rps: float = 0.2
    max_rps: float = 500.0
    decrease: float = 0.85
    increase: float = 2.0  # calls/s gained per second of clean traffic, below the ceiling
    probe: float = 0.2  # calls/s gained per second near the last throttle's rate
    window_s: float = 1.0  # one decrease per window
    overrides: dict[str, float] = field(default_factory=dict)  # provider slug → initial rps

    def initial_for(self, provider: str) -> float:
        return self.overrides.get(provider, self.initial_rps)


def parse_overrides(text: str) -> dict[str, float]:
    """`bedrock=10,openai=20` → {"bedrock": 10.0, "openai": 20.0}."""
    result: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        result[name.strip()] = float(value)
    return result


class LocalLimiter:
    def __init__(self, config: LimiterConfig, initial_rps: float) -> None:
        self.config = config
        self.rate = initial_rps
        self.slow_start = True
        self.ceiling = 0.0  # the rate at the last throttle
        self._next = 0.0
        self._last_decrease = -1e9
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def on_success(self) -> None:
        if self.slow_start:
            step = 1.0
        elif self.rate < 0.95 * self.ceiling:
            step = self.config.increase / self.rate
        else:
            step = self.config.probe / self.rate
        self.rate = min(self.config.max_rps, self.rate + step)

    async def on_throttle(self, retry_after_s: float | None) -> float:
        now = time.monotonic()
        self.slow_start = False
        if now - self._last_decrease >= self.config.window_s:
            self.ceiling = self.rate
            self.rate = max(self.config.min_rps, self.rate * self.config.decrease)
            self._last_decrease = now
        return retry_after_s if retry_after_s is not None else 1.0 / self.rate


# KEYS[1] = state hash; ARGV = initial, min, max, decrease, increase, window, op, retry_after,
# probe
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(redis.call('HGET', KEYS[1], 'rate') or ARGV[1])
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'last_decrease') or '0')
local slow = redis.call('HGET', KEYS[1], 'slow_start') ~= '0'
local ceiling = tonumber(redis.call('HGET', KEYS[1], 'ceiling') or '0')
local op = ARGV[7]
local result = 0
if op == 'acquire' then
  local slot = math.max(now, nxt)
  nxt = slot + 1 / rate
  result = slot - now
elseif op == 'success' then
  local step = tonumber(ARGV[9]) / rate
  if slow then
    step = 1
  elseif rate < 0.95 * ceiling then
    step = tonumber(ARGV[5]) / rate
  end
  rate = math.min(tonumber(ARGV[3]), rate + step)
else
  redis.call('HSET', KEYS[1], 'slow_start', '0')
  if now - last >= tonumber(ARGV[6]) then
    redis.call('HSET', KEYS[1], 'ceiling', tostring(rate))
    rate = math.max(tonumber(ARGV[2]), rate * tonumber(ARGV[4]))
    redis.call('HSET', KEYS[1], 'last_decrease', tostring(now))
  end
  local wait = tonumber(ARGV[8])
  if wait < 0 then wait = 1 / rate end
  result = wait
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'next', tostring(nxt))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(result)
"""


class RedisLimiter:
    def __init__(
        self, client: aioredis.Redis, key: str, config: LimiterConfig, initial_rps: float
    ) -> None:
        self.client = client
        self.key = key
        self.config = config
        self.initial_rps = initial_rps
        self._script: Any = client.register_script(_SCRIPT)

    async def _run(self, op: str, retry_after: float = -1.0) -> float:
        c = self.config
        args = [
            self.initial_rps,
            c.min_rps,
            c.max_rps,
            c.decrease,
            c.increase,
            c.window_s,
            op,
            retry_after,
            c.probe,
        ]
        return float(await self._script(keys=[self.key], args=args))

    async def acquire(self) -> None:
        wait = await self._run("acquire")
        if wait > 0:
            await asyncio.sleep(wait)

    async def on_success(self) -> None:
        await self._run("success")

    async def on_throttle(self, retry_after_s: float | None) -> float:
        return await self._run("throttle", -1.0 if retry_after_s is None else retry_after_s)

    async def rate(self) -> float:
        value = await self.client.hget(self.key, "rate")
        return float(value) if value is not None else self.initial_rps


class LimiterPool(Protocol):
    def get(self, provider: str, region: str) -> Limiter: ...


class LocalLimiterPool:
    def __init__(self, config: LimiterConfig | None = None) -> None:
        self.config = config or LimiterConfig()
        self._limiters: dict[tuple[str, str], LocalLimiter] = {}

    def get(self, provider: str, region: str) -> LocalLimiter:
        key = (provider, region)
        if key not in self._limiters:
            self._limiters[key] = LocalLimiter(self.config, self.config.initial_for(provider))
        return self._limiters[key]


class RedisLimiterPool:
    def __init__(
        self,
        client: aioredis.Redis,
        config: LimiterConfig | None = None,
        prefix: str = "myia:ratelimit",
    ) -> None:
        self.client = client
        self.config = config or LimiterConfig()
        self.prefix = prefix

    def get(self, provider: str, region: str) -> RedisLimiter:
        return RedisLimiter(
            self.client,
            f"{self.prefix}:{provider}:{region}",
            self.config,
            self.config.initial_for(provider),
        )
