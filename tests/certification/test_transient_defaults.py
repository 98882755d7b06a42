"""`failure_rate` with the simulator's *default* failure kinds is transient, as documented.

The defaults are InternalServerException (500) and ModelErrorException (424; inside a
ConverseStream a `modelStreamErrorException` frame after the first delta). Both are retryable
in the taxonomy, so a model failing 30 % of its calls is certified the same way every time:
no failed test, the same status and band, the errors counted as absorbed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationStatus
from myia.sim import Scenario, SimServer, running_simulator
from tests.certification.simcert import catalog, certify, deployments

REGION = "us-east-1"
FLAKY = "acme.flaky-default-kinds-v1:0"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "flaky-default-kinds",
            "seed": 5,
            "regions": {REGION: {}},
            "models": [
                {
                    "id": FLAKY,
                    "provider": "Acme",
                    "failure_rate": 0.3,  # failure_kinds left at the default
                    "claims": {"tools": True, "json": True, "streaming": True},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


def test_the_default_kinds_include_a_424() -> None:
    model = Scenario.model_validate(
        {"name": "k", "regions": {REGION: {}}, "models": [{"id": FLAKY, "provider": "Acme"}]}
    ).models[0]
    assert "ModelErrorException" in model.failure_kinds


async def test_a_30_percent_model_with_default_kinds_is_certified_the_same_every_time(
    session: AsyncSession, sim: SimServer, scenario: Scenario
) -> None:
    await catalog(session, scenario, sim.base_url)
    verdicts: set[tuple[str, str | None]] = set()
    absorbed = 0
    for attempt in range(6):
        deployment = {d.deployment_id: d for d in await deployments(session)}[FLAKY]
        outcome, row = await certify(session, sim.base_url, deployment, REGION, seed=attempt)
        assert row.status is CertificationStatus.CERTIFIED, outcome.failure_reasons
        assert row.tests_failed == 0 and not row.failure_reasons
        assert not outcome.inconclusive
        for result in outcome.results:
            assert result.status in ("passed", "skipped"), result
        verdicts.add((row.status.value, row.badge))
        absorbed += row.transient_errors
    assert len(verdicts) == 1, verdicts
    # ~20 calls a run at 30 %: six runs cannot go without a 500 or a 424 (seeded).
    assert absorbed > 0
