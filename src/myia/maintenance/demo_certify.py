"""The demo's first certification: real runs against the simulator, never made-up rows.

On the first start of a demo database (no certification job yet) `myia demo` queues one
job — every OpenAI-compatible model once, and every Bedrock model in the first default region
— before the server starts; the server's embedded workers pick it up at once, so badges
appear on /models within a minute and /admin/jobs shows the job's progress.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.models import CertificationJob

FIRST_START_SOURCE = "demo first start"


async def queue_first_certification(
    *, session: AsyncSession, settings: Settings
) -> CertificationJob | None:
    """The job queued, or None when the database already has a job (not a first start)."""
    if await jobs.list_jobs(session=session, limit=1):
        return None
    region = settings.default_regions[0] if settings.default_regions else "us-east-1"
    job, _items = await jobs.create_job(
        session=session,
        selection=JobSelection(all=True, regions=[region]),
        default_regions=settings.default_regions,
        config={"source": FIRST_START_SOURCE},
    )
    return job
