"""`myia manage` through a real pseudo-terminal: status, statistics, job history, job
details, pause, sync, exit — against a seeded database."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.enums import JobStatus, UserRole
from myia.db.models import CertificationJob
from myia.sim import load_scenario
from tests.cli.ptys import PtyProcess
from tests.factories import CERTIFY_CLI_ENV, make_sim_catalog, make_user, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
PROMPT = r"Choose an option \[1-15\]"


@pytest.fixture
def seeded(db_url: str, use_database: Callable[[str], Path]) -> tuple[str, str]:
    """A catalog, an admin and one queued job; returns (database URL, job id)."""
    use_database(db_url)

    async def build(session: AsyncSession) -> str:
        await make_sim_catalog(session, load_scenario(SCENARIO), "http://127.0.0.1:9")
        await make_user(session, role=UserRole.ADMIN)
        job, _ = await jobs.create_job(
            session=session,
            selection=JobSelection(vendor="amazon"),
            default_regions=["us-east-1", "eu-west-1"],
        )
        return job.id

    return db_url, run_on(db_url, build)


def test_menu_status_statistics_history_details_pause_sync_exit(
    seeded: tuple[str, str], tmp_path: Path
) -> None:
    db_url, job_id = seeded
    env = {**os.environ, **CERTIFY_CLI_ENV, "DATABASE_URL": db_url, "NO_COLOR": "1"}
    child = PtyProcess(["manage", "--api-url", "http://127.0.0.1:9"], env=env, cwd=tmp_path)
    try:
        at = child.expect(PROMPT, timeout=60)
        head = child.text[:at]
        assert "MYIA — MODEL CERTIFICATION MANAGER" in head
        assert "Database:  ✅" in head and "Queue:     ✅ embedded" in head
        assert "Workers:   ⚪ none alive" in head and "API:       ⚪ not answering" in head
        assert "Acting as: the local operator — direct database access" in head
        assert "Admins:    user" in head
        for n, label in enumerate(("Certify one model", "Statistics", "Exit"), start=1):
            assert label in head, n
        assert "15) 🚪 Exit" in head

        child.send("6\n")
        at = child.expect(r"Queue statistics — engine: embedded", start=at)
        at = child.expect(r"waiting.*active.*delayed.*completed.*failed", start=at)
        at = child.expect(r"Jobs in progress", start=at)
        at = child.expect(PROMPT, start=at)

        child.send("7\n")
        at = child.expect(r"Job history \(1\)", start=at)
        at = child.expect(job_id[:8], start=at)
        at = child.expect(PROMPT, start=at)

        child.send("8\n")
        at = child.expect(r"Job id \(", start=at)
        child.send("\n")  # the latest job is the default
        at = child.expect(rf"Job {job_id}", start=at)
        at = child.expect(r"Items:\s+QUEUED 2", start=at)
        at = child.expect(PROMPT, start=at)

        child.send("9\n")
        at = child.expect(r"Job id \(", start=at)
        child.send("\n")
        at = child.expect(rf"Job {job_id} is PAUSED", start=at)
        at = child.expect(PROMPT, start=at)

        child.send("12\n")
        at = child.expect(r"synchronised: 0 re-enqueued, 0 dropped, 0 recovered", start=at)
        at = child.expect(PROMPT, start=at)

        child.send("42\n")  # not an option: asked again
        at = child.expect(r"Please select one of the available options", start=at)
        child.send("15\n")
        child.expect(r"Bye!", start=at)
        assert child.wait(timeout=30) == 0
    finally:
        child.close()

    async def status(session: AsyncSession) -> JobStatus:
        job = await session.get(CertificationJob, job_id)
        assert job is not None
        return job.status

    assert run_on(db_url, status) is JobStatus.PAUSED
