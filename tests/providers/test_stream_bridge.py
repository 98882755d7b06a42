from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from myia.providers.bedrock.stream import iterate_in_thread


class SlowStream:
    """A blocking iterator like botocore's EventStream: each item takes a sleep."""

    def __init__(self, items: int, delay_s: float = 0.02, fail_at: int | None = None) -> None:
        self.items = items
        self.delay_s = delay_s
        self.fail_at = fail_at
        self.closed = threading.Event()
        self.thread_names: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        for i in range(self.items):
            if self.closed.is_set():
                raise ConnectionError("closed under me")
            self.thread_names.add(threading.current_thread().name)
            time.sleep(self.delay_s)
            if i == self.fail_at:
                raise ValueError("broken stream")
            yield i

    def close(self) -> None:
        self.closed.set()


async def test_items_arrive_without_blocking_the_loop() -> None:
    stream = SlowStream(10)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(heartbeat())
    items = [item async for item in iterate_in_thread(lambda: stream)]
    beat.cancel()
    assert items == list(range(10))
    assert ticks > 10  # the loop kept running while the thread slept
    assert threading.main_thread().name not in stream.thread_names


async def test_leaving_early_closes_the_stream() -> None:
    stream = SlowStream(1000)
    agen = iterate_in_thread(lambda: stream)
    async for item in agen:
        if item == 2:
            break
    await agen.aclose()
    assert stream.closed.is_set()


async def test_errors_reach_the_consumer() -> None:
    with pytest.raises(ValueError, match="broken stream"):
        async for _ in iterate_in_thread(lambda: SlowStream(5, fail_at=2)):
            pass


async def test_errors_while_opening_reach_the_consumer() -> None:
    def refuse() -> SlowStream:
        raise PermissionError("no")

    with pytest.raises(PermissionError):
        async for _ in iterate_in_thread(refuse):
            pass
