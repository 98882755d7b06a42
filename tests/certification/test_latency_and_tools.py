"""What the certification measures is the model: latency without the queue in front of it,
and the schema accuracy of its tool calls.

- A 0-latency model in a region throttled to 0.5 requests/s gets the same band as in an
  unthrottled region: limiter waits and retry sleeps are not model latency.
- The tool battery catches a deployment whose arguments break the schema 20 % of the time
  (accuracy 80 %, tools capability failed) and passes one at 0 %; the figures reach the
  stored certification and the API's certification detail.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import runner
from myia.certification.toolcalls import MIN_SCHEMA_ACCURACY
from myia.db.enums import CertificationStatus, UserRole
from myia.sim import Scenario, SimServer, running_simulator
from tests.certification.simcert import catalog, certify, run
from tests.factories import bearer_headers

QUIET, THROTTLED = "us-east-1", "eu-west-1"
SWIFT = "acme.swift-v1:0"
SLOPPY = "acme.sloppy-tools-v1:0"
TIDY = "acme.tidy-tools-v1:0"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "measures",
            "seed": 3,
            "regions": {
                QUIET: {},
                THROTTLED: {"quota": {"requests_per_second": 0.5, "burst": 1}},
            },
            "models": [
                # Few claims keep the throttled run short (one call per test).
                {
                    "id": SWIFT,
                    "provider": "Acme",
                    "claims": {"tools": False, "json": True, "streaming": True},
                },
                {"id": SLOPPY, "provider": "Acme", "tool_args_invalid_rate": 0.2},
                {"id": TIDY, "provider": "Acme", "tool_args_invalid_rate": 0.0},
            ],
        }
    )


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


async def test_throttling_is_not_held_against_the_model(
    session: AsyncSession, sim: SimServer, scenario: Scenario
) -> None:
    swift = (await catalog(session, scenario, sim.base_url))[SWIFT]
    quiet, _ = await certify(session, sim.base_url, swift, QUIET, seed=1)
    throttled, row = await certify(session, sim.base_url, swift, THROTTLED, seed=1)
    assert throttled.throttled > 0 and row.throttled_calls == throttled.throttled
    assert quiet.score.status is throttled.score.status is CertificationStatus.CERTIFIED
    assert throttled.score.badge is quiet.score.badge
    assert throttled.score.rating == quiet.score.rating
    # A throttled call waits ~1 s or more before its retry; none of that is model latency.
    assert throttled.latency_p95_ms is not None and throttled.latency_p95_ms < 1_000


def _tools(outcome_results: list[runner.TestResult]) -> runner.TestResult:
    return next(r for r in outcome_results if r.name == "tool_calling")


async def test_tool_battery_catches_schema_breaking_arguments(
    session: AsyncSession, sim: SimServer, scenario: Scenario, client: httpx.AsyncClient
) -> None:
    by_id = await catalog(session, scenario, sim.base_url)
    sloppy, row = await certify(session, sim.base_url, by_id[SLOPPY], QUIET, seed=4)
    result = _tools(sloppy.results)
    assert result.status == "failed"
    assert result.figures is not None and result.figures["tool_calls"] >= 10
    assert result.figures["tool_schema_accuracy"] == pytest.approx(0.8, abs=0.05)
    assert result.figures["tool_schema_accuracy"] < MIN_SCHEMA_ACCURACY
    assert sloppy.mismatches == ["tool_calling"]
    assert sloppy.score.status is CertificationStatus.QUALITY_WARNING
    assert row.tool_schema_accuracy == result.figures["tool_schema_accuracy"]
    assert row.observed_capabilities is not None
    assert row.observed_capabilities["tool_calling"] is False

    tidy = await run(sim.base_url, by_id[TIDY], QUIET, seed=4)
    assert _tools(tidy.results).status == "passed"
    assert tidy.figures["tool_schema_accuracy"] == 1.0
    assert tidy.figures["tool_trigger_f1"] == 1.0
    assert tidy.score.status is CertificationStatus.CERTIFIED

    headers = await bearer_headers(session, role=UserRole.ADMIN)
    answer = await client.get(f"/api/certification-queue/certifications/{row.id}", headers=headers)
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["tool_schema_accuracy"] == row.tool_schema_accuracy
    assert detail["tool_trigger_f1"] == 1.0
    assert detail["observed_capabilities"]["tool_calling"] is False
    battery = next(t for t in detail["test_results"] if t["name"] == "tool_calling")
    assert "schema accuracy 80%" in battery["detail"]
    listed = await client.get(
        "/api/certification-queue/certifications", params={"deployment": SLOPPY}, headers=headers
    )
    assert listed.json()["items"][0]["tool_schema_accuracy"] == row.tool_schema_accuracy


async def test_deep_battery_has_fifty_prompts_and_the_same_verdict(
    session: AsyncSession, sim: SimServer, scenario: Scenario
) -> None:
    by_id = await catalog(session, scenario, sim.base_url)
    outcome = await run(sim.base_url, by_id[SLOPPY], QUIET, seed=9, deep=True)
    figures = _tools(outcome.results).figures or {}
    assert figures["tool_prompts"] >= 50
    assert figures["tool_schema_accuracy"] == pytest.approx(0.8, abs=0.02)
    assert outcome.mismatches == ["tool_calling"]
