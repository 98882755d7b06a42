"""A chat's history read backwards from the newest message (`?limit=` / `?before=`), and
renaming and deleting chats over the API: bounds, validation, the owner only."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.chat.history import WINDOW, encode_cursor
from myia.db.models import Chat, Message
from myia.db.types import utcnow
from tests.factories import bearer_headers, make_chat_history


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/auth/me", headers=headers)).json()["id"])


async def test_a_long_chat_is_read_backwards_page_by_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_headers(session)
    chat_id = await make_chat_history(session, user_id=await _me(client, headers), messages=450)
    url = f"/api/v2/chats/{chat_id}/messages"

    newest = (await client.get(f"{url}?limit=50", headers=headers)).json()
    assert newest["count"] == 450 and newest["limit"] == 50
    assert [m["content"] for m in newest["data"]] == [f"message {n}" for n in range(400, 450)]
    assert newest["earlier"]

    # Walking back with each page's `earlier` reaches the start: every message once, in order.
    seen = [m["content"] for m in newest["data"]]
    cursor, pages = newest["earlier"], 1
    while cursor:
        page = (await client.get(f"{url}?limit=50&before={cursor}", headers=headers)).json()
        seen = [m["content"] for m in page["data"]] + seen
        cursor, pages = page["earlier"], pages + 1
    assert pages == 9
    assert seen == [f"message {n}" for n in range(450)]

    # `before` alone: the default window; a page past a message written meanwhile is unmoved.
    again = (await client.get(f"{url}?before={newest['earlier']}", headers=headers)).json()
    assert len(again["data"]) == WINDOW
    assert again["data"][-1]["content"] == "message 399"
    session.add(Message(chat_id=chat_id, role="user", content="late", created_at=utcnow()))
    await session.commit()
    still = (await client.get(f"{url}?before={newest['earlier']}", headers=headers)).json()
    assert still["data"] == again["data"] and still["count"] == 451

    # The old paging from the start is unchanged.
    first = (await client.get(f"{url}?page=1&page_size=3", headers=headers)).json()
    assert [m["content"] for m in first["data"]] == ["message 0", "message 1", "message 2"]


async def test_history_bounds_and_bad_cursors_are_refused_by_name(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_headers(session)
    chat_id = await make_chat_history(session, user_id=await _me(client, headers), messages=4)
    url = f"/api/v2/chats/{chat_id}/messages"
    for query, name in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("before=" + "A" * 201, "before"),
        ("before=not-a-cursor", "before"),
        ("before=" + encode_cursor(utcnow(), "x" * 37), "before"),
        ("limit=5&page=2", "page"),
        ("before=" + encode_cursor(utcnow(), "x") + "&page_size=5", "page_size"),
    ]:
        refused = await client.get(f"{url}?{query}", headers=headers)
        assert refused.status_code == 422, (query, refused.text)
        assert name in refused.text, (query, refused.text)

    short = (await client.get(f"{url}?limit=200", headers=headers)).json()
    assert len(short["data"]) == 4 and short["earlier"] is None

    other = await bearer_headers(session)
    assert (await client.get(f"{url}?limit=5", headers=other)).status_code == 404


async def test_rename_validates_the_title_and_delete_takes_the_messages(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_headers(session)
    chat_id = await make_chat_history(
        session, user_id=await _me(client, headers), messages=6, title="before"
    )
    url = f"/api/v2/chats/{chat_id}"
    for title in ["", "   ", "two\nlines", "tab\there", "x" * 301]:
        refused = await client.patch(url, json={"title": title}, headers=headers)
        assert refused.status_code == 422, (title, refused.text)
        assert "title" in refused.text
    assert (await client.get(url, headers=headers)).json()["title"] == "before"

    renamed = await client.patch(url, json={"title": "  Trip to Lisbon  "}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["title"] == "Trip to Lisbon"
    longest = await client.patch(url, json={"title": "é" * 300}, headers=headers)
    assert longest.status_code == 200

    other = await bearer_headers(session)
    assert (await client.patch(url, json={"title": "mine"}, headers=other)).status_code == 404
    assert (await client.delete(url, headers=other)).status_code == 404
    assert (await client.get(url, headers=headers)).json()["title"] == "é" * 300

    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(Chat)) == 0
    left = await session.scalar(
        select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
    )
    assert left == 0
