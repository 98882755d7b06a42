"""Calls made from a region with its own price cost that price (issue 27): certification in
eu-west-1 of a deployment priced differently in `eu` logs its calls at the `eu` price."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import PriceSourceKind
from myia.db.models import ApiCallLog, ModelDeployment
from myia.queue.execute import Executor
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import SimServer
from myia.telemetry.hook import call_logging
from tests.conftest import make_settings
from tests.factories import make_sim_catalog

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
EU_PRICE = Price(4.0, 20.0)

pytestmark = pytest.mark.usefixtures("sim_credentials")


async def test_certification_calls_from_a_region_cost_its_price(
    database: Database, db_url: str, sim: SimServer
) -> None:
    async with database.session() as session:
        deployments = await make_sim_catalog(session, sim.scenario, sim.base_url)
        [sonnet] = [d for d in deployments if d.deployment_id == SONNET]
        row = await session.get(ModelDeployment, sonnet.id)
        assert row is not None
        everywhere = (row.cost_per_1m_input, row.cost_per_1m_output)
        assert everywhere != (EU_PRICE.input, EU_PRICE.output)
        await record_price_change(
            session=session,
            deployment=row,
            price=EU_PRICE,
            source=PriceSource(PriceSourceKind.OPERATOR, "test"),
            via=ChangeVia.CLI,
            region="eu",
        )
        await session.commit()
        _, items = await jobs.create_job(
            session=session,
            selection=JobSelection(models=[SONNET], regions=["eu-west-1", "us-east-1"]),
            default_regions=[],
        )
    settings = make_settings(DATABASE_URL=db_url, RATE_LIMIT_RPS=500, QUEUE_MAX_RETRIES=0)
    executor = Executor(database, settings, LocalLimiterPool(), "regional-cost-test")
    async with call_logging(database):
        for item_id in items:
            await executor.run(item_id)
        await executor.aclose()

    async with database.session() as session:
        rows = list(
            await session.scalars(
                select(ApiCallLog).where(
                    ApiCallLog.deployment_id == sonnet.id,
                    ApiCallLog.status == "success",
                    ApiCallLog.tokens_out > 0,
                )
            )
        )
    by_region = {
        region: [r for r in rows if r.region == region] for region in ("eu-west-1", "us-east-1")
    }
    assert by_region["eu-west-1"] and by_region["us-east-1"]
    for region, (price_in, price_out) in (
        ("eu-west-1", (EU_PRICE.input, EU_PRICE.output)),
        ("us-east-1", everywhere),
    ):
        for call in by_region[region]:
            assert call.tokens_in is not None and call.tokens_out is not None
            expected = (call.tokens_in * price_in + call.tokens_out * price_out) / 1_000_000
            assert call.cost == pytest.approx(expected), region
