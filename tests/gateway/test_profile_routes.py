"""Routing calls a profile-only Bedrock model by the profile id discovered for the region.

In the scenario below me-south-1 serves the `eu.` profiles, while the prefix table would
guess `global.` for it (PROTOCOLS.md: regions without a geography of their own). Discovery
stored what the provider listed (`provider_config["inference_profiles"]`); certification
calls the model by it (`profile_id_for_deployment`), and so must the gateway and chat, which
both go through `routing.fallback.request_for`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.enums import AuthType, InferenceType
from myia.providers.types import ChatMessage, ChatRequest
from myia.routing import Needs
from myia.routing.fallback import NoRouteAnswered, call_with_fallback, request_for
from myia.routing.pool import AdapterPool
from myia.routing.resolve import load_route_table, select_routes
from myia.sim import Scenario, SimServer, running_simulator
from tests.factories import (
    SIM_AWS_ENV,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)

MODEL = "acme.profiled-v1:0"
REGION = "me-south-1"
LISTED = f"eu.{MODEL}"  # what ListInferenceProfiles shows in me-south-1 here
GUESSED = f"global.{MODEL}"  # what the prefix table would send from me-south-1


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "profiles",
            "seed": 1,
            "regions": {"us-east-1": {}, REGION: {"geography": "eu"}},
            "models": [{"id": MODEL, "provider": "Acme", "inference_types": ["INFERENCE_PROFILE"]}],
        }
    )


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


def test_the_scenario_serves_the_listed_id_and_not_the_guess(scenario: Scenario) -> None:
    assert scenario.resolve(LISTED, REGION).error is None
    assert scenario.resolve(GUESSED, REGION).error is not None
    assert scenario.resolve(MODEL, REGION).error is not None  # profile only


async def test_a_profile_only_route_is_called_by_its_discovered_id(
    session: AsyncSession, database: Database, sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    bedrock = await make_provider(
        session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=sim.base_url,
        is_simulated=True,
    )  # fmt: skip
    base = await make_base_model(session, name="Profiled", vendor="Acme")
    deployment = await make_deployment(
        session,
        base_model=base,
        provider=bedrock,
        deployment_id=MODEL,
        inference_type=InferenceType.INFERENCE_PROFILE,
        provider_config={"inference_profiles": {REGION: LISTED, "us-east-1": f"us.{MODEL}"}},
    )
    await make_certification(session, deployment=deployment, region=REGION)

    table = await load_route_table(database=database)
    (route,) = select_routes(table=table, model=MODEL, needs=Needs(), preferred_region=REGION)
    assert (route.deployment, route.region, route.call_id) == (MODEL, REGION, LISTED)
    request = ChatRequest(model="profiled", messages=[ChatMessage.user("Say hello")])
    assert request_for(route, request).model == LISTED

    pool = AdapterPool()
    try:
        answered, response, failed = await call_with_fallback(
            routes=[route], request=request, pool=pool
        )
        assert answered is route and failed == 0
        assert response.text and response.model_id == LISTED
        # The bare id and the prefix table's guess are not served there: without the
        # discovered id the same route would fail.
        with pytest.raises(NoRouteAnswered):
            await call_with_fallback(
                routes=[dataclasses.replace(route, call_id=None)], request=request, pool=pool
            )
    finally:
        await pool.aclose()


def test_an_on_demand_route_keeps_its_own_id() -> None:
    from tests.gateway.test_select_routes import cert, deployment, table

    (route,) = select_routes(table=table(deployment("plain", 1.0, cert("us-east-1"))), model="m",
                             needs=Needs())  # fmt: skip
    assert route.call_id is None
    request = ChatRequest(model="m", messages=[ChatMessage.user("hi")])
    assert request_for(route, request).model == "plain"
