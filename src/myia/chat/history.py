"""A chat's history read backwards from its newest message, a page at a time.

A long chat opens on its last `WINDOW` messages; "load earlier" asks for the page before the
oldest one shown. Pages are cut by keyset on (created_at, id), never by offset: messages
written while someone reads do not shift the pages, and a page costs the same at message 10
as at message 10,000 (the index on (chat_id, created_at) serves it).

The cursor is opaque to clients: the oldest shown message's time and id, base64url-encoded.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.chat.schemas import MessagePublic, MessagesPublic
from myia.chat.service import mark_interrupted, owned_chat
from myia.db.models import Message
from myia.errors import InvalidInputError

WINDOW = 50  # messages a chat page opens on, and each "load earlier" adds
MAX_CURSOR = 200  # characters: a real cursor is about 90


def encode_cursor(created_at: datetime, message_id: str) -> str:
    raw = f"{created_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """InvalidInputError("before") for anything `encode_cursor` did not make."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, message_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not message_id or len(message_id) > 36:
            raise ValueError("incomplete")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            "before", "not a cursor of this chat's history (use `earlier` of a page)"
        ) from exc
    return created_at, message_id


async def message_window(
    *,
    session: AsyncSession,
    user_id: str,
    chat_id: str,
    before: str | None = None,
    limit: int = WINDOW,
) -> MessagesPublic:
    """The `limit` messages just before `before` (the newest ones without it), oldest first,
    with `earlier`: the cursor of the page before, or None at the start of the chat."""
    await owned_chat(session, user_id=user_id, chat_id=chat_id)
    await mark_interrupted(session)
    query = select(Message).where(Message.chat_id == chat_id)
    if before is not None:
        at, message_id = decode_cursor(before)
        query = query.where(
            or_(
                Message.created_at < at,
                and_(Message.created_at == at, Message.id < message_id),
            )
        )
    # One more than asked: whether an earlier page exists, without a second count.
    rows = list(
        await session.scalars(
            query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    page = rows[:limit][::-1]
    count = await session.scalar(select(func.count()).where(Message.chat_id == chat_id))
    return MessagesPublic(
        data=[MessagePublic.model_validate(m) for m in page],
        count=count or 0,
        limit=limit,
        earlier=encode_cursor(page[0].created_at, page[0].id) if more and page else None,
    )
