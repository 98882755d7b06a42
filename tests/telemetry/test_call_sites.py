"""Every provider call lands in api_call_logs: certification, discovery, credential checks —
failures included — through the providers' hook, as the app, the worker and the CLI run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import discover_models
from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.models import ApiCallLog
from myia.providers.errors import ProviderError
from myia.queue.execute import Executor
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import SimServer
from myia.telemetry.hook import call_logging
from tests.conftest import make_settings
from tests.factories import make_sim_catalog

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "test-basic.yaml"
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"  # access denied in eu-west-1


pytestmark = pytest.mark.usefixtures("sim_credentials")


async def _rows(database: Database, operation: str) -> list[ApiCallLog]:
    async with database.session() as session:
        query = select(ApiCallLog).where(ApiCallLog.operation == operation)
        return list((await session.scalars(query)).all())


async def test_certification_calls_are_logged_per_deployment(
    database: Database, db_url: str, sim: SimServer
) -> None:
    async with database.session() as session:
        deployments = await make_sim_catalog(session, sim.scenario, sim.base_url)
        _, items = await jobs.create_job(
            session=session,
            selection=JobSelection(models=[SONNET, LLAMA], regions=["eu-west-1"]),
            default_regions=[],
        )
    by_id = {d.deployment_id: d.id for d in deployments}
    settings = make_settings(DATABASE_URL=db_url, RATE_LIMIT_RPS=500, QUEUE_MAX_RETRIES=0)
    executor = Executor(database, settings, LocalLimiterPool(), "telemetry-test")
    async with call_logging(database):
        for item_id in items:
            await executor.run(item_id)
        await executor.aclose()
    rows = await _rows(database, "certification")
    sonnet = [r for r in rows if r.deployment_id == by_id[SONNET]]
    llama = [r for r in rows if r.deployment_id == by_id[LLAMA]]
    assert sonnet and all(r.region == "eu-west-1" for r in sonnet)
    assert any(r.status == "success" and r.tokens_out for r in sonnet)
    assert all(r.cost is not None for r in sonnet if r.status == "success")
    assert llama and all(r.status == "error" for r in llama)
    assert {r.error_category for r in llama} == {"ACCESS_DENIED"}
    assert all(r.provider == "bedrock" for r in rows)


async def test_discovery_and_credential_checks_are_logged_failures_included(
    database: Database, sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from myia.credentials.checks import check_credentials
    from tests.factories import make_provider

    async with database.session() as session:
        await make_provider(session, slug="openai", name="OpenAI (simulated)",
                            base_url=f"{sim.base_url}/openai/v1", is_simulated=True)  # fmt: skip
    # One short session per command, as the CLI runs them.
    async with call_logging(database):
        async with database.session() as session:
            report = await discover_models(
                session=session, cache=CatalogCache(), provider_slug="openai", dry_run=True
            )
        assert report.listed > 0
        async with database.session() as session:
            ok = await check_credentials(session=session, secret="s", provider_slug="openai")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-invalid")
        async with database.session() as session:
            refused = await check_credentials(session=session, secret="s", provider_slug="openai")
        async with database.session() as session:
            with pytest.raises(ProviderError) as raised:
                await discover_models(
                    session=session, cache=CatalogCache(), provider_slug="openai", dry_run=True
                )
        assert raised.value.category.value == "AUTH"
    assert ok[0].ok and not refused[0].ok
    discovery = sorted(await _rows(database, "discovery"), key=lambda r: r.created_at)
    assert [(r.status, r.provider) for r in discovery] == [
        ("success", "openai"),
        ("error", "openai"),
    ]
    assert discovery[1].error_category == "AUTH"
    checks = sorted(await _rows(database, "credential_validation"), key=lambda r: r.created_at)
    assert [r.status for r in checks] == ["success", "error"]
    assert checks[1].error_category == "AUTH" and checks[1].error
