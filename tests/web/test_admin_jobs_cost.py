"""/admin/jobs takes the job API's cost cap (issue 24, point 5): a cap in USD and "allow
unpriced" reach the job; a bad amount is refused naming the field, nothing created; the job
page shows what was spent of the cap."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import CertificationJob


async def _jobs(session: AsyncSession) -> int:
    await session.rollback()  # a fresh snapshot
    return int(await session.scalar(select(func.count()).select_from(CertificationJob)) or 0)


async def test_the_start_form_takes_a_cost_cap(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    page = (await admin_client.get("/admin/jobs")).text
    assert 'name="max_cost"' in page and 'name="allow_unpriced"' in page
    token = admin_client.headers["x-test-csrf"]
    form = {"csrf_token": token, "scope": "all", "which": "", "provider": "openai"}
    before = await _jobs(session)
    for bad in ("lots", "0", "-1", "1e9"):
        refused = await admin_client.post("/admin/jobs", data={**form, "max_cost": bad})
        assert refused.status_code == 422, bad
        assert "f-max_cost-error" in refused.text, (bad, refused.text[-1500:])
    assert await _jobs(session) == before

    started = await admin_client.post(
        "/admin/jobs", data={**form, "max_cost": "0.25", "allow_unpriced": "on"}
    )
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[-1]
    await session.rollback()
    job = await session.get(CertificationJob, job_id)
    assert job is not None and job.max_cost_usd == 0.25
    assert job.config is not None and job.config["selection"]["allow_unpriced"] is True
    shown = (await admin_client.get(f"/admin/jobs/{job_id}")).text
    assert 'data-testid="job-spent"' in shown and "of $0.25" in shown
