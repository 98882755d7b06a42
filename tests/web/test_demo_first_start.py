"""`myia demo`'s first start queues one real certification job, and only on a first start."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import list_jobs
from myia.config import Settings
from myia.maintenance.demo_certify import FIRST_START_SOURCE, queue_first_certification
from myia.maintenance.seed import seed_database


async def test_first_start_queues_one_job_then_never_again(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_database(session=session, demo=True)
    job = await queue_first_certification(session=session, settings=settings)
    assert job is not None
    # The seed's six OpenAI-compatible deployments, once each ("global"); no made-up rows.
    assert job.total_models == 6 and job.regions == ["global"]
    assert job.config and job.config["source"] == FIRST_START_SOURCE
    assert await queue_first_certification(session=session, settings=settings) is None
    assert len(await list_jobs(session=session)) == 1
