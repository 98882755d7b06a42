"""`myia certify --max-cost` / `myia recertify --max-cost` on the demo scenario: the run stops
under the cap, the items that would not fit are cancelled for budget and listed in the report
and in `myia jobs show`; an unpriced deployment under a cap is refused by name (exit 1,
nothing created) unless `--allow-unpriced` (issue 24, point 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.records import claimed_capabilities
from myia.certification.spend import max_item_cost
from myia.db.models import CertificationJob, ModelCertification, ModelDeployment
from myia.sim import Scenario, SimServer, load_scenario
from tests.cli.conftest import Invoke, flat
from tests.factories import make_sim_catalog, run_on

DEMO = Path(__file__).parents[2] / "scenarios" / "demo.yaml"
CHEAP = "anthropic.claude-3-haiku-20240307-v1:0"
DEAR = "anthropic.claude-3-5-sonnet-20241022-v2:0"
UNPRICED = "anthropic.claude-3-sonnet-20240229-v1:0"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(DEMO)


def seed(db_url: str, sim: SimServer) -> float:
    """The demo's Bedrock models; DEAR priced a thousandfold, UNPRICED without a price.
    Returns a cap holding two of CHEAP's estimated maxima, not one of DEAR's."""

    async def build(session: AsyncSession) -> float:
        await make_sim_catalog(session, sim.scenario, sim.base_url, include_openai=False)
        for deployment_id, price in ((DEAR, 1000.0), (UNPRICED, None)):
            await session.execute(
                update(ModelDeployment)
                .where(ModelDeployment.deployment_id == deployment_id)
                .values(cost_per_1m_input=price, cost_per_1m_output=price and price * 2)
            )
        await session.commit()
        cheap = (
            await session.execute(
                select(ModelDeployment).where(ModelDeployment.deployment_id == CHEAP)
            )
        ).scalar_one()
        await session.refresh(cheap, ["base_model"])
        most = max_item_cost(
            claimed=claimed_capabilities(cheap), deep=False, price_in=1.0, price_out=2.0
        )
        assert most is not None
        return 2 * most

    cap: float = run_on(db_url, build)
    return cap


def jobs(db_url: str) -> int:
    async def build(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(CertificationJob)) or 0)

    found: int = run_on(db_url, build)
    return found


def certified(db_url: str, deployment_id: str) -> int:
    async def build(session: AsyncSession) -> int:
        query = (
            select(func.count())
            .select_from(ModelCertification)
            .join(ModelDeployment, ModelDeployment.id == ModelCertification.deployment_id)
            .where(ModelDeployment.deployment_id == deployment_id)
        )
        return int(await session.scalar(query) or 0)

    found: int = run_on(db_url, build)
    return found


def test_certify_and_recertify_stop_at_the_cap(cli_db: str, sim: SimServer, invoke: Invoke) -> None:
    cap = seed(cli_db, sim)
    refused = invoke(
        "certify", "--model", CHEAP, "--model", UNPRICED, "--regions", "us-east-1",
        "--max-cost", str(cap),
    )  # fmt: skip
    assert refused.exit_code == 1, refused.output
    assert "max_cost" in refused.output and f"{UNPRICED}@us-east-1" in refused.output
    assert jobs(cli_db) == 0

    result = invoke(
        "certify", "--model", CHEAP, "--model", DEAR, "--regions", "us-east-1",
        "--max-cost", str(cap),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    # The plan's estimated maximum: two items, DEAR's a thousand times CHEAP's.
    most = re.search(r"Cost: at most \$([0-9.,]+)", out)
    assert most is not None, out
    assert float(most.group(1).replace(",", "")) == pytest.approx(1001 * cap / 2, rel=1e-3)
    assert f"💰 {DEAR} @ us-east-1 - not started: budget" in out
    spent = re.search(r"Spent: \$([0-9.]+) of a \$([0-9.]+) cap", out)
    assert spent is not None, out
    assert 0 < float(spent.group(1)) <= cap
    assert f"Left uncertified for budget: 1 item(s) - {DEAR} @ us-east-1" in out
    job_id = re.search(r"Job created: ([0-9a-f-]{36})", out)
    assert job_id is not None

    shown = invoke("jobs", "show", job_id.group(1))
    assert shown.exit_code == 0, shown.output
    assert f"Left uncertified for budget: {DEAR}@us-east-1" in flat(shown.stdout)
    assert re.search(r"Spent: \$[0-9.]+ of a \$[0-9.]+ cap", flat(shown.stdout))

    # The unpriced deployment runs when allowed: its cost is unknown, and said so.
    allowed = invoke(
        "certify", "--model", UNPRICED, "--regions", "us-east-1", "--max-cost", str(cap),
        "--allow-unpriced",
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    assert "Cost: at most $0 + 1 unpriced item(s), cost unknown" in flat(allowed.stdout)
    assert "Unpriced: 1 item(s), cost unknown" in flat(allowed.stdout)

    # recertify: a cap below one item's estimate leaves it uncertified, in the report too.
    again = invoke("recertify", "--yes", "--only", CHEAP, "--regions", "us-east-1",
                   "--max-cost", "0.000001")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert f"Left uncertified for budget: 1 item(s) - {CHEAP} @ us-east-1" in flat(again.stdout)
    # ...and it keeps its last certification: no cleanup under a cap.
    assert "current certifications are kept until replaced" in flat(again.stdout)
    assert certified(cli_db, CHEAP) == 1
