"""Chats and their history: create, list, rename, delete, read — each only by its owner.

Another user's chat is reported as not found, never as forbidden: its existence is not
theirs to learn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.chat.schemas import (
    ChatCreate,
    ChatPublic,
    ChatsPublic,
    ChatUpdate,
    MessagePublic,
    MessagesPublic,
)
from myia.db.models import Chat, Message
from myia.errors import NotFoundError

# When this process started: a message still `streaming` from before was cut off by a
# server that died (or restarted) mid-stream.
PROCESS_STARTED = datetime.now(UTC)
_swept: set[str] = set()


async def owned_chat(session: AsyncSession, *, user_id: str, chat_id: str) -> Chat:
    chat = await session.get(Chat, chat_id)
    if chat is None or chat.user_id != user_id:
        raise NotFoundError("chat", chat_id)
    return chat


async def create_chat(*, session: AsyncSession, user_id: str, data: ChatCreate) -> ChatPublic:
    chat = Chat(user_id=user_id, title=data.title)
    session.add(chat)
    await session.commit()
    return ChatPublic.model_validate(chat)


async def list_chats(
    *, session: AsyncSession, user_id: str, page: int, page_size: int
) -> ChatsPublic:
    """Most recently active first."""
    count = await session.scalar(select(func.count()).where(Chat.user_id == user_id))
    rows = await session.scalars(
        select(Chat)
        .where(Chat.user_id == user_id)
        .order_by(Chat.updated_at.desc(), Chat.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return ChatsPublic(
        data=[ChatPublic.model_validate(c) for c in rows],
        count=count or 0,
        page=page,
        page_size=page_size,
    )


async def get_chat(*, session: AsyncSession, user_id: str, chat_id: str) -> ChatPublic:
    return ChatPublic.model_validate(await owned_chat(session, user_id=user_id, chat_id=chat_id))


async def rename_chat(
    *, session: AsyncSession, user_id: str, chat_id: str, data: ChatUpdate
) -> ChatPublic:
    chat = await owned_chat(session, user_id=user_id, chat_id=chat_id)
    chat.title = data.title
    await session.commit()
    return ChatPublic.model_validate(chat)


async def delete_chat(*, session: AsyncSession, user_id: str, chat_id: str) -> None:
    """Messages go with the chat (ON DELETE CASCADE); call logs keep their rows, unlinked."""
    chat = await owned_chat(session, user_id=user_id, chat_id=chat_id)
    await session.delete(chat)
    await session.commit()


async def mark_interrupted(session: AsyncSession) -> int:
    """Messages left `streaming` by a process that died become `interrupted` (once per
    process and database). A stream of another live server wrongly caught here is put right
    when it finishes: finalising always writes the final status."""
    bind = session.get_bind()
    key = str(bind.engine.url)
    if key in _swept:
        return 0
    result = await session.execute(
        update(Message)
        .where(Message.status == "streaming", Message.created_at < PROCESS_STARTED)
        .values(status="interrupted")
    )
    await session.commit()
    _swept.add(key)
    return int(getattr(result, "rowcount", 0) or 0)


async def list_messages(
    *, session: AsyncSession, user_id: str, chat_id: str, page: int, page_size: int
) -> MessagesPublic:
    """Oldest first; page 1 is the start of the conversation."""
    await owned_chat(session, user_id=user_id, chat_id=chat_id)
    await mark_interrupted(session)
    count = await session.scalar(select(func.count()).where(Message.chat_id == chat_id))
    rows = await session.scalars(
        select(Message)
        .where(Message.chat_id == chat_id)
        .order_by(Message.created_at, Message.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return MessagesPublic(
        data=[MessagePublic.model_validate(m) for m in rows],
        count=count or 0,
        page=page,
        page_size=page_size,
    )
