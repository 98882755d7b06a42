"""Discovery test support: the demo scenario's simulator and a seeded catalog pointed at it.

Expected results are computed from the scenario YAML itself (`expected_chat_models`), not
through `myia.sim`'s helpers, so a test fails if discovery and the file disagree. Test
modules import the fixtures they use by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from myia.maintenance.demo_sim import point_providers_at_simulator
from myia.maintenance.seed import seed_database
from myia.sim import SimServer, load_scenario, running_simulator

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEMO_YAML = SCENARIOS / "demo.yaml"
NOVA_SONIC = ("amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0")
# Modalities Converse cannot take in or give back as a chat.
CHAT = "TEXT"


def demo_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO_YAML.read_text(encoding="utf-8"))
    return data


def expected_chat_models(region: str, vendor_prefix: str | None = None) -> set[str]:
    """Listed TEXT-in/TEXT-out Bedrock models of `region` callable on demand or by profile,
    minus the default blacklist — read straight from the YAML."""
    data = demo_file()
    all_regions = list(data["regions"])
    found = set()
    for model in data["models"]:
        if region not in (model.get("regions") or all_regions):
            continue
        listed = model.get("listed")
        if listed is False or (listed is None and model.get("lifecycle") == "EOL"):
            continue
        inputs = model.get("input_modalities", ["TEXT"])
        outputs = model.get("output_modalities", ["TEXT"])
        if CHAT not in inputs or CHAT not in outputs:
            continue
        kinds = model.get("inference_types", ["ON_DEMAND"])
        if "ON_DEMAND" not in kinds and "INFERENCE_PROFILE" not in kinds:
            continue
        if model["id"] in NOVA_SONIC:
            continue
        if vendor_prefix is not None and not model["id"].startswith(vendor_prefix + "."):
            continue
        found.add(model["id"])
    return found


@pytest.fixture(scope="session")
def demo_sim() -> Iterator[SimServer]:
    with running_simulator(load_scenario(DEMO_YAML)) as server:
        yield server


@pytest.fixture
def chain_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The providers' standard chain: dummy AWS keys and API keys, for this test only."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTDISCOVERY001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "discovery-test-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for slug in ("OPENAI", "GROQ", "TOGETHER"):
        monkeypatch.setenv(f"{slug}_API_KEY", f"sk-test-{slug.lower()}")


@pytest.fixture
async def catalog(
    session: AsyncSession, demo_sim: SimServer, chain_credentials: None
) -> AsyncSession:
    """The seeded catalog (4 providers, 6 models) with its providers on the simulator."""
    await seed_database(session=session)
    await point_providers_at_simulator(
        session=session, base_url=demo_sim.base_url, scenario=demo_sim.scenario
    )
    return session
