"""The embedded engine runs a job to completion against the simulator, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import CapabilitiesSource, JobItemStatus, JobStatus
from myia.db.models import (
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
)
from myia.queue.embedded import EmbeddedEngine
from myia.queue.ratelimit import LocalLimiterPool
from myia.queue.service import submit_job
from myia.sim import Scenario, SimServer
from tests.conftest import make_settings
from tests.factories import make_sim_catalog
from tests.queue.saq_support import wait_until_done

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"


pytestmark = pytest.mark.usefixtures("sim_credentials")


async def test_job_runs_to_completion_with_one_row_per_pair(
    db_url: str, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    settings = make_settings(DATABASE_URL=db_url, WORKER_HEARTBEAT_S=0.5)
    async with database.session() as session:
        deployments = await make_sim_catalog(session, scenario, sim.base_url)
    engine = EmbeddedEngine(database, settings, LocalLimiterPool())
    await engine.start()
    try:
        async with database.session() as session:
            job = await submit_job(
                session=session,
                engine=engine,
                settings=settings,
                selection=JobSelection(all=True, regions=["us-east-1", "eu-west-1"]),
            )
        done = await wait_until_done(database, job.id, timeout_s=60, poll_s=0.1)
    finally:
        await engine.stop()

    bedrock = [d for d in deployments if scenario.model(d.deployment_id) is not None]
    expected_pairs = len(bedrock) * 2 + (len(deployments) - len(bedrock))
    assert done.status is JobStatus.COMPLETED
    assert done.total_models == expected_pairs
    assert done.processed_models == done.success_count + done.failure_count == expected_pairs
    async with database.session() as session:
        rows = (await session.execute(select(func.count()).select_from(ModelCertification))).one()
        assert rows[0] == expected_pairs
        open_items = await session.execute(
            select(func.count()).where(
                CertificationJobItem.status.in_((JobItemStatus.QUEUED, JobItemStatus.PROCESSING))
            )
        )
        assert open_items.scalar_one() == 0
        by_pair = {
            (c.deployment_id, c.region): c
            for c in (await session.execute(select(ModelCertification))).scalars()
        }
        for deployment in bedrock:
            for region in ("us-east-1", "eu-west-1"):
                cert = by_pair[(deployment.id, region)]
                truth = scenario.expected_outcome(deployment.deployment_id, region)
                if truth.kind == "works":
                    assert cert.status.value == "CERTIFIED", cert.failure_reasons
                elif truth.kind == "lacks":
                    assert cert.status.value == "QUALITY_WARNING"
                elif truth.kind == "absent":
                    assert cert.error_category == "NOT_AVAILABLE_IN_REGION"
                elif truth.kind == "denied":
                    assert cert.error_category == "ACCESS_DENIED"
        sonnet = (
            await session.execute(
                select(ModelDeployment).where(
                    ModelDeployment.deployment_id == "anthropic.claude-3-5-sonnet-20241022-v2:0"
                )
            )
        ).scalar_one()
        assert sonnet.capabilities_source is CapabilitiesSource.AUTO_TEST
        assert sonnet.capabilities_verified_at is not None
        assert sonnet.capabilities is not None and sonnet.capabilities["vision"] is True
