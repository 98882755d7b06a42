"""`seed_database`: counts, idempotency, prices from the file, consistent demo telemetry."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.service import authenticate
from myia.db.engine import Database
from myia.db.enums import AuthType, CapabilitiesSource, UserRole
from myia.db.models import (
    ApiCallLog,
    BaseModel,
    Chat,
    Message,
    ModelDeployment,
    Provider,
    User,
    UserSettings,
)
from myia.maintenance.pricing_file import price_for
from myia.maintenance.seed import seed_database
from tests.maintenance.test_pricing_file import BASIC_MODELS

COUNTED = {
    "providers": Provider,
    "base_models": BaseModel,
    "model_deployments": ModelDeployment,
    "users": User,
    "user_settings": UserSettings,
    "chats": Chat,
    "messages": Message,
    "api_call_logs": ApiCallLog,
}
CATALOG = {"providers": 4, "base_models": 6, "model_deployments": 6}
DEMO = {"users": 2, "user_settings": 2, "chats": 3, "messages": 12, "api_call_logs": 6}


async def _counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED.items()
        }


async def _seed(database: Database, *, demo: bool) -> dict[str, int]:
    async with database.session() as session:
        report = await seed_database(session=session, demo=demo)
    return dict(report.created)


async def test_basic_seed_creates_the_catalog_and_no_users(database: Database) -> None:
    created = await _seed(database, demo=False)
    assert created == CATALOG
    counts = await _counts(database)
    assert {k: counts[k] for k in CATALOG} == CATALOG
    assert all(counts[k] == 0 for k in DEMO)  # demo users only with --demo


async def test_demo_seed_counts_and_second_run_adds_nothing(database: Database) -> None:
    first = await _seed(database, demo=True)
    assert first == {**CATALOG, **DEMO}
    assert await _counts(database) == {**CATALOG, **DEMO}
    async with database.session() as session:
        again = await seed_database(session=session, demo=True)
    assert again.total_created == 0 and again.chats_skipped == 3
    assert all(not p.created for p in again.providers)
    assert await _counts(database) == {**CATALOG, **DEMO}


async def test_providers_and_deployment_prices(database: Database) -> None:
    await _seed(database, demo=False)
    async with database.session() as session:
        providers = {p.slug: p for p in (await session.scalars(select(Provider))).all()}
        rows = (
            await session.execute(
                select(Provider.slug, ModelDeployment).join(
                    Provider, Provider.id == ModelDeployment.provider_id
                )
            )
        ).all()
    assert providers["openai"].base_url == "https://api.openai.com/v1"
    assert providers["groq"].base_url == "https://api.groq.com/openai/v1"
    assert providers["together"].base_url == "https://api.together.xyz/v1"
    assert providers["bedrock"].base_url is None
    assert providers["bedrock"].auth_type == AuthType.AWS_CREDENTIALS
    assert providers["openai"].auth_type == AuthType.API_KEY
    prices = {
        (slug, d.deployment_id): (d.cost_per_1m_input, d.cost_per_1m_output) for slug, d in rows
    }
    assert prices == BASIC_MODELS
    assert all(price_for(*key) == value for key, value in prices.items())
    assert all(d.capabilities_source == CapabilitiesSource.MANUAL for _, d in rows)


async def test_base_models_carry_capabilities(session: AsyncSession) -> None:
    await seed_database(session=session)
    models = {m.name: m for m in (await session.scalars(select(BaseModel))).all()}
    assert set(models) == {
        "GPT-4 Turbo",
        "GPT-3.5 Turbo",
        "Llama 3.3 70B",
        "Llama 3.1 8B",
        "GPT-OSS 120B",
        "Qwen 2.5 7B",
    }
    keys = {
        "streaming",
        "vision",
        "tool_calling",
        "json_output",
        "max_context_window",
        "max_output_tokens",
    }
    assert all(keys <= set(m.capabilities) for m in models.values())
    assert models["GPT-4 Turbo"].capabilities["vision"] is True
    assert models["Llama 3.3 70B"].vendor == "meta" and models["Llama 3.3 70B"].family
    assert all(m.version for m in models.values())


async def test_demo_users_log_in_with_their_roles(session: AsyncSession) -> None:
    await seed_database(session=session, demo=True)
    leo = await authenticate(session=session, email="leo@leo.com", password="leoleo")
    admin = await authenticate(session=session, email="123@123.com", password="123123")
    assert (leo.role, leo.name) == (UserRole.USER, "Leo")
    assert admin.role == UserRole.ADMIN
    assert leo.password_hash.startswith("$argon2")
    theme = await session.scalar(select(UserSettings.theme).where(UserSettings.user_id == leo.id))
    assert theme == "light"


async def test_every_demo_message_is_consistent(session: AsyncSession) -> None:
    await seed_database(session=session, demo=True)
    leo = await session.scalar(select(User).where(User.email == "leo@leo.com"))
    assert leo is not None
    chats = (await session.scalars(select(Chat).where(Chat.user_id == leo.id))).all()
    assert len(chats) == 3
    deployments = {d.id: d for d in (await session.scalars(select(ModelDeployment))).all()}
    slugs = {p.id: p.slug for p in (await session.scalars(select(Provider))).all()}
    logs = {log.message_id: log for log in (await session.scalars(select(ApiCallLog))).all()}
    assistants = 0
    for chat in chats:
        messages = (
            await session.scalars(
                select(Message).where(Message.chat_id == chat.id).order_by(Message.created_at)
            )
        ).all()
        assert [m.role for m in messages] == ["user", "assistant"] * (len(messages) // 2)
        history: list[dict[str, str]] = []
        for message in messages:
            if message.role == "user":
                history.append({"role": "user", "content": message.content})
                continue
            assistants += 1
            deployment = deployments[message.deployment_id or ""]
            assert message.tokens_in and message.tokens_out and message.region
            assert message.latency_ms and message.time_to_first_token_ms
            assert message.time_to_first_token_ms < message.latency_ms
            expected = (
                message.tokens_in / 1e6 * deployment.cost_per_1m_input
                + message.tokens_out / 1e6 * deployment.cost_per_1m_output
            )
            assert message.cost == pytest.approx(expected, rel=1e-12)
            context = message.sent_context or {}
            assert context["model"] == deployment.deployment_id
            assert context["provider"] == slugs[deployment.provider_id]
            assert context["params"]
            assert context["messages"][0]["role"] == "system"
            assert context["messages"][1:] == history  # every earlier turn, then the question
            history.append({"role": "assistant", "content": message.content})
            log = logs[message.id]
            assert (log.user_id, log.deployment_id) == (leo.id, deployment.id)
            assert (log.provider, log.model) == (context["provider"], deployment.deployment_id)
            assert (log.tokens_in, log.tokens_out) == (message.tokens_in, message.tokens_out)
            assert (log.cost, log.latency_ms) == (message.cost, message.latency_ms)
            assert (log.status, log.region) == ("success", message.region)
    assert assistants == 6 == len(logs)


async def test_seed_keeps_what_an_operator_changed(session: AsyncSession) -> None:
    await seed_database(session=session)
    openai = await session.scalar(select(Provider).where(Provider.slug == "openai"))
    assert openai is not None
    openai.base_url = "https://proxy.internal/v1"
    await session.commit()
    report = await seed_database(session=session)
    assert report.total_created == 0
    await session.refresh(openai)
    assert openai.base_url == "https://proxy.internal/v1"
    per_provider: dict[str, int] = defaultdict(int)
    for provider in report.providers:
        per_provider[provider.slug] = provider.models
    assert per_provider == {"openai": 2, "groq": 2, "together": 2, "bedrock": 0}
