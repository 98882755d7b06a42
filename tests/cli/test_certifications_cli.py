"""`myia certifications check | clear | uncertified` on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationStatus
from myia.db.models import ModelCertification
from myia.db.types import utcnow
from myia.sim import load_scenario
from tests.cli.conftest import Invoke, flat
from tests.factories import make_certification, make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"
CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.fixture
def cli_db(cli_db: str) -> str:
    """The shared `cli_db` (tests/cli/conftest.py), with this module's catalog."""
    db_url = cli_db

    async def build(session: AsyncSession) -> None:
        deployments = await make_sim_catalog(session, load_scenario(SCENARIO), "http://127.0.0.1:9")
        by_id = {d.deployment_id: d for d in deployments}
        await make_certification(
            session, deployment=by_id[NOVA], region="us-east-1", badge="PREMIUM", rating=4.9
        )
        await make_certification(
            session,
            deployment=by_id[NOVA],
            region="eu-west-1",
            status=CertificationStatus.FAILED,
            badge="FAILED",
            rating=0.0,
            error_category="NOT_AVAILABLE_IN_REGION",
        )
        await make_certification(
            session,
            deployment=by_id[CLAUDE],
            region="us-east-1",
            expires_at=utcnow() - timedelta(days=2),
        )
        await make_certification(session, deployment=by_id["gpt-4o"], region="global")

    run_on(db_url, build)
    return db_url


def rows(output: str) -> list[tuple[str, str]]:
    """(deployment, region) of each table row."""
    found = re.findall(r"│\s*[^│]*│\s*([\w.:-]+)\s*│\s*\w+\s*│\s*([\w-]+)\s*│", output)
    return [(d, r) for d, r in found if d != "deployment"]


def certification_count(db_url: str) -> int:
    async def build(session: AsyncSession) -> int:
        query = select(func.count()).select_from(ModelCertification)
        return int((await session.execute(query)).scalar_one())

    result: int = run_on(db_url, build)
    return result


def test_check_lists_and_filters(cli_db: str, invoke: Invoke) -> None:
    result = invoke("certifications", "check")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        (NOVA, "eu-west-1"),
        (NOVA, "us-east-1"),
        (CLAUDE, "us-east-1"),
        ("gpt-4o", "global"),
    ]
    out = flat(result.stdout)
    assert "Certifications (4)" in out and "CERTIFIED (expired)" in out
    assert "NOT_AVAILABLE_IN_REGION" in out and "★★★★★ 4.9" in out
    assert "By status: CERTIFIED 3, FAILED 1" in out
    assert "1 expired: `myia recertify --expired` renews them" in out

    def filtered(*args: str) -> list[tuple[str, str]]:
        found = invoke("certifications", "check", *args)
        assert found.exit_code == 0, found.output
        return rows(found.stdout)

    assert filtered("--status", "FAILED") == [(NOVA, "eu-west-1")]
    assert filtered("--region", "us-east-1", "--vendor", "amazon") == [(NOVA, "us-east-1")]
    assert filtered("--badge", "PREMIUM") == [(NOVA, "us-east-1")]
    assert filtered("--deployment", "gpt-4o") == [("gpt-4o", "global")]
    assert filtered("--provider", "openai") == [("gpt-4o", "global")]
    empty = invoke("certifications", "check", "--region", "ap-south-1")
    assert "No certification matches" in empty.stdout

    bad_region = invoke("certifications", "check", "--region", "mars-north-1")
    assert bad_region.exit_code == 1 and "unknown region: mars-north-1" in bad_region.stderr
    bad_status = invoke("certifications", "check", "--status", "GREAT")
    assert bad_status.exit_code == 2 and "GREAT" in bad_status.stderr


def test_clear_asks_supports_dry_run_and_filters(cli_db: str, invoke: Invoke) -> None:
    dry = invoke("certifications", "clear", "--dry-run", "--status", "FAILED")
    assert dry.exit_code == 0, dry.output
    assert "1 certification(s) matching the filters would be deleted" in flat(dry.stdout)
    assert certification_count(cli_db) == 4

    refused = invoke("certifications", "clear")
    assert refused.exit_code == 1 and "without --yes" in flat(refused.stderr)
    assert "4 certification(s) (ALL of them)" in flat(refused.stdout)
    assert certification_count(cli_db) == 4

    declined = invoke("certifications", "clear", "--vendor", "amazon", input="n\n")
    assert declined.exit_code == 1 and certification_count(cli_db) == 4

    failed = invoke("certifications", "clear", "--yes", "--status", "FAILED")
    assert failed.exit_code == 0 and "1 certification(s) deleted" in failed.stdout
    assert certification_count(cli_db) == 3
    everything = invoke("certifications", "clear", "-y")
    assert everything.exit_code == 0 and "3 certification(s) deleted" in everything.stdout
    assert certification_count(cli_db) == 0
    nothing = invoke("certifications", "clear", "-y")
    assert nothing.exit_code == 0 and "0 certification(s)" in nothing.stdout


def test_uncertified_lists_missing_pairs(cli_db: str, invoke: Invoke) -> None:
    result = invoke("certifications", "uncertified")
    assert result.exit_code == 0, result.output
    # 6 Bedrock chat models × 2 regions + 2 OpenAI models (global), minus 4 certified pairs.
    assert "Without a certification (10)" in result.stdout
    missing = re.findall(r"│\s*([\w.:-]+)\s*│\s*\w+\s*│\s*([\w-]+)\s*│\s*$", result.stdout, re.M)
    assert (CLAUDE, "eu-west-1") in missing and ("gpt-3.5-turbo", "global") in missing
    assert (NOVA, "us-east-1") not in missing and ("gpt-4o", "global") not in missing

    west = invoke("certifications", "uncertified", "--regions", "us-west-2", "--vendor", "amazon")
    assert "Without a certification (1)" in west.stdout and "us-west-2" in west.stdout
    covered = invoke("certifications", "uncertified", "--provider", "openai")
    assert "Without a certification (1)" in covered.stdout
    bad = invoke("certifications", "uncertified", "--regions", "mars-north-1")
    assert bad.exit_code == 1 and "unknown region(s): mars-north-1" in bad.stderr


def test_uncertified_says_when_everything_is_covered(cli_db: str, invoke: Invoke) -> None:
    result = invoke("certifications", "uncertified", "--provider", "openai", "--vendor", "openai")
    assert "Without a certification (1)" in result.stdout

    async def certify_rest(session: AsyncSession) -> None:
        from myia.db.models import ModelDeployment

        gpt35 = (
            await session.execute(
                select(ModelDeployment).where(ModelDeployment.deployment_id == "gpt-3.5-turbo")
            )
        ).scalar_one()
        await make_certification(session, deployment=gpt35, region="global")

    run_on(cli_db, certify_rest)
    done = invoke("certifications", "uncertified", "--provider", "openai")
    assert done.exit_code == 0 and "Every active deployment has a certification" in done.stdout


def test_show_and_check_print_the_measured_figures(cli_db: str, invoke: Invoke) -> None:
    async def measured(session: AsyncSession) -> None:
        cert = (
            await session.execute(
                select(ModelCertification).where(ModelCertification.region == "us-east-1")
            )
        ).scalars()
        for row in cert:
            row.tool_schema_accuracy, row.tool_trigger_f1 = 0.8, 1.0
            row.latency_p50_ms, row.latency_p95_ms, row.transient_errors = 12.0, 40.0, 3
            row.test_results = [
                {"name": "basic_completion", "status": "passed", "detail": "ok", "samples": []},
                {
                    "name": "tool_calling",
                    "status": "failed",
                    "detail": "schema accuracy 80% (8/10 calls valid, min 90%)",
                    "samples": [{"status": "failed"}],
                },
            ]
        failed = (
            await session.execute(
                select(ModelCertification).where(ModelCertification.region == "eu-west-1")
            )
        ).scalar_one()
        failed.partial_rating = 4.1
        await session.commit()

    run_on(cli_db, measured)
    shown = invoke("certifications", "show", NOVA, "--region", "us-east-1")
    assert shown.exit_code == 0, shown.output
    out = flat(shown.stdout)
    assert "tools 80% valid, F1 1.00" in out and "p50 12ms, p95 40ms" in out
    assert "3 transient errors" in out and "tool_calling: failed" in out
    table = flat(invoke("certifications", "check", "--deployment", NOVA).stdout)
    assert "tools 80% valid" in table
    # A FAILED row reads rating 0 with its partial score, never stars and a 4.1.
    assert "❌ 0 (partial 4.1)" in table and "☆☆☆☆☆ 4.1" not in table


def test_certify_uncertified_queues_only_the_missing_pairs(cli_db: str, invoke: Invoke) -> None:
    from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment

    result = invoke("certify", "--uncertified", "--no-wait")
    assert result.exit_code == 0, result.output

    async def queued(session: AsyncSession) -> list[list[tuple[str, str]]]:
        """Each job's (deployment, region) items, oldest job first."""
        jobs = (
            await session.execute(select(CertificationJob.id).order_by(CertificationJob.created_at))
        ).scalars()
        found = []
        for job_id in jobs.all():
            items = await session.execute(
                select(ModelDeployment.deployment_id, CertificationJobItem.region)
                .join(ModelDeployment, CertificationJobItem.deployment_id == ModelDeployment.id)
                .where(CertificationJobItem.job_id == job_id)
            )
            found.append(sorted((d, r) for d, r in items.all()))
        return found

    jobs = run_on(cli_db, queued)
    assert len(jobs) == 1
    pairs = set(jobs[0])
    # The 10 pairs `certifications uncertified` lists, and none that has a row (even an
    # expired or a failed one).
    assert len(jobs[0]) == len(pairs) == 10
    assert (CLAUDE, "eu-west-1") in pairs and ("gpt-3.5-turbo", "global") in pairs
    for certified in ((NOVA, "us-east-1"), (NOVA, "eu-west-1"), (CLAUDE, "us-east-1")):
        assert certified not in pairs
    assert ("gpt-4o", "global") not in pairs

    # Combined with another selection: only that vendor's missing pairs.
    openai_only = invoke("certify", "--uncertified", "--vendor", "openai", "--no-wait")
    assert openai_only.exit_code == 0, openai_only.output
    assert run_on(cli_db, queued)[1] == [("gpt-3.5-turbo", "global")]
