"""The chat pages without a browser: rename and delete (CSRF, the owner only, titles
checked), a long chat opening on its newest messages with a "load earlier" link that works
without script, `sent_context` escaped, and the first-start progress the page polls."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import Settings
from myia.db.models import Chat, Message, User, UserSettings
from myia.maintenance.demo_certify import queue_first_certification
from tests.factories import make_chat_history
from tests.web.conftest import ADMIN, USER, sign_in

_CHECKED = re.compile(r'name="enabled" value="([0-9a-f-]+)" data-model="[^"]*" checked')
_EARLIER = re.compile(r'href="(/chat/[0-9a-f-]+\?before=[A-Za-z0-9_-]+)" data-earlier')


async def _demo_user(session: AsyncSession) -> str:
    user = await session.scalar(select(User).where(User.email == USER[0]))
    assert user is not None
    return str(user.id)


async def test_rename_and_delete_a_chat_through_the_forms(
    user_client: httpx.AsyncClient, app: FastAPI, session: AsyncSession
) -> None:
    token = user_client.headers["x-test-csrf"]
    chat_id = await make_chat_history(
        session, user_id=await _demo_user(session), messages=4, title="Old title"
    )
    url = f"/chat/{chat_id}"

    assert (await user_client.post(f"{url}/rename", data={"title": "x"})).status_code == 403
    blank = await user_client.post(f"{url}/rename", data={"csrf_token": token, "title": "  "})
    assert blank.status_code == 422
    assert 'id="f-title-error" role="alert">Must not be blank' in blank.text
    too_long = await user_client.post(
        f"{url}/rename", data={"csrf_token": token, "title": "t" * 301}
    )
    assert too_long.status_code == 422 and 'id="f-title-error"' in too_long.text

    renamed = await user_client.post(
        f"{url}/rename", data={"csrf_token": token, "title": "<b>Lisbon</b> trip"}
    )
    assert renamed.status_code == 303 and renamed.headers["location"] == url
    page = (await user_client.get(url)).text
    assert "<h1>&lt;b&gt;Lisbon&lt;/b&gt; trip</h1>" in page

    # Another user (the admin here) can neither rename nor delete it.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
        other = await sign_in(admin, *ADMIN)
        renaming = {"csrf_token": other, "title": "mine"}
        assert (await admin.post(f"{url}/rename", data=renaming)).status_code == 404
        deleting = {"csrf_token": other}
        assert (await admin.post(f"{url}/delete", data=deleting)).status_code == 404

    assert (await user_client.post(f"{url}/delete", data={})).status_code == 403
    deleted = await user_client.post(f"{url}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/chat"
    await session.commit()
    assert await session.get(Chat, chat_id) is None
    assert not (await session.scalars(select(Message).where(Message.chat_id == chat_id))).all()
    assert (await user_client.get(url)).headers["location"] == "/chat"


async def test_a_long_chat_opens_on_its_newest_messages(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    chat_id = await make_chat_history(session, user_id=await _demo_user(session), messages=450)
    page = (await user_client.get(f"/chat/{chat_id}")).text
    shown = re.findall(r"<p>message (\d+)</p>", page)
    assert shown == [str(n) for n in range(400, 450)]
    link = _EARLIER.search(page)
    assert link, "no load-earlier link"
    earlier = (await user_client.get(link.group(1).replace("&amp;", "&"))).text
    assert re.findall(r"<p>message (\d+)</p>", earlier) == [str(n) for n in range(350, 400)]
    assert f'href="/chat/{chat_id}">Back to the newest messages' in earlier
    # A mangled cursor sends back to the newest page; nothing breaks.
    mangled = await user_client.get(f"/chat/{chat_id}?before=AAAA")
    assert mangled.status_code == 303 and mangled.headers["location"] == f"/chat/{chat_id}"


async def test_sent_context_is_shown_escaped(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    chat_id = await make_chat_history(session, user_id=await _demo_user(session), messages=0)
    session.add_all(
        [
            Message(chat_id=chat_id, role="user", content="hi"),
            Message(
                chat_id=chat_id,
                role="assistant",
                content="hello",
                sent_context={"system": "<script>alert(1)</script>", "messages": []},
            ),
        ]
    )
    await session.commit()
    page = (await user_client.get(f"/chat/{chat_id}")).text
    assert "<summary>What was sent to the model</summary>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


async def test_progress_reports_the_running_certification(
    user_client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    idle = (await user_client.get("/chat/progress")).json()
    assert idle == {"models": 0, "certifying": None}
    job = await queue_first_certification(session=session, settings=settings)
    assert job is not None
    running = (await user_client.get("/chat/progress")).json()
    assert running["models"] == 0
    assert set(running["certifying"]) == {"status", "total", "processed", "success"}
    assert running["certifying"]["total"] == job.total_models > 0
    assert running["certifying"]["processed"] == 0
    page = (await user_client.get("/chat")).text
    assert "Models are being certified" in page and 'data-progress-url="/chat/progress"' in page
    models = (await user_client.get("/models")).text
    assert "Models are being certified" in models


async def test_models_are_enabled_and_disabled_in_settings(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = user_client.headers["x-test-csrf"]
    page = (await user_client.get("/settings")).text
    offered = _CHECKED.findall(page)
    assert len(offered) > 3  # every model checked: the default
    user_id = await _demo_user(session)

    async def stored() -> list[str]:
        await session.commit()  # a fresh snapshot
        column = UserSettings.enabled_models
        return list(await session.scalar(select(column).where(UserSettings.user_id == user_id)))

    kept = offered[:2]
    saved = await user_client.post("/settings/models", data={"csrf_token": token, "enabled": kept})
    assert saved.status_code == 303 and saved.headers["location"] == "/settings?saved=models"
    assert await stored() == kept
    page = (await user_client.get("/settings")).text
    assert _CHECKED.findall(page) == kept
    # No model can answer (nothing is certified here): the chat page points at the setting.
    assert "None of the models you enabled can answer yet" in (await user_client.get("/chat")).text

    none = await user_client.post("/settings/models", data={"csrf_token": token})
    assert none.status_code == 422 and 'id="f-enabled_models-error"' in none.text
    unknown = await user_client.post(
        "/settings/models", data={"csrf_token": token, "enabled": ["no-such-model"]}
    )
    assert unknown.status_code == 422 and "no-such-model" in unknown.text
    assert await stored() == kept  # refused: nothing changed

    every = await user_client.post(
        "/settings/models", data={"csrf_token": token, "enabled": offered}
    )
    assert every.status_code == 303 and await stored() == []
