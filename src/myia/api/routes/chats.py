"""The current user's chats: CRUD, history, and sending a message with the answer streamed.

The answer streams as server-sent events (`text/event-stream`): `start`, `delta` with each
piece of text, then `done` with the stored message (telemetry included), preceded by `error`
when the answer failed. `?stream=false` waits and returns the stored message as JSON instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from myia.api.deps import CacheDep, CurrentUser, SessionDep, SettingsDep, StateDep
from myia.catalog import openapi
from myia.chat import service
from myia.chat.history import MAX_CURSOR, WINDOW, message_window
from myia.chat.schemas import (
    MAX_PAGE_SIZE,
    ChatCreate,
    ChatPublic,
    ChatsPublic,
    ChatUpdate,
    MessagePublic,
    MessageSend,
    MessagesPublic,
)
from myia.chat.send import ChatEvent, prepare_send, stream_reply
from myia.errors import InvalidInputError
from myia.routing import AdapterPool


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The platform's provider clients, shared by every chat of this process.
    app.state.chat_pool = AdapterPool()
    try:
        yield
    finally:
        await app.state.chat_pool.aclose()


def _shared_pool(request: Request) -> AdapterPool | None:
    pool = getattr(request.app.state, "chat_pool", None)
    return pool if isinstance(pool, AdapterPool) else None


router = APIRouter(prefix="/api/v2/chats", tags=["chats"], lifespan=_lifespan)

ChatId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9\-]+$", description="Chat id")]
Page = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page")]


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Start a chat", responses=openapi.READ
)
async def create_chat(body: ChatCreate, user: CurrentUser, session: SessionDep) -> ChatPublic:
    return await service.create_chat(session=session, user_id=user.id, data=body)


@router.get("", summary="My chats, most recently active first", responses=openapi.READ)
async def list_chats(
    user: CurrentUser, session: SessionDep, page: Page = 1, page_size: PageSize = 50
) -> ChatsPublic:
    return await service.list_chats(
        session=session, user_id=user.id, page=page, page_size=page_size
    )


@router.get("/{chat_id}", summary="One of my chats", responses=openapi.READ_ONE)
async def get_chat(chat_id: ChatId, user: CurrentUser, session: SessionDep) -> ChatPublic:
    return await service.get_chat(session=session, user_id=user.id, chat_id=chat_id)


@router.patch("/{chat_id}", summary="Rename a chat", responses=openapi.READ_ONE)
async def rename_chat(
    chat_id: ChatId, body: ChatUpdate, user: CurrentUser, session: SessionDep
) -> ChatPublic:
    return await service.rename_chat(session=session, user_id=user.id, chat_id=chat_id, data=body)


@router.delete(
    "/{chat_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a chat and its messages",
    responses=openapi.READ_ONE,
)
async def delete_chat(chat_id: ChatId, user: CurrentUser, session: SessionDep) -> None:
    await service.delete_chat(session=session, user_id=user.id, chat_id=chat_id)


@router.get(
    "/{chat_id}/messages",
    summary="A chat's history: paged from the start, or backwards from the newest",
    responses=openapi.READ_ONE,
)
async def list_messages(
    chat_id: ChatId,
    user: CurrentUser,
    session: SessionDep,
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description="1-based page")] = None,
    page_size: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page (50)")
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Backwards mode: the newest `limit` messages ({WINDOW} with `before`)",
        ),
    ] = None,
    before: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR,
            description="Backwards mode: the messages before this cursor (a page's `earlier`)",
        ),
    ] = None,
) -> MessagesPublic:
    """`page`/`page_size`: oldest first from the start of the chat. `limit`/`before`: the
    newest messages and then, page by page, the ones before (each page oldest first, with
    `earlier` the cursor of the page before it). The two modes do not mix."""
    if limit is not None or before is not None:
        if page is not None or page_size is not None:
            name = "page" if page is not None else "page_size"
            raise InvalidInputError(name, "cannot be combined with limit/before")
        return await message_window(
            session=session,
            user_id=user.id,
            chat_id=chat_id,
            before=before,
            limit=limit or WINDOW,
        )
    return await service.list_messages(
        session=session,
        user_id=user.id,
        chat_id=chat_id,
        page=page or 1,
        page_size=page_size or 50,
    )


def _sse(event: ChatEvent) -> str:
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _sse_stream(events: AsyncIterator[ChatEvent]) -> AsyncIterator[str]:
    async for event in events:
        yield _sse(event)


@router.post(
    "/{chat_id}/messages",
    summary="Send a message; the answer streams as server-sent events",
    response_model=MessagePublic,
    responses={
        **openapi.READ_ONE,
        200: {
            "description": "text/event-stream: start, delta…, [error,] done (the stored "
            "message); with ?stream=false, the stored message as JSON",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def send_message(
    request: Request,
    chat_id: ChatId,
    body: MessageSend,
    user: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
    stream: Annotated[bool, Query(description="false: wait and return JSON")] = True,
) -> StreamingResponse | MessagePublic:
    prepared = await prepare_send(
        session=session,
        cache=cache,
        database=state.database,
        user_id=user.id,
        chat_id=chat_id,
        data=body,
        secret=settings.encryption_secret,
    )
    # The request's session would stay open until the response ends; on SQLite it holds the
    # write lock, and the answer is written from a session of its own at the end of the stream.
    await session.close()
    events = stream_reply(
        database=state.database, prepared=prepared, shared_pool=_shared_pool(request)
    )
    if not stream:
        done: dict[str, object] = {}
        async for name, data in events:
            if name == "done":
                done = data
        return MessagePublic.model_validate(done)
    return StreamingResponse(
        _sse_stream(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
