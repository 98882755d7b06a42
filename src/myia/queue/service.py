"""Job operations that touch both the database and the queue engine.

API routes, CLI commands and the interactive menu all go through these functions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.models import CertificationJob
from myia.queue.engine import QueueEngine


async def submit_job(
    *,
    session: AsyncSession,
    engine: QueueEngine,
    settings: Settings,
    selection: JobSelection,
    created_by: str | None = None,
    config: dict[str, Any] | None = None,
) -> CertificationJob:
    job, item_ids = await jobs.create_job(
        session=session,
        selection=selection,
        default_regions=settings.default_regions,
        created_by=created_by,
        config=config,
    )
    await engine.enqueue(item_ids)
    return job


async def resume_job(
    *, session: AsyncSession, engine: QueueEngine, job_id: str
) -> CertificationJob:
    job, item_ids = await jobs.resume_job(session=session, job_id=job_id)
    await engine.enqueue(item_ids)
    return job


async def sync_queue(*, session: AsyncSession, engine: QueueEngine) -> dict[str, int]:
    return await engine.sync(session)
