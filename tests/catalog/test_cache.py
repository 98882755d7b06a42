"""Catalog cache: TTL, invalidation by writes, the generation race, and Redis fan-out."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog import providers
from myia.catalog.cache import PROVIDERS, CatalogCache, RedisInvalidationBus
from myia.catalog.filters import ProviderFilters
from myia.catalog.schemas import ProviderCreate
from myia.db.enums import AuthType
from tests.conftest import require
from tests.factories import make_provider
from tests.sim_support import PrivateRedis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_loader() -> tuple[Callable[[], Awaitable[int]], list[int]]:
    calls: list[int] = []

    async def load() -> int:
        calls.append(1)
        return len(calls)

    return load, calls


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """`condition()` once it holds; a deadline, not a duration: workers share two cores."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache = CatalogCache(ttl_s=10, clock=clock)
    load, calls = counting_loader()

    assert await cache.get_or_load("ns", "k", load) == 1
    clock.now += 9.9
    assert await cache.get_or_load("ns", "k", load) == 1
    clock.now += 0.2
    assert await cache.get_or_load("ns", "k", load) == 2
    assert len(calls) == 2
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


async def test_ttl_zero_disables_storing() -> None:
    cache = CatalogCache(ttl_s=0)
    load, calls = counting_loader()
    await cache.get_or_load("ns", "k", load)
    await cache.get_or_load("ns", "k", load)
    assert len(calls) == 2


async def test_invalidate_drops_only_the_named_namespaces() -> None:
    cache = CatalogCache(ttl_s=60)
    load, _ = counting_loader()
    await cache.get_or_load("a", "k", load)
    await cache.get_or_load("b", "k", load)
    await cache.invalidate("a")
    assert not cache.peek("a", "k")
    assert cache.peek("b", "k")


async def test_a_load_overlapping_an_invalidation_is_not_stored() -> None:
    cache = CatalogCache(ttl_s=60)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_load() -> str:
        started.set()
        await release.wait()
        return "read before the write"

    reader = asyncio.create_task(cache.get_or_load("ns", "k", slow_load))
    await started.wait()
    await cache.invalidate("ns")  # a write commits while the read is in flight
    release.set()
    assert await reader == "read before the write"  # the caller still gets its answer…
    assert not cache.peek("ns", "k")  # …but the stale value is not kept for others

    async def fresh_load() -> str:
        return "fresh"

    assert await cache.get_or_load("ns", "k", fresh_load) == "fresh"


async def test_a_namespace_is_bounded() -> None:
    cache = CatalogCache(ttl_s=60, max_entries=3)
    load, _ = counting_loader()
    for key in range(5):
        await cache.get_or_load("ns", key, load)
    assert [k for k in range(5) if cache.peek("ns", k)] == [2, 3, 4]
    assert cache.stats.evictions == 2


async def test_a_service_write_is_seen_by_the_next_read(session: AsyncSession) -> None:
    cache = CatalogCache(ttl_s=60)
    filters = ProviderFilters()
    await make_provider(session, slug="first")
    assert [
        p.slug
        for p in (
            await providers.list_providers(session=session, cache=cache, filters=filters)
        ).items
    ] == ["first"]

    # A row written behind the cache's back stays invisible until the TTL…
    await make_provider(session, slug="sneaky")
    cached = await providers.list_providers(session=session, cache=cache, filters=filters)
    assert [p.slug for p in cached.items] == ["first"]

    # …but a write through the service invalidates, so the next read is fresh.
    await providers.create_provider(
        session=session,
        cache=cache,
        data=ProviderCreate(slug="second", name="Second", auth_type=AuthType.API_KEY),
    )
    fresh = await providers.list_providers(session=session, cache=cache, filters=filters)
    assert [p.slug for p in fresh.items] == ["first", "second", "sneaky"]


# --- across processes, through the real Redis ----------------------------------------------
@pytest.fixture
async def two_caches(redis_url: str) -> AsyncIterator[tuple[CatalogCache, CatalogCache]]:
    channel = f"myia:test:{uuid.uuid4().hex}"
    caches = [
        CatalogCache(ttl_s=60, bus=RedisInvalidationBus(redis_url, channel=channel))
        for _ in range(2)
    ]
    admin = aioredis.from_url(redis_url)
    try:
        for cache in caches:
            await cache.start()
        # SUBSCRIBE is acknowledged asynchronously: wait until Redis counts both listeners.
        assert await _wait_for_subscribers(admin, channel, 2)
        yield caches[0], caches[1]
    finally:
        for cache in caches:
            await cache.stop()
        await admin.aclose()


async def _wait_for_subscribers(admin: aioredis.Redis, channel: str, count: int) -> bool:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        [(_, subscribed)] = await admin.pubsub_numsub(channel)
        if subscribed >= count:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_invalidation_reaches_another_process(
    two_caches: tuple[CatalogCache, CatalogCache],
) -> None:
    here, there = two_caches
    load, _ = counting_loader()
    await here.get_or_load(PROVIDERS, "list", load)
    await there.get_or_load(PROVIDERS, "list", load)

    await here.invalidate(PROVIDERS)

    assert await eventually(lambda: not there.peek(PROVIDERS, "list"))
    assert there.stats.remote_invalidations == 1
    assert here.stats.remote_invalidations == 0  # its own message is not applied twice


async def test_the_listener_resubscribes_after_losing_redis(
    redis_url: str, two_caches: tuple[CatalogCache, CatalogCache]
) -> None:
    here, there = two_caches
    assert there.bus is not None
    admin = aioredis.from_url(redis_url)
    try:
        name = f"myia-cache-{there.bus.origin[:12]}"
        for client in await admin.client_list():
            if client.get("name") == name and client.get("sub") == "1":
                await admin.client_kill_filter(_id=client["id"])
        load, _ = counting_loader()
        await there.get_or_load(PROVIDERS, "list", load)
        # Whatever was missed while disconnected is dropped on reconnection…
        assert await eventually(lambda: not there.peek(PROVIDERS, "list"), timeout_s=5)
        assert await _wait_for_subscribers(admin, there.bus.channel, 2)
        # …and invalidations flow again afterwards.
        await there.get_or_load(PROVIDERS, "list", load)
        await here.invalidate(PROVIDERS)
        assert await eventually(lambda: not there.peek(PROVIDERS, "list"))
    finally:
        await admin.aclose()


async def test_an_invalidation_published_while_redis_is_away_is_sent_when_it_is_back(
    tmp_path: Path,
) -> None:
    require("the redis-server binary", shutil.which("redis-server") is not None)
    server = PrivateRedis(tmp_path)
    server.start()
    cache = CatalogCache(ttl_s=60, bus=RedisInvalidationBus(server.url, channel="test:inv"))
    try:
        await cache.start()
        assert cache.bus is not None
        server.kill()
        await cache.invalidate(PROVIDERS)  # cannot be published now: kept, not dropped
        assert await eventually(lambda: not cache.bus.subscribed if cache.bus else False, 10)
        assert cache.bus.unsent == 1
        assert (await cache.bus.health())["status"] == "down"
        server.start()  # same port, empty
        # Sent once Redis answers, and the listener is back too; this cache was dropped once
        # on its return (whatever was published meanwhile was missed).
        assert await eventually(lambda: bool(cache.bus and not cache.bus.unsent), 30)
        assert await eventually(lambda: bool(cache.bus and cache.bus.subscribed), 30)
        assert cache.bus.reconnects == 1
        assert (await cache.bus.health())["status"] == "up"
    finally:
        await cache.stop()
        server.kill()


async def test_a_soft_invalidation_stays_soft_in_another_process(
    two_caches: tuple[CatalogCache, CatalogCache],
) -> None:
    here, there = two_caches
    load, _ = counting_loader()
    await there.get_or_load(PROVIDERS, "page", load)  # 1
    gate = asyncio.Event()

    async def held() -> int:
        await gate.wait()
        return 2

    await here.invalidate(PROVIDERS, soft=True)
    assert await eventually(lambda: not there.peek(PROVIDERS, "page"))
    reloading = asyncio.create_task(there.get_or_load(PROVIDERS, "page", held, stale_ok=True))
    assert await eventually(lambda: there.stats.misses == 2)
    assert await there.get_or_load(PROVIDERS, "page", held, stale_ok=True) == 1
    gate.set()
    assert await reloading == 2

    await here.invalidate(PROVIDERS)  # hard: nothing stale is left there
    assert await eventually(lambda: not there.peek(PROVIDERS, "page"))
    gate.clear()
    reloading = asyncio.create_task(there.get_or_load(PROVIDERS, "page", held, stale_ok=True))
    assert await eventually(lambda: there.stats.misses == 4)
    waiting = asyncio.create_task(there.get_or_load(PROVIDERS, "page", held, stale_ok=True))
    assert await eventually(lambda: there.stats.misses == 5)
    assert not waiting.done()
    gate.set()
    assert (await reloading, await waiting) == (2, 2)
