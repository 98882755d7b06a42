"""The item state machine in the database: claim, finish, retry, recover.

Every transition is a conditional UPDATE (`WHERE status = … AND claimed_by = …`), so two
workers handed the same item (a redelivered queue message, a worker presumed dead that was
only slow) cannot both run it or both record it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB, refresh_counters
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow


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
        job_id = (
            await session.execute(
                select(CertificationJobItem.job_id).where(CertificationJobItem.id == item_id)
            )
        ).scalar_one()
        await refresh_counters(session, job_id)
    await session.commit()
    return claimed


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
) -> bool:
    """Give an item back to the queue after `delay_s` (a retry, or a throttle that outlasted
    the probe — which does not count as an attempt)."""
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


async def recover_orphans(session: AsyncSession, *, stale_after_s: float) -> list[str]:
    """Items PROCESSING under a worker that stopped beating (killed, crashed) go back to
    QUEUED; returns their ids so the caller can enqueue them again."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    alive = select(WorkerHeartbeat.id).where(WorkerHeartbeat.last_seen_at >= cutoff)
    query = select(CertificationJobItem.id).where(
        CertificationJobItem.status == JobItemStatus.PROCESSING,
        or_(
            CertificationJobItem.claimed_by.is_(None),
            CertificationJobItem.claimed_by.not_in(alive),
        ),
        CertificationJobItem.claimed_at < cutoff,
    )
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(
            update(CertificationJobItem)
            .where(
                CertificationJobItem.id.in_(ids),
                CertificationJobItem.status == JobItemStatus.PROCESSING,
            )
            .values(status=JobItemStatus.QUEUED, claimed_by=None, available_at=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return ids
