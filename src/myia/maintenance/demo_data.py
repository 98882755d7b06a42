"""Demo users and sample chats for `myia db seed --demo` and `myia demo`.

The telemetry is made up but consistent: tokens are estimated from the exact context sent,
the cost is those tokens at the deployment's prices, and every assistant message has the
api_call_logs row a real provider call would have left.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.auth.service import create_user, get_user_by_email
from myia.db.models import ApiCallLog, Chat, Message, ModelDeployment, Provider, User, UserSettings
from myia.db.types import new_id, utcnow
from myia.maintenance.seed_file import SeedChat, SeedFile, SeedUser

# The usual rule of thumb for English text with GPT-style tokenizers, plus OpenAI's
# documented per-message overhead; close enough for demo figures that must only add up.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REQUEST = 3


@dataclass(frozen=True)
class SeededUser:
    email: str
    id: str
    role: str
    created: bool


@dataclass
class DemoReport:
    users: list[SeededUser] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    chats_skipped: int = 0


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def estimate_context_tokens(messages: list[dict[str, str]]) -> int:
    return TOKENS_PER_REQUEST + sum(
        TOKENS_PER_MESSAGE + estimate_tokens(m["content"]) for m in messages
    )


def message_cost(tokens_in: int, tokens_out: int, deployment: ModelDeployment) -> float | None:
    """USD for one call: prices are per million tokens; None for an unpriced deployment."""
    if deployment.cost_per_1m_input is None or deployment.cost_per_1m_output is None:
        return None
    return (
        tokens_in / 1e6 * deployment.cost_per_1m_input
        + tokens_out / 1e6 * deployment.cost_per_1m_output
    )


async def _ensure_user(session: AsyncSession, item: SeedUser, report: DemoReport) -> User:
    user = await get_user_by_email(session=session, email=item.email)
    created = user is None
    if user is None:
        user = await create_user(
            session=session,
            email=item.email,
            password=item.password,
            name=item.name,
            role=item.role,
        )
        settings = await session.scalar(select(UserSettings).where(UserSettings.user_id == user.id))
        if settings is not None:
            settings.theme = item.theme
        await session.commit()
        report.created["users"] += 1
        report.created["user_settings"] += 1
    report.users.append(SeededUser(item.email, user.id, user.role.value, created))
    return user


async def _deployments(session: AsyncSession) -> dict[tuple[str, str], ModelDeployment]:
    rows = await session.execute(
        select(Provider.slug, ModelDeployment).join(
            Provider, Provider.id == ModelDeployment.provider_id
        )
    )
    return {(slug, deployment.deployment_id): deployment for slug, deployment in rows}


def _chat_rows(
    chat: SeedChat, user: User, deployment: ModelDeployment, now: datetime
) -> tuple[Chat, list[Message], list[ApiCallLog]]:
    at = now - timedelta(days=chat.days_ago)
    chat_row = Chat(id=new_id(), user_id=user.id, title=chat.title, created_at=at, updated_at=at)
    history: list[dict[str, str]] = [{"role": "system", "content": chat.system_prompt}]
    messages: list[Message] = []
    logs: list[ApiCallLog] = []
    for exchange in chat.exchanges:
        at += timedelta(minutes=1)
        messages.append(
            Message(
                id=new_id(), chat_id=chat_row.id, role="user", content=exchange.user, created_at=at
            )
        )
        history.append({"role": "user", "content": exchange.user})
        sent_context: dict[str, Any] = {
            "provider": chat.provider,
            "model": chat.deployment_id,
            "region": chat.region,
            "params": dict(chat.params),
            "messages": [dict(m) for m in history],
        }
        tokens_in = estimate_context_tokens(history)
        tokens_out = estimate_tokens(exchange.assistant)
        cost = message_cost(tokens_in, tokens_out, deployment)
        at += timedelta(milliseconds=exchange.latency_ms)
        reply = Message(
            id=new_id(),
            chat_id=chat_row.id,
            role="assistant",
            content=exchange.assistant,
            deployment_id=deployment.id,
            region=chat.region,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            latency_ms=exchange.latency_ms,
            time_to_first_token_ms=exchange.time_to_first_token_ms,
            sent_context=sent_context,
            created_at=at,
        )
        messages.append(reply)
        logs.append(
            ApiCallLog(
                user_id=user.id,
                deployment_id=deployment.id,
                message_id=reply.id,
                provider=chat.provider,
                model=chat.deployment_id,
                region=chat.region,
                operation="chat",
                status="success",
                status_code=200,
                latency_ms=exchange.latency_ms,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost=cost,
                created_at=at,
            )
        )
        history.append({"role": "assistant", "content": exchange.assistant})
    chat_row.updated_at = at
    return chat_row, messages, logs


async def seed_demo(*, session: AsyncSession, seed: SeedFile) -> DemoReport:
    """Demo users (argon2 hashes via the auth service) and their sample chats.

    Needs the catalog seeded first: every chat names one of the seeded deployments.
    """
    report = DemoReport()
    users = {item.email: await _ensure_user(session, item, report) for item in seed.demo.users}
    deployments = await _deployments(session)
    now = utcnow()
    for chat in seed.demo.chats:
        user = users[chat.user]
        exists = await session.scalar(
            select(Chat.id).where(Chat.user_id == user.id, Chat.title == chat.title)
        )
        if exists is not None:
            report.chats_skipped += 1
            continue
        chat_row, messages, logs = _chat_rows(
            chat, user, deployments[(chat.provider, chat.deployment_id)], now
        )
        # The models declare no relationships for the unit of work to order inserts by.
        session.add(chat_row)
        await session.flush()
        session.add_all(messages)
        await session.flush()
        session.add_all(logs)
        report.created["chats"] += 1
        report.created["messages"] += len(messages)
        report.created["api_call_logs"] += len(logs)
    await session.commit()
    return report
