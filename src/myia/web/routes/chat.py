"""`/chat`: the user's chats (new, rename, delete), the model picker (the user's enabled
models), the answer streamed as it arrives (server-sent events read by /static/app.js) with
cost, tokens, latency and what was sent; a long chat opens on its newest messages with "load
earlier"; while no model is certified yet, the certification's progress (`/chat/progress`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from myia.api.deps import CacheDep, SessionDep, SettingsDep, StateDep
from myia.certification.progress import running_certification
from myia.chat import service
from myia.chat.history import MAX_CURSOR, message_window
from myia.chat.schemas import MAX_PAGE_SIZE, ChatCreate, ChatUpdate, MessageSend
from myia.chat.send import ChatEvent, prepare_send, stream_reply
from myia.errors import InvalidInputError, MyIAError, NotFoundError
from myia.users.settings import enabled_models
from myia.web.chat_view import chat_readiness, model_options
from myia.web.deps import CheckedForm, SignedIn, field
from myia.web.forms import service_errors, validation_errors
from myia.web.templating import Viewer, render

router = APIRouter()


async def _page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
    chat_id: str | None,
    *,
    before: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    assert viewer.user is not None
    chats = await service.list_chats(
        session=session, user_id=viewer.user.id, page=1, page_size=MAX_PAGE_SIZE
    )
    chat = window = None
    if chat_id is not None:
        try:
            chat = await service.get_chat(session=session, user_id=viewer.user.id, chat_id=chat_id)
        except NotFoundError:
            return RedirectResponse("/chat", status_code=303)
        try:
            window = await message_window(
                session=session, user_id=viewer.user.id, chat_id=chat_id, before=before
            )
        except InvalidInputError:  # a cursor mangled in the address: the newest page
            return RedirectResponse(f"/chat/{chat_id}", status_code=303)
    enabled = await enabled_models(session=session, user_id=viewer.user.id)
    options = await model_options(cache=cache, database=state.database, enabled=enabled)
    context: dict[str, Any] = {
        "chats": chats.data,
        "chat": chat,
        "messages": window.data if window else [],
        "count": window.count if window else 0,
        "earlier": window.earlier if window else None,
        "before": before,
        "options": options,
        "certifying": None if options else await running_certification(session),
        "restricted": enabled is not None,
        "model": options[0].id if options else "",
        "errors": {},
        "content": "",
        "title_errors": {},
    }
    context.update(extra)
    return render(request, settings, "chat.html", viewer, status_code=status_code, **context)


@router.get("/chat")
async def chat_home(
    request: Request,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    return await _page(request, viewer, session, cache, settings, state, None)


@router.post("/chat")
async def new_chat(form: CheckedForm, viewer: SignedIn, session: SessionDep) -> Response:
    assert viewer.user is not None
    title = field(form, "title").strip() or "New chat"
    chat = await service.create_chat(
        session=session, user_id=viewer.user.id, data=ChatCreate(title=title[:200])
    )
    return RedirectResponse(f"/chat/{chat.id}", status_code=303)


@router.get("/chat/progress")
async def chat_progress(
    viewer: SignedIn, session: SessionDep, cache: CacheDep, state: StateDep
) -> JSONResponse:
    """What the page polls while no model can answer: how many can now (of the user's
    enabled models), and the running certification's figures (null when none runs)."""
    assert viewer.user is not None
    readiness = await chat_readiness(
        session=session,
        cache=cache,
        database=state.database,
        enabled=await enabled_models(session=session, user_id=viewer.user.id),
    )
    return JSONResponse(readiness.as_json(), headers={"Cache-Control": "no-store"})


@router.get("/chat/{chat_id}")
async def chat_page(
    request: Request,
    chat_id: str,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
    before: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> Response:
    """The newest messages; `?before=` (the "load earlier" link) the page before a cursor."""
    return await _page(request, viewer, session, cache, settings, state, chat_id, before=before)


@router.post("/chat/{chat_id}/rename")
async def rename_chat(
    request: Request,
    chat_id: str,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    assert viewer.user is not None
    title = field(form, "title")
    try:
        await service.rename_chat(
            session=session,
            user_id=viewer.user.id,
            chat_id=chat_id,
            data=ChatUpdate(title=title),
        )
    except ValidationError as exc:
        return await _page(
            request,
            viewer,
            session,
            cache,
            settings,
            state,
            chat_id,
            status_code=422,
            title_errors=validation_errors(exc),
            new_title=title,
        )
    return RedirectResponse(f"/chat/{chat_id}", status_code=303)


@router.post("/chat/{chat_id}/delete")
async def delete_chat(
    chat_id: str, form: CheckedForm, viewer: SignedIn, session: SessionDep
) -> Response:
    """The chat and its messages; another user's chat is a 404 (and nothing changes)."""
    assert viewer.user is not None
    await service.delete_chat(session=session, user_id=viewer.user.id, chat_id=chat_id)
    return RedirectResponse("/chat", status_code=303)


def _sse(event: ChatEvent) -> str:
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream(events: AsyncIterator[ChatEvent]) -> AsyncIterator[str]:
    async for event in events:
        yield _sse(event)


@router.post("/chat/{chat_id}/messages")
async def send_message(
    request: Request,
    chat_id: str,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    """With `Accept: text/event-stream` (the page's script) the answer streams; a plain form
    post (no script) waits for it and shows the chat again."""
    assert viewer.user is not None
    streaming = "text/event-stream" in request.headers.get("accept", "")
    content, model = field(form, "content"), field(form, "model")
    errors: dict[str, str] = {}
    try:
        data = MessageSend(content=content, model=model)
        prepared = await prepare_send(
            session=session,
            cache=cache,
            database=state.database,
            user_id=viewer.user.id,
            chat_id=chat_id,
            data=data,
            secret=settings.encryption_secret,
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except MyIAError as exc:
        errors = service_errors(exc)
    if errors:
        if streaming:
            return JSONResponse({"errors": errors}, status_code=422)
        return await _page(
            request,
            viewer,
            session,
            cache,
            settings,
            state,
            chat_id,
            status_code=422,
            errors=errors,
            content=content,
            model=model,
        )
    # The answer is written from a session of its own; this one would hold SQLite's lock.
    await session.close()
    events = stream_reply(database=state.database, prepared=prepared)
    if streaming:
        return StreamingResponse(
            _stream(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    async for _event in events:
        pass
    return RedirectResponse(f"/chat/{chat_id}", status_code=303)
