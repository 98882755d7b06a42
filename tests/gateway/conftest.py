"""Gateway fixtures: the simulator, a catalog pointing at it, a real `myia` server, a key.

The app runs under uvicorn in a thread (its own event loop and database connections), so
the unmodified openai SDK, sync and async, talks to it over loopback HTTP like any program.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.db.engine import Database
from myia.db.enums import AuthType, CertificationStatus
from myia.db.models import ApiCallLog, ModelDeployment
from myia.db.types import utcnow
from myia.sim import Scenario, SimServer, load_scenario
from tests.factories import (
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
)

SCENARIO = Path(__file__).parent / "gateway.yaml"
MODEL = "test-chat"  # the base model "Test Chat" as /v1 names it
ALL_PASSED = ("streaming", "tool_calling", "vision", "json_output")


def results(passed: tuple[str, ...] = ALL_PASSED, failed: tuple[str, ...] = ()) -> list[Any]:
    rows = [{"name": f"core_{i}", "capability": None, "status": "passed"} for i in range(2)]
    rows += [{"name": c, "capability": c, "status": "passed"} for c in passed]
    rows += [{"name": c, "capability": c, "status": "failed"} for c in failed]
    return rows


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """The gateway's own providers; `sim` (tests/sim_support.py) runs it."""
    return load_scenario(SCENARIO)


@pytest.fixture(autouse=True)
def _sim_env(sim_credentials: None) -> None:
    """Every gateway test has the simulator's AWS credentials."""


@pytest.fixture
def fresh_sim(sim: SimServer) -> SimServer:
    sim.reset_quotas()
    sim.reset_stats()
    return sim


@dataclass
class World:
    user_id: str
    key: str
    deployments: dict[str, ModelDeployment]


async def make_world(session: AsyncSession, sim: SimServer) -> World:
    """ "Test Chat" on six providers: cheapco < midco < dearco by price, all certified; and
    three cheaper still that must never be called (failed, expired, failed tool calling)."""
    base = await make_base_model(
        session,
        name="Test Chat",
        vendor="Acme",
        capabilities={"streaming": True, "tool_calling": True, "vision": True},
    )
    prices = {
        "cheapco": 0.10,
        "midco": 1.0,
        "dearco": 5.0,
        "failedco": 0.01,
        "expiredco": 0.01,
        "notoolco": 0.01,
    }
    deployments = {}
    providers = {}
    for slug, price in prices.items():
        provider = providers[slug] = await make_provider(
            session, slug=slug, name=slug, base_url=f"{sim.base_url}/{slug}/v1", is_simulated=True
        )
        deployments[slug] = await make_deployment(
            session,
            base_model=base,
            provider=provider,
            deployment_id="chat-model",
            cost_per_1m_input=price,
            cost_per_1m_output=price * 2,
        )
    now = utcnow()
    for slug in ("cheapco", "midco", "dearco"):
        await make_certification(
            session, deployment=deployments[slug], region="global", test_results=results()
        )
    await make_certification(
        session,
        deployment=deployments["failedco"],
        region="global",
        status=CertificationStatus.FAILED,
        test_results=results(),
    )
    await make_certification(
        session,
        deployment=deployments["expiredco"],
        region="global",
        expires_at=now - timedelta(hours=1),
        test_results=results(),
    )
    await make_certification(
        session,
        deployment=deployments["notoolco"],
        region="global",
        test_results=results(passed=("streaming", "vision"), failed=("tool_calling",)),
    )
    bedrock = await make_provider(
        session,
        slug="bedrock",
        name="Bedrock (simulated)",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=sim.base_url,
        is_simulated=True,
    )
    claude = await make_base_model(
        session, name="Claude Sim", vendor="Anthropic", capabilities={"streaming": True}
    )
    deployments["claude"] = await make_deployment(
        session,
        base_model=claude,
        provider=bedrock,
        deployment_id="anthropic.claude-3-5-sonnet-20241022-v2:0",
        cost_per_1m_input=3.0,
        cost_per_1m_output=15.0,
    )
    for region in ("us-east-1", "eu-west-1"):
        await make_certification(
            session, deployment=deployments["claude"], region=region, test_results=results()
        )
    solo = await make_base_model(
        session, name="Solo Chat", vendor="Acme", capabilities={"streaming": True}
    )
    deployments["solo"] = await make_deployment(
        session,
        base_model=solo,
        provider=providers["cheapco"],
        deployment_id="solo-model",
        cost_per_1m_input=None,
        cost_per_1m_output=None,
    )
    await make_certification(
        session, deployment=deployments["solo"], region="global", test_results=results()
    )
    user = await make_user(session)
    _, key = await create_api_key(session=session, user_id=user.id, name="tests")
    return World(user_id=user.id, key=key, deployments=deployments)


def exhaust(sim: SimServer, provider: str, model: str = "chat-model") -> None:
    """Use up a provider's burst in the simulator: its next calls are throttled."""
    client = openai.OpenAI(base_url=f"{sim.base_url}/{provider}/v1", api_key="k", max_retries=0)
    with contextlib.suppress(openai.RateLimitError):
        for _ in range(5):
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}]
            )


async def call_logs(db_url: str, *, count: int, timeout_s: float = 30.0) -> list[ApiCallLog]:
    """The gateway's call-log rows once `count` are written (the writer batches off-path)."""
    database = Database(db_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with database.read_session() as session:
                rows = list(
                    (
                        await session.scalars(
                            select(ApiCallLog)
                            .where(ApiCallLog.operation == "gateway")
                            .order_by(ApiCallLog.created_at)
                        )
                    ).all()
                )
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.1)
    finally:
        await database.dispose()
