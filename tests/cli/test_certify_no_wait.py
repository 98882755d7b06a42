"""`myia recertify --no-wait` says who will run the work: not this command, which returns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJobItem
from myia.sim import SimServer, load_scenario
from tests.cli.conftest import Invoke, flat
from tests.factories import make_certification, make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"
THIS_COMMAND = "this command runs the work"
SERVE = "embedded — the workers of a running `myia serve` run the work"


def seed(db_url: str, base_url: str) -> None:
    async def build(session: AsyncSession) -> None:
        deployments = await make_sim_catalog(session, load_scenario(SCENARIO), base_url)
        nova = next(d for d in deployments if d.deployment_id == NOVA)
        await make_certification(session, deployment=nova, region="us-east-1")

    run_on(db_url, build)


def item_statuses(db_url: str) -> set[JobItemStatus]:
    async def read(session: AsyncSession) -> set[JobItemStatus]:
        return set((await session.execute(select(CertificationJobItem.status))).scalars())

    result: set[JobItemStatus] = run_on(db_url, read)
    return result


def test_the_plan_of_a_no_wait_run_names_the_servers_workers(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed(cli_db, sim.base_url)
    logs = str(tmp_path / "logs")
    waited = flat(invoke("recertify", "--only", NOVA, "--dry-run", "--log-dir", logs).stdout)
    assert THIS_COMMAND in waited and SERVE not in waited
    result = invoke("recertify", "--only", NOVA, "--yes", "--no-wait", "--log-dir", logs)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert f"Engine: {SERVE}" in out and THIS_COMMAND not in out
    assert "queued; follow it with: myia jobs show" in out
    assert item_statuses(cli_db) == {JobItemStatus.QUEUED}  # nothing ran here
