"""A follower (`myia certify`, `myia jobs show --follow`) never waits forever: a job nothing
moves gives up after its stall bound, saying so; a job whose items move does not."""

from __future__ import annotations

import pytest

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.cli.follow import engine_label, follow_job
from myia.db.engine import Database
from myia.db.enums import JobStatus
from myia.sim import load_scenario
from tests.conftest import make_settings
from tests.factories import make_sim_catalog
from tests.sim_support import SCENARIOS


async def _job(database: Database) -> str:
    scenario = load_scenario(SCENARIOS / "test-basic.yaml")
    async with database.session() as session:
        await make_sim_catalog(session, scenario, "http://127.0.0.1:9", include_openai=False)
        job, _ = await jobs.create_job(
            session=session,
            selection=JobSelection(all=True, regions=["us-east-1"]),
            default_regions=["us-east-1"],
        )
    return job.id


async def test_a_follower_gives_up_on_a_job_nothing_moves(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = await _job(database)  # no worker anywhere: its items are never taken
    result = await follow_job(database, job_id, on_item=lambda *_: None, poll_s=0.05, stall_s=0.5)
    assert result.stalled
    assert result.status is JobStatus.QUEUED  # still active: the caller exits non-zero
    assert f"No progress on job {job_id}" in capsys.readouterr().out


def test_no_wait_does_not_claim_this_command_runs_the_work() -> None:
    embedded = make_settings(QUEUE_CONCURRENCY=3)
    assert "this command runs the work" in engine_label(embedded)
    assert "this command" not in engine_label(embedded, wait=False)
