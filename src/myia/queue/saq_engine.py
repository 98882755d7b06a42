"""The distributed engine: SAQ on Redis or PostgreSQL, with `myia worker` processes on any
machine.

The API process only produces: one SAQ job per work item, keyed by the item, so an item is
never queued twice while a job for it is pending or running. The database stays the record
of truth — a job only names an item, and the worker claims the item row before running it
(`Executor`) — so a redelivered job is harmless and `sync` can always rebuild the queue from
the database: items the queue lost are enqueued again, jobs of finished items are dropped,
and items held by a worker that stopped beating are recovered.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg.sql import SQL
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from saq import Job, Queue
from saq.job import Status
from saq.queue.postgres import PostgresQueue
from saq.queue.postgres_migrations import get_migrations
from saq.queue.redis import RedisQueue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB, refresh_open_jobs
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem
from myia.observability.logging import get_logger
from myia.queue import heartbeat, items
from myia.queue.engine import QueueEngine

log = get_logger(__name__)

TASK = "certify_item"
# Room beyond the item's own timeout for claiming and recording it in the database.
TIMEOUT_MARGIN_S = 30
PENDING = frozenset({Status.NEW, Status.QUEUED})
RUNNING = frozenset({Status.ACTIVE, Status.ABORTING})
_CHUNK = 500
UNREACHABLE_PAUSE_S = 1.0
UNREACHABLE_LOG_EVERY_S = 30.0
PG_POOL_TIMEOUT_S = 5.0
TABLES_WAIT_S = 60.0
TABLES_POLL_S = 0.2


class QueueUrlError(ValueError):
    """QUEUE_URL is missing, malformed, or names a backend this installation cannot use."""


class PatientRedisQueue(RedisQueue):
    """SAQ's Redis queue, pausing a worker's dequeue while Redis is unreachable.

    SAQ's worker swallows a failed dequeue and tries again at once: with Redis down, each of
    its N loops would spin a CPU without a word in the log.
    """

    _warned_at = 0.0

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:  # noqa: ASYNC109 (SAQ's signature)
        try:
            return await super().dequeue(timeout, poll_interval)
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned_at > UNREACHABLE_LOG_EVERY_S:
                self._warned_at = time.monotonic()
                log.warning("queue unreachable, retrying", queue=self.name, error=repr(exc))
            await asyncio.sleep(UNREACHABLE_PAUSE_S)
            raise


class PatientPostgresQueue(PostgresQueue):
    """SAQ's PostgreSQL queue, whose `init_db` returns only once the queue's tables exist.

    SAQ's returns at once when another process holds its migration lock — possibly while that
    process is still creating the tables: three workers started together on a new database
    failed with `relation "saq_jobs" does not exist`.
    """

    async def init_db(self) -> None:
        target = get_migrations(jobs_table=self.jobs_table, stats_table=self.stats_table)[-1][0]
        deadline = time.monotonic() + TABLES_WAIT_S
        while True:
            await super().init_db()
            if await self._schema_version() == target:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the queue's tables are not ready after {TABLES_WAIT_S:g}s: another "
                    "process holds SAQ's migration lock"
                )
            await asyncio.sleep(TABLES_POLL_S)

    async def _schema_version(self) -> int | None:
        async with self.pool.connection() as conn, conn.cursor() as cursor:
            name = self.versions_table.as_string(conn)
            await cursor.execute(SQL("SELECT to_regclass(%(name)s) IS NOT NULL"), {"name": name})
            found = await cursor.fetchone()
            if not found or not found[0]:
                return None
            await cursor.execute(SQL("SELECT max(version) FROM {}").format(self.versions_table))
            row = await cursor.fetchone()
            return int(row[0]) if row and row[0] is not None else None


def make_queue(settings: Settings) -> Queue:
    """The SAQ queue named by QUEUE_URL and QUEUE_NAME (not connected yet)."""
    url = settings.queue_url
    if not url:
        raise QueueUrlError("QUEUE_URL is not set (e.g. QUEUE_URL=redis://127.0.0.1:6379/0)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        # A pooled connection broken by a Redis restart fails its next command unless retried
        # (redis-py's default here): the first calls after a restart would all fail once.
        client = Redis.from_url(url, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3))
        return PatientRedisQueue(client, name=settings.queue_name)
    if scheme.startswith("postgres"):
        # SQLAlchemy-style URLs name their driver (`postgresql+asyncpg`); psycopg does not.
        plain = urlunsplit(parts._replace(scheme="postgresql"))
        # Our own pool only to bound the wait for a connection: with PostgreSQL down, SAQ's
        # default (30 s) would hold every enqueue and health check that long.
        pool = AsyncConnectionPool(
            plain, open=False, timeout=PG_POOL_TIMEOUT_S, check=AsyncConnectionPool.check_connection
        )
        return PatientPostgresQueue(pool, name=settings.queue_name, manage_pool_lifecycle=True)
    # Only the scheme is quoted: the rest of the URL may carry a password.
    raise QueueUrlError(
        f"QUEUE_URL must be a redis://, rediss:// or postgresql:// URL, not {scheme or '?'}://"
    )


async def close_queue(queue: Queue) -> None:
    """Disconnect, even from a Redis that is already gone (SAQ's disconnect talks to it) or a
    PostgreSQL queue that never connected (SAQ leaves its pool trying in the background)."""
    try:
        await queue.disconnect()
    except Exception as exc:
        log.warning("queue disconnect failed", error=type(exc).__name__)
        if isinstance(queue, RedisQueue):
            with contextlib.suppress(Exception):
                await queue.redis.aclose()
    if isinstance(queue, PostgresQueue):
        with contextlib.suppress(Exception):
            await queue.pool.close()


def item_key(item_id: str) -> str:
    return f"item:{item_id}"


def job_timeout_s(settings: Settings) -> int:
    return math.ceil(settings.queue_item_timeout_s) + TIMEOUT_MARGIN_S


def job_heartbeat_s(settings: Settings) -> int:
    """How long a running job may go untouched before SAQ's sweeper declares it stuck.

    Twice the database staleness (3 beats): `sync` recovers a dead worker's items first,
    the sweeper is the backstop when no sync runs.
    """
    return max(10, math.ceil(6 * settings.worker_heartbeat_s))


def _epoch(at: datetime | None) -> int:
    """SAQ's `scheduled`: whole epoch seconds, 0 for "now"."""
    if at is None:
        return 0
    when = math.ceil(at.timestamp())
    return when if when > time.time() else 0


class SaqEngine(QueueEngine):
    name = "saq"

    def __init__(self, database: Database, settings: Settings, queue: Queue | None = None) -> None:
        self.database = database
        self.settings = settings
        self._queue = queue
        self._owns_queue = queue is None
        self._connected = False

    @property
    def queue(self) -> Queue:
        if self._queue is None:
            self._queue = make_queue(self.settings)
        return self._queue

    async def start(self) -> None:
        """Connect only: an API process produces work, `myia worker` processes run it."""
        await self._connect()

    async def _connect(self) -> Queue:
        queue = self.queue
        if not self._connected:
            await queue.connect()
            self._connected = True
        return queue

    async def stop(self) -> None:
        if self._queue is not None and self._owns_queue:
            await close_queue(self._queue)
            self._queue = None
        self._connected = False

    async def enqueue(self, item_ids: list[str]) -> None:
        due = await self._due_times(item_ids)
        for item_id in item_ids:
            await self.schedule(item_id, due.get(item_id))

    async def schedule(self, item_id: str, at: datetime | None = None) -> bool:
        """Queue the item's job to run at `at` (None: now). False if one is already pending
        or running: the key makes SAQ refuse a second job for the same item."""
        queue = await self._connect()
        job = await queue.enqueue(
            TASK,
            item_id=item_id,
            key=item_key(item_id),
            timeout=job_timeout_s(self.settings),
            heartbeat=job_heartbeat_s(self.settings),
            # Retries are the database's business (QUEUE_MAX_RETRIES, backoff in
            # available_at); SAQ runs each job once and the worker re-enqueues if needed.
            retries=1,
            scheduled=_epoch(at),
        )
        return job is not None

    async def _due_times(self, item_ids: list[str]) -> dict[str, datetime | None]:
        due: dict[str, datetime | None] = {}
        async with self.database.session() as session:
            for start in range(0, len(item_ids), _CHUNK):
                chunk = item_ids[start : start + _CHUNK]
                rows = await session.execute(
                    select(CertificationJobItem.id, CertificationJobItem.available_at).where(
                        CertificationJobItem.id.in_(chunk)
                    )
                )
                due.update({item_id: at for item_id, at in rows.all()})
        return due

    async def _jobs(self) -> dict[str, Job]:
        """Pending and running SAQ jobs of our task, by item id."""
        found: dict[str, Job] = {}
        statuses = [*PENDING, *RUNNING]
        async for job in self.queue.iter_jobs(statuses=statuses):
            if job.function == TASK and job.kwargs and "item_id" in job.kwargs:
                found[str(job.kwargs["item_id"])] = job
        return found

    async def remove(self, job: Job, reason: str) -> None:
        """Take a job off the queue for good, whatever its state (a dead worker cannot
        acknowledge an abort, so it is finished here)."""
        queue = await self._connect()
        await queue.abort(job, reason)
        await queue.finish_abort(job)

    async def sync(self, session: AsyncSession) -> dict[str, int]:
        stale = heartbeat.stale_after_s(self.settings)
        recovered = set(await items.recover_orphans(session, stale_after_s=stale))
        await self._connect()
        # Jobs before heartbeats: a worker beats before it dequeues, so any worker named by a
        # job in this snapshot has already beaten when the heartbeats are read.
        jobs = await self._jobs()
        alive = {
            w["id"] for w in await heartbeat.workers(session, stale_after_s=stale) if w["alive"]
        }
        wanted = await _queued_items(session)
        states = await _item_states(session, jobs)
        counts = {"requeued": 0, "dropped": 0, "recovered": len(recovered)}
        for item_id, job in jobs.items():
            if job.status in RUNNING and job.worker_id in alive:
                wanted.pop(item_id, None)  # running, or about to re-enqueue it itself
                continue
            finished = states.get(item_id) not in (JobItemStatus.QUEUED, JobItemStatus.PROCESSING)
            if job.status in RUNNING:
                # Left ACTIVE by a worker that stopped beating: its item is recovered (or
                # finished) in the database, the job itself must go before it can be re-queued.
                await self.remove(job, "worker lost")
                counts["dropped"] += item_id not in wanted
            elif finished:
                await self.remove(job, "item finished in the database")
                counts["dropped"] += 1
            else:
                wanted.pop(item_id, None)
        for item_id, at in wanted.items():
            if await self.schedule(item_id, at) and item_id not in recovered:
                counts["requeued"] += 1
        counts["recounted"] = await refresh_open_jobs(session)
        return counts

    async def queue_info(self) -> dict[str, Any]:
        queue = await self._connect()
        info = await queue.info()
        return {
            "queue": info["name"],
            "queued": info["queued"],
            "active": info["active"],
            "scheduled": info["scheduled"],
            "workers": len(info["workers"]),
            "worker_info": info["workers"],
        }


async def _queued_items(session: AsyncSession) -> dict[str, datetime | None]:
    """QUEUED items of active jobs, with when they are due: what must be on the queue."""
    rows = await session.execute(
        select(CertificationJobItem.id, CertificationJobItem.available_at)
        .join(CertificationJob, CertificationJob.id == CertificationJobItem.job_id)
        .where(
            CertificationJobItem.status == JobItemStatus.QUEUED,
            CertificationJob.status.in_(ACTIVE_JOB),
        )
    )
    return {item_id: at for item_id, at in rows.all()}


async def _item_states(session: AsyncSession, ids: Iterable[str]) -> dict[str, JobItemStatus]:
    keys = list(ids)
    states: dict[str, JobItemStatus] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = await session.execute(
            select(CertificationJobItem.id, CertificationJobItem.status).where(
                CertificationJobItem.id.in_(keys[start : start + _CHUNK])
            )
        )
        states.update({item_id: status for item_id, status in rows.all()})
    return states
