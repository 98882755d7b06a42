"""In-memory catalog cache: TTL plus event-based invalidation, optionally across processes.

Entries live in namespaces ("base_models", "deployments", "providers"); a write invalidates
the namespaces it changed. With Redis configured, each invalidation is also published so
every app process sharing the database drops its copy. A generation counter per namespace
keeps a load that raced with an invalidation from storing stale data. Concurrent misses of
one key share one load (per generation): after an invalidation, 64 readers cost one set of
queries, not 64 (a certification job invalidates after every item; see bench/load.py).
Such a verdict invalidates *softly*: readers that opt in (`stale_ok`, the API's cached pages)
may get the replaced value while another request reloads it, instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from myia.observability.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)

CHANNEL = "myia:catalog:invalidate"

# Namespaces of the catalog. Anything that writes catalog rows (services, discovery, imports)
# invalidates the ones whose cached reads embed the rows it changed.
PROVIDERS = "providers"
BASE_MODELS = "base_models"
DEPLOYMENTS = "deployments"
ALL_NAMESPACES = (PROVIDERS, BASE_MODELS, DEPLOYMENTS)

# Keys include free-text query parameters (search), so without a bound a crawler could grow a
# namespace without limit between two writes.
DEFAULT_MAX_ENTRIES = 2048
_RECONNECT_DELAY_S = (0.2, 0.5, 1.0, 2.0)
_SOCKET_TIMEOUT_S = 2.0
_STOP_FLUSH_S = 2.0


@dataclass
class _Entry:
    value: Any
    expires_at: float


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    invalidations: int = 0
    remote_invalidations: int = 0
    evictions: int = 0
    shared_loads: int = 0  # misses served by a load another request had started
    stale_served: int = 0  # answered from before a soft invalidation while a load ran


@dataclass
class _Namespace:
    generation: int = 0
    entries: dict[Hashable, _Entry] = field(default_factory=dict)
    # What a soft invalidation replaced, until reloaded (or a hard invalidation, or the TTL).
    stale: dict[Hashable, _Entry] = field(default_factory=dict)


InvalidationHandler = Callable[[list[str] | None, bool], None]  # (namespaces or all, soft)


class RedisInvalidationBus:
    """Publishes and receives invalidations on one Redis pub/sub channel, across Redis
    restarts.

    Two clients: the publisher retries a command broken by a reconnect (a pooled connection
    dies with a Redis restart), and a publish that still fails is kept and sent again until
    Redis answers; the listener's client does not retry by itself, so that a lost connection
    reaches `_run`, which subscribes again on a new connection and then drops the local
    cache once — invalidations published while it was away are lost.
    """

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._redis: aioredis.Redis | None = None
        self._listener_redis: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._unsent: dict[str, bool] = {}  # namespace -> soft (only if every pending one is)
        self._wake = asyncio.Event()
        self.subscribed = False
        self.reconnects = 0

    async def start(self, on_invalidate: InvalidationHandler) -> None:
        """Subscribe (fails loudly if Redis is unreachable at start-up), then listen."""
        self._redis = aioredis.from_url(
            self.url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            socket_timeout=_SOCKET_TIMEOUT_S,
        )
        # A recognisable name in CLIENT LIST: operators (and tests) can tell these apart.
        self._listener_redis = aioredis.from_url(
            self.url,
            client_name=f"myia-cache-{self.origin[:12]}",
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = self._listener_redis.pubsub()
        await pubsub.subscribe(self.channel)
        self.subscribed = True
        self._task = asyncio.create_task(self._run(pubsub, on_invalidate))
        self._flusher = asyncio.create_task(self._flush_unsent())

    async def _run(self, pubsub: Any, on_invalidate: InvalidationHandler) -> None:
        attempt = 0
        while True:
            try:
                await self._listen(pubsub, on_invalidate)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Said once per outage, not at every try: a Redis down for an hour must not
                # fill the log.
                if attempt == 0:
                    log.warning("cache invalidation listener lost Redis", error=type(exc).__name__)
            finally:
                self.subscribed = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            pubsub = await self._resubscribe(attempt)
            attempt = 0
            self.reconnects += 1
            # Messages published while we were away are lost: forget everything, once.
            on_invalidate(None, False)
            log.info("cache invalidation listener subscribed again", channel=self.channel)

    async def _resubscribe(self, attempt: int) -> Any:
        """A new pub/sub connection, subscribed: retried, with backoff, until Redis answers."""
        assert self._listener_redis is not None
        while True:
            await asyncio.sleep(_RECONNECT_DELAY_S[min(attempt, len(_RECONNECT_DELAY_S) - 1)])
            attempt += 1
            pubsub: Any = self._listener_redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
            except Exception:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                continue
            self.subscribed = True
            return pubsub

    async def _listen(self, pubsub: Any, on_invalidate: InvalidationHandler) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            try:
                payload = json.loads(message["data"])
                namespaces = [str(n) for n in payload.get("namespaces", [])]
                soft = payload.get("soft") is True
            except (ValueError, TypeError, AttributeError):
                log.warning("ignored a malformed cache invalidation message")
                continue
            if payload.get("origin") != self.origin:
                on_invalidate(namespaces, soft)

    async def publish(self, namespaces: list[str], *, soft: bool = False) -> None:
        """Tell the other processes, from the background: a Redis that is down or slow never
        holds up the writer (its own cache is already invalidated), and what fails to go out
        is kept and sent again until Redis answers."""
        if self._redis is None:
            return
        for name in namespaces:
            self._unsent[name] = self._unsent.get(name, True) and soft
        self._wake.set()

    async def _send(self, namespaces: Iterable[str], *, soft: bool = False) -> bool:
        assert self._redis is not None
        message: dict[str, Any] = {"origin": self.origin, "namespaces": sorted(namespaces)}
        if soft:
            message["soft"] = True
        payload = json.dumps(message)
        try:
            await self._redis.publish(self.channel, payload)
        except Exception as exc:
            log.debug("cache invalidation publish failed", error=type(exc).__name__)
            return False
        return True

    async def _send_unsent(self) -> bool:
        """One message for the hard invalidations pending, one for the soft ones."""
        pending = dict(self._unsent)
        for soft in (False, True):
            names = [name for name, is_soft in pending.items() if is_soft is soft]
            if not names:
                continue
            if not await self._send(names, soft=soft):
                return False
            for name in names:
                if self._unsent.get(name) is soft:  # unless a new one came meanwhile
                    del self._unsent[name]
        return True

    async def _flush_unsent(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._unsent:
                continue
            if await self._send_unsent():
                if attempt:
                    log.info("cache invalidation published after a retry")
                attempt = 0
                continue
            if attempt == 0:  # once per outage
                log.warning("cache invalidation publish failed, will retry")
            await asyncio.sleep(_RECONNECT_DELAY_S[min(attempt, len(_RECONNECT_DELAY_S) - 1)])
            attempt += 1
            self._wake.set()

    async def send_now(self, namespaces: Iterable[str]) -> bool:
        """Publish on a connection of its own and wait for Redis to take it: works from a
        process whose bus never started (a CLI command) and never waits on the background
        sender. The origin is new, so this process's own listener applies it too."""
        client = aioredis.from_url(
            self.url, socket_connect_timeout=_SOCKET_TIMEOUT_S, socket_timeout=_SOCKET_TIMEOUT_S
        )
        payload = json.dumps({"origin": uuid.uuid4().hex, "namespaces": sorted(namespaces)})
        try:
            await client.publish(self.channel, payload)
        except Exception as exc:
            log.warning("cache invalidation not announced", error=type(exc).__name__)
            return False
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
        return True

    @property
    def unsent(self) -> int:
        """Namespaces whose invalidation has not reached Redis yet."""
        return len(self._unsent)

    async def health(self) -> dict[str, Any]:
        """`up` when Redis answers and the listener is subscribed (else other processes'
        writes may not reach this one's cache)."""
        if self._redis is None:
            return {"status": "down", "error": "not started"}
        try:
            await self._redis.ping()
        except Exception as exc:
            return {"status": "down", "error": type(exc).__name__}
        if not self.subscribed:
            return {"status": "down", "error": "invalidation listener not subscribed"}
        return {"status": "up", "unsent_invalidations": self.unsent}

    async def stop(self) -> None:
        # A process stopping right after a write (a CLI command) still tells the others.
        if self._unsent and self._redis is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_STOP_FLUSH_S):
                    await self._send_unsent()
        for task in (self._task, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._flusher = None
        for client in (self._redis, self._listener_redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()


class CatalogCache:
    def __init__(
        self,
        ttl_s: float = 60.0,
        bus: RedisInvalidationBus | None = None,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.bus = bus
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._clock = clock
        self._namespaces: dict[str, _Namespace] = {}
        self._loading: dict[tuple[str, Hashable, int], asyncio.Future[Any]] = {}

    async def start(self) -> None:
        if self.bus is not None:
            await self.bus.start(self._on_remote_invalidate)

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.stop()

    def _ns(self, name: str) -> _Namespace:
        return self._namespaces.setdefault(name, _Namespace())

    def peek(self, namespace: str, key: Hashable) -> bool:
        """Whether a live entry exists (for tests and diagnostics; counts nothing)."""
        entry = self._ns(namespace).entries.get(key)
        return entry is not None and entry.expires_at > self._clock()

    async def get_or_load(
        self,
        namespace: str,
        key: Hashable,
        loader: Callable[[], Awaitable[T]],
        *,
        ttl_s: float | None = None,
        stale_ok: bool = False,
    ) -> T:
        """The cached value, or the loader's (stored unless an invalidation overlapped).

        Values are shared between requests: store immutable, plain data, never ORM rows.
        `ttl_s` caps the cache's TTL for this entry (never lengthens it). With `stale_ok`, a
        miss while another request already reloads the key gets the value a *soft*
        invalidation replaced (within its TTL) instead of waiting; the first miss still
        loads, and a hard invalidation leaves nothing stale.
        """
        ns = self._ns(namespace)
        entry = ns.entries.get(key)
        now = self._clock()
        if entry is not None and entry.expires_at > now:
            self.stats.hits += 1
            return entry.value  # type: ignore[no-any-return]
        self.stats.misses += 1
        generation = ns.generation
        flight = (namespace, key, generation)
        pending = self._loading.get(flight)
        if pending is not None and stale_ok:
            old = ns.stale.get(key)
            if old is not None and old.expires_at > now:
                self.stats.stale_served += 1
                return old.value  # type: ignore[no-any-return]
        if pending is not None:
            try:
                value = await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The request that was loading went away: load for ourselves.
            else:
                self.stats.shared_loads += 1
                return value  # type: ignore[no-any-return]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[flight] = future
        try:
            value = await loader()
        except Exception as exc:
            future.set_exception(exc)  # a NotFoundError is the same answer for every waiter
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._loading.get(flight) is future:
                del self._loading[flight]
        future.set_result(value)
        ttl = self.ttl_s if ttl_s is None else min(ttl_s, self.ttl_s)
        if ttl > 0 and ns.generation == generation:
            self._store(ns, key, value, ttl)
        return value

    def _store(self, ns: _Namespace, key: Hashable, value: Any, ttl_s: float) -> None:
        now = self._clock()
        ns.entries.pop(key, None)  # re-insert so dict order stays oldest-first
        if len(ns.entries) >= self.max_entries:
            for stale in [k for k, e in ns.entries.items() if e.expires_at <= now]:
                del ns.entries[stale]
            while len(ns.entries) >= self.max_entries:
                del ns.entries[next(iter(ns.entries))]
                self.stats.evictions += 1
        ns.entries[key] = _Entry(value, now + ttl_s)
        ns.stale.pop(key, None)

    def invalidate_local(self, namespaces: Iterable[str], *, soft: bool = False) -> None:
        """Every entry of the namespaces is gone for readers. A soft invalidation (a change
        nobody is waiting to read back, like a verdict a background job recorded) keeps the
        old values for `get_or_load(stale_ok=True)` until each is reloaded."""
        for name in namespaces:
            ns = self._ns(name)
            ns.generation += 1
            if soft:
                ns.stale.update(ns.entries)
                while len(ns.stale) > self.max_entries:
                    del ns.stale[next(iter(ns.stale))]
            else:
                ns.stale.clear()
            ns.entries.clear()
        self.stats.invalidations += 1

    def _on_remote_invalidate(self, namespaces: list[str] | None, soft: bool = False) -> None:
        self.stats.remote_invalidations += 1
        if namespaces is None:
            self.clear()
        else:
            self.invalidate_local(namespaces, soft=soft)

    async def invalidate(self, *namespaces: str, soft: bool = False) -> None:
        """Drop the namespaces here and tell every other process."""
        self.invalidate_local(namespaces, soft=soft)
        if self.bus is not None:
            await self.bus.publish(list(namespaces), soft=soft)

    async def invalidate_now(self, *namespaces: str) -> None:
        """`invalidate`, with the other processes told before this returns: for a change that
        must hold everywhere once reported done (a revoked key, a disabled user). If Redis
        does not take it, the background sender keeps trying and the TTL bounds the rest."""
        self.invalidate_local(namespaces)
        if self.bus is not None and not await self.bus.send_now(namespaces):
            await self.bus.publish(list(namespaces))

    def clear(self) -> None:
        """Drop every local entry (also makes in-flight loads skip storing)."""
        self.invalidate_local({*self._namespaces, *ALL_NAMESPACES})


def build_catalog_cache(*, ttl_s: float, redis_url: str | None) -> CatalogCache:
    return CatalogCache(ttl_s=ttl_s, bus=RedisInvalidationBus(redis_url) if redis_url else None)
