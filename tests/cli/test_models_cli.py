"""`myia models discover | list | check-credentials` through CliRunner, against the simulator."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.cli.console import console
from myia.config import DEMO_ENCRYPTION_SECRET
from myia.credentials.schemas import CredentialInput
from myia.credentials.service import upsert_credential
from myia.db.engine import Database
from myia.db.enums import CertificationStatus, UserRole
from myia.db.models import ModelCertification, ModelDeployment, ProviderCredentialValidation
from myia.maintenance.demo_sim import point_providers_at_simulator
from myia.sim import Scenario, SimServer, running_simulator
from tests.catalog.discovery_sim import chain_credentials, demo_sim, expected_chat_models
from tests.cli.conftest import Invoke, flat
from tests.factories import make_user, run_on
from tests.maintenance.databases import row_counts, seed

__all__ = ["chain_credentials", "demo_sim"]  # fixtures used below

UseDatabase = Callable[[str], Path]
BAD_ACCESS_KEY = "AKIAINVALIDKEY000000"  # the demo scenario refuses it
STORED_SECRET = "stored-secret-never-printed-0123456789"
SEEDED_DEPLOYMENTS = 6


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich wraps table cells at 80 columns when not on a terminal; assertions need whole cells.
    monkeypatch.setattr(console, "_width", 250)


@pytest.fixture
def catalog_url(
    db_url: str, use_database: UseDatabase, demo_sim: SimServer, chain_credentials: None
) -> str:
    """A seeded catalog whose providers point at the demo simulator; the CLI uses it."""
    seed(db_url, demo=False)

    async def rewire() -> None:
        database = Database(db_url)
        try:
            async with database.session() as session:
                await point_providers_at_simulator(
                    session=session, base_url=demo_sim.base_url, scenario=demo_sim.scenario
                )
        finally:
            await database.dispose()

    asyncio.run(rewire())
    use_database(db_url)
    return db_url


def _deployments(url: str) -> int:
    return row_counts(url, ["model_deployments"])["model_deployments"]


def test_discover_dry_run_then_for_real_then_nothing_new(catalog_url: str, invoke: Invoke) -> None:
    expected = expected_chat_models("us-east-1")
    args = ("models", "discover", "--provider", "bedrock", "--region", "us-east-1")
    dry = invoke(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    out = flat(dry.stdout)
    for line in (
        "🚀 Discovering models on bedrock (dry run)",
        "models found on AWS Bedrock (simulated) (us-east-1)",
        "⛔ Blacklisted: amazon.nova-sonic-v1:0",
        "⛔ Blacklisted: amazon.nova-2-sonic-v1:0",
        f"✅ {len(expected)} relevant models after filtering",
        "📊 Catalog now: 0 bedrock deployments",
        f"✅ {len(expected)} new models identified",
        "📊 Distribution per vendor:",
        "FINAL REPORT (dry run)",
        f"Total models that would be added: {len(expected)}",
        "🔐 = needs an inference profile",
        "👁️ = vision",
        "⚙️ = function calling",
        "🧪 Dry run: nothing was written to the database",
        "local provider simulator",
    ):
        assert line in out, line
    assert "🔐 👁️ ⚙️ anthropic.claude-sonnet-4-20250514-v1:0" in out
    assert "Requer" not in out, "the legend speaks one language"
    assert not re.search(r"(?<![\d.])1 (models|deployments|new models)\b", out), "plurals"
    assert _deployments(catalog_url) == SEEDED_DEPLOYMENTS

    real = invoke(*args)
    assert real.exit_code == 0, real.output
    assert "Models added to the catalog!" in flat(real.stdout)
    assert f"Total models added: {len(expected)}" in flat(real.stdout)
    assert _deployments(catalog_url) == SEEDED_DEPLOYMENTS + len(expected)

    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert "Total models added: 0" in flat(again.stdout)
    assert "nothing to add" in flat(again.stdout)
    assert _deployments(catalog_url) == SEEDED_DEPLOYMENTS + len(expected)


def test_discover_one_vendor_and_an_openai_compatible_provider(
    catalog_url: str, invoke: Invoke
) -> None:
    mistral = expected_chat_models("us-east-1", "mistral")
    result = invoke(
        "models",
        "discover",
        "--provider",
        "bedrock",
        "--region",
        "us-east-1",
        "--vendor",
        "mistral",
    )
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert f"Vendor mistral only: {len(mistral)} of" in out
    assert f"mistral ({len(mistral)} models):" in out and "anthropic (" not in out
    assert _deployments(catalog_url) == SEEDED_DEPLOYMENTS + len(mistral)

    openai = invoke("models", "discover", "--provider", "openai")
    assert openai.exit_code == 0, openai.output
    assert "Total models added: 2" in flat(openai.stdout)
    assert "gpt-4o-mini" in openai.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--provider", "nope"), "no provider 'nope'; known providers: bedrock, groq"),
        (("--provider", "bedrock", "--region", "mars-1"), "'mars-1' is not an AWS region"),
        (("--provider", "bedrock", "--region", "us-east-1", "--vendor", "acme"), "vendors offered"),
        (("--provider", "bedrock", "--user", "ghost@example.com"), "no user with email"),
    ],
)
def test_discover_bad_input_exits_1_with_a_message(
    catalog_url: str, invoke: Invoke, args: tuple[str, ...], message: str
) -> None:
    result = invoke("models", "discover", *args)
    assert result.exit_code == 1
    assert message in flat(result.stderr)
    assert _deployments(catalog_url) == SEEDED_DEPLOYMENTS


def test_discover_with_refused_credentials_exits_1(
    catalog_url: str, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", BAD_ACCESS_KEY)
    result = invoke("models", "discover", "--provider", "bedrock", "--region", "eu-west-1")
    assert result.exit_code == 1
    assert "bedrock: AUTH" in flat(result.stderr)


def _certify(url: str, deployment_id: str, region: str) -> None:
    async def insert() -> None:
        database = Database(url)
        try:
            async with database.session() as session:
                row_id = await session.scalar(
                    select(ModelDeployment.id).where(ModelDeployment.deployment_id == deployment_id)
                )
                assert row_id is not None
                session.add(
                    ModelCertification(
                        deployment_id=row_id,
                        region=region,
                        status=CertificationStatus.CERTIFIED,
                        badge="PREMIUM",
                        rating=5.0,
                    )
                )
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(insert())


@pytest.mark.usefixtures("wide_console")
def test_list_filters_and_shows_certifications(catalog_url: str, invoke: Invoke) -> None:
    assert (
        invoke("models", "discover", "--provider", "bedrock", "--region", "us-east-1").exit_code
        == 0
    )
    _certify(catalog_url, "anthropic.claude-3-5-sonnet-20241022-v2:0", "us-east-1")

    anthropic = invoke("models", "list", "--vendor", "anthropic", "--region", "us-east-1")
    assert anthropic.exit_code == 0, anthropic.output
    out = anthropic.stdout
    anthropic_count = len(expected_chat_models("us-east-1", "anthropic"))
    assert f"Catalog: {anthropic_count} deployments" in out
    assert "Claude 3.5 Sonnet v2" in out and "bedrock (sim)" in out
    assert "CERTIFIED PREMIUM 5.0★" in out and "not certified" in out
    assert "gpt-4" not in out and "certification us-east-1" in out

    profile = invoke("models", "list", "--inference-type", "inference_profile")
    assert profile.exit_code == 0, profile.output
    assert "anthropic.claude-sonnet-4-20250514-v1:0" in profile.stdout
    assert "anthropic.claude-3-5-sonnet-20241022-v2:0" not in profile.stdout

    vision = invoke("models", "list", "--provider", "openai", "--capability", "vision")
    assert vision.exit_code == 0, vision.output
    assert "gpt-4-turbo" in vision.stdout and "gpt-3.5-turbo" not in vision.stdout

    # Every demo deployment is priced; one without a price (as discovery leaves a model no
    # source prices) shows "unknown", never $0.
    async def unprice(session: AsyncSession) -> None:
        row = await session.scalar(
            select(ModelDeployment).where(
                ModelDeployment.deployment_id == "Qwen/Qwen2.5-7B-Instruct-Turbo"
            )
        )
        assert row is not None
        row.cost_per_1m_input = row.cost_per_1m_output = None
        await session.commit()

    priced = invoke("models", "list", "--vendor", "qwen")
    assert "unknown" not in priced.stdout and "0.3 / 0.3" in priced.stdout
    run_on(catalog_url, unprice)
    unknown_price = invoke("models", "list", "--vendor", "qwen")
    [line] = [x for x in unknown_price.stdout.splitlines() if "Qwen 2.5 7B" in x]
    assert "unknown" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--capability", "telepathy"), "unknown capability 'telepathy'"),
        (("--inference-type", "SOMETIMES"), "unknown inference type 'SOMETIMES'"),
        (("--region", "atlantis-1"), "unknown region 'atlantis-1'"),
    ],
)
def test_list_bad_input_exits_1(
    catalog_url: str, invoke: Invoke, args: tuple[str, ...], message: str
) -> None:
    result = invoke("models", "list", *args)
    assert result.exit_code == 1
    assert message in flat(result.stderr)


def _store_credential(url: str, access_key: str) -> str:
    async def store() -> str:
        database = Database(url)
        try:
            async with database.session() as session:
                user = await make_user(session, role=UserRole.ADMIN)
                await upsert_credential(
                    session=session,
                    user_id=user.id,
                    provider_slug="bedrock",
                    data=CredentialInput(
                        access_key_id=SecretStr(access_key),
                        secret_access_key=SecretStr(STORED_SECRET),
                        region="us-east-1",
                    ),
                    secret=DEMO_ENCRYPTION_SECRET,
                )
                return user.email
        finally:
            await database.dispose()

    return asyncio.run(store())


def _validations(url: str) -> list[tuple[str, str | None]]:
    async def read() -> list[tuple[str, str | None]]:
        database = Database(url)
        try:
            async with database.session() as session:
                rows = await session.scalars(select(ProviderCredentialValidation))
                return [(row.status, row.error_category) for row in rows]
        finally:
            await database.dispose()

    return asyncio.run(read())


@pytest.mark.usefixtures("wide_console")
def test_check_credentials_on_the_standard_chain(catalog_url: str, invoke: Invoke) -> None:
    result = invoke("models", "check-credentials", "--region", "us-east-1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "4 credential checks passed" in flat(out)
    assert "AWS standard chain" in out and "environment (OPENAI_API_KEY)" in out
    assert "text models visible in us-east-1" in out
    assert "sk-test-openai" not in result.output and "discovery-test-secret" not in result.output
    assert _validations(catalog_url) == []  # nothing stored, nothing to record against


@pytest.mark.usefixtures("wide_console")
def test_check_credentials_records_a_stored_credential(catalog_url: str, invoke: Invoke) -> None:
    bad = _store_credential(catalog_url, BAD_ACCESS_KEY)
    refused = invoke("models", "check-credentials", "--provider", "bedrock", "--user", bad)
    assert refused.exit_code == 1
    assert "AUTH" in refused.stdout and "stored credential (recorded)" in refused.stdout
    assert "1 of 1 checks failed: bedrock" in flat(refused.stderr)
    assert STORED_SECRET not in refused.output and BAD_ACCESS_KEY not in refused.output

    good = _store_credential(catalog_url, "AKIASTOREDGOODKEY001")
    accepted = invoke("models", "check-credentials", "--provider", "bedrock", "--user", good)
    assert accepted.exit_code == 0, accepted.output
    assert STORED_SECRET not in accepted.output
    assert sorted(_validations(catalog_url)) == [("error", "AUTH"), ("ok", None)]

    unknown = invoke("models", "check-credentials", "--provider", "nope")
    assert unknown.exit_code == 1 and "no provider 'nope'" in flat(unknown.stderr)


# --- readings: empty regions, regions offered, lifecycle -------------------------------------
ODD = "acme.aging-v1:0"
WORLD = Scenario.model_validate(
    {
        "name": "lifecycles",
        "regions": ["us-east-1", "eu-west-1", "ap-south-1"],
        "models": [
            {
                "id": ODD,
                "name": "Acme Aging",
                "provider": "Acme",
                "region_lifecycle": {"eu-west-1": "LEGACY"},
            },
            {"id": "acme.fresh-v1:0", "name": "Acme Fresh", "provider": "Acme"},
            {
                "id": "acme.gone-v1:0",
                "name": "Acme Gone",
                "provider": "Acme",
                "regions": ["ap-south-1"],
            },
        ],
    }
)


@pytest.fixture(scope="module")
def world_sim() -> Iterator[SimServer]:
    with running_simulator(WORLD) as server:
        yield server


@pytest.fixture
def world_url(
    db_url: str, use_database: UseDatabase, world_sim: SimServer, chain_credentials: None
) -> str:
    seed(db_url, demo=False)

    async def rewire() -> None:
        database = Database(db_url)
        try:
            async with database.session() as session:
                await point_providers_at_simulator(
                    session=session, base_url=world_sim.base_url, scenario=world_sim.scenario
                )
        finally:
            await database.dispose()

    asyncio.run(rewire())
    use_database(db_url)
    return db_url


def test_an_empty_region_says_so(world_url: str, invoke: Invoke) -> None:
    result = invoke("models", "discover", "--provider", "bedrock", "--region", "sa-east-1")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "AWS Bedrock (simulated) lists no model (sa-east-1)" in out
    assert "Nothing to add: the provider lists no model (sa-east-1)" in out
    assert "0 models found" not in out and "already has every relevant model" not in out


@pytest.mark.usefixtures("wide_console")
def test_list_by_region_shows_what_is_offered_there_and_its_lifecycle(
    world_url: str, invoke: Invoke
) -> None:
    for region in ("us-east-1", "eu-west-1", "ap-south-1"):
        found = invoke("models", "discover", "--provider", "bedrock", "--region", region)
        assert found.exit_code == 0, found.output
    one = flat(
        invoke("models", "discover", "--provider", "bedrock", "--region", "ap-south-1").stdout
    )
    assert "3 models found" in one and "Catalog now: " in one
    assert "The catalog already has every relevant model" in one

    everywhere = invoke("models", "list", "--vendor", "acme")
    assert "Acme Aging LEGACY in eu-west-1" in flat(everywhere.stdout)
    east = flat(invoke("models", "list", "--vendor", "acme", "--region", "us-east-1").stdout)
    assert "Catalog: 2 deployments offered in us-east-1" in east
    assert "acme.gone-v1:0" not in east and "LEGACY" not in east.split("Legend")[0]
    europe = flat(invoke("models", "list", "--vendor", "acme", "--region", "eu-west-1").stdout)
    assert "Acme Aging LEGACY" in europe and "Acme Fresh LEGACY" not in europe
    asia = flat(invoke("models", "list", "--vendor", "acme", "--region", "ap-south-1").stdout)
    assert "Catalog: 3 deployments offered in ap-south-1" in asia
    nowhere = invoke("models", "list", "--vendor", "acme", "--region", "sa-east-1")
    assert nowhere.exit_code == 0
    assert "No deployment of the 3 matching ones is offered in sa-east-1" in flat(nowhere.stdout)

    _fail_end_of_life(world_url, "acme.gone-v1:0", "ap-south-1")
    gone = flat(invoke("models", "list", "--vendor", "acme", "--region", "ap-south-1").stdout)
    assert "Acme Gone END OF LIFE" in gone


def _fail_end_of_life(url: str, deployment_id: str, region: str) -> None:
    async def insert() -> None:
        database = Database(url)
        try:
            async with database.session() as session:
                row_id = await session.scalar(
                    select(ModelDeployment.id).where(ModelDeployment.deployment_id == deployment_id)
                )
                assert row_id is not None
                session.add(
                    ModelCertification(
                        deployment_id=row_id,
                        region=region,
                        status=CertificationStatus.FAILED,
                        rating=0.0,
                        last_error="This model version has reached the end of its life. "
                        "Please refer to the AWS documentation for more details. (end of life)",
                    )
                )
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(insert())
