"""Concurrent misses of one key share one load; an invalidation starts a new one; a load
whose request went away does not take its waiters down with it."""

from __future__ import annotations

import asyncio

import pytest

from myia.catalog.cache import DEPLOYMENTS, CatalogCache


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> dict[str, int]:
        self.calls += 1
        n = self.calls
        await self.release.wait()
        return {"load": n}


async def _until(condition: object) -> None:
    # Lets the started tasks reach their await (no clock involved).
    for _ in range(100):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the tasks never got there")


async def test_concurrent_misses_share_one_load() -> None:
    cache, loader = CatalogCache(ttl_s=60), Loader()
    readers = [asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader)) for _ in range(64)]
    await _until(lambda: loader.calls == 1 and cache.stats.misses == 64)
    loader.release.set()
    assert {r["load"] for r in await asyncio.gather(*readers)} == {1}
    assert loader.calls == 1 and cache.stats.shared_loads == 63
    assert await cache.get_or_load(DEPLOYMENTS, "k", loader) == {"load": 1}  # stored


async def test_a_reader_after_an_invalidation_never_gets_the_older_load() -> None:
    cache, loader = CatalogCache(ttl_s=60), Loader()
    before = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: loader.calls == 1)
    cache.invalidate_local([DEPLOYMENTS])
    after = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: loader.calls == 2)
    loader.release.set()
    assert (await before, await after) == ({"load": 1}, {"load": 2})


async def test_an_error_reaches_every_waiter_and_is_not_stored() -> None:
    cache = CatalogCache(ttl_s=60)
    gate = asyncio.Event()

    async def failing() -> None:
        await gate.wait()
        raise LookupError("gone")

    readers = [asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", failing)) for _ in range(3)]
    await _until(lambda: cache.stats.misses == 3)
    gate.set()
    for reader in readers:
        with pytest.raises(LookupError):
            await reader
    assert not cache.peek(DEPLOYMENTS, "k")


async def test_a_cancelled_loader_leaves_its_waiters_to_load() -> None:
    cache, loader = CatalogCache(ttl_s=60), Loader()
    leader = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: loader.calls == 1)
    waiter = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: cache.stats.misses == 2)
    leader.cancel()  # the client of the loading request went away
    await _until(lambda: loader.calls == 2)
    loader.release.set()
    assert await waiter == {"load": 2}
    with pytest.raises(asyncio.CancelledError):
        await leader


async def _stored(cache: CatalogCache, loader: Loader) -> None:
    """The key cached with load 1, the loader held again for the next load."""
    first = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: loader.calls == 1)
    loader.release.set()
    assert await first == {"load": 1}
    loader.release.clear()


async def test_after_a_soft_invalidation_only_the_first_reader_waits_for_the_reload() -> None:
    cache, loader = CatalogCache(ttl_s=60), Loader()
    await _stored(cache, loader)
    cache.invalidate_local([DEPLOYMENTS], soft=True)  # a verdict
    reloading = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True))
    await _until(lambda: loader.calls == 2)
    # While it reloads: a reader that accepts it gets the page from before the verdict…
    assert await cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True) == {"load": 1}
    # …one that does not (routes, services) waits for the new load.
    strict = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader))
    await _until(lambda: cache.stats.shared_loads == 0 and cache.stats.misses == 4)
    loader.release.set()
    assert (await reloading, await strict) == ({"load": 2}, {"load": 2})
    assert await cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True) == {"load": 2}
    assert cache.stats.stale_served == 1 and loader.calls == 2


async def test_a_hard_invalidation_leaves_nothing_stale() -> None:
    cache, loader = CatalogCache(ttl_s=60), Loader()
    await _stored(cache, loader)
    cache.invalidate_local([DEPLOYMENTS], soft=True)
    cache.invalidate_local([DEPLOYMENTS])  # a write: the next read must show it
    reloading = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True))
    await _until(lambda: loader.calls == 2)
    waiting = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True))
    await _until(lambda: cache.stats.misses == 3)
    assert not waiting.done()
    loader.release.set()
    assert (await reloading, await waiting) == ({"load": 2}, {"load": 2})
    assert cache.stats.stale_served == 0


async def test_a_stale_value_is_never_served_past_its_ttl() -> None:
    now = [1000.0]
    cache, loader = CatalogCache(ttl_s=60, clock=lambda: now[0]), Loader()
    await _stored(cache, loader)
    cache.invalidate_local([DEPLOYMENTS], soft=True)
    now[0] += 61
    reloading = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True))
    await _until(lambda: loader.calls == 2)
    waiting = asyncio.create_task(cache.get_or_load(DEPLOYMENTS, "k", loader, stale_ok=True))
    await _until(lambda: cache.stats.misses == 3)
    assert not waiting.done()
    loader.release.set()
    assert (await reloading, await waiting) == ({"load": 2}, {"load": 2})
