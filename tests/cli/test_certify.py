"""`myia certify` against the simulator: in-process run with live lines and final report,
bad input (exit 1, nothing created), --no-wait, and Ctrl+C → paused → `jobs resume`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import reset_settings_cache
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import (
    CertificationJob,
    CertificationJobItem,
    ModelCertification,
    WorkerHeartbeat,
)
from myia.sim import SimServer, load_scenario, running_simulator
from myia.sim.scenario import Defaults
from tests.cli.conftest import Invoke, flat
from tests.cli.ptys import PtyProcess
from tests.factories import make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"


def seed_catalog(db_url: str, base_url: str) -> None:
    async def build(session: AsyncSession) -> None:
        await make_sim_catalog(session, load_scenario(SCENARIO), base_url)

    run_on(db_url, build)


def counts(db_url: str) -> dict[str, Any]:
    async def build(session: AsyncSession) -> dict[str, Any]:
        def count(model: Any) -> Any:
            return select(func.count()).select_from(model)

        items = (
            await session.execute(
                select(CertificationJobItem.status, func.count()).group_by(
                    CertificationJobItem.status
                )
            )
        ).all()
        return {
            "jobs": (await session.execute(count(CertificationJob))).scalar_one(),
            "certifications": (await session.execute(count(ModelCertification))).scalar_one(),
            "workers": (await session.execute(count(WorkerHeartbeat))).scalar_one(),
            "statuses": [
                j.status for j in (await session.execute(select(CertificationJob))).scalars()
            ],
            "items": {status.value: n for status, n in items},
        }

    result: dict[str, Any] = run_on(db_url, build)
    return result


def test_certify_vendor_runs_here_and_prints_each_item(
    cli_db: str, sim: SimServer, invoke: Invoke
) -> None:
    seed_catalog(cli_db, sim.base_url)
    result = invoke("certify", "--vendor", "amazon")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Items:     2 (deployment × region) over 1 model(s)" in out
    assert "Engine:    embedded — this command runs the work" in out
    assert re.search(r"✅ Job created: [0-9a-f-]{36}", out)
    assert re.search(
        rf"\[\d/2\] ✅ {re.escape(NOVA)} @ us-east-1 \(\d+\.\ds\) - CERTIFIED ★+☆* \w+", out
    ), out
    assert re.search(
        rf"\[\d/2\] ❌ {re.escape(NOVA)} @ eu-west-1 \(\d+\.\ds\) - FAILED "
        r"\(NOT_AVAILABLE_IN_REGION\)",
        out,
    ), out
    text = flat(out)
    assert "FINAL REPORT" in text and "✅ Certification finished!" in text
    assert "Total: 2 items" in text and "Success: 1 (50.0%)" in text
    assert "Failure: 1 (50.0%)" in text and "FAILED: 1" in text
    assert "myia jobs show" in text

    state = counts(cli_db)
    assert state["statuses"] == [JobStatus.COMPLETED] and state["certifications"] == 2
    assert state["items"] == {"COMPLETED": 1, "FAILED": 1}
    assert state["workers"] == 0  # the in-process worker said goodbye


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-model"], "models: unknown model(s): no-such-model"),
        (["--model", NOVA, "--all"], "--model and --all cannot be combined"),
        (["--all", "--regions", "mars-north-1"], "regions: unknown region(s): mars-north-1"),
        ([], "nothing to certify: pass --model, --vendor, --region, --all or --uncertified"),
        (["--vendor", "nobody"], "the selection matched no deployment"),
        (["--region", "atlantis-1"], "unknown region(s): atlantis-1"),
    ],
)
def test_bad_input_exits_1_on_stderr_and_creates_no_job(
    cli_db: str, invoke: Invoke, args: list[str], message: str
) -> None:
    seed_catalog(cli_db, "http://127.0.0.1:9")
    result = invoke("certify", *args)
    assert result.exit_code == 1, result.output
    assert message in flat(result.stderr)
    assert "Job created" not in result.stdout
    assert counts(cli_db)["jobs"] == 0


def test_no_wait_creates_the_job_and_returns(cli_db: str, invoke: Invoke) -> None:
    seed_catalog(cli_db, "http://127.0.0.1:9")
    result = invoke("certify", "--model", "gpt-4o", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "queued; follow it with: myia jobs show" in flat(result.stdout)
    state = counts(cli_db)
    assert state["statuses"] == [JobStatus.QUEUED] and state["items"] == {"QUEUED": 1}


# --- Ctrl+C through a real terminal ---------------------------------------------------------
@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimServer]:
    """Every call takes 80 ms: a certification run lasts long enough to interrupt."""
    scenario = load_scenario(SCENARIO).model_copy(update={"defaults": Defaults(latency=80)})
    with running_simulator(scenario) as server:
        yield server


def test_ctrl_c_pauses_the_job_and_jobs_resume_finishes_it(
    cli_db: str, slow_sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed_catalog(cli_db, slow_sim.base_url)
    env = {**os.environ, "DATABASE_URL": cli_db, "QUEUE_CONCURRENCY": "2", "NO_COLOR": "1"}
    child = PtyProcess(["certify", "--all"], env=env, cwd=tmp_path)
    try:
        child.expect(r"\[1/14\]", timeout=90)
        child.send("\x03")
        child.expect(r"myia jobs resume [0-9a-f-]{36}", timeout=60)
        code = child.wait(timeout=60)
    finally:
        child.close()
    assert code == 130, child.text[-3000:]
    assert "Job paused" in child.text
    job_id = re.findall(r"myia jobs resume ([0-9a-f-]{36})", child.text)[-1]

    paused = counts(cli_db)
    assert paused["statuses"] == [JobStatus.PAUSED]
    assert JobItemStatus.PROCESSING.value not in paused["items"]
    assert paused["items"].get("QUEUED", 0) > 0
    assert paused["workers"] == 0

    resumed = invoke("jobs", "resume", job_id)
    assert resumed.exit_code == 0, resumed.output
    assert "/14]" in resumed.stdout and "Certification finished!" in resumed.stdout
    done = counts(cli_db)
    assert done["statuses"] == [JobStatus.COMPLETED]
    assert sum(done["items"].values()) == 14 and set(done["items"]) <= {"COMPLETED", "FAILED"}
    reset_settings_cache()
