"""Certify simulator deployments for real: the SDKs, the suite, the stored certification."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.certification.probe import Probe
from myia.certification.records import claimed_capabilities, save_outcome
from myia.certification.runner import SuiteOutcome, run_suite
from myia.db.enums import AuthType
from myia.db.models import ModelCertification, ModelDeployment
from myia.providers.connection import AwsCredentials, ProviderConnection
from myia.providers.registry import get_adapter
from myia.sim import Scenario
from tests.factories import make_sim_catalog


def bedrock(base_url: str, region: str) -> ProviderConnection:
    return ProviderConnection(
        slug="bedrock",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=base_url,
        region=region,
        credentials=AwsCredentials(
            access_key_id=SecretStr("AKIASIMULATOR0000001"),
            secret_access_key=SecretStr("simulated-secret-key-000000"),
        ),
    )


async def catalog(
    session: AsyncSession, scenario: Scenario, base_url: str
) -> dict[str, ModelDeployment]:
    """The scenario's Bedrock chat models as deployments, by provider model id."""
    await make_sim_catalog(session, scenario, base_url, include_openai=False)
    return {d.deployment_id: d for d in await deployments(session)}


async def deployments(session: AsyncSession) -> list[ModelDeployment]:
    result = await session.execute(
        select(ModelDeployment)
        .options(selectinload(ModelDeployment.base_model))
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def run(
    base_url: str, deployment: ModelDeployment, region: str, *, seed: int, **options: Any
) -> SuiteOutcome:
    async with get_adapter(bedrock(base_url, region)) as adapter:
        probe = Probe(adapter, deployment.deployment_id, region, deployment.inference_type)
        return await run_suite(
            probe, claimed=claimed_capabilities(deployment), seed=seed, **options
        )


async def certify(
    session: AsyncSession,
    base_url: str,
    deployment: ModelDeployment,
    region: str,
    *,
    seed: int,
) -> tuple[SuiteOutcome, ModelCertification]:
    """Run the suite and store its certification (committed), as a worker does."""
    outcome = await run(base_url, deployment, region, seed=seed)
    row = await save_outcome(
        session=session, deployment=deployment, region=region, outcome=outcome, expires_days=30
    )
    await session.commit()
    return outcome, row
