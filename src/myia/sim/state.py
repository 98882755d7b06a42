"""Mutable server state: quotas, call counters, statistics and seeded chance."""

from __future__ import annotations

import copy
import hashlib
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

from starlette.requests import Request

from myia.sim.quota import Quotas
from myia.sim.scenario import FixedLatency, Latency, ModelSpec, Scenario, UniformLatency

CallResult = Literal["ok", "throttled", "error"]
_Z99 = NormalDist().inv_cdf(0.99)


def unit(seed: int, *parts: object) -> float:
    """A uniform number in (0, 1) fixed by the seed and the parts, whatever the call order."""
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2.0**64


def sample_ms(spec: Latency, u: float) -> float:
    if isinstance(spec, FixedLatency):
        return spec.ms
    if isinstance(spec, UniformLatency):
        return spec.min_ms + u * (spec.max_ms - spec.min_ms)
    sigma = (math.log(spec.p99_ms) - math.log(spec.p50_ms)) / _Z99
    return math.exp(math.log(spec.p50_ms) + sigma * NormalDist().inv_cdf(u))


@dataclass
class Counts:
    calls: int = 0
    throttled: int = 0
    errors: int = 0

    def add(self, result: CallResult) -> None:
        self.calls += 1
        if result == "throttled":
            self.throttled += 1
        elif result == "error":
            self.errors += 1


@dataclass
class SimStats:
    """Runtime calls (Converse, ConverseStream, chat completions) as the simulator saw them.

    `calls` includes throttled and failed ones. Keys of `by_region` are Bedrock regions and
    OpenAI-compatible provider slugs; `by_model` uses the model id as requested.
    """

    by_region: dict[str, Counts] = field(default_factory=dict)
    by_model: dict[str, Counts] = field(default_factory=dict)
    by_region_model: dict[str, dict[str, Counts]] = field(default_factory=dict)
    control_plane_calls: int = 0

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.by_region.values())

    @property
    def throttled(self) -> int:
        return sum(c.throttled for c in self.by_region.values())

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.by_region.values())

    def as_dict(self) -> dict[str, object]:
        def plain(counts: dict[str, Counts]) -> dict[str, dict[str, int]]:
            return {k: vars(v).copy() for k, v in sorted(counts.items())}

        return {
            "calls": self.calls,
            "throttled": self.throttled,
            "errors": self.errors,
            "control_plane_calls": self.control_plane_calls,
            "by_region": plain(self.by_region),
            "by_model": plain(self.by_model),
            "by_region_model": {k: plain(v) for k, v in sorted(self.by_region_model.items())},
        }


class SimState:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.quotas = Quotas()
        self._lock = threading.Lock()
        self._stats = SimStats()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._tool_calls: Counter[tuple[str, str]] = Counter()
        # The last runtime request body per region / provider slug (`last_request`), and the
        # prompt-cache prefixes seen (bounded: cleared when full).
        self._last: dict[str, object] = {}
        self._cached: set[str] = set()

    def remember(self, where: str, body: object) -> None:
        with self._lock:
            self._last[where] = body

    def last_request(self, where: str) -> object:
        """The decoded JSON body of the last chat call to `where` (a Bedrock region or an
        OpenAI-compatible provider's slug), as received: what tests inspect."""
        with self._lock:
            return copy.deepcopy(self._last.get(where))

    def cache_hit(self, prefix: str) -> bool:
        """Whether a prompt prefix is in the cache; it is from now on."""
        with self._lock:
            if prefix in self._cached:
                return True
            if len(self._cached) >= 4096:
                self._cached.clear()
            self._cached.add(prefix)
            return False

    def next_call(self, where: str, model: str) -> int:
        with self._lock:
            self._calls[(where, model)] += 1
            return self._calls[(where, model)]

    def breaks_tool_call(self, where: str, model: ModelSpec) -> int | None:
        """Whether this delivered tool call of `model` in `where` gets schema-breaking
        arguments; if so, which breakage (an index to cycle through), else None.

        Call n (0-based, counted per region or provider and model) is broken iff
        floor((n + 1) * rate) > floor(n * rate): exactly floor(N * rate) of the first N
        calls, spread evenly, whatever the seed or the order of other requests.
        """
        rate = model.tool_args_invalid_rate
        if rate <= 0:
            return None
        with self._lock:
            n = self._tool_calls[(where, model.id)]
            self._tool_calls[(where, model.id)] += 1
        broken = math.floor((n + 1) * rate + 1e-9) > math.floor(n * rate + 1e-9)
        return math.floor((n + 1) * rate + 1e-9) - 1 if broken else None

    def record(self, where: str, model: str, result: CallResult) -> None:
        with self._lock:
            stats = self._stats
            stats.by_region.setdefault(where, Counts()).add(result)
            stats.by_model.setdefault(model, Counts()).add(result)
            stats.by_region_model.setdefault(where, {}).setdefault(model, Counts()).add(result)

    def record_control_plane(self) -> None:
        with self._lock:
            self._stats.control_plane_calls += 1

    @property
    def stats(self) -> SimStats:
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = SimStats()

    def chance(self, *parts: object) -> float:
        return unit(self.scenario.seed, *parts)

    def delay_ms(self, spec: Latency, *parts: object) -> float:
        return sample_ms(spec, self.chance("delay", *parts))

    def failure(self, rate: float, kinds: Iterable[str], *parts: object) -> str | None:
        """One of `kinds` for a call that fails (with probability `rate`), else None."""
        if self.chance("failure", *parts) >= rate:
            return None
        names = sorted(kinds)
        return names[int(self.chance("failure-kind", *parts) * len(names))]

    def stream_timing(self, model: ModelSpec) -> tuple[Latency, float]:
        """(time to first token, tokens per second) for a model, defaults filled in."""
        defaults = self.scenario.defaults
        rate = model.tokens_per_second
        return (
            model.time_to_first_token or defaults.time_to_first_token,
            defaults.tokens_per_second if rate is None else rate,
        )


def state_of(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state
