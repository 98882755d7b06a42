"""The embedded engine: asyncio workers inside `myia serve`, the database as the queue.

A dispatcher pulls due QUEUED items of active jobs from the database and hands them to N
workers (QUEUE_CONCURRENCY). A heartbeat marks this process alive; items held by a process
that stopped beating (killed mid-job) go back to QUEUED, so a restart resumes unfinished work.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.certification.jobs import refresh_open_jobs
from myia.config import Settings
from myia.db.engine import Database
from myia.observability.logging import get_logger
from myia.queue import heartbeat, items
from myia.queue.engine import QueueEngine
from myia.queue.execute import Executor
from myia.queue.ratelimit import LimiterPool

log = get_logger(__name__)
IDLE_POLL_S = 0.5


class EmbeddedEngine(QueueEngine):
    name = "embedded"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        limiters: LimiterPool,
        *,
        catalog_cache: CatalogCache | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.worker_id = heartbeat.new_worker_id("embedded")
        self.executor = Executor(
            database, settings, limiters, self.worker_id, catalog_cache=catalog_cache
        )
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def stale_after_s(self) -> float:
        return heartbeat.stale_after_s(self.settings)

    async def start(self) -> None:
        await heartbeat.beat(self.database, self.worker_id, engine=self.name)
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="queue-dispatch"),
            asyncio.create_task(self._beat(), name="queue-heartbeat"),
            *(
                asyncio.create_task(self._work(), name=f"queue-worker-{n}")
                for n in range(self.settings.queue_concurrency)
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.executor.aclose()
        with contextlib.suppress(Exception):
            await heartbeat.remove(self.database, self.worker_id)

    async def enqueue(self, item_ids: list[str]) -> None:
        self._wake.set()

    async def _dispatch(self) -> None:
        while True:
            if self._queue.qsize() < self.settings.queue_concurrency:
                try:
                    async with self.database.session() as session:
                        due = await items.next_claimable(session)
                except Exception as exc:  # the database blinked: try again shortly
                    log.warning("dispatch failed", error=type(exc).__name__)
                    due = []
                fresh = [i for i in due if i not in self._pending]
                for item_id in fresh:
                    self._pending.add(item_id)
                    self._queue.put_nowait(item_id)
                if fresh:
                    continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)

    async def _work(self) -> None:
        while True:
            item_id = await self._queue.get()
            try:
                outcome = await self.executor.run(item_id)
                if outcome in ("retry", "throttled", "released"):
                    self._wake.set()
            except Exception as exc:  # one bad item must not kill the worker
                log.error("item crashed", item_id=item_id, error=f"{type(exc).__name__}: {exc}")
            finally:
                self._pending.discard(item_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.worker_heartbeat_s)
            try:
                await heartbeat.beat(
                    self.database,
                    self.worker_id,
                    engine=self.name,
                    active=self.executor.active,
                    processed=self.executor.processed,
                )
                await self.executor.heartbeat_items()
                async with self.database.session() as session:
                    if await items.recover_orphans(session, stale_after_s=self.stale_after_s):
                        self._wake.set()
            except Exception as exc:
                log.warning("heartbeat failed", error=type(exc).__name__)

    async def sync(self, session: AsyncSession) -> dict[str, int]:
        recovered = await items.recover_orphans(session, stale_after_s=self.stale_after_s)
        recounted = await refresh_open_jobs(session)
        self._wake.set()
        return {"requeued": 0, "dropped": 0, "recovered": len(recovered), "recounted": recounted}

    async def queue_info(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "concurrency": self.settings.queue_concurrency,
            "local_waiting": self._queue.qsize(),
            "active": self.executor.active,
        }
