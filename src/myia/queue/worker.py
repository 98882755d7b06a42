"""`myia worker`: an SAQ worker process that certifies the work items queued on QUEUE_URL.

Run as many as you like, on as many machines: nothing local matters.
- An item's row is claimed in the database before it runs (`Executor`), so a job delivered
  twice, or left behind by a dead worker and delivered again, certifies once.
- Rate limits per (provider, region) live in Redis (`RedisLimiterPool`), the queue's own or,
  for a PostgreSQL queue, REDIS_URL's: every worker on every machine draws on one budget and
  sees the same throttling. Without any Redis they are per process (and a warning says so).
- Each worker beats in `worker_heartbeats`; one worker at a time (a short Redis lock) runs the
  engine's sync, which puts a dead worker's items back on the queue, whoever notices first.
- Retries keep the database's backoff: when a job ends and the database says its item still
  has to run (a retry, a throttle, an item not yet due), the item is queued again for its
  `available_at`.
SIGTERM/SIGINT stop gracefully: no new items are taken and running ones may finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from saq import Job, Worker
from saq.job import Status
from saq.queue.redis import RedisQueue
from saq.types import Context, PartialTimersDict
from sqlalchemy import select

from myia.catalog.cache import build_catalog_cache
from myia.certification.jobs import ACTIVE_JOB
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem
from myia.db.types import utcnow
from myia.observability.db_sink import DB_SINK
from myia.observability.logging import get_logger
from myia.queue import heartbeat
from myia.queue.execute import Executor
from myia.queue.factory import limiter_config
from myia.queue.ratelimit import LimiterPool, LocalLimiterPool, RedisLimiterPool
from myia.queue.saq_engine import (
    TASK,
    SaqEngine,
    close_queue,
    job_heartbeat_s,
    job_timeout_s,
    make_queue,
)
from myia.queue.worker_health import HealthServer
from myia.telemetry.hook import start_call_logging, stop_call_logging

log = get_logger(__name__)

# Outcomes after which the item is settled; any other end asks the database what is next.
SETTLED = frozenset({"COMPLETED", "FAILED", "discarded", "budget"})
DEQUEUE_TIMEOUT_S = 1.0  # an idle worker notices a stop request within this
STOP_WAIT_S = 5.0


class WorkerContext(Context, total=False):
    myia: WorkerRuntime


def _limiters(settings: Settings, queue: Any) -> tuple[LimiterPool, Redis | None]:
    """The rate limiters, shared through Redis whenever there is one: the queue's own, else
    REDIS_URL (a PostgreSQL queue). Returns the Redis client this worker must close, if any."""
    config = limiter_config(settings)
    owned = None
    if isinstance(queue, RedisQueue):
        client = queue.redis
    elif settings.redis_url:
        client = owned = Redis.from_url(settings.redis_url)
    else:
        log.warning("no Redis for the rate limits (REDIS_URL): they are per worker process")
        return LocalLimiterPool(config), None
    return RedisLimiterPool(client, config, prefix=f"myia:ratelimit:{queue.name}"), owned


class WorkerRuntime:
    """What a worker process owns besides SAQ's loop: executor, heartbeat, sync, health."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int | None = None,
        health_port: int | None = None,
        health_host: str = "127.0.0.1",
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.database = database or Database(settings.database_url)
        self.owns_database = database is None
        self.concurrency = concurrency or settings.queue_concurrency
        self.worker_id = heartbeat.new_worker_id("saq")
        queue = make_queue(settings)
        self.engine = SaqEngine(self.database, settings, queue)
        limiters, self._limits_redis = _limiters(settings, queue)
        # Publishes "routes and badges changed" to every `myia serve` after each verdict.
        self.catalog_cache = (
            build_catalog_cache(ttl_s=0, redis_url=settings.redis_url)
            if settings.redis_url
            else None
        )
        self.executor = Executor(
            self.database, settings, limiters, self.worker_id, catalog_cache=self.catalog_cache
        )
        port = health_port if health_port is not None else settings.worker_health_port
        self.health = (
            HealthServer(self.health_report, host=health_host, port=port)
            if port is not None
            else None
        )
        self.last_beat: datetime | None = None
        self.stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._done = asyncio.Event()
        self._sink: asyncio.Task[None] | None = None
        self._owns_call_log = False

    async def start(self) -> None:
        # Fail fast, with the reason, when Redis or the database is not there.
        await self.engine.queue.count("queued")
        await self._beat()  # alive before the first item is claimed
        self._done.clear()
        self._tasks = [
            asyncio.create_task(_until(self._done, self.settings.worker_heartbeat_s, self._beat)),
            asyncio.create_task(_until(self._done, self.sync_every_s, self._sync)),
        ]
        if self.settings.log_to_db:
            DB_SINK.enable()
            self._sink = asyncio.create_task(DB_SINK.run(self.database))
        self._owns_call_log = start_call_logging(self.database)  # certification calls
        if self.catalog_cache is not None:
            try:
                await self.catalog_cache.start()
            except Exception as exc:  # servers then see new verdicts after their cache TTL
                log.warning("catalog invalidation unavailable", error=type(exc).__name__)
                self.executor.catalog_cache = None
        if self.health is not None:
            await self.health.start()
        log.info(
            "worker started",
            worker_id=self.worker_id,
            queue=self.settings.queue_name,
            concurrency=self.concurrency,
            health_port=self.health.port if self.health else None,
        )

    async def stop(self) -> None:
        self.stopping = True
        self._done.set()
        for task in self._tasks:
            await _finish(task)
        self._tasks = []
        if self._sink is not None:
            self._sink.cancel()  # it flushes what is left on its way out
            with contextlib.suppress(asyncio.CancelledError):
                await self._sink
            self._sink = None
            DB_SINK.disable()
        if self.health is not None:
            await self.health.stop()
        with contextlib.suppress(Exception):
            await self.executor.aclose()  # provider clients reused across items
        if self.executor.catalog_cache is not None:
            with contextlib.suppress(Exception):
                await self.executor.catalog_cache.stop()  # sends what is still pending
        if self._owns_call_log:
            await stop_call_logging()
            self._owns_call_log = False
        if self._limits_redis is not None:
            with contextlib.suppress(Exception):
                await self._limits_redis.aclose()
        with contextlib.suppress(Exception):
            await heartbeat.remove(self.database, self.worker_id)
        if self.last_beat is not None:
            log.info("worker stopped", worker_id=self.worker_id, processed=self.executor.processed)

    async def _beat(self) -> None:
        await heartbeat.beat(
            self.database,
            self.worker_id,
            engine="saq",
            active=self.executor.active,
            processed=self.executor.processed,
        )
        await self.executor.heartbeat_items()
        self.last_beat = utcnow()

    async def _sync(self) -> None:
        if not await self._my_turn_to_sync():
            return
        # Beat first: a late heartbeat of our own must not make our items look orphaned.
        await self._beat()
        async with self.database.session() as session:
            counts = await self.engine.sync(session)
        if any(counts.values()):
            log.info("queue synced", worker_id=self.worker_id, **counts)

    @property
    def sync_every_s(self) -> float:
        return max(heartbeat.stale_after_s(self.settings), 1.0)

    async def _my_turn_to_sync(self) -> bool:
        """Sync is idempotent, but N workers syncing at once only add Redis traffic."""
        queue = self.engine.queue
        if not isinstance(queue, RedisQueue):
            return True
        lock = queue.namespace("myia-sync-lock")
        ttl = math.floor(self.sync_every_s)
        return bool(await queue.redis.set(lock, self.worker_id, nx=True, ex=ttl))

    async def follow_up(self, item_id: str, outcome: Any) -> bool:
        """A job ended without settling its item: queue the item again if the database says
        it still has to run, for when it is due. True if a job was queued."""
        async with self.database.session() as session:
            row = (
                await session.execute(
                    select(
                        CertificationJobItem.status,
                        CertificationJobItem.available_at,
                        CertificationJob.status,
                    )
                    .join(CertificationJob, CertificationJob.id == CertificationJobItem.job_id)
                    .where(CertificationJobItem.id == item_id)
                )
            ).one_or_none()
        if row is None:
            return False
        item_status, at, job_status = row
        if item_status is not JobItemStatus.QUEUED or job_status not in ACTIVE_JOB:
            return False  # done, held by another worker, or its job is paused/cancelled
        if outcome == "skipped":
            # Refused although queued: not due yet, or a race. Never spin on it.
            at = max(at or utcnow(), utcnow() + timedelta(seconds=1))
        return await self.engine.schedule(item_id, at)

    async def health_report(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(2.0):
                await self.engine.queue.count("queued")
            queue_ok = True
        except Exception:
            queue_ok = False
        fresh = self.last_beat is not None and (utcnow() - self.last_beat) < timedelta(
            seconds=heartbeat.stale_after_s(self.settings)
        )
        healthy = queue_ok and fresh and not self.stopping
        return {
            "status": "healthy" if healthy else "unhealthy",
            "worker": "stopping" if self.stopping else "running",
            "worker_id": self.worker_id,
            "engine": "saq",
            "queue": self.settings.queue_name,
            "queue_reachable": queue_ok,
            "last_heartbeat_at": self.last_beat.isoformat() if self.last_beat else None,
            "concurrency": self.concurrency,
            "active": self.executor.active,
            "processed": self.executor.processed,
        }


@contextlib.asynccontextmanager
async def _touching(job: Job | None, every_s: float) -> AsyncIterator[None]:
    """Keep the SAQ job's heartbeat fresh while it runs, so only a dead worker's job looks
    stuck to SAQ's sweeper."""
    if job is None:
        yield
        return
    done = asyncio.Event()
    task = asyncio.create_task(_until(done, every_s, job.update))
    try:
        yield
    finally:
        done.set()
        await _finish(task)


async def _until(done: asyncio.Event, every_s: float, action: Callable[[], Awaitable[Any]]) -> None:
    """Run `action` every `every_s` until `done` is set; its failures are logged, not fatal.

    Stopped by an event, not by cancelling: a cancellation landing inside a redis call can be
    swallowed (SAQ's `job.update()` returned normally in 4 of 10 tries), and such a loop would
    then run forever.
    """
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), every_s)
            return
        try:
            await action()
        except Exception as exc:
            log.warning("periodic task failed", task=action.__name__, error=type(exc).__name__)


async def _finish(task: asyncio.Task[None], timeout_s: float = STOP_WAIT_S) -> None:
    """Wait for a stopping loop's last round; cancel it if that round hangs."""
    await asyncio.wait({task}, timeout=timeout_s)
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=timeout_s)


async def certify_item(ctx: WorkerContext, *, item_id: str) -> str:
    """The SAQ task: claim, certify and record one work item (see `Executor.run`)."""
    runtime = ctx["myia"]
    async with _touching(ctx.get("job"), runtime.settings.worker_heartbeat_s):
        return await runtime.executor.run(item_id)


async def _after_process(ctx: WorkerContext) -> None:
    # Runs once SAQ has finished the job, i.e. when its key is free to be queued again —
    # which the task itself cannot do while its own job is still running.
    job = ctx.get("job")
    if job is None or job.function != TASK or not job.kwargs:
        return
    if job.status is Status.COMPLETE and job.result in SETTLED:
        return
    item_id = str(job.kwargs["item_id"])
    try:
        await ctx["myia"].follow_up(item_id, job.result)
    except Exception as exc:  # the periodic sync queues it instead
        log.warning("could not queue the item again", item_id=item_id, error=type(exc).__name__)


class MyiaWorker(Worker[WorkerContext]):
    """SAQ's worker with our task, hooks and timers, and a graceful stop: take no new job,
    let running ones finish (up to one job timeout), then cancel what is left."""

    def __init__(self, runtime: WorkerRuntime, *, handle_signals: bool = True) -> None:
        settings = runtime.settings
        timers: PartialTimersDict = {
            "schedule": 1,
            "abort": 1,
            "worker_info": max(1, math.ceil(settings.worker_heartbeat_s)),
            "sweep": job_heartbeat_s(settings),
        }
        super().__init__(
            runtime.engine.queue,
            functions=[certify_item],
            id=runtime.worker_id,
            concurrency=runtime.concurrency,
            startup=self._startup,
            shutdown=self._shutdown,
            after_process=_after_process,
            timers=timers,
            dequeue_timeout=DEQUEUE_TIMEOUT_S,
            shutdown_grace_period_s=1,
            metadata={"hostname": socket.gethostname(), "pid": os.getpid()},
        )
        self.runtime = runtime
        self.drain_s = float(job_timeout_s(settings))
        if not handle_signals:
            self.SIGNALS = []

    async def _startup(self, ctx: WorkerContext) -> None:
        ctx["myia"] = self.runtime
        await self.runtime.start()

    async def _shutdown(self, ctx: WorkerContext) -> None:
        await self.runtime.stop()

    async def stop(self) -> None:
        self.event.set()  # SAQ starts no new dequeue once this is set
        busy = [t for t in self.tasks if t.get_name() == "process" and not t.done()]
        if busy:
            await asyncio.wait(busy, timeout=self.drain_s)
        # SAQ's own stop would wait out its upkeep loops' sleeps (up to the sweep timer).
        # Bounded: a cancellation landing inside a redis call can be swallowed (measured).
        rest = [t for t in self.tasks if not t.done()]
        for task in rest:
            task.cancel()
        if rest:
            await asyncio.wait(rest, timeout=STOP_WAIT_S)
        await super().stop()

    async def serve(self) -> None:
        """Run until stopped (a signal, or `stop()`), then release everything."""
        try:
            await self.queue.connect()
            await self.start()
        finally:
            await close_queue(self.queue)
            if self.runtime.owns_database:
                await self.runtime.database.dispose()


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
) -> None:
    runtime = WorkerRuntime(
        settings, concurrency=concurrency, health_port=health_port, health_host=health_host
    )
    await MyiaWorker(runtime).serve()
