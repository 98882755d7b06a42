"""Request quotas as token buckets, one per Bedrock region or OpenAI-compatible provider."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from myia.sim.scenario import Quota


@dataclass(frozen=True)
class Admission:
    allowed: bool
    remaining: int
    retry_after_s: float  # until one more call would pass; 0 when allowed
    reset_s: float  # until the bucket is full again


class TokenBucket:
    def __init__(self, quota: Quota, clock: Callable[[], float] = time.monotonic) -> None:
        self.quota = quota
        self._clock = clock
        self._tokens = float(quota.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        rate = self.quota.requests_per_second
        self._tokens = min(float(self.quota.burst), self._tokens + (now - self._stamp) * rate)
        self._stamp = now

    def take(self) -> Admission:
        with self._lock:
            self._refill()
            rate = self.quota.requests_per_second
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                allowed, wait = True, 0.0
            else:
                allowed, wait = False, (1.0 - self._tokens) / rate
            reset = (self.quota.burst - self._tokens) / rate
            return Admission(allowed, math.floor(self._tokens), wait, reset)


class Quotas:
    """Buckets created on first use, so a scenario's quotas can be read lazily."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, scope: str, quota: Quota | None) -> Admission | None:
        """None when the scope is unlimited."""
        if quota is None:
            return None
        with self._lock:
            bucket = self._buckets.get(scope)
            if bucket is None or bucket.quota != quota:
                bucket = self._buckets[scope] = TokenBucket(quota)
        return bucket.take()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
