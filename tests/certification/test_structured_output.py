"""Certification measures structured output as schema adherence over a battery of schemas.

Against the simulator, through the adapters the gateway uses: on Bedrock a model with
native structured output (Claude Sonnet 4.5: `outputConfig`) and one answering through the
forced answer tool (Nova) pass with 100 % adherence; a model that answers prose where JSON
is asked (the `json` fault) and one whose JSON breaks the schema (`breaks_schemas`) fail it,
as does a model without tool use (the forced tool is refused). On an OpenAI-compatible
provider (`response_format` passed through) the same split. The capability is measured, not
scored: failing it is no capability mismatch, so a plain model stays CERTIFIED, and routing
sends a schema only where it passed (stored per deployment and region).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import runner
from myia.certification.probe import Probe
from myia.certification.runner import SuiteOutcome, run_suite
from myia.certification.structured import DEFAULT_CASES, MIN_ADHERENCE, STRUCTURED_OUTPUT
from myia.db.engine import Database
from myia.db.enums import AuthType, CertificationStatus, InferenceType
from myia.providers.connection import ApiKeyCredentials, ProviderConnection
from myia.providers.registry import get_adapter
from myia.routing import Needs
from myia.routing.resolve import load_route_table, select_routes
from myia.sim import Scenario, SimServer, running_simulator
from tests.certification.simcert import catalog, certify, run

REGION = "us-east-1"
NATIVE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TOOLED = "amazon.nova-pro-v1:0"
PROSE = "acme.prose-v1:0"
SLOPPY = "acme.sloppy-json-v1:0"
NO_TOOLS = "acme.plain-v1:0"
CLAIMS = {"streaming": True, "tool_calling": True, "json_output": True, "vision": False}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "structured",
            "seed": 11,
            "regions": {REGION: {}},
            "models": [
                {"id": NATIVE, "provider": "Anthropic", "inference_types": ["ON_DEMAND"]},
                {"id": TOOLED, "provider": "Amazon"},
                {"id": PROSE, "provider": "Acme", "faults": ["json"]},
                {"id": SLOPPY, "provider": "Acme", "breaks_schemas": True},
                {"id": NO_TOOLS, "provider": "Acme", "claims": {"tools": False}},
            ],
            "openai_providers": [
                {
                    "slug": "vendor",
                    "models": [
                        {"id": "good-model", "owned_by": "acme"},
                        {"id": "prose-model", "owned_by": "acme", "faults": ["json"]},
                        {"id": "sloppy-model", "owned_by": "acme", "breaks_schemas": True},
                    ],
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


def _structured(outcome: SuiteOutcome) -> runner.TestResult:
    return next(r for r in outcome.results if r.capability == STRUCTURED_OUTPUT)


def _figures(result: runner.TestResult) -> dict[str, Any]:
    assert result.figures is not None, result.detail
    return result.figures


async def test_bedrock_native_and_forced_tool_pass_the_rest_fail(
    session: AsyncSession, sim: SimServer, scenario: Scenario, db_url: str
) -> None:
    by_id = await catalog(session, scenario, sim.base_url)
    for model_id in (NATIVE, TOOLED):
        outcome, row = await certify(session, sim.base_url, by_id[model_id], REGION, seed=2)
        result = _structured(outcome)
        assert result.status == "passed", result.detail
        assert _figures(result)["structured_cases"] == DEFAULT_CASES
        assert _figures(result)["structured_adherence"] == 1.0
        assert outcome.score.status is CertificationStatus.CERTIFIED
        assert row.observed_capabilities is not None
        assert row.observed_capabilities[STRUCTURED_OUTPUT] is True
        assert (row.metrics or {})["structured_adherence"] == 1.0

    for model_id, why in ((PROSE, "not JSON"), (SLOPPY, "first invalid")):
        outcome, row = await certify(session, sim.base_url, by_id[model_id], REGION, seed=2)
        result = _structured(outcome)
        assert result.status == "failed" and why in result.detail, result.detail
        assert _figures(result)["structured_adherence"] < MIN_ADHERENCE
        assert STRUCTURED_OUTPUT not in outcome.mismatches  # measured, not a claim
        assert row.observed_capabilities is not None
        assert row.observed_capabilities[STRUCTURED_OUTPUT] is False

    # No tool use and no native mode: Bedrock refuses the forced tool. Still a fine chat
    # model (CERTIFIED), just never sent a schema.
    plain = await run(sim.base_url, by_id[NO_TOOLS], REGION, seed=2)
    result = _structured(plain)
    assert result.status == "failed" and "refused" in result.detail, result.detail
    assert plain.score.status is CertificationStatus.CERTIFIED, plain.failure_reasons
    assert plain.mismatches == [] and plain.failed == 0

    database = Database(db_url)
    try:
        table = await load_route_table(database=database)
    finally:
        await database.dispose()
    for model_id, routed in ((NATIVE, True), (TOOLED, True), (PROSE, False), (SLOPPY, False)):
        routes = select_routes(
            table=table, model=model_id, needs=Needs(structured=True), allow_uncertified=False
        )
        assert bool(routes) is routed, model_id
        if routed:
            assert routes[0].region == REGION


async def test_openai_compatible_response_format_battery(sim: SimServer) -> None:
    connection = ProviderConnection(
        slug="vendor",
        auth_type=AuthType.API_KEY,
        base_url=f"{sim.base_url}/vendor/v1",
        credentials=ApiKeyCredentials(api_key=SecretStr("sk-sim-test-0000")),
    )
    verdicts = {}
    for model_id in ("good-model", "prose-model", "sloppy-model"):
        async with get_adapter(connection) as adapter:
            outcome = await run_suite(
                Probe(adapter, model_id, None, InferenceType.ON_DEMAND), claimed=CLAIMS, seed=5
            )
        result = _structured(outcome)
        verdicts[model_id] = (result.status, _figures(result)["structured_adherence"])
    assert verdicts == {
        "good-model": ("passed", 1.0),
        "prose-model": ("failed", 0.0),
        "sloppy-model": ("failed", 0.0),
    }


async def test_deep_battery_asks_more_schemas(sim: SimServer) -> None:
    connection = ProviderConnection(
        slug="vendor",
        auth_type=AuthType.API_KEY,
        base_url=f"{sim.base_url}/vendor/v1",
        credentials=ApiKeyCredentials(api_key=SecretStr("sk-sim-test-0000")),
    )
    async with get_adapter(connection) as adapter:
        outcome = await run_suite(
            Probe(adapter, "good-model", None, InferenceType.ON_DEMAND),
            claimed={"json_output": True},
            seed=6,
            deep=True,
        )
    figures = _figures(_structured(outcome))
    assert figures["structured_cases"] > DEFAULT_CASES and figures["structured_adherence"] == 1.0
