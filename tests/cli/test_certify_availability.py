"""`myia certify` certifies a deployment only where it is known to be offered: other regions
are skipped with their reason, an empty region creates nothing and says why (exit 1), and
`--probe-unlisted` certifies them anyway."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.cli.certify import SKIPPED_SHOWN
from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment
from myia.sim import SimServer, load_scenario
from tests.cli.conftest import Invoke, flat
from tests.factories import make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"  # us-east-1 only in test-basic


def discovered_catalog(db_url: str, base_url: str) -> None:
    """The scenario's catalog, each Bedrock deployment with the regions it is offered in."""
    scenario = load_scenario(SCENARIO)

    async def build(session: AsyncSession) -> None:
        for row in await make_sim_catalog(session, scenario, base_url):
            spec = scenario.model(row.deployment_id)
            if spec is not None:
                row.provider_config = {"regions": scenario.model_regions(spec)}
        await session.commit()

    run_on(db_url, build)


def jobs_and_items(db_url: str) -> tuple[int, int, list[int]]:
    async def build(session: AsyncSession) -> tuple[int, int, list[int]]:
        jobs = (await session.execute(select(func.count()).select_from(CertificationJob))).one()
        items = (
            await session.execute(select(func.count()).select_from(CertificationJobItem))
        ).one()
        totals = (await session.execute(select(CertificationJob.total_models))).scalars().all()
        return int(jobs[0]), int(items[0]), [int(t or 0) for t in totals]

    result: tuple[int, int, list[int]] = run_on(db_url, build)
    return result


def test_an_empty_region_creates_nothing_and_says_why(
    cli_db: str, sim: SimServer, invoke: Invoke
) -> None:
    discovered_catalog(cli_db, sim.base_url)
    result = invoke("certify", "--region", "sa-east-1")
    assert result.exit_code == 1
    text = flat(result.output)
    assert "no selected deployment is offered in region sa-east-1" in text, text
    assert "nothing was created" in text and "--probe-unlisted" in text
    # The pairs themselves are printed, each with its reason, at most SKIPPED_SHOWN of them.
    assert f"{NOVA} @ sa-east-1: not offered in sa-east-1" in text, text
    shown = [line for line in result.stdout.splitlines() if " @ sa-east-1: " in line]
    assert 1 <= len(shown) <= SKIPPED_SHOWN
    assert jobs_and_items(cli_db) == (0, 0, [])


def test_unlisted_regions_are_skipped_with_the_reason_and_not_counted(
    cli_db: str, sim: SimServer, invoke: Invoke
) -> None:
    discovered_catalog(cli_db, sim.base_url)
    result = invoke("certify", "--model", NOVA, "--regions", "us-east-1,eu-west-1")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "Skipped 1 deployment × region pair(s), not certified:" in text
    assert f"{NOVA} @ eu-west-1: not offered in eu-west-1 (known to be offered in us-east-1" in text
    assert "Total: 1 items" in text and "Success: 1 (100.0%)" in text
    assert jobs_and_items(cli_db) == (1, 1, [1])

    probed = invoke("certify", "--model", NOVA, "--region", "eu-west-1", "--probe-unlisted")
    assert probed.exit_code == 0, probed.output
    assert "Skipped" not in probed.stdout
    assert "NOT_AVAILABLE_IN_REGION" in probed.stdout
    assert jobs_and_items(cli_db)[1] == 2


def test_the_catalog_rows_used_here_carry_their_regions(cli_db: str, sim: SimServer) -> None:
    discovered_catalog(cli_db, sim.base_url)

    async def build(session: AsyncSession) -> dict[str, object]:
        rows = (await session.execute(select(ModelDeployment))).scalars().all()
        return {r.deployment_id: (r.provider_config or {}).get("regions") for r in rows}

    regions = run_on(cli_db, build)
    assert regions[NOVA] == ["us-east-1"] and regions["gpt-4o"] is None
