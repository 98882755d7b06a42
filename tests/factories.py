"""Factories for test data: one place to make users, tokens and catalog rows."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.service import create_user
from myia.db.enums import AuthType, InferenceType, UserRole
from myia.db.models import BaseModel, ModelDeployment, Provider, User

_seq = itertools.count(1)
# Emails unique across processes too: with REDIS_URL, login throttling counts failures per
# email in Redis, which outlives a test process and is shared by concurrent runs.
_RUN = uuid.uuid4().hex[:8]


async def make_user(
    session: AsyncSession, *, role: UserRole = UserRole.USER, password: str = "secret-pw"
) -> User:
    n = next(_seq)
    return await create_user(
        session=session,
        email=f"user{n}-{_RUN}@example.com",
        password=password,
        name=f"User {n}",
        role=role,
    )


async def login(client: httpx.AsyncClient, email: str, password: str = "secret-pw") -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def auth_headers(
    client: httpx.AsyncClient, session: AsyncSession, *, role: UserRole = UserRole.USER
) -> dict[str, str]:
    user = await make_user(session, role=role)
    return {"Authorization": f"Bearer {await login(client, user.email)}"}


async def make_provider(session: AsyncSession, **fields: Any) -> Provider:
    n = next(_seq)
    values: dict[str, Any] = {
        "slug": f"prov{n}",
        "name": f"Provider {n}",
        "auth_type": AuthType.API_KEY,
    }
    values.update(fields)
    provider = Provider(**values)
    session.add(provider)
    await session.commit()
    return provider


async def make_base_model(session: AsyncSession, **fields: Any) -> BaseModel:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"Model {n}",
        "vendor": "acme",
        "family": "anvil",
        "capabilities": {
            "streaming": True,
            "vision": False,
            "tool_calling": True,
            "json_output": True,
            "max_context_window": 8192,
            "max_output_tokens": 2048,
        },
    }
    values.update(fields)
    model = BaseModel(**values)
    session.add(model)
    await session.commit()
    return model


async def make_deployment(
    session: AsyncSession, *, base_model: BaseModel, provider: Provider, **fields: Any
) -> ModelDeployment:
    n = next(_seq)
    values: dict[str, Any] = {
        "deployment_id": f"acme.model-{n}-v1:0",
        "inference_type": InferenceType.ON_DEMAND,
        "cost_per_1m_input": 1.0,
        "cost_per_1m_output": 2.0,
    }
    values.update(fields)
    deployment = ModelDeployment(base_model_id=base_model.id, provider_id=provider.id, **values)
    session.add(deployment)
    await session.commit()
    return deployment


# --- catalog tests: bearer tokens without the argon2 round trip ----------------------------
# Hashing plus verifying a password costs ~0.75 s; tests that only need *a* bearer (not the
# login flow, covered in tests/auth) mint one directly for a user stored with a shared hash.
_SHARED_PASSWORD_HASH: list[str] = []


async def bearer_headers(
    session: AsyncSession, *, role: UserRole = UserRole.USER
) -> dict[str, str]:
    from myia.auth.passwords import hash_password
    from myia.auth.tokens import create_access_token
    from myia.config import DEMO_JWT_SECRET
    from myia.db.models import UserSettings

    if not _SHARED_PASSWORD_HASH:
        _SHARED_PASSWORD_HASH.append(hash_password("secret-pw"))
    n = next(_seq)
    user = User(email=f"bearer{n}@example.com", password_hash=_SHARED_PASSWORD_HASH[0],
                name=f"Bearer {n}", role=role)  # fmt: skip
    user.settings = UserSettings()
    session.add(user)
    await session.commit()
    token = create_access_token(user_id=user.id, role=role, secret=DEMO_JWT_SECRET, ttl_minutes=60)
    return {"Authorization": f"Bearer {token}"}


def capabilities(**flags: bool) -> dict[str, Any]:
    """A base model's capabilities: streaming only unless flags say otherwise."""
    return {"streaming": True, "vision": False, "tool_calling": False, "json_output": False,
            "max_context_window": 8192, "max_output_tokens": 2048, **flags}  # fmt: skip


async def make_small_catalog(session: AsyncSession) -> dict[str, Any]:
    """Two providers, four models, three deployments: enough for every catalog filter.

    Claude (Anthropic, vision + tools) on bedrock as INFERENCE_PROFILE; GPT-4o (OpenAI,
    vision) on openai; Llama (Meta) on bedrock, inactive; Mistral with no deployment.
    """
    bedrock = await make_provider(session, slug="bedrock", name="AWS Bedrock")
    openai = await make_provider(session, slug="openai", name="OpenAI")
    claude = await make_base_model(
        session,
        name="Claude 3.5 Sonnet",
        vendor="Anthropic",
        family="Claude",
        capabilities=capabilities(vision=True, tool_calling=True),
    )
    gpt = await make_base_model(
        session,
        name="GPT-4o",
        vendor="OpenAI",
        family="GPT",
        capabilities=capabilities(vision=True),
    )
    llama = await make_base_model(
        session, name="Llama 3.1 70B", vendor="Meta", family="Llama", capabilities=capabilities()
    )
    mistral = await make_base_model(
        session,
        name="Mistral Large",
        vendor="Mistral",
        family="Mistral",
        capabilities=capabilities(),
    )
    return {
        "bedrock": bedrock, "openai": openai,
        "claude": claude, "gpt": gpt, "llama": llama, "mistral": mistral,
        "claude@bedrock": await make_deployment(
            session, base_model=claude, provider=bedrock, deployment_id="claude-35",
            inference_type=InferenceType.INFERENCE_PROFILE),
        "gpt@openai": await make_deployment(
            session, base_model=gpt, provider=openai, deployment_id="gpt-4o"),
        "llama@bedrock": await make_deployment(
            session, base_model=llama, provider=bedrock, deployment_id="llama-70b",
            is_active=False),
    }  # fmt: skip


SIM_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000001",
    "AWS_SECRET_ACCESS_KEY": "simulated-secret-key-000000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "OPENAI_API_KEY": "sk-sim-test-0000",
}


async def make_sim_catalog(
    session: AsyncSession, scenario: Any, base_url: str, *, include_openai: bool = True
) -> list[ModelDeployment]:
    """Catalog rows for every chat model of a simulator scenario, pointing at the simulator.

    Claimed capabilities come from the scenario's listing claims, so certification outcomes
    can be compared with `scenario.expected_outcome`.
    """
    ours = {
        "tools": "tool_calling",
        "vision": "vision",
        "json": "json_output",
        "streaming": "streaming",
    }

    def capabilities(spec: Any) -> dict[str, Any]:
        claims = spec.claims.capabilities()
        return {mine: theirs in claims for theirs, mine in ours.items()}

    bedrock = await make_provider(
        session,
        slug="bedrock",
        name="AWS Bedrock (simulated)",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=base_url,
        is_simulated=True,
    )
    deployments = []
    for spec in scenario.models:
        if not spec.is_chat:
            continue
        base = await make_base_model(
            session, name=spec.display_name, vendor=spec.provider, capabilities=capabilities(spec)
        )
        kind = (
            InferenceType.ON_DEMAND
            if "ON_DEMAND" in spec.inference_types
            else InferenceType.INFERENCE_PROFILE
        )
        deployments.append(
            await make_deployment(
                session,
                base_model=base,
                provider=bedrock,
                deployment_id=spec.id,
                inference_type=kind,
            )
        )
    if include_openai:
        for provider_spec in scenario.openai_providers:
            provider = await make_provider(
                session,
                slug=provider_spec.slug,
                name=f"{provider_spec.slug} (simulated)",
                base_url=f"{base_url}/{provider_spec.slug}/v1",
                is_simulated=True,
            )
            for spec in provider_spec.models:
                base = await make_base_model(
                    session,
                    name=f"{provider_spec.slug} {spec.id}",
                    vendor=provider_spec.slug,
                    capabilities=capabilities(spec),
                )
                deployments.append(
                    await make_deployment(
                        session, base_model=base, provider=provider, deployment_id=spec.id
                    )
                )
    return deployments


async def make_certification(
    session: AsyncSession, *, deployment: ModelDeployment, region: str = "us-east-1", **fields: Any
) -> Any:
    """A stored certification result (CERTIFIED, 4.0★ RECOMMENDED unless told otherwise)."""
    from datetime import timedelta

    from myia.db.enums import CertificationStatus
    from myia.db.models import ModelCertification
    from myia.db.types import utcnow

    now = utcnow()
    values: dict[str, Any] = {
        "status": CertificationStatus.CERTIFIED, "rating": 4.0, "badge": "RECOMMENDED",
        "success_rate": 1.0, "avg_latency_ms": 850, "tests_passed": 8, "tests_failed": 0,
        "certified_at": now, "last_tested_at": now, "expires_at": now + timedelta(days=30),
    }  # fmt: skip
    values.update(fields)
    row = ModelCertification(deployment_id=deployment.id, region=region, **values)
    session.add(row)
    await session.commit()
    return row


# --- certification CLI tests: sync tests, each command runs its own event loop ------------------
# The simulator's credentials, both test-basic regions, and a rate limiter that does not slow
# a test down (the simulator has no quota in test-basic).
CERTIFY_CLI_ENV = {
    **SIM_AWS_ENV,
    "MYIA_MODE": "test",
    "LOG_TO_DB": "false",
    "CERTIFICATION_REGIONS": "us-east-1,eu-west-1",
    "RATE_LIMIT_RPS": "200",
    "QUEUE_RETRY_BACKOFF_S": "0.2",
}


def run_on(db_url: str, build: Any) -> Any:
    """Run `await build(session)` on a fresh connection to `db_url`, from a sync test."""
    import asyncio

    from myia.db.engine import Database

    async def main() -> Any:
        database = Database(db_url)
        try:
            async with database.session() as session:
                return await build(session)
        finally:
            await database.dispose()

    return asyncio.run(main())


async def make_chat_history(
    session: AsyncSession, *, user_id: str, messages: int, title: str = "Long chat"
) -> str:
    """A chat of `messages` stored turns (user, assistant, …), inserted directly — no model
    called. Pairs share a timestamp, as a question and its answer can on a coarse clock, so
    ordering ties are broken by id. Assistant turns carry a `sent_context`. The chat's id."""
    from datetime import timedelta

    from myia.db.models import Chat, Message
    from myia.db.types import utcnow

    chat = Chat(user_id=user_id, title=title)
    session.add(chat)
    await session.flush()
    start = utcnow() - timedelta(days=1)
    for n in range(messages):
        assistant = n % 2 == 1
        sent = {"messages": [{"role": "user", "content": f"message {n - 1}"}], "model": "demo"}
        session.add(
            Message(
                id=f"{n // 2:08d}-{n % 2}{uuid.uuid4().hex[:26]}",  # 36 chars, ids sort in order
                chat_id=chat.id,
                role="assistant" if assistant else "user",
                content=f"message {n}",
                sent_context=sent if assistant else None,
                created_at=start + timedelta(seconds=n // 2),
            )
        )
    await session.commit()
    return str(chat.id)
