"""The item state machine in the database: claim, finish, retry, recover.

Every transition is a conditional UPDATE (`WHERE status = … AND claimed_by = …`), so two
workers handed the same item (a redelivered queue message, a worker presumed dead that was
only slow) cannot both run it or both record it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB, lock_job, refresh_counters
from myia.certification.spend import charge_reservations
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow
from myia.observability.logging import get_logger

log = get_logger(__name__)


def is_due(now: datetime) -> ColumnElement[bool]:
    """The item's retry backoff, if any, has passed."""
    return or_(
        CertificationJobItem.available_at.is_(None), CertificationJobItem.available_at <= now
    )


def in_active_job() -> ColumnElement[bool]:
    """The item's job is neither paused, cancelled nor finished."""
    return CertificationJobItem.job_id.in_(
        select(CertificationJob.id).where(CertificationJob.status.in_(ACTIVE_JOB))
    )


async def claim(session: AsyncSession, item_id: str, worker_id: str) -> bool:
    """Take a QUEUED item of an active job for `worker_id`; False if someone else has it,
    it is finished, not yet due, or its job is paused or cancelled."""
    job_id = (
        await session.execute(
            select(CertificationJobItem.job_id).where(CertificationJobItem.id == item_id)
        )
    ).scalar_one_or_none()
    if job_id is None:
        return False
    await lock_job(session, job_id)  # job before item, as everywhere: no deadlock
    now = utcnow()
    result = await session.execute(
        update(CertificationJobItem)
        .where(
            CertificationJobItem.id == item_id,
            CertificationJobItem.status == JobItemStatus.QUEUED,
            is_due(now),
            in_active_job(),
        )
        .values(
            status=JobItemStatus.PROCESSING,
            claimed_by=worker_id,
            claimed_at=now,
            attempts=CertificationJobItem.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = bool(getattr(result, "rowcount", 0))
    if claimed:
        await refresh_counters(session, job_id)
    await session.commit()
    return claimed


async def activity(session: AsyncSession, job_id: str) -> tuple[object, ...]:
    """Changes whenever anything of the job moves (a claim, a finish, a give-back, a lease
    renewed by a running worker): what a follower watches to tell a slow job from a stuck
    one."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.max(CertificationJobItem.updated_at),
                func.sum(CertificationJobItem.attempts),
            ).where(CertificationJobItem.job_id == job_id)
        )
    ).one()
    return tuple(row)


async def next_claimable(session: AsyncSession) -> list[str]:
    """Ids of due QUEUED items of active jobs, oldest first (the embedded engine's queue)."""
    query = (
        select(CertificationJobItem.id)
        .where(
            CertificationJobItem.status == JobItemStatus.QUEUED,
            is_due(utcnow()),
            in_active_job(),
        )
        .order_by(CertificationJobItem.created_at, CertificationJobItem.id)
        .limit(50)
    )
    return list((await session.execute(query)).scalars())


async def finish(
    session: AsyncSession,
    item: CertificationJobItem,
    worker_id: str,
    *,
    status: JobItemStatus,
    outcome: str | None,
    certification_id: str | None,
    error: str | None = None,
    throttled: int = 0,
) -> bool:
    """Record the end of an item still held by `worker_id`, in the caller's transaction.

    Returns False (and writes nothing) if the item was cancelled or re-claimed meanwhile.
    """
    await lock_job(session, item.job_id)
    now = utcnow()
    result = await session.execute(
        update(CertificationJobItem)
        .where(
            CertificationJobItem.id == item.id,
            CertificationJobItem.status == JobItemStatus.PROCESSING,
            CertificationJobItem.claimed_by == worker_id,
        )
        .values(
            status=status,
            outcome=outcome,
            certification_id=certification_id,
            error=error,
            finished_at=now,
            updated_at=now,
            throttled=CertificationJobItem.throttled + throttled,
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    await refresh_counters(session, item.job_id)
    return True


async def release(
    session: AsyncSession,
    item_id: str,
    worker_id: str,
    *,
    delay_s: float,
    error: str | None,
    refund_attempt: bool = False,
    throttled: int = 0,
    transient: bool = False,
) -> bool:
    """Give an item back to the queue after `delay_s` (a retry, or a throttle that outlasted
    the probe — which does not count as an attempt). `transient`: given back because
    transient errors left a core test undecided, counted in `transient_releases`."""
    now = utcnow()
    values: dict[str, object] = {
        "status": JobItemStatus.QUEUED,
        "claimed_by": None,
        "available_at": now + timedelta(seconds=delay_s),
        "error": error,
        "updated_at": now,
        "throttled": CertificationJobItem.throttled + throttled,
    }
    if refund_attempt:
        values["attempts"] = CertificationJobItem.attempts - 1
    if transient:
        values["transient_releases"] = CertificationJobItem.transient_releases + 1
    result = await session.execute(
        update(CertificationJobItem)
        .where(
            CertificationJobItem.id == item_id,
            CertificationJobItem.status == JobItemStatus.PROCESSING,
            CertificationJobItem.claimed_by == worker_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def renew(session: AsyncSession, worker_id: str, held: Collection[str]) -> int:
    """The worker's lease on the items it is running: their `updated_at` moves on with each
    heartbeat, so an item no live worker holds any more stands out (`recover_orphans`)."""
    if not held:
        return 0
    result = await session.execute(
        update(CertificationJobItem)
        .where(
            CertificationJobItem.id.in_(list(held)),
            CertificationJobItem.status == JobItemStatus.PROCESSING,
            CertificationJobItem.claimed_by == worker_id,
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def release_unheld(session: AsyncSession, worker_id: str, held: Collection[str]) -> list[str]:
    """Items the database says `worker_id` runs but the worker does not: a give-back or a
    claim whose answer was lost to a database outage. They go back to the queue at once, the
    attempt refunded (an outage is no verdict on the model)."""
    query = select(CertificationJobItem.id).where(
        CertificationJobItem.status == JobItemStatus.PROCESSING,
        CertificationJobItem.claimed_by == worker_id,
    )
    # `held` is the worker's live set, read after the query: an item is held before its
    # claim commits, so one claimed meanwhile is never taken for unheld.
    released = []
    for item_id in list((await session.execute(query)).scalars()):
        if item_id not in held and await release(
            session, item_id, worker_id, delay_s=0.0, error="given back", refund_attempt=True
        ):
            released.append(item_id)
    return released


def _running_here(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


async def forget_dead_workers(session: AsyncSession) -> list[str]:
    """Heartbeats of workers on this machine whose process is gone: they are known dead
    now, not after the heartbeat window. Deletes the rows and returns their ids."""
    host = socket.gethostname()
    rows = (
        await session.execute(
            select(WorkerHeartbeat.id, WorkerHeartbeat.pid).where(WorkerHeartbeat.hostname == host)
        )
    ).all()
    dead = [worker_id for worker_id, pid in rows if not _running_here(pid)]
    if dead:
        await session.execute(
            delete(WorkerHeartbeat)
            .where(WorkerHeartbeat.id.in_(dead))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return dead


async def recover_orphans(session: AsyncSession, *, stale_after_s: float) -> list[str]:
    """Items PROCESSING that no live worker holds go back to QUEUED; returns their ids so the
    caller can enqueue them again.

    - Its worker is gone: no heartbeat row (stopped), a process on this machine that no
      longer exists, or a heartbeat older than `stale_after_s` (killed elsewhere, crashed).
      The attempt stays charged: the item may be what killed it.
    - Its worker is alive but has not renewed the item's lease (`renew`) for twice that: the
      worker lost it (a give-back swallowed by an outage). The attempt is refunded.
    """
    await forget_dead_workers(session)
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    alive = select(WorkerHeartbeat.id).where(WorkerHeartbeat.last_seen_at >= cutoff)
    known = select(WorkerHeartbeat.id)
    processing = CertificationJobItem.status == JobItemStatus.PROCESSING
    back = {"status": JobItemStatus.QUEUED, "claimed_by": None, "available_at": None}
    # Conditional UPDATEs: an item renewed or finished meanwhile is not taken.
    dead = await session.execute(
        update(CertificationJobItem)
        .where(
            processing,
            or_(
                CertificationJobItem.claimed_by.is_(None),
                CertificationJobItem.claimed_by.not_in(known),
                and_(
                    CertificationJobItem.claimed_by.not_in(alive),
                    CertificationJobItem.claimed_at < cutoff,
                ),
            ),
        )
        .values(**back, updated_at=now)
        .returning(CertificationJobItem.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(dead.scalars())
    lost = await session.execute(
        update(CertificationJobItem)
        .where(
            processing,
            CertificationJobItem.updated_at < now - timedelta(seconds=2 * stale_after_s),
        )
        .values(**back, updated_at=now, attempts=CertificationJobItem.attempts - 1)
        .returning(CertificationJobItem.id)
        .execution_options(synchronize_session=False)
    )
    taken = list(lost.scalars())
    # Items cancelled (with their job) while a worker that has since died ran them.
    abandoned = await session.execute(
        select(CertificationJobItem.id).where(
            CertificationJobItem.reserved_usd > 0,
            CertificationJobItem.status != JobItemStatus.PROCESSING,
            or_(
                CertificationJobItem.claimed_by.is_(None),
                CertificationJobItem.claimed_by.not_in(alive),
            ),
        )
    )
    # What those runs spent was never settled: their reservations are charged in full.
    await charge_reservations(session, [*ids, *taken, *abandoned.scalars()])
    await session.commit()
    if ids or taken:
        log.warning("orphaned items recovered", from_dead_workers=ids, lost_by_live_workers=taken)
    return ids + taken
