"""The suite against the simulator: each (model, region) ends as the scenario's ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from myia.certification.probe import Probe
from myia.certification.runner import run_suite
from myia.db.enums import AuthType, CertificationStatus, InferenceType
from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.errors import ErrorCategory
from myia.providers.registry import get_adapter
from myia.sim import Scenario, SimServer

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
CAPABILITY_OF = {
    "tools": "tool_calling",
    "vision": "vision",
    "json": "json_output",
    "streaming": "streaming",
}


def _claimed(claims: frozenset[str]) -> dict[str, bool]:
    return {ours: theirs in claims for theirs, ours in CAPABILITY_OF.items()}


def _bedrock(sim: SimServer, region: str) -> ProviderConnection:
    return ProviderConnection(
        slug="bedrock",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=sim.base_url,
        region=region,
        credentials=AwsCredentials(
            access_key_id=SecretStr("AKIASIMULATOR0000001"),
            secret_access_key=SecretStr("simulated-secret-key-000000"),
        ),
    )


CASES = [
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "us-east-1", InferenceType.ON_DEMAND),
    ("anthropic.claude-sonnet-4-20250514-v1:0", "eu-west-1", InferenceType.INFERENCE_PROFILE),
    ("mistral.mistral-large-2402-v1:0", "us-east-1", InferenceType.ON_DEMAND),
    ("amazon.nova-micro-v1:0", "eu-west-1", InferenceType.ON_DEMAND),
    ("meta.llama3-1-70b-instruct-v1:0", "eu-west-1", InferenceType.ON_DEMAND),
    ("meta.llama3-1-70b-instruct-v1:0", "us-east-1", InferenceType.ON_DEMAND),
]


@pytest.mark.parametrize(("model_id", "region", "inference_type"), CASES)
async def test_bedrock_outcome_matches_ground_truth(
    sim: SimServer, scenario: Scenario, model_id: str, region: str, inference_type: InferenceType
) -> None:
    spec = scenario.model(model_id)
    assert spec is not None
    expected = scenario.expected_outcome(model_id, region)
    async with get_adapter(_bedrock(sim, region)) as adapter:
        probe = Probe(adapter, model_id, region, inference_type)
        outcome = await run_suite(probe, claimed=_claimed(spec.claims.capabilities()), seed=7)
    if expected.kind == "works":
        assert outcome.score.status is CertificationStatus.CERTIFIED, outcome.failure_reasons
        assert outcome.score.badge.value in ("PREMIUM", "RECOMMENDED")
    elif expected.kind == "lacks":
        assert outcome.score.status is CertificationStatus.QUALITY_WARNING, outcome.failure_reasons
        assert outcome.mismatches == sorted(CAPABILITY_OF[c] for c in expected.missing)
    elif expected.kind == "absent":
        assert outcome.error is not None
        assert outcome.error.category is ErrorCategory.NOT_AVAILABLE_IN_REGION
    elif expected.kind == "denied":
        assert outcome.error is not None
        assert outcome.error.category is ErrorCategory.ACCESS_DENIED
    else:  # pragma: no cover - every case above is one of the four
        pytest.fail(f"unexpected ground truth {expected}")


async def test_openai_json_fault_is_a_quality_warning(sim: SimServer, scenario: Scenario) -> None:
    connection = ProviderConnection(
        slug="openai",
        auth_type=AuthType.API_KEY,
        base_url=f"{sim.base_url}/openai/v1",
        credentials=ApiKeyCredentials(api_key=SecretStr("sk-sim-test-0000")),
    )
    provider = scenario.provider("openai")
    assert provider is not None
    for model in provider.models:
        expected = scenario.expected_outcome(model.id, "openai")
        async with get_adapter(connection) as adapter:
            outcome = await run_suite(
                Probe(adapter, model.id, None, InferenceType.ON_DEMAND),
                claimed=_claimed(model.claims.capabilities()),
                seed=3,
            )
        if expected.kind == "works":
            assert outcome.score.status is CertificationStatus.CERTIFIED, outcome.failure_reasons
        else:
            assert expected.kind == "lacks"
            assert outcome.mismatches == sorted(CAPABILITY_OF[c] for c in expected.missing)
