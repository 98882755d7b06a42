"""A throttled call is waited out and retried, never recorded as a model failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from myia.certification.probe import NoLimit, Probe, ThrottledOut
from myia.certification.runner import run_suite
from myia.db.enums import AuthType, CertificationStatus, InferenceType
from myia.providers.connection import AwsCredentials, ProviderConnection
from myia.providers.registry import get_adapter
from myia.queue.ratelimit import LimiterConfig, LocalLimiter
from myia.sim import load_scenario, running_simulator

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-throttle.yaml"
MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
CLAIMED = {"streaming": True, "tool_calling": True, "vision": True, "json_output": True}


def _connection(base_url: str) -> ProviderConnection:
    return ProviderConnection(
        slug="bedrock",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=base_url,
        region="us-east-1",
        credentials=AwsCredentials(
            access_key_id=SecretStr("AKIASIMULATOR0000001"),
            secret_access_key=SecretStr("simulated-secret-key-000000"),
        ),
    )


async def test_throttles_are_retried_and_the_limiter_slows_down() -> None:
    limiter = LocalLimiter(LimiterConfig(), initial_rps=20.0)  # ten times the quota
    with running_simulator(load_scenario(SCENARIO)) as sim:
        async with get_adapter(_connection(sim.base_url)) as adapter:
            probe = Probe(adapter, MODEL, "us-east-1", InferenceType.ON_DEMAND, limiter=limiter)
            outcome = await run_suite(probe, claimed=CLAIMED, seed=1)
    assert outcome.throttled > 0
    assert outcome.score.status is CertificationStatus.CERTIFIED, outcome.failure_reasons
    assert outcome.failed == 0
    assert limiter.rate < 20.0


async def test_throttled_beyond_the_budget_gives_the_item_back() -> None:
    with running_simulator(load_scenario(SCENARIO)) as sim:
        async with get_adapter(_connection(sim.base_url)) as adapter:
            probe = Probe(
                adapter,
                MODEL,
                "us-east-1",
                InferenceType.ON_DEMAND,
                limiter=NoLimit(),
                throttle_budget_s=0.0,
            )
            with pytest.raises(ThrottledOut):
                for _ in range(10):
                    await probe.chat(
                        messages=[
                            {
                                "role": "user",
                                "content": [{"type": "text", "text": "What is 2 + 2?"}],
                            }
                        ]
                    )
