"""A full certification of the demo catalog agrees with the simulator's ground truth.

The catalog is built the way an operator builds it — `myia db seed` then Bedrock discovery
in each region — and every deployment is certified in us-east-1, us-west-2 and eu-west-1
on the embedded engine. Every (deployment, region) must then match
`Scenario.expected_outcome`: works → CERTIFIED in the top bands, lacks a capability →
QUALITY_WARNING naming it, absent → NOT_AVAILABLE_IN_REGION, denied → ACCESS_DENIED.
Latency and quotas are zeroed (they change timing, not outcomes) to keep the test short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import discover_models
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import JobStatus
from myia.db.models import CertificationJob, ModelCertification, ModelDeployment, Provider
from myia.queue.embedded import EmbeddedEngine
from myia.queue.ratelimit import LimiterConfig, LocalLimiterPool
from myia.queue.service import submit_job
from myia.sim import Scenario, SimServer, load_scenario, running_simulator
from myia.sim.scenario import FixedLatency
from tests.conftest import make_settings
from tests.factories import SIM_AWS_ENV, make_provider

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
DEMO = Path(__file__).parents[2] / "scenarios" / "demo.yaml"
OURS = {
    "tools": "tool_calling",
    "vision": "vision",
    "json": "json_output",
    "streaming": "streaming",
    "system": "system_prompt",
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    demo = load_scenario(DEMO)
    quiet = demo.defaults.model_copy(
        update={
            "quota": None,
            "latency": FixedLatency(),
            "time_to_first_token": FixedLatency(),
            "tokens_per_second": 0.0,
        }
    )
    regions = {
        name: region.model_copy(update={"quota": None}) for name, region in demo.regions.items()
    }
    return demo.model_copy(update={"defaults": quiet, "regions": regions})


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


async def _wait(database: Database, job_id: str) -> CertificationJob:
    async with asyncio.timeout(900):
        while True:
            async with database.session() as session:
                job = await session.get(CertificationJob, job_id)
                assert job is not None
                if job.status not in (JobStatus.QUEUED, JobStatus.PROCESSING):
                    return job
            await asyncio.sleep(0.25)


@pytest.mark.slow
async def test_demo_certification_agrees_with_ground_truth(
    db_url: str,
    database: Database,
    sim: SimServer,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    # A generous item timeout: under coverage on a loaded 2-core machine one item can be slow,
    # and a timeout would be a (true) failure that is not what this test is about.
    settings = make_settings(DATABASE_URL=db_url, QUEUE_CONCURRENCY=8, QUEUE_ITEM_TIMEOUT_S=180)
    cache = CatalogCache(ttl_s=0)
    async with database.session() as session:
        await make_provider(
            session,
            slug="bedrock",
            name="AWS Bedrock (simulated)",
            auth_type="aws_credentials",
            base_url=sim.base_url,
            is_simulated=True,
        )
        for region in REGIONS:
            await discover_models(
                session=session, cache=cache, provider_slug="bedrock", region=region
            )
    engine = EmbeddedEngine(database, settings, LocalLimiterPool(LimiterConfig(initial_rps=200.0)))
    await engine.start()
    try:
        async with database.session() as session:
            job = await submit_job(
                session=session,
                engine=engine,
                settings=settings,
                selection=JobSelection(provider="bedrock", regions=REGIONS),
            )
        done = await _wait(database, job.id)
    finally:
        await engine.stop()

    async with database.session() as session:
        deployments = (
            (
                await session.execute(
                    select(ModelDeployment)
                    .join(Provider)
                    .where(Provider.slug == "bedrock")
                    .options(selectinload(ModelDeployment.base_model))
                )
            )
            .scalars()
            .all()
        )
        certs = {
            (c.deployment_id, c.region): c
            for c in (await session.execute(select(ModelCertification))).scalars()
        }
    assert done.status is JobStatus.COMPLETED
    assert len(deployments) > 70
    assert len(certs) == done.total_models == len(deployments) * len(REGIONS)

    disagreements = []
    seen_kinds = set()
    for deployment in deployments:
        for region in REGIONS:
            cert = certs[(deployment.id, region)]
            truth = scenario.expected_outcome(deployment.deployment_id, region)
            seen_kinds.add(truth.kind)
            mismatches = (cert.metrics or {}).get("capability_mismatches", [])
            ok = {
                "works": cert.status.value == "CERTIFIED"
                and cert.badge in ("PREMIUM", "RECOMMENDED"),
                "lacks": cert.status.value == "QUALITY_WARNING"
                and set(mismatches) == {OURS[c] for c in truth.missing},
                "absent": cert.error_category == "NOT_AVAILABLE_IN_REGION",
                "denied": cert.error_category == "ACCESS_DENIED",
            }.get(truth.kind, False)
            if not ok:
                disagreements.append(
                    f"{deployment.deployment_id} {region}: truth {truth}, got {cert.status.value}"
                    f" {cert.badge} {cert.error_category} {mismatches} {cert.failure_reasons}"
                )
    assert not disagreements, "\n".join(disagreements[:20])
    assert {"works", "lacks", "absent", "denied"} <= seen_kinds
