"""The demo's providers: the catalog's provider rows pointed at a running simulator.

`myia demo` runs the provider simulator (`myia.sim`) in-process and makes the seeded
providers talk to it: Bedrock's endpoint becomes the simulator's base URL, each
OpenAI-compatible provider of the scenario gets `<base>/<slug>/v1`. Those rows are flagged
`is_simulated` and named "… (simulated)", so nothing in the catalog or the UI can pass the
simulator off as a real cloud.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import AuthType
from myia.db.models import Provider
from myia.sim import Scenario

SIMULATED_SUFFIX = " (simulated)"
DEMO_SCENARIO = "demo.yaml"
# Dummy keys the simulator accepts (not in the scenario's invalid_access_keys). They only
# ever reach the local simulator: the demo points every provider it knows at it.
DEMO_AWS_ACCESS_KEY_ID = "AKIAMYIADEMOSIMULATE"
DEMO_AWS_SECRET_ACCESS_KEY = "myia-demo-simulated-secret-key"
DEMO_AWS_REGION = "us-east-1"
# Inherited values that would change what boto3's chain does with the dummy keys.
_AWS_UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass(frozen=True)
class SimulatedProvider:
    slug: str
    name: str
    base_url: str
    # Bedrock-style: models differ per region, so discovery runs once per region.
    regional: bool


def scenario_path(name: str = DEMO_SCENARIO) -> Path:
    """A scenario shipped with the package (`myia/sim/scenarios`, the repo's `scenarios/`)."""
    return Path(str(resources.files("myia.sim") / "scenarios" / name))


def api_key_variable(slug: str) -> str:
    """The standard-chain variable `credentials.connections` reads for an API-key provider."""
    return f"{slug.upper().replace('-', '_')}_API_KEY"


def simulator_environment(scenario: Scenario) -> dict[str, str]:
    """Standard-chain credentials for every provider of `scenario` (dummy values)."""
    env = {
        "AWS_ACCESS_KEY_ID": DEMO_AWS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DEMO_AWS_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": DEMO_AWS_REGION,
        # No instance-metadata probe: there is no instance, only a 1 s timeout per client.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for provider in scenario.openai_providers:
        env[api_key_variable(provider.slug)] = f"sim-demo-{provider.slug}-key"
    return env


def use_simulator_credentials(scenario: Scenario) -> list[str]:
    """Set the dummy credentials in this process only; the names set, for the banner."""
    for name in _AWS_UNSET:
        os.environ.pop(name, None)
    env = simulator_environment(scenario)
    os.environ.update(env)
    return sorted(env)


def simulated_name(name: str) -> str:
    return name if name.endswith(SIMULATED_SUFFIX) else f"{name}{SIMULATED_SUFFIX}"


async def point_providers_at_simulator(
    *, session: AsyncSession, base_url: str, scenario: Scenario
) -> list[SimulatedProvider]:
    """Rewire the Bedrock provider and the scenario's OpenAI-compatible ones (by slug).

    Runs on every demo start: the simulator listens on a new port each time.
    """
    wanted = {p.slug for p in scenario.openai_providers}
    rows = (await session.scalars(select(Provider).order_by(Provider.slug))).all()
    changed: list[SimulatedProvider] = []
    for row in rows:
        if row.auth_type is AuthType.AWS_CREDENTIALS and scenario.models:
            row.base_url = base_url
        elif row.slug in wanted:
            row.base_url = f"{base_url}/{row.slug}/v1"
        else:
            continue
        row.is_simulated = True
        row.name = simulated_name(row.name)
        regional = row.auth_type is AuthType.AWS_CREDENTIALS
        changed.append(SimulatedProvider(row.slug, row.name, row.base_url, regional))
    await session.commit()
    return changed
