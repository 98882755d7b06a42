"""`myia recertify` (seed 002): plan, confirmation, dry run, cleanup, sequential mode with
--delay, --max-retries, --only, --expired / --older-than, the log file and the final report."""

from __future__ import annotations

import itertools
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationJobType
from myia.db.models import CertificationJob, CertificationJobItem, ModelCertification
from myia.db.types import utcnow
from myia.sim import SimServer, load_scenario
from tests.cli.conftest import Invoke, flat
from tests.cli.ptys import PtyProcess
from tests.factories import make_certification, make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"


def seed(db_url: str, base_url: str, certifications: dict[tuple[str, str], dict[str, Any]]) -> None:
    """The test-basic catalog, plus certifications keyed by (provider model id, region)."""

    async def build(session: AsyncSession) -> None:
        deployments = await make_sim_catalog(session, load_scenario(SCENARIO), base_url)
        by_id = {d.deployment_id: d for d in deployments}
        for (model, region), fields in certifications.items():
            await make_certification(session, deployment=by_id[model], region=region, **fields)

    run_on(db_url, build)


def has_row(output: str, *cells: str) -> bool:
    """A table row with these cells next to each other (Rich pads cells with spaces)."""
    return re.search(r"\s*│\s*".join(re.escape(c) for c in cells), output) is not None


def state(db_url: str) -> dict[str, Any]:
    async def build(session: AsyncSession) -> dict[str, Any]:
        certs = (await session.execute(select(ModelCertification))).scalars().all()
        jobs = (await session.execute(select(CertificationJob))).scalars().all()
        items = (
            (await session.execute(select(CertificationJobItem).order_by("claimed_at")))
            .scalars()
            .all()
        )
        return {"certs": {c.id: (c.region, c.status) for c in certs}, "jobs": jobs, "items": items}

    result: dict[str, Any] = run_on(db_url, build)
    return result


def test_without_yes_shows_the_plan_and_exits_1(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed(cli_db, sim.base_url, {(NOVA, "us-east-1"): {}})
    before = state(cli_db)
    result = invoke("recertify", "--log-dir", str(tmp_path / "logs"))
    assert result.exit_code == 1, result.output
    out = flat(result.stdout)
    assert "RECERTIFICATION PLAN" in out and "Items: 14 (deployment × region)" in out
    assert "Cleanup: delete the 1 existing certification(s) first" in out
    assert "parallel: 5 workers" in out and "Max retries: 3 per item" in out
    assert has_row(result.stdout, NOVA, "us-east-1", "CERTIFIED RECOMMENDED")
    assert "re-run with --yes" in flat(result.stderr)
    after = state(cli_db)
    assert after["certs"] == before["certs"] and after["jobs"] == []
    assert not (tmp_path / "logs").exists()


def test_dry_run_changes_nothing(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed(cli_db, sim.base_url, {(NOVA, "us-east-1"): {}})
    before = state(cli_db)
    result = invoke("recertify", "--dry-run", "--yes", "--log-dir", str(tmp_path / "logs"))
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was changed" in result.stdout
    after = state(cli_db)
    assert after["certs"] == before["certs"] and after["jobs"] == []
    assert not (tmp_path / "logs").exists()


def test_only_sequential_with_cleanup_report_and_log(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed(cli_db, sim.base_url, {(NOVA, "us-east-1"): {}, ("gpt-4o", "global"): {}})
    old_ids = set(state(cli_db)["certs"])
    logs = tmp_path / "logs"
    result = invoke(
        "recertify", "--yes", f"--only={NOVA},gpt-4o", "--delay=50", "--max-retries=1",
        "--log-dir", str(logs),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "sequential: 1 item at a time, 50 ms between items" in out
    assert "Cleanup: 2 existing certification(s) deleted" in out
    assert "RECERTIFICATION FINAL REPORT" in out and "Total items: 3" in out
    assert "✅ Success: 2 (66.7%)" in out and "❌ Failure: 1 (33.3%)" in out
    assert "Skipped: 0" in out and "Average per item:" in out
    assert "MODELS CERTIFIED SUCCESSFULLY" in out and "Badge:" in out and "Attempts: 1" in out
    assert f"MODELS THAT FAILED: {'─' * 80} 1. {NOVA} @ eu-west-1 Error: NOT_AVAILABLE" in out

    after = state(cli_db)
    (job,) = after["jobs"]
    assert job.type is CertificationJobType.RECERTIFY
    assert job.config["delay_ms"] == 50 and job.config["max_retries"] == 1
    assert job.config["cleanup"] is True
    assert len(after["certs"]) == 3 and not old_ids & set(after["certs"])
    # Sequential: each item starts after the previous one finished (one worker, a rest).
    items = after["items"]
    for previous, current in itertools.pairwise(items):
        assert current.claimed_at >= previous.finished_at + timedelta(milliseconds=40)

    (log,) = logs.glob("recertification-*.log")
    assert re.fullmatch(r"recertification-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.log", log.name)
    assert f"Log saved to: {log}" in out
    text = log.read_text()
    assert text.count("Status: success") == 2 and text.count("Status: failed") == 1
    for expected in ("delay_ms: 50", "max_retries: 1", "concurrency: 1", f"job: {job.id}"):
        assert expected in text
    assert "Error: NOT_AVAILABLE_IN_REGION" in text


def test_skip_cleanup_updates_certifications_in_place(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    seed(cli_db, sim.base_url, {("gpt-4o", "global"): {"rating": 1.0, "badge": "UNSTABLE"}})
    (old_id,) = state(cli_db)["certs"]
    result = invoke(
        "recertify", "--yes", "--only", "gpt-4o", "--skip-cleanup", "--log-dir", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "Cleanup: skipped (--skip-cleanup)" in flat(result.stdout)
    assert list(state(cli_db)["certs"]) == [old_id]


def test_expired_and_older_than_select_what_they_say(
    cli_db: str, sim: SimServer, invoke: Invoke, tmp_path: Path
) -> None:
    past = utcnow() - timedelta(days=40)
    seed(
        cli_db,
        sim.base_url,
        {
            (NOVA, "us-east-1"): {"expires_at": utcnow() - timedelta(hours=1)},
            ("gpt-4o", "global"): {"last_tested_at": past, "certified_at": past},
        },
    )
    expired = invoke("recertify", "--expired", "--dry-run")
    assert expired.exit_code == 0, expired.output
    assert "Items: 1 (deployment × region)" in flat(expired.stdout)
    assert has_row(expired.stdout, NOVA, "us-east-1")
    older = invoke("recertify", "--older-than", "30d", "--dry-run")
    assert "Items: 1 (deployment × region)" in flat(older.stdout)
    assert has_row(older.stdout, "gpt-4o", "global")
    none = invoke("recertify", "--older-than", "8w", "--yes")
    assert none.exit_code == 0 and "Nothing to recertify" in none.stdout

    ran = invoke("recertify", "--expired", "--yes", "--log-dir", str(tmp_path))
    assert ran.exit_code == 0, ran.output
    (job,) = state(cli_db)["jobs"]
    assert job.total_models == 1 and job.type is CertificationJobType.RECERTIFY

    for args, message in [
        (["--expired", "--older-than", "30d"], "--expired and --older-than cannot be combined"),
        (["--older-than", "soon"], "--older-than: expected a number of days"),
        (["--only", "nope", "--yes"], "unknown model(s): nope"),
        (["--regions", "mars-north-1", "--yes"], "unknown region(s): mars-north-1"),
    ]:
        refused = invoke("recertify", *args)
        assert refused.exit_code == 1 and message in flat(refused.stderr), refused.output
    assert len(state(cli_db)["jobs"]) == 1


def test_interactive_confirmation_can_decline(cli_db: str, sim: SimServer, tmp_path: Path) -> None:
    seed(cli_db, sim.base_url, {})
    env = {**os.environ, "DATABASE_URL": cli_db, "NO_COLOR": "1"}
    child = PtyProcess(["recertify", "--only", "gpt-4o"], env=env, cwd=tmp_path)
    try:
        child.expect(r"Recertify these 1 item\(s\)\? \[Y/n\]", timeout=60)
        child.send("n\n")
        assert child.wait(timeout=30) == 1
    finally:
        child.close()
    assert "cancelled: nothing was changed" in child.text
    assert state(cli_db)["jobs"] == []
