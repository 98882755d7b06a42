"""The `myia certify` estimate: simulated providers are fast until measured; once jobs have
run, the last day's wall-clock seconds per item (queue overheads included) drive it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from myia.cli.runs import (
    DEFAULT_ITEM_S,
    SIMULATED_ITEM_S,
    Plan,
    default_item_s,
    measured_item_s,
)
from myia.db.enums import CertificationJobType, JobStatus
from myia.db.models import CertificationJob
from myia.db.types import utcnow
from tests.factories import make_base_model, make_deployment, make_provider


async def test_defaults_tell_a_simulator_from_a_cloud(session: AsyncSession) -> None:
    sim = await make_provider(session, is_simulated=True)
    cloud = await make_provider(session)
    model = await make_base_model(session)
    on_sim = await make_deployment(session, base_model=model, provider=sim)
    on_cloud = await make_deployment(session, base_model=model, provider=cloud)
    await session.refresh(on_sim, ["provider"])
    await session.refresh(on_cloud, ["provider"])
    assert default_item_s([(on_sim, "global")] * 3) == SIMULATED_ITEM_S
    assert default_item_s([(on_cloud, "global")]) == DEFAULT_ITEM_S
    assert (
        default_item_s([(on_sim, "a"), (on_cloud, "b")]) == (SIMULATED_ITEM_S + DEFAULT_ITEM_S) / 2
    )
    # 242 simulated items on 5 workers (the demo's certify --all): 49 rounds of 1 s.
    plan = Plan([(on_sim, "global")] * 242, {}, default_item_s([(on_sim, "global")]))
    assert plan.estimate_s(5) == 49 * SIMULATED_ITEM_S


async def test_measured_jobs_drive_the_estimate(session: AsyncSession) -> None:
    assert await measured_item_s(session, 5) is None
    end = utcnow()
    session.add(CertificationJob(
        type=CertificationJobType.ALL_MODELS, status=JobStatus.COMPLETED, total_models=100,
        started_at=end - timedelta(seconds=84), completed_at=end,
    ))  # fmt: skip
    await session.commit()
    per_round = await measured_item_s(session, 5)
    assert per_round is not None and abs(per_round - 84 / 100 * 5) < 1e-6
    # 100 items again at 5 workers: 20 rounds of 4.2 s, the 84 s the last job took.
    assert abs(20 * per_round - 84) < 1e-6
